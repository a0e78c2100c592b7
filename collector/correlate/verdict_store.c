#include "verdict_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pii.h"
#include "sqldb.h"
#include "timefmt.h"

static const char schema_v1[] =
    "CREATE TABLE verdict_calls(call_id TEXT PRIMARY KEY, source TEXT NOT NULL, site TEXT,"
    " start TEXT NOT NULL, end TEXT NOT NULL, verdict TEXT NOT NULL, confidence REAL NOT NULL,"
    " graph_record_id TEXT, graph_version INTEGER, evaluated TEXT NOT NULL,"
    " evidence TEXT NOT NULL);"
    "CREATE TABLE verdict_participants(call_id TEXT NOT NULL, participant TEXT NOT NULL,"
    " site TEXT, client_ip_hmac BLOB, client_ip_enc BLOB, verdict TEXT NOT NULL,"
    " confidence REAL NOT NULL, evidence TEXT NOT NULL, PRIMARY KEY(call_id, participant));"
    "CREATE TABLE verdict_streams(id INTEGER PRIMARY KEY, call_id TEXT NOT NULL,"
    " participant TEXT NOT NULL, stream_id INTEGER, graph_stream_rid INTEGER, direction TEXT,"
    " media TEXT, verdict TEXT NOT NULL, confidence REAL NOT NULL, evidence TEXT NOT NULL);"
    "CREATE INDEX verdict_calls_start ON verdict_calls(start);"
    "CREATE INDEX verdict_calls_site ON verdict_calls(site, start);"
    "CREATE INDEX verdict_calls_verdict ON verdict_calls(verdict, start);"
    "CREATE INDEX verdict_participants_ip ON verdict_participants(client_ip_hmac);"
    "CREATE INDEX verdict_streams_call ON verdict_streams(call_id);"
    /* not in the contract: every probe stream a call used (also the
     * duplicates from other probes that verdict_streams does not name) */
    "CREATE TABLE verdict_claims(stream_id INTEGER PRIMARY KEY, call_id TEXT NOT NULL);"
    "CREATE INDEX verdict_claims_call ON verdict_claims(call_id);";

enum {
    S_BEGIN,
    S_COMMIT,
    S_ROLLBACK,
    S_DEL_CLAIMS,
    S_DEL_STREAMS,
    S_DEL_PARTS,
    S_DEL_CALL,
    S_INS_CALL,
    S_INS_PART,
    S_INS_STREAM,
    S_INS_CLAIM,
    S_WIRE_USING,
    S_WIRE_OVERLAP,
    S_JOINED,
    S_HIST_LAST,
    S_HIST_INS,
    S_HIST_MOVE,
    S_COUNT
};

static const char *const sql[S_COUNT] = {
    [S_BEGIN] = "BEGIN IMMEDIATE",
    [S_COMMIT] = "COMMIT",
    [S_ROLLBACK] = "ROLLBACK",
    [S_DEL_CLAIMS] = "DELETE FROM verdict_claims WHERE call_id = ?",
    [S_DEL_STREAMS] = "DELETE FROM verdict_streams WHERE call_id = ?",
    [S_DEL_PARTS] = "DELETE FROM verdict_participants WHERE call_id = ?",
    [S_DEL_CALL] = "DELETE FROM verdict_calls WHERE call_id = ?",
    [S_INS_CALL] = "INSERT INTO verdict_calls(call_id, source, site, start, end, verdict,"
                   " confidence, graph_record_id, graph_version, evaluated, evidence)"
                   " VALUES(?,?,?,?,?,?,?,?,?,?,?)",
    [S_INS_PART] = "INSERT OR REPLACE INTO verdict_participants(call_id, participant, site,"
                   " client_ip_hmac, client_ip_enc, verdict, confidence, evidence)"
                   " VALUES(?,?,?,?,?,?,?,?)",
    [S_INS_STREAM] = "INSERT INTO verdict_streams(call_id, participant, stream_id,"
                     " graph_stream_rid, direction, media, verdict, confidence, evidence)"
                     " VALUES(?,?,?,?,?,?,?,?,?)",
    [S_INS_CLAIM] = "INSERT OR REPLACE INTO verdict_claims(stream_id, call_id) VALUES(?,?)",
    [S_WIRE_USING] = "SELECT c.call_id FROM verdict_claims s JOIN verdict_calls c"
                     " ON c.call_id = s.call_id WHERE s.stream_id = ? AND c.source = 'wire-only'",
    [S_WIRE_OVERLAP] = "SELECT DISTINCT c.call_id FROM verdict_participants p JOIN verdict_calls c"
                       " ON c.call_id = p.call_id WHERE p.client_ip_hmac = ?1"
                       " AND c.source = 'wire-only' AND c.start <= ?3 AND c.end >= ?2",
    [S_JOINED] = "SELECT 1 FROM verdict_claims s JOIN verdict_calls c ON c.call_id = s.call_id"
                 " WHERE s.stream_id = ? AND c.source = 'joined'",
    [S_HIST_LAST] = "SELECT verdict, source FROM verdict_history WHERE call_id = ?"
                    " ORDER BY id DESC LIMIT 1",
    [S_HIST_INS] = "INSERT INTO verdict_history(call_id, at, verdict, confidence, source,"
                   " provisional, rule) VALUES(?,?,?,?,?,?,?)",
    [S_HIST_MOVE] = "UPDATE verdict_history SET call_id = ?1 WHERE call_id = ?2",
};

#define MAX_SUPERSEDED 64

struct verdict_store {
    sqlite3 *db;
    sqlite3_stmt *st[S_COUNT];
    /* wire-only calls dropped since the last put_call: their history goes
     * to the next call written (the one that superseded them) */
    char superseded[MAX_SUPERSEDED][160]; /* as drop_listed's ids */
    int nsuperseded;
};

/* The verdicts a call had, in order: one row each time its verdict or
 * its source changed (wire-only while Graph's record is awaited, then
 * joined or cloud-only). A wire-only call superseded by the joined call
 * hands its rows to it (verdict_store_put_call). */
static const char schema_v2[] =
    "CREATE TABLE verdict_history(id INTEGER PRIMARY KEY, call_id TEXT NOT NULL,"
    " at TEXT NOT NULL, verdict TEXT NOT NULL, confidence REAL NOT NULL, source TEXT NOT NULL,"
    " provisional INTEGER NOT NULL, rule TEXT);"
    "CREATE INDEX verdict_history_call ON verdict_history(call_id, id);";

/* What the NOC dashboard groups and filters on, as columns and covering
 * indexes instead of json_extract over every row (issue 15 item 4):
 *   - bssid, subnet: the participant's access point and subnet from its
 *     Graph evidence (NULL when the evidence is not JSON or has none), set
 *     by triggers on every insert or evidence update, so a row written by
 *     any path carries them, and backfilled here. (A VIRTUAL generated
 *     column would need no trigger, but SQLite 3.40 reads it from the row,
 *     parsing the evidence again, even out of an index that holds it.)
 *   - verdict_calls_cover: the site and verdict counts and the site
 *     timeline read this index instead of the rows, each of which carries
 *     its evidence (about 1 KB);
 *   - verdict_calls_end: the alerts' look at the calls that ended in
 *     their window reads that range alone;
 *   - verdict_participants_cover, verdict_participants_client: the worst
 *     clients, access points and subnets read the participants' side of
 *     their join from an index, and a call list filtered by a client
 *     checks each call with one lookup. (The calls' side is read by its
 *     primary key: SQLite 3.40 prefers that unique index to a covering
 *     one that starts with call_id, so such an index would only cost.)
 * Figures before and after: bench/README.md (bench_noc_scale.py). */
#define GRAPH_FIELD(f)                                                                             \
    "CASE WHEN json_valid(evidence) THEN json_extract(evidence, '$.graph." f "') END"
#define SET_GRAPH                                                                                  \
    "UPDATE verdict_participants SET bssid = " GRAPH_FIELD("bssid") ", subnet = " GRAPH_FIELD(     \
        "subnet")
static const char schema_v3[] =
    "ALTER TABLE verdict_participants ADD COLUMN bssid TEXT;"
    "ALTER TABLE verdict_participants ADD COLUMN subnet TEXT;" SET_GRAPH ";"
    "CREATE TRIGGER verdict_participants_graph_ins AFTER INSERT ON verdict_participants"
    " BEGIN " SET_GRAPH " WHERE rowid = NEW.rowid; END;"
    "CREATE TRIGGER verdict_participants_graph_upd AFTER UPDATE OF evidence ON verdict_participants"
    " BEGIN " SET_GRAPH " WHERE rowid = NEW.rowid; END;"
    "CREATE INDEX verdict_calls_cover ON verdict_calls(site, verdict, \"end\", start, call_id);"
    "CREATE INDEX verdict_calls_end ON verdict_calls(\"end\", site, verdict);"
    "CREATE INDEX verdict_participants_cover ON verdict_participants(call_id, verdict,"
    " client_ip_hmac, bssid, subnet, client_ip_enc);"
    "CREATE INDEX verdict_participants_client ON verdict_participants(client_ip_hmac, call_id,"
    " verdict, client_ip_enc);";

static const sqldb_step_t migrations[] = {
    {1, schema_v1, NULL}, {2, schema_v2, NULL}, {3, schema_v3, NULL}};

bool verdict_store_migrate(sqlite3 *db, char *err, size_t errlen)
{
    return sqldb_migrate(db, "verdict store", "verdict", migrations,
                         sizeof migrations / sizeof migrations[0], err, errlen);
}

verdict_store_t *verdict_store_new(sqlite3 *db, char *err, size_t errlen)
{
    if (!verdict_store_migrate(db, err, errlen))
        return NULL;
    verdict_store_t *vs = calloc(1, sizeof *vs);
    if (!vs) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    vs->db = db;
    for (int i = 0; i < S_COUNT; i++) {
        if (sqlite3_prepare_v3(db, sql[i], -1, SQLITE_PREPARE_PERSISTENT, &vs->st[i], NULL) !=
            SQLITE_OK) {
            snprintf(err, errlen, "verdict store: %s", sqlite3_errmsg(db));
            verdict_store_free(&vs);
            return NULL;
        }
    }
    return vs;
}

void verdict_store_free(verdict_store_t **pvs)
{
    if (!pvs || !*pvs)
        return;
    for (int i = 0; i < S_COUNT; i++)
        sqlite3_finalize((*pvs)->st[i]);
    free(*pvs);
    *pvs = NULL;
}

const char *verdict_store_error(const verdict_store_t *vs)
{
    return sqlite3_errmsg(vs->db);
}

static bool done(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE;
}

bool verdict_store_begin(verdict_store_t *vs)
{
    return done(vs->st[S_BEGIN]);
}

bool verdict_store_commit(verdict_store_t *vs)
{
    return done(vs->st[S_COMMIT]);
}

void verdict_store_rollback(verdict_store_t *vs)
{
    if (!sqlite3_get_autocommit(vs->db))
        done(vs->st[S_ROLLBACK]);
}

static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
    if (s)
        sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, i);
}

static void bind_id(sqlite3_stmt *st, int i, int64_t v)
{
    if (v >= 0)
        sqlite3_bind_int64(st, i, v);
    else
        sqlite3_bind_null(st, i);
}

/* JSON text of the evidence; false when it cannot be serialised. */
static bool bind_json(sqlite3_stmt *st, int i, json_t *j)
{
    char *s = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    if (!s)
        return false;
    sqlite3_bind_text(st, i, s, -1, free);
    return true;
}

bool verdict_store_delete_call(verdict_store_t *vs, const char *call_id)
{
    static const int del[] = {S_DEL_CLAIMS, S_DEL_STREAMS, S_DEL_PARTS, S_DEL_CALL};
    for (size_t i = 0; i < sizeof del / sizeof del[0]; i++) {
        sqlite3_bind_text(vs->st[del[i]], 1, call_id, -1, SQLITE_TRANSIENT);
        if (!done(vs->st[del[i]]))
            return false;
    }
    return true;
}

/* The superseded calls' history moves to r's call; a row is added when
 * r's verdict or source differs from the call's last one. */
static bool history(verdict_store_t *vs, const verdict_call_row_t *r, const char *now)
{
    for (int i = 0; i < vs->nsuperseded; i++) {
        sqlite3_stmt *mv = vs->st[S_HIST_MOVE];
        bind_text(mv, 1, r->call_id);
        bind_text(mv, 2, vs->superseded[i]);
        if (!done(mv))
            return false;
    }
    vs->nsuperseded = 0;
    sqlite3_stmt *last = vs->st[S_HIST_LAST];
    bind_text(last, 1, r->call_id);
    int rc = sqlite3_step(last);
    bool same = rc == SQLITE_ROW &&
                strcmp((const char *)sqlite3_column_text(last, 0), verdict_name(r->v->kind)) == 0 &&
                strcmp((const char *)sqlite3_column_text(last, 1), r->source) == 0;
    sqlite3_reset(last);
    sqlite3_clear_bindings(last);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return false;
    if (same)
        return true;
    sqlite3_stmt *st = vs->st[S_HIST_INS];
    bind_text(st, 1, r->call_id);
    bind_text(st, 2, now);
    bind_text(st, 3, verdict_name(r->v->kind));
    sqlite3_bind_double(st, 4, r->v->confidence);
    bind_text(st, 5, r->source);
    sqlite3_bind_int(st, 6, strcmp(r->source, "wire-only") == 0); /* Graph still to come */
    bind_text(st, 7, r->v->rule);
    return done(st);
}

bool verdict_store_put_call(verdict_store_t *vs, const verdict_call_row_t *r, int64_t now_us)
{
    char start[40], end[40], now[40];
    if (!verdict_store_delete_call(vs, r->call_id))
        return false;
    sqlite3_stmt *st = vs->st[S_INS_CALL];
    bind_text(st, 1, r->call_id);
    bind_text(st, 2, r->source);
    bind_text(st, 3, r->site);
    bind_text(st, 4, timefmt_iso(r->start_us, start, sizeof start));
    bind_text(st, 5, timefmt_iso(r->end_us, end, sizeof end));
    bind_text(st, 6, verdict_name(r->v->kind));
    sqlite3_bind_double(st, 7, r->v->confidence);
    bind_text(st, 8, r->graph_record_id);
    bind_id(st, 9, r->graph_version);
    bind_text(st, 10, timefmt_iso(now_us, now, sizeof now));
    if (!bind_json(st, 11, r->evidence)) {
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
        return false;
    }
    return done(st) && history(vs, r, now);
}

bool verdict_store_put_participant(verdict_store_t *vs, const verdict_participant_row_t *r)
{
    sqlite3_stmt *st = vs->st[S_INS_PART];
    bind_text(st, 1, r->call_id);
    bind_text(st, 2, r->participant);
    bind_text(st, 3, r->site);
    if (r->ip_hmac)
        sqlite3_bind_blob(st, 4, r->ip_hmac, PII_HASH_LEN, SQLITE_TRANSIENT);
    if (r->ip_enc)
        sqlite3_bind_blob(st, 5, r->ip_enc, (int)r->ip_enc_len, SQLITE_TRANSIENT);
    bind_text(st, 6, verdict_name(r->v->kind));
    sqlite3_bind_double(st, 7, r->v->confidence);
    if (!bind_json(st, 8, r->evidence)) {
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
        return false;
    }
    return done(st);
}

bool verdict_store_put_stream(verdict_store_t *vs, const verdict_stream_row_t *r)
{
    sqlite3_stmt *st = vs->st[S_INS_STREAM];
    bind_text(st, 1, r->call_id);
    bind_text(st, 2, r->participant);
    bind_id(st, 3, r->stream_id);
    bind_id(st, 4, r->graph_stream_rid);
    bind_text(st, 5, r->direction);
    bind_text(st, 6, r->media);
    bind_text(st, 7, verdict_name(r->v->kind));
    sqlite3_bind_double(st, 8, r->v->confidence);
    if (!bind_json(st, 9, r->evidence)) {
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
        return false;
    }
    return done(st);
}

bool verdict_store_put_claim(verdict_store_t *vs, const char *call_id, int64_t stream_id)
{
    sqlite3_stmt *st = vs->st[S_INS_CLAIM];
    sqlite3_bind_int64(st, 1, stream_id);
    bind_text(st, 2, call_id);
    return done(st);
}

/* Deletes every call the prepared query st (bound) names; count or -1. */
static int drop_listed(verdict_store_t *vs, sqlite3_stmt *st)
{
    char ids[16][160];
    int n = 0, rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && n < 16)
        snprintf(ids[n++], sizeof ids[0], "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return -1;
    for (int i = 0; i < n; i++) {
        if (!verdict_store_delete_call(vs, ids[i]))
            return -1;
        if (vs->nsuperseded < MAX_SUPERSEDED)
            memcpy(vs->superseded[vs->nsuperseded++], ids[i], sizeof ids[i]); /* same size */
    }
    return n;
}

int verdict_store_drop_wire_using(verdict_store_t *vs, int64_t stream_id)
{
    sqlite3_bind_int64(vs->st[S_WIRE_USING], 1, stream_id);
    return drop_listed(vs, vs->st[S_WIRE_USING]);
}

int verdict_store_drop_wire_overlapping(verdict_store_t *vs, const uint8_t *ip_hmac,
                                        int64_t start_us, int64_t end_us)
{
    char a[40], b[40];
    sqlite3_stmt *st = vs->st[S_WIRE_OVERLAP];
    sqlite3_bind_blob(st, 1, ip_hmac, PII_HASH_LEN, SQLITE_TRANSIENT);
    bind_text(st, 2, timefmt_iso(start_us, a, sizeof a));
    bind_text(st, 3, timefmt_iso(end_us, b, sizeof b));
    int total = 0, n;
    /* at most 16 per pass: repeat until none is left */
    while ((n = drop_listed(vs, st)) > 0) {
        total += n;
        sqlite3_bind_blob(st, 1, ip_hmac, PII_HASH_LEN, SQLITE_TRANSIENT);
        bind_text(st, 2, a);
        bind_text(st, 3, b);
    }
    return n < 0 ? -1 : total;
}

int verdict_store_stream_joined(verdict_store_t *vs, int64_t stream_id)
{
    sqlite3_stmt *st = vs->st[S_JOINED];
    sqlite3_bind_int64(st, 1, stream_id);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}
