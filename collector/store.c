#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "timefmt.h"

#define RETENTION_CHUNK 20000

/* ---- schema ------------------------------------------------------------- */

typedef struct {
    int version;
    const char *sql;
} migration_t;

static const migration_t migrations[] = {
    {1,
     "CREATE TABLE probes(probe_id TEXT PRIMARY KEY, site TEXT NOT NULL, version TEXT,"
     " first_seen TEXT NOT NULL, last_seen TEXT NOT NULL, last_heartbeat TEXT, health TEXT);"
     "CREATE TABLE batches(probe_id TEXT NOT NULL, epoch INTEGER NOT NULL, seq INTEGER NOT NULL,"
     " received TEXT NOT NULL, records INTEGER NOT NULL, PRIMARY KEY(probe_id, epoch, seq))"
     " WITHOUT ROWID;"
     "CREATE INDEX batches_received ON batches(received);"
     "CREATE TABLE streams(id INTEGER PRIMARY KEY, probe_id TEXT NOT NULL, site TEXT NOT NULL,"
     " received TEXT NOT NULL,"
     " first_seen TEXT NOT NULL, last_seen TEXT NOT NULL, client_ip TEXT, client_port INTEGER,"
     " src_ip TEXT, src_port INTEGER, dst_ip TEXT, dst_port INTEGER, proto TEXT,"
     " ssrc INTEGER NOT NULL, direction TEXT, media TEXT, app TEXT, encap TEXT, packets INTEGER,"
     " lost INTEGER, loss_pct REAL, jitter_ms_max REAL, network_jitter_ms_max REAL, mos REAL,"
     " record TEXT NOT NULL);"
     "CREATE INDEX streams_time ON streams(first_seen);"
     "CREATE INDEX streams_client ON streams(client_ip, first_seen);"
     "CREATE INDEX streams_site ON streams(site, first_seen);"
     "CREATE INDEX streams_received ON streams(received);"
     "CREATE TABLE intervals(id INTEGER PRIMARY KEY, probe_id TEXT NOT NULL, site TEXT NOT NULL,"
     " received TEXT NOT NULL,"
     " start TEXT NOT NULL, end TEXT NOT NULL, src_ip TEXT, src_port INTEGER, dst_ip TEXT,"
     " dst_port INTEGER, ssrc INTEGER NOT NULL, direction TEXT, packets INTEGER, lost INTEGER,"
     " loss_pct REAL, jitter_ms_max REAL, record TEXT NOT NULL);"
     "CREATE INDEX intervals_time ON intervals(start);"
     "CREATE INDEX intervals_site ON intervals(site, start);"
     "CREATE INDEX intervals_stream ON intervals(ssrc, start);"
     "CREATE INDEX intervals_received ON intervals(received);"
     "CREATE TABLE flows(id INTEGER PRIMARY KEY, probe_id TEXT NOT NULL, site TEXT NOT NULL,"
     " received TEXT NOT NULL,"
     " first_seen TEXT NOT NULL, last_seen TEXT NOT NULL, client_ip TEXT, client_port INTEGER,"
     " remote_ip TEXT, remote_port INTEGER, proto TEXT, app TEXT, media TEXT,"
     " record TEXT NOT NULL);"
     "CREATE INDEX flows_time ON flows(first_seen);"
     "CREATE INDEX flows_client ON flows(client_ip, first_seen);"
     "CREATE INDEX flows_site ON flows(site, first_seen);"
     "CREATE INDEX flows_received ON flows(received);"
     "CREATE TABLE clients(id INTEGER PRIMARY KEY, probe_id TEXT NOT NULL, site TEXT NOT NULL,"
     " received TEXT NOT NULL,"
     " first_seen TEXT NOT NULL, last_seen TEXT NOT NULL, client_ip TEXT, client_mac TEXT,"
     " record TEXT NOT NULL);"
     "CREATE INDEX clients_time ON clients(first_seen);"
     "CREATE INDEX clients_client ON clients(client_ip, first_seen);"
     "CREATE INDEX clients_received ON clients(received);"
     "CREATE TABLE probe_stats(id INTEGER PRIMARY KEY, probe_id TEXT NOT NULL,"
     " site TEXT NOT NULL, received TEXT NOT NULL, record TEXT NOT NULL);"
     "CREATE INDEX probe_stats_time ON probe_stats(received);"},
};

#define MIGRATIONS (sizeof migrations / sizeof migrations[0])

/* ---- records: which JSON keys go to which columns ----------------------- */

typedef struct {
    const char *type;  /* record type */
    const char *table;
    const char *cols[24]; /* JSON keys, same-named columns; NULL-terminated */
} record_map_t;

static const record_map_t maps[] = {
    {"stream", "streams",
     {"first_seen", "last_seen", "client_ip", "client_port", "src_ip", "src_port", "dst_ip",
      "dst_port", "proto", "ssrc", "direction", "media", "app", "encap", "packets", "lost",
      "loss_pct", "jitter_ms_max", "network_jitter_ms_max", "mos"}},
    {"interval", "intervals",
     {"start", "end", "src_ip", "src_port", "dst_ip", "dst_port", "ssrc", "direction",
      "packets", "lost", "loss_pct", "jitter_ms_max"}},
    {"flow", "flows",
     {"first_seen", "last_seen", "client_ip", "client_port", "remote_ip", "remote_port", "proto",
      "app", "media"}},
    {"client", "clients", {"first_seen", "last_seen", "client_ip", "client_mac"}},
    {"stats", "probe_stats", {NULL}},
};

#define NMAPS (sizeof maps / sizeof maps[0])

/* Retention counts from when the collector stored a row, not from the
 * capture's own clock (a replayed capture may be months old). */
static const char *const aged[] = {"streams", "intervals",   "flows",
                                   "clients", "probe_stats", "batches"};

struct store {
    sqlite3 *db;
    sqlite3_stmt *ins[NMAPS];
    int ncols[NMAPS];
    sqlite3_stmt *batch_ins, *probe_up, *hb_up;
};

static bool exec(sqlite3 *db, const char *sql, char *err, size_t errlen)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) == SQLITE_OK)
        return true;
    snprintf(err, errlen, "database: %s", msg ? msg : sqlite3_errmsg(db));
    sqlite3_free(msg);
    return false;
}

static int component_version(sqlite3 *db, const char *component)
{
    sqlite3_stmt *st;
    int v = 0;
    if (sqlite3_prepare_v2(db, "SELECT version FROM migrations WHERE component = ?", -1, &st,
                           NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_text(st, 1, component, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return v;
}

static bool migrate(sqlite3 *db, char *err, size_t errlen)
{
    if (!exec(db,
              "CREATE TABLE IF NOT EXISTS migrations(component TEXT PRIMARY KEY,"
              " version INTEGER NOT NULL)",
              err, errlen))
        return false;
    int have = component_version(db, "ingest");
    if (have < 0) {
        snprintf(err, errlen, "database: %s", sqlite3_errmsg(db));
        return false;
    }
    if (have > migrations[MIGRATIONS - 1].version) {
        snprintf(err, errlen,
                 "database schema 'ingest' is version %d, newer than this collector knows (%d)",
                 have, migrations[MIGRATIONS - 1].version);
        return false;
    }
    for (size_t i = 0; i < MIGRATIONS; i++) {
        if (migrations[i].version <= have)
            continue;
        char up[128];
        snprintf(up, sizeof up,
                 "INSERT OR REPLACE INTO migrations(component, version) VALUES('ingest', %d)",
                 migrations[i].version);
        if (!exec(db, "BEGIN IMMEDIATE", err, errlen))
            return false;
        if (!exec(db, migrations[i].sql, err, errlen) || !exec(db, up, err, errlen)) {
            exec(db, "ROLLBACK", err + strlen(err), 0);
            return false;
        }
        if (!exec(db, "COMMIT", err, errlen))
            return false;
        LOG_INFO("store: schema 'ingest' migrated to version %d", migrations[i].version);
    }
    return true;
}

static bool prepare(store_t *s, const char *sql, sqlite3_stmt **st, char *err, size_t errlen)
{
    if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) == SQLITE_OK)
        return true;
    snprintf(err, errlen, "database: %s", sqlite3_errmsg(s->db));
    return false;
}

/* INSERT INTO table(probe_id, site, cols..., record) VALUES(?, ...) */
static bool prepare_map(store_t *s, size_t i, char *err, size_t errlen)
{
    char sql[2048], vals[256] = "?,?,?";
    int n = snprintf(sql, sizeof sql, "INSERT INTO %s(probe_id,site,received", maps[i].table);
    int k = 0;
    for (; maps[i].cols[k]; k++) {
        n += snprintf(sql + n, sizeof sql - (size_t)n, ",%s", maps[i].cols[k]);
        strcat(vals, ",?");
    }
    snprintf(sql + n, sizeof sql - (size_t)n, ",record) VALUES(%s,?)", vals);
    s->ncols[i] = k;
    return prepare(s, sql, &s->ins[i], err, errlen);
}

static bool prepare_all(store_t *s, char *err, size_t errlen)
{
    for (size_t i = 0; i < NMAPS; i++)
        if (!prepare_map(s, i, err, errlen))
            return false;
    return prepare(s,
                   "INSERT INTO batches(probe_id, epoch, seq, received, records)"
                   " VALUES(?,?,?,?,?) ON CONFLICT DO NOTHING",
                   &s->batch_ins, err, errlen) &&
           prepare(s,
                   "INSERT INTO probes(probe_id, site, version, first_seen, last_seen)"
                   " VALUES(?1,?2,?3,?4,?4) ON CONFLICT(probe_id) DO UPDATE SET"
                   " site = ?2, version = COALESCE(?3, version), last_seen = ?4",
                   &s->probe_up, err, errlen) &&
           prepare(s, "UPDATE probes SET last_heartbeat = ?2, health = ?3 WHERE probe_id = ?1",
                   &s->hb_up, err, errlen);
}

store_t *store_open(const char *path, bool sync_full, char *err, size_t errlen)
{
    store_t *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
        SQLITE_OK) {
        snprintf(err, errlen, "cannot open database %s: %s", path,
                 s->db ? sqlite3_errmsg(s->db) : "out of memory");
        store_free(&s);
        return NULL;
    }
    sqlite3_busy_timeout(s->db, 5000);
    bool ok = exec(s->db, "PRAGMA journal_mode=WAL", err, errlen) &&
              exec(s->db, sync_full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL",
                   err, errlen) &&
              exec(s->db, "PRAGMA foreign_keys=ON", err, errlen) && migrate(s->db, err, errlen) &&
              prepare_all(s, err, errlen);
    if (!ok) {
        size_t l = strlen(err);
        snprintf(err + l, errlen - l, " (%s)", path);
        store_free(&s);
    }
    return s;
}

void store_free(store_t **ps)
{
    if (!ps || !*ps)
        return;
    store_t *s = *ps;
    for (size_t i = 0; i < NMAPS; i++)
        sqlite3_finalize(s->ins[i]);
    sqlite3_finalize(s->batch_ins);
    sqlite3_finalize(s->probe_up);
    sqlite3_finalize(s->hb_up);
    sqlite3_close(s->db);
    free(s);
    *ps = NULL;
}

sqlite3 *store_db(store_t *s)
{
    return s->db;
}

/* ---- writing ------------------------------------------------------------ */

static void bind_json(sqlite3_stmt *st, int idx, json_t *v)
{
    if (!v) { /* a missing key is NULL, like an explicit null */
        sqlite3_bind_null(st, idx);
        return;
    }
    switch (json_typeof(v)) {
    case JSON_STRING:
        sqlite3_bind_text(st, idx, json_string_value(v), (int)json_string_length(v),
                          SQLITE_TRANSIENT);
        break;
    case JSON_INTEGER:
        sqlite3_bind_int64(st, idx, json_integer_value(v));
        break;
    case JSON_REAL:
        sqlite3_bind_double(st, idx, json_real_value(v));
        break;
    case JSON_TRUE:
    case JSON_FALSE:
        sqlite3_bind_int(st, idx, json_is_true(v));
        break;
    default:
        sqlite3_bind_null(st, idx);
    }
}

static int step_reset(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc;
}

static const record_map_t *map_for(json_t *rec, size_t *idx)
{
    const char *type = json_string_value(json_object_get(rec, "type"));
    for (size_t i = 0; type && i < NMAPS; i++) {
        if (strcmp(maps[i].type, type) == 0) {
            *idx = i;
            return &maps[i];
        }
    }
    return NULL;
}

/* One record; false only on a database error. */
static bool insert_record(store_t *s, json_t *rec, const wire_msg_t *m, const char *probe,
                          const char *now, store_result_t *r)
{
    char why[160];
    size_t i = 0;
    const record_map_t *map = wire_record_check(rec, why, sizeof why) ? map_for(rec, &i) : NULL;
    if (!map) {
        if (r->rejected++ == 0)
            snprintf(r->first_error, sizeof r->first_error, "%s", why);
        return true;
    }
    sqlite3_stmt *st = s->ins[i];
    int col = 1;
    sqlite3_bind_text(st, col++, probe, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, col++, m->site, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, col++, now, -1, SQLITE_STATIC);
    for (int k = 0; k < s->ncols[i]; k++)
        bind_json(st, col++, json_object_get(rec, map->cols[k]));
    char *text = json_dumps(rec, JSON_COMPACT | JSON_REAL_PRECISION(15));
    if (!text)
        return false;
    sqlite3_bind_text(st, col, text, -1, free);
    if (step_reset(st) != SQLITE_DONE)
        return false;
    r->stored++;
    return true;
}

static bool upsert_probe(store_t *s, const char *probe, const char *site, const char *version,
                         const char *now)
{
    sqlite3_bind_text(s->probe_up, 1, probe, -1, SQLITE_STATIC);
    sqlite3_bind_text(s->probe_up, 2, site, -1, SQLITE_STATIC);
    if (version)
        sqlite3_bind_text(s->probe_up, 3, version, -1, SQLITE_STATIC);
    sqlite3_bind_text(s->probe_up, 4, now, -1, SQLITE_STATIC);
    return step_reset(s->probe_up) == SQLITE_DONE;
}

static bool insert_batch(store_t *s, const char *probe, const wire_msg_t *m, const char *now,
                         store_result_t *r, bool *dup)
{
    sqlite3_bind_text(s->batch_ins, 1, probe, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s->batch_ins, 2, m->epoch);
    sqlite3_bind_int64(s->batch_ins, 3, m->seq);
    sqlite3_bind_text(s->batch_ins, 4, now, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s->batch_ins, 5, (int64_t)json_array_size(m->records));
    if (step_reset(s->batch_ins) != SQLITE_DONE)
        return false;
    *dup = sqlite3_changes(s->db) == 0;
    if (*dup)
        return true;
    size_t k;
    json_t *rec;
    json_array_foreach(m->records, k, rec)
    {
        if (!insert_record(s, rec, m, probe, now, r))
            return false;
    }
    return upsert_probe(s, probe, m->site, NULL, now);
}

bool store_batch(store_t *s, const char *probe, const wire_msg_t *m, wire_status_t *status,
                 store_result_t *r, char *err, size_t errlen)
{
    char now[40];
    timefmt_iso(timefmt_now(), now, sizeof now);
    memset(r, 0, sizeof *r);
    if (!exec(s->db, "BEGIN IMMEDIATE", err, errlen))
        return false;
    bool dup = false;
    if (!insert_batch(s, probe, m, now, r, &dup)) {
        snprintf(err, errlen, "database: %s", sqlite3_errmsg(s->db));
        char ignored[8];
        exec(s->db, "ROLLBACK", ignored, sizeof ignored);
        return false;
    }
    if (!exec(s->db, "COMMIT", err, errlen)) {
        char ignored[8];
        exec(s->db, "ROLLBACK", ignored, sizeof ignored);
        return false;
    }
    *status = dup ? WIRE_DUPLICATE : WIRE_STORED;
    return true;
}

bool store_heartbeat(store_t *s, const char *probe, const wire_msg_t *m, char *err,
                     size_t errlen)
{
    char now[40];
    timefmt_iso(timefmt_now(), now, sizeof now);
    char *health = json_dumps(m->health, JSON_COMPACT);
    bool ok = health && upsert_probe(s, probe, m->site, m->version, now);
    if (ok) {
        sqlite3_bind_text(s->hb_up, 1, probe, -1, SQLITE_STATIC);
        sqlite3_bind_text(s->hb_up, 2, now, -1, SQLITE_STATIC);
        sqlite3_bind_text(s->hb_up, 3, health, -1, SQLITE_STATIC);
        ok = step_reset(s->hb_up) == SQLITE_DONE;
    }
    free(health);
    if (!ok)
        snprintf(err, errlen, "database: %s", sqlite3_errmsg(s->db));
    return ok;
}

static int64_t delete_older(store_t *s, const char *table, const char *cutoff)
{
    char sql[256];
    /* batches has no rowid: delete by key; others in rowid chunks so the
     * write lock is held briefly. */
    if (strcmp(table, "batches") == 0)
        snprintf(sql, sizeof sql, "DELETE FROM batches WHERE received < ?");
    else
        snprintf(sql, sizeof sql,
                 "DELETE FROM %s WHERE id IN (SELECT id FROM %s WHERE received < ? LIMIT %d)",
                 table, table, RETENTION_CHUNK);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
        return -1;
    int64_t total = 0;
    for (;;) {
        sqlite3_bind_text(st, 1, cutoff, -1, SQLITE_STATIC);
        if (step_reset(st) != SQLITE_DONE) {
            total = -1;
            break;
        }
        int n = sqlite3_changes(s->db);
        total += n;
        if (n < RETENTION_CHUNK || strcmp(table, "batches") == 0)
            break;
    }
    sqlite3_finalize(st);
    return total;
}

int64_t store_retention(store_t *s, unsigned days, char *err, size_t errlen)
{
    char cutoff[40];
    timefmt_iso(timefmt_now() - (int64_t)days * 86400 * USEC_PER_SEC, cutoff, sizeof cutoff);
    int64_t total = 0;
    for (size_t i = 0; i < sizeof aged / sizeof aged[0]; i++) {
        int64_t n = delete_older(s, aged[i], cutoff);
        if (n < 0) {
            snprintf(err, errlen, "retention on %s: %s", aged[i], sqlite3_errmsg(s->db));
            return -1;
        }
        total += n;
    }
    return total;
}
