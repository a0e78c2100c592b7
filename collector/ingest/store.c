#include "store.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dynbuf.h"
#include "pii.h"
#include "jscan.h"
#include "keyfile.h"
#include "log.h"
#include "pii_cache.h"
#include "sqldb.h"
#include "timefmt.h"

#define RETENTION_CHUNK 20000

/* ---- schema ------------------------------------------------------------- */

/* Addresses and MACs are personal data: each is kept as <key>_enc
 * (AES-256-GCM under the organisation key) and <key>_hmac (keyed hash for
 * lookups and the join with Graph), never in clear (docs/store.md). */
static const sqldb_step_t migrations[] = {
    {1,
     "CREATE TABLE probes(probe_id TEXT PRIMARY KEY, site TEXT NOT NULL, version TEXT,"
     " first_seen TEXT NOT NULL, last_seen TEXT NOT NULL, last_heartbeat TEXT, health TEXT);"
     "CREATE TABLE batches(probe_id TEXT NOT NULL, epoch INTEGER NOT NULL, seq INTEGER NOT NULL,"
     " received TEXT NOT NULL, records INTEGER NOT NULL, PRIMARY KEY(probe_id, epoch, seq))"
     " WITHOUT ROWID;"
     "CREATE INDEX batches_received ON batches(received);"
     "CREATE TABLE streams(id INTEGER PRIMARY KEY, probe_id TEXT NOT NULL, site TEXT NOT NULL,"
     " received TEXT NOT NULL, first_seen TEXT NOT NULL, last_seen TEXT NOT NULL,"
     " client_port INTEGER, src_port INTEGER, dst_port INTEGER, proto TEXT,"
     " ssrc INTEGER NOT NULL, direction TEXT, media TEXT, app TEXT, encap TEXT, packets INTEGER,"
     " lost INTEGER, loss_pct REAL, jitter_ms_max REAL, network_jitter_ms_max REAL, mos REAL,"
     " client_ip_enc BLOB, client_ip_hmac BLOB, client_mac_enc BLOB, client_mac_hmac BLOB,"
     " src_ip_enc BLOB, src_ip_hmac BLOB, dst_ip_enc BLOB, dst_ip_hmac BLOB,"
     " record TEXT NOT NULL);"
     "CREATE INDEX streams_time ON streams(first_seen);"
     "CREATE INDEX streams_client ON streams(client_ip_hmac, first_seen);"
     "CREATE INDEX streams_site ON streams(site, first_seen);"
     "CREATE INDEX streams_received ON streams(received);"
     "CREATE TABLE intervals(id INTEGER PRIMARY KEY, probe_id TEXT NOT NULL, site TEXT NOT NULL,"
     " received TEXT NOT NULL, start TEXT NOT NULL, end TEXT NOT NULL, src_port INTEGER,"
     " dst_port INTEGER, ssrc INTEGER NOT NULL, direction TEXT, packets INTEGER, lost INTEGER,"
     " loss_pct REAL, jitter_ms_max REAL,"
     " src_ip_enc BLOB, src_ip_hmac BLOB, dst_ip_enc BLOB, dst_ip_hmac BLOB,"
     " record TEXT NOT NULL);"
     "CREATE INDEX intervals_time ON intervals(start);"
     "CREATE INDEX intervals_site ON intervals(site, start);"
     "CREATE INDEX intervals_stream ON intervals(ssrc, start);"
     "CREATE INDEX intervals_received ON intervals(received);"
     "CREATE TABLE flows(id INTEGER PRIMARY KEY, probe_id TEXT NOT NULL, site TEXT NOT NULL,"
     " received TEXT NOT NULL, first_seen TEXT NOT NULL, last_seen TEXT NOT NULL,"
     " client_port INTEGER, remote_port INTEGER, proto TEXT, app TEXT, media TEXT,"
     " client_ip_enc BLOB, client_ip_hmac BLOB, client_mac_enc BLOB, client_mac_hmac BLOB,"
     " remote_ip_enc BLOB, remote_ip_hmac BLOB, src_ip_enc BLOB, src_ip_hmac BLOB,"
     " dst_ip_enc BLOB, dst_ip_hmac BLOB, record TEXT NOT NULL);"
     "CREATE INDEX flows_time ON flows(first_seen);"
     "CREATE INDEX flows_client ON flows(client_ip_hmac, first_seen);"
     "CREATE INDEX flows_site ON flows(site, first_seen);"
     "CREATE INDEX flows_received ON flows(received);"
     "CREATE TABLE clients(id INTEGER PRIMARY KEY, probe_id TEXT NOT NULL, site TEXT NOT NULL,"
     " received TEXT NOT NULL, first_seen TEXT NOT NULL, last_seen TEXT NOT NULL,"
     " client_ip_enc BLOB, client_ip_hmac BLOB, client_mac_enc BLOB, client_mac_hmac BLOB,"
     " record TEXT NOT NULL);"
     "CREATE INDEX clients_time ON clients(first_seen);"
     "CREATE INDEX clients_client ON clients(client_ip_hmac, first_seen);"
     "CREATE INDEX clients_received ON clients(received);"
     "CREATE TABLE probe_stats(id INTEGER PRIMARY KEY, probe_id TEXT NOT NULL,"
     " site TEXT NOT NULL, received TEXT NOT NULL, record TEXT NOT NULL);"
     "CREATE INDEX probe_stats_time ON probe_stats(received);",
     NULL},
};

#define MIGRATIONS (sizeof migrations / sizeof migrations[0])

/* ---- records: which JSON keys go to which columns ----------------------- */

typedef struct {
    const char *type; /* record type */
    const char *table;
    const char *cols[24]; /* JSON keys, same-named columns; NULL-terminated */
    const char *pii[8];   /* JSON keys kept sealed and hashed, taken out of the record */
} record_map_t;

static const record_map_t maps[] = {
    {"stream",
     "streams",
     {"first_seen", "last_seen", "client_port", "src_port", "dst_port", "proto", "ssrc",
      "direction", "media", "app", "encap", "packets", "lost", "loss_pct", "jitter_ms_max",
      "network_jitter_ms_max", "mos"},
     {"client_ip", "client_mac", "src_ip", "dst_ip"}},
    {"interval",
     "intervals",
     {"start", "end", "src_port", "dst_port", "ssrc", "direction", "packets", "lost", "loss_pct",
      "jitter_ms_max"},
     {"src_ip", "dst_ip"}},
    {"flow",
     "flows",
     {"first_seen", "last_seen", "client_port", "remote_port", "proto", "app", "media"},
     {"client_ip", "client_mac", "remote_ip", "src_ip", "dst_ip"}},
    {"client", "clients", {"first_seen", "last_seen"}, {"client_ip", "client_mac"}},
    {"stats", "probe_stats", {NULL}, {NULL}},
};

#define NMAPS (sizeof maps / sizeof maps[0])

/* Retention counts from when the collector stored a row, not from the
 * capture's own clock (a replayed capture may be months old). */
static const char *const aged[] = {"streams", "intervals",   "flows",
                                   "clients", "probe_stats", "batches"};

/* Checkpoints (copying the WAL into the database file) run in a thread of
 * their own on a second connection, so the writer only appends to the WAL. */
typedef struct {
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool running, stop;
    sqlite3 *db;
    uint64_t runs, failures;
} checkpointer_t;

struct store {
    sqlite3 *db;
    const pii_t *pii; /* borrowed */
    pii_cache_t *pc;
    bool in_txn;   /* store_begin() called, store_commit() not yet */
    jscan_t js;    /* the record at hand */
    dynbuf_t text; /* its stored form */
    checkpointer_t ck;
    sqlite3_stmt *ins[NMAPS];
    sqlite3_stmt *batch_ins, *probe_up, *hb_up;
};

static bool checkpointer_start(store_t *s, const char *path, char *err, size_t errlen);

static bool exec(sqlite3 *db, const char *sql, char *err, size_t errlen)
{
    return sqldb_exec(db, "database", sql, err, errlen);
}

static bool migrate(sqlite3 *db, char *err, size_t errlen)
{
    return sqldb_migrate(db, "store", "ingest", migrations, MIGRATIONS, err, errlen);
}

static bool prepare(store_t *s, const char *sql, sqlite3_stmt **st, char *err, size_t errlen)
{
    if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) == SQLITE_OK)
        return true;
    snprintf(err, errlen, "database: %s", sqlite3_errmsg(s->db));
    return false;
}

/* INSERT INTO table(probe_id, site, received, cols..., <pii>_enc, <pii>_hmac...,
 * record) VALUES(?, ...): every value bound from the record parsed once. */
static bool prepare_map(store_t *s, size_t i, char *err, size_t errlen)
{
    char sql[4096], vals[512] = "?,?,?";
    const record_map_t *m = &maps[i];
    size_t n = (size_t)snprintf(sql, sizeof sql, "INSERT INTO %s(probe_id,site,received", m->table);
    size_t nv = strlen(vals);
    for (int k = 0; m->cols[k]; k++) {
        n += (size_t)snprintf(sql + n, sizeof sql - n, ",%s", m->cols[k]);
        nv += (size_t)snprintf(vals + nv, sizeof vals - nv, ",?");
    }
    for (int k = 0; m->pii[k]; k++) {
        n += (size_t)snprintf(sql + n, sizeof sql - n, ",%s_enc,%s_hmac", m->pii[k], m->pii[k]);
        nv += (size_t)snprintf(vals + nv, sizeof vals - nv, ",?,?");
    }
    n += (size_t)snprintf(sql + n, sizeof sql - n, ",record) VALUES(%s,?)", vals);
    if (n >= sizeof sql || nv >= sizeof vals) {
        snprintf(err, errlen, "internal: insert statement for %s too long", m->table);
        return false;
    }
    return prepare(s, sql, &s->ins[i], err, errlen);
}

/* SQL functions on the store's connection, for tools and tests that write
 * or look up personal values in SQL: pii_seal(aad, value) seals,
 * pii_hash(domain, value) gives the lookup hash ('ip' canonicalises). */
static void sql_seal(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    pii_cache_t *pc = sqlite3_user_data(ctx);
    const char *aad = (const char *)sqlite3_value_text(argv[0]);
    const char *v = (const char *)sqlite3_value_text(argv[1]);
    if (argc != 2 || !aad || !v || sqlite3_value_type(argv[1]) == SQLITE_NULL) {
        sqlite3_result_null(ctx);
        return;
    }
    size_t outlen = 0;
    const uint8_t *out = pii_cache_seal(pc, aad, v, (size_t)sqlite3_value_bytes(argv[1]), &outlen);
    if (out)
        sqlite3_result_blob(ctx, out, (int)outlen, SQLITE_TRANSIENT);
    else
        sqlite3_result_error(ctx, "pii_seal failed", -1);
}

static void sql_hash(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    pii_cache_t *pc = sqlite3_user_data(ctx);
    const char *dom = (const char *)sqlite3_value_text(argv[0]);
    const char *v = (const char *)sqlite3_value_text(argv[1]);
    uint8_t h[PII_HASH_LEN];
    if (argc != 2 || !dom || !v || sqlite3_value_type(argv[1]) == SQLITE_NULL) {
        sqlite3_result_null(ctx);
        return;
    }
    if (pii_cache_hash(pc, dom, v, (size_t)sqlite3_value_bytes(argv[1]), h))
        sqlite3_result_blob(ctx, h, sizeof h, SQLITE_TRANSIENT);
    else
        sqlite3_result_null(ctx);
}

static bool register_pii(store_t *s, char *err, size_t errlen)
{
    if (sqlite3_create_function(s->db, "pii_seal", 2, SQLITE_UTF8, s->pc, sql_seal, NULL, NULL) !=
            SQLITE_OK ||
        sqlite3_create_function(s->db, "pii_hash", 2, SQLITE_UTF8 | SQLITE_DETERMINISTIC, s->pc,
                                sql_hash, NULL, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "database: %s", sqlite3_errmsg(s->db));
        return false;
    }
    return true;
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

store_t *store_open(const char *path, bool sync_full, const pii_t *pii, char *err, size_t errlen)
{
    store_t *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    /* 0600 outside systemd too (SQLite gives -wal and -shm the same mode) */
    if (path[0] != ':' && strncmp(path, "file:", 5) != 0 &&
        !keyfile_create_private(path, err, errlen)) {
        store_free(&s);
        return NULL;
    }
    /* one connection per thread: SQLite's own mutexes are not needed */
    if (sqlite3_open_v2(path, &s->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        snprintf(err, errlen, "cannot open database %s: %s", path,
                 s->db ? sqlite3_errmsg(s->db) : "out of memory");
        store_free(&s);
        return NULL;
    }
    s->pii = pii;
    dynbuf_init(&s->text, 1 << 20);
    s->pc = pii_cache_new(pii);
    if (!s->pc) {
        snprintf(err, errlen, "out of memory");
        store_free(&s);
        return NULL;
    }
    sqlite3_busy_timeout(s->db, 5000);
    /* 8 KiB pages (new stores only): a batch dirties fewer pages, the WAL
     * gets fewer writes; 57k instead of 48k records/s in bench_transport */
    bool ok = exec(s->db, "PRAGMA page_size=8192", err, errlen) &&
              exec(s->db, "PRAGMA journal_mode=WAL", err, errlen) &&
              exec(s->db, sync_full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL", err,
                   errlen) &&
              exec(s->db, "PRAGMA foreign_keys=ON", err, errlen) &&
              exec(s->db, "PRAGMA cache_size=-65536", err, errlen) && /* 64 MiB */
              migrate(s->db, err, errlen) && register_pii(s, err, errlen) &&
              prepare_all(s, err, errlen) && checkpointer_start(s, path, err, errlen);
    if (!ok) {
        size_t l = strlen(err);
        snprintf(err + l, errlen - l, " (%s)", path);
        store_free(&s);
    }
    return s;
}

#define CHECKPOINT_EVERY_MS 200
#define WAL_SAFETY_PAGES 65536 /* the writer checkpoints itself past 256 MiB */

static void *checkpoint_loop(void *arg)
{
    checkpointer_t *ck = arg;
    pthread_mutex_lock(&ck->mu);
    while (!ck->stop) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += CHECKPOINT_EVERY_MS * 1000000L;
        until.tv_sec += until.tv_nsec / 1000000000L;
        until.tv_nsec %= 1000000000L;
        pthread_cond_timedwait(&ck->cv, &ck->mu, &until);
        if (ck->stop)
            break;
        pthread_mutex_unlock(&ck->mu);
        int rc = sqlite3_wal_checkpoint_v2(ck->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
        pthread_mutex_lock(&ck->mu);
        ck->runs++;
        if (rc != SQLITE_OK && rc != SQLITE_BUSY)
            ck->failures++;
    }
    pthread_mutex_unlock(&ck->mu);
    return NULL;
}

static bool checkpointer_start(store_t *s, const char *path, char *err, size_t errlen)
{
    checkpointer_t *ck = &s->ck;
    pthread_mutex_init(&ck->mu, NULL);
    pthread_cond_init(&ck->cv, NULL);
    if (sqlite3_open_v2(path, &ck->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK) {
        snprintf(err, errlen, "database %s: second connection: %s", path,
                 ck->db ? sqlite3_errmsg(ck->db) : "out of memory");
        return false;
    }
    sqlite3_busy_timeout(ck->db, 5000);
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA wal_autocheckpoint=%d", WAL_SAFETY_PAGES);
    if (!exec(s->db, sql, err, errlen) || !exec(ck->db, "PRAGMA wal_autocheckpoint=0", err, errlen))
        return false;
    if (pthread_create(&ck->th, NULL, checkpoint_loop, ck) != 0) {
        snprintf(err, errlen, "cannot start the checkpoint thread");
        return false;
    }
    ck->running = true;
    return true;
}

static void checkpointer_stop(checkpointer_t *ck)
{
    if (ck->running) {
        pthread_mutex_lock(&ck->mu);
        ck->stop = true;
        pthread_cond_signal(&ck->cv);
        pthread_mutex_unlock(&ck->mu);
        pthread_join(ck->th, NULL);
        ck->running = false;
        pthread_mutex_destroy(&ck->mu);
        pthread_cond_destroy(&ck->cv);
    }
    sqlite3_close(ck->db);
    ck->db = NULL;
}

void store_free(store_t **ps)
{
    if (!ps || !*ps)
        return;
    store_t *s = *ps;
    checkpointer_stop(&s->ck);
    for (size_t i = 0; i < NMAPS; i++)
        sqlite3_finalize(s->ins[i]);
    sqlite3_finalize(s->batch_ins);
    sqlite3_finalize(s->probe_up);
    sqlite3_finalize(s->hb_up);
    sqlite3_close(s->db);
    pii_cache_free(&s->pc);
    dynbuf_free(&s->text);
    free(s);
    *ps = NULL;
}

sqlite3 *store_db(store_t *s)
{
    return s->db;
}

/* ---- writing ------------------------------------------------------------ */

static int step_reset(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc;
}

#define VALUE_MAX 1024 /* longest string or number bound from a record */

/* One member's value into a column: strings unescaped, numbers as integer
 * or real, booleans 0/1; absent, null, objects and arrays as NULL. */
static void bind_member(sqlite3_stmt *st, int idx, const js_member_t *m)
{
    char buf[VALUE_MAX];
    size_t len;
    switch (m ? m->type : JS_NULL) {
    case JS_STRING:
        if (!m->escaped) /* the line outlives the step */
            sqlite3_bind_text(st, idx, m->value + 1, (int)m->value_len - 2, SQLITE_STATIC);
        else if (jscan_string(m, buf, sizeof buf, &len))
            sqlite3_bind_text(st, idx, buf, (int)len, SQLITE_TRANSIENT);
        else
            sqlite3_bind_null(st, idx);
        break;
    case JS_NUMBER:
        if (m->value_len >= 64) {
            sqlite3_bind_null(st, idx);
            break;
        }
        memcpy(buf, m->value, m->value_len);
        buf[m->value_len] = '\0';
        if (m->integer && m->value_len <= 18)
            sqlite3_bind_int64(st, idx, strtoll(buf, NULL, 10));
        else
            sqlite3_bind_double(st, idx, strtod(buf, NULL));
        break;
    case JS_TRUE:
    case JS_FALSE:
        sqlite3_bind_int(st, idx, m->type == JS_TRUE);
        break;
    default:
        sqlite3_bind_null(st, idx);
    }
}

/* <key>_enc and <key>_hmac for one personal value (NULL when absent). */
static bool bind_pii(store_t *s, sqlite3_stmt *st, int idx, const char *table, const char *key,
                     const js_member_t *m)
{
    char val[VALUE_MAX], aad[64];
    size_t len = 0, outlen = 0;
    if (!m || !jscan_string(m, val, sizeof val, &len)) {
        sqlite3_bind_null(st, idx);
        sqlite3_bind_null(st, idx + 1);
        return true;
    }
    snprintf(aad, sizeof aad, PII_AAD_RECORD_FMT, table, key);
    uint8_t h[PII_HASH_LEN];
    bool hashed = false;
    const uint8_t *sealed = pii_cache_pair(s->pc, aad, strstr(key, "_mac") ? "mac" : "ip", val, len,
                                           &outlen, h, &hashed);
    bool ok = sealed != NULL;
    if (ok)
        sqlite3_bind_blob(st, idx, sealed, (int)outlen, SQLITE_TRANSIENT);
    if (ok && hashed)
        sqlite3_bind_blob(st, idx + 1, h, sizeof h, SQLITE_TRANSIENT);
    else if (ok)
        sqlite3_bind_null(st, idx + 1);
    explicit_bzero(val, sizeof val);
    return ok;
}

static bool is_pii(const record_map_t *map, const js_member_t *m)
{
    for (int k = 0; map->pii[k]; k++)
        if (map->pii[k][0] == m->key[0] && strncmp(map->pii[k], m->key, m->key_len) == 0 &&
            map->pii[k][m->key_len] == '\0')
            return true;
    return false;
}

/* The record as sent, minus its personal members: spans copied, no
 * re-serialisation. */
static bool bind_stripped(store_t *s, sqlite3_stmt *st, int idx, const record_map_t *map,
                          const jscan_t *js)
{
    dynbuf_reset(&s->text);
    bool ok = dynbuf_add(&s->text, "{", 1);
    bool first = true;
    for (size_t i = 0; ok && i < js->n; i++) {
        const js_member_t *m = &js->m[i];
        if (is_pii(map, m))
            continue;
        ok = (first || dynbuf_add(&s->text, ",", 1)) &&
             dynbuf_add(&s->text, m->start, (size_t)(m->value + m->value_len - m->start));
        first = false;
    }
    ok = ok && dynbuf_add(&s->text, "}", 1);
    return ok &&
           sqlite3_bind_text(st, idx, s->text.p, (int)s->text.len, SQLITE_STATIC) == SQLITE_OK;
}

static size_t map_index(const char *type)
{
    size_t i = 0;
    while (i < NMAPS && strcmp(maps[i].type, type) != 0)
        i++;
    return i;
}

/* One record line; false only on a database (or cipher) error. */
static bool insert_record(store_t *s, const char *line, size_t len, const wire_msg_t *m,
                          const char *probe, const char *now, store_result_t *r)
{
    char why[128];
    const char *type = NULL;
    if (!jscan_object(line, len, &s->js, why, sizeof why) ||
        !wire_record_check(&s->js, &type, why, sizeof why) || map_index(type) == NMAPS) {
        if (r->rejected++ == 0)
            snprintf(r->first_error, sizeof r->first_error, "%s", why);
        return true;
    }
    size_t i = map_index(type);
    const record_map_t *map = &maps[i];
    sqlite3_stmt *st = s->ins[i];
    int col = 1;
    sqlite3_bind_text(st, col++, probe, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, col++, m->site, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, col++, now, -1, SQLITE_STATIC);
    for (int k = 0; map->cols[k]; k++)
        bind_member(st, col++, jscan_get(&s->js, map->cols[k]));
    bool ok = true;
    for (int k = 0; ok && map->pii[k]; k++, col += 2)
        ok = bind_pii(s, st, col, map->table, map->pii[k], jscan_get(&s->js, map->pii[k]));
    ok = ok && bind_stripped(s, st, col, map, &s->js) && step_reset(st) == SQLITE_DONE;
    if (!ok)
        sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (ok)
        r->stored++;
    return ok;
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

static bool insert_batch(store_t *s, const char *probe, const wire_msg_t *m, const char *body,
                         size_t body_len, const char *now, store_result_t *r, bool *dup)
{
    sqlite3_bind_text(s->batch_ins, 1, probe, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s->batch_ins, 2, m->epoch);
    sqlite3_bind_int64(s->batch_ins, 3, m->seq);
    sqlite3_bind_text(s->batch_ins, 4, now, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s->batch_ins, 5, m->records);
    if (step_reset(s->batch_ins) != SQLITE_DONE)
        return false;
    *dup = sqlite3_changes(s->db) == 0;
    if (*dup)
        return true;
    size_t pos = 0, len;
    const char *line;
    while (wire_next_line(body, body_len, &pos, &line, &len))
        if (!insert_record(s, line, len, m, probe, now, r))
            return false;
    return upsert_probe(s, probe, m->site, NULL, now);
}

static int64_t count_lines(const char *body, size_t body_len)
{
    size_t pos = 0, len;
    const char *line;
    int64_t n = 0;
    while (wire_next_line(body, body_len, &pos, &line, &len))
        n++;
    return n;
}

bool store_batch(store_t *s, const char *probe, const wire_msg_t *m, const char *body,
                 size_t body_len, wire_status_t *status, store_result_t *r, char *err,
                 size_t errlen)
{
    char now[40];
    timefmt_iso(timefmt_now(), now, sizeof now);
    memset(r, 0, sizeof *r);
    int64_t lines = count_lines(body, body_len);
    if (lines != m->records) {
        snprintf(r->first_error, sizeof r->first_error,
                 "batch header says %lld records, its body has %lld lines", (long long)m->records,
                 (long long)lines);
        *status = WIRE_REJECTED;
        return true;
    }
    bool own = !s->in_txn;
    if (own && !store_begin(s, err, errlen))
        return false;
    bool dup = false;
    if (!insert_batch(s, probe, m, body, body_len, now, r, &dup)) {
        snprintf(err, errlen, "database: %s", sqlite3_errmsg(s->db));
        store_rollback(s);
        return false;
    }
    if (own && !store_commit(s, err, errlen))
        return false;
    *status = dup ? WIRE_DUPLICATE : WIRE_STORED;
    return true;
}

bool store_begin(store_t *s, char *err, size_t errlen)
{
    if (s->in_txn)
        return true;
    s->in_txn = exec(s->db, "BEGIN IMMEDIATE", err, errlen);
    return s->in_txn;
}

bool store_commit(store_t *s, char *err, size_t errlen)
{
    if (!s->in_txn)
        return true;
    bool ok = exec(s->db, "COMMIT", err, errlen);
    if (!ok)
        store_rollback(s);
    s->in_txn = false;
    return ok;
}

void store_rollback(store_t *s)
{
    char ignored[8];
    if (sqlite3_get_autocommit(s->db) == 0)
        exec(s->db, "ROLLBACK", ignored, sizeof ignored);
    s->in_txn = false;
}

bool store_heartbeat(store_t *s, const char *probe, const wire_msg_t *m, char *err, size_t errlen)
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
