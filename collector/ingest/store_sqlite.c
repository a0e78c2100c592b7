/* store_sqlite.c - the store in one SQLite file (WAL mode): its schema,
 * its statements, its checkpoint thread. The default backend. */
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "keyfile.h"
#include "sqldb.h"
#include "store_backend.h"

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
    /* Three of the four indexes written per stream row were read by
     * nobody (correlation reads streams by id and by client hash, the NOC
     * by id); retention finds the old rows by id (received grows with id).
     * With them, a 1000-record batch rewrote ~3 index paths per row. */
    {2,
     "DROP INDEX streams_time;"
     "DROP INDEX streams_site;"
     "DROP INDEX streams_received;",
     NULL},
};

#define MIGRATIONS (sizeof migrations / sizeof migrations[0])

/* Retention counts from when the collector stored a row, not from the
 * capture's own clock (a replayed capture may be months old). by_id: the
 * table has no index on received; rows are found by id (ids grow with
 * received, up to clock steps back, which keep a row longer, never less). */
static const struct {
    const char *table;
    bool by_id;
} aged[] = {{"streams", true},  {"intervals", false},   {"flows", false},
            {"clients", false}, {"probe_stats", false}, {"batches", false}};

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

typedef struct {
    store_backend_t base;
    sqlite3 *db;
    pii_cache_t *pc; /* borrowed, for the SQL functions */
    checkpointer_t ck;
    sqlite3_stmt *ins[8];
    sqlite3_stmt *batch_ins, *probe_up, *hb_up;
} sq_t;

static bool exec(sqlite3 *db, const char *sql, char *err, size_t errlen)
{
    return sqldb_exec(db, "database", sql, err, errlen);
}

static bool dberr(sq_t *q, char *err, size_t errlen)
{
    snprintf(err, errlen, "database: %s", sqlite3_errmsg(q->db));
    return false;
}

static bool prepare(sq_t *q, const char *sql, sqlite3_stmt **st, char *err, size_t errlen)
{
    if (sqlite3_prepare_v3(q->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) == SQLITE_OK)
        return true;
    return dberr(q, err, errlen);
}

/* INSERT INTO table(probe_id, site, received, cols..., <pii>_enc, <pii>_hmac...,
 * record) VALUES(?, ...): the row's values in its order. */
static bool prepare_map(sq_t *q, size_t i, char *err, size_t errlen)
{
    char sql[4096], vals[512] = "?,?,?";
    const store_map_t *m = &store_maps[i];
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
    return prepare(q, sql, &q->ins[i], err, errlen);
}

static bool prepare_all(sq_t *q, char *err, size_t errlen)
{
    for (size_t i = 0; i < store_nmaps; i++)
        if (!prepare_map(q, i, err, errlen))
            return false;
    return prepare(q,
                   "INSERT INTO batches(probe_id, epoch, seq, received, records)"
                   " VALUES(?,?,?,?,?) ON CONFLICT DO NOTHING",
                   &q->batch_ins, err, errlen) &&
           prepare(q,
                   "INSERT INTO probes(probe_id, site, version, first_seen, last_seen)"
                   " VALUES(?1,?2,?3,?4,?4) ON CONFLICT(probe_id) DO UPDATE SET"
                   " site = ?2, version = COALESCE(?3, version), last_seen = ?4",
                   &q->probe_up, err, errlen) &&
           prepare(q, "UPDATE probes SET last_heartbeat = ?2, health = ?3 WHERE probe_id = ?1",
                   &q->hb_up, err, errlen);
}

/* Each checkpoint writes every page dirtied since the last one once: the
 * client index takes random keys, so its leaves (~2,700 at 300,000 rows)
 * are nearly all dirty again after a few thousand records. Every 200 ms at
 * 15,000 records/s that was ~0.6 leaf pages (4.9 KB) written per record
 * besides the row's own 1.4 KB; every second, a fifth of it. The WAL then
 * holds up to a second of records (~80 MB at 50,000 records/s). */
#define CHECKPOINT_EVERY_MS 1000
#define WAL_SAFETY_PAGES 65536 /* the writer checkpoints itself past 512 MiB (8 KiB pages) */

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

static bool checkpointer_start(sq_t *q, const char *path, char *err, size_t errlen)
{
    checkpointer_t *ck = &q->ck;
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
    /* The read opens the WAL on this connection: until a connection has
     * read the database, SQLite 3.40 (Debian 12) makes
     * sqlite3_wal_checkpoint_v2() on it a no-op that returns SQLITE_OK
     * (3.42 reads by itself), and the WAL grew until the writer's own
     * checkpoint at WAL_SAFETY_PAGES (bench_transport: a 300,000-record
     * run ended with a 433 MB WAL and an 8 KiB database file). */
    if (!exec(q->db, sql, err, errlen) ||
        !exec(ck->db, "PRAGMA wal_autocheckpoint=0", err, errlen) ||
        !exec(ck->db, "SELECT count(*) FROM sqlite_schema", err, errlen))
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

static void sq_free(store_backend_t *b)
{
    sq_t *q = (sq_t *)b;
    checkpointer_stop(&q->ck);
    for (size_t i = 0; i < store_nmaps; i++)
        sqlite3_finalize(q->ins[i]);
    sqlite3_finalize(q->batch_ins);
    sqlite3_finalize(q->probe_up);
    sqlite3_finalize(q->hb_up);
    sqlite3_close(q->db);
    free(q);
}

/* ---- writing ------------------------------------------------------------ */

static int step_reset(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc;
}

static bool sq_begin(store_backend_t *b, char *err, size_t errlen)
{
    return exec(((sq_t *)b)->db, "BEGIN IMMEDIATE", err, errlen);
}

static bool sq_commit(store_backend_t *b, char *err, size_t errlen)
{
    return exec(((sq_t *)b)->db, "COMMIT", err, errlen);
}

static void sq_rollback(store_backend_t *b)
{
    sq_t *q = (sq_t *)b;
    char ignored[8];
    if (sqlite3_get_autocommit(q->db) == 0)
        exec(q->db, "ROLLBACK", ignored, sizeof ignored);
}

static int sq_claim(store_backend_t *b, const char *probe, int64_t epoch, int64_t seq,
                    const char *now, int64_t records, char *err, size_t errlen)
{
    sq_t *q = (sq_t *)b;
    sqlite3_bind_text(q->batch_ins, 1, probe, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q->batch_ins, 2, epoch);
    sqlite3_bind_int64(q->batch_ins, 3, seq);
    sqlite3_bind_text(q->batch_ins, 4, now, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q->batch_ins, 5, records);
    if (step_reset(q->batch_ins) != SQLITE_DONE) {
        dberr(q, err, errlen);
        return -1;
    }
    return sqlite3_changes(q->db) == 0 ? 0 : 1;
}

static bool sq_row(store_backend_t *b, const store_row_t *r, char *err, size_t errlen)
{
    sq_t *q = (sq_t *)b;
    sqlite3_stmt *st = q->ins[r->map];
    for (size_t k = 0; k < r->n; k++) {
        const store_val_t *v = &r->v[k];
        int idx = (int)k + 1;
        switch (v->t) {
        case SV_TEXT: /* the row's values outlive the step */
            sqlite3_bind_text(st, idx, v->p, (int)v->len, SQLITE_STATIC);
            break;
        case SV_BLOB:
            sqlite3_bind_blob(st, idx, v->p, (int)v->len, SQLITE_STATIC);
            break;
        case SV_INT:
            sqlite3_bind_int64(st, idx, v->i);
            break;
        case SV_REAL:
            sqlite3_bind_double(st, idx, v->d);
            break;
        default:
            sqlite3_bind_null(st, idx);
        }
    }
    /* every parameter was bound above: no sqlite3_clear_bindings() */
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc == SQLITE_DONE)
        return true;
    return dberr(q, err, errlen);
}

static bool sq_end_batch(store_backend_t *b, char *err, size_t errlen)
{
    (void)b, (void)err, (void)errlen;
    return true;
}

static bool sq_probe_seen(store_backend_t *b, const char *probe, const char *site,
                          const char *version, const char *now, char *err, size_t errlen)
{
    sq_t *q = (sq_t *)b;
    sqlite3_bind_text(q->probe_up, 1, probe, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->probe_up, 2, site, -1, SQLITE_STATIC);
    if (version)
        sqlite3_bind_text(q->probe_up, 3, version, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->probe_up, 4, now, -1, SQLITE_STATIC);
    return step_reset(q->probe_up) == SQLITE_DONE || dberr(q, err, errlen);
}

static bool sq_heartbeat(store_backend_t *b, const char *probe, const char *now, const char *health,
                         char *err, size_t errlen)
{
    sq_t *q = (sq_t *)b;
    sqlite3_bind_text(q->hb_up, 1, probe, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->hb_up, 2, now, -1, SQLITE_STATIC);
    sqlite3_bind_text(q->hb_up, 3, health, -1, SQLITE_STATIC);
    return step_reset(q->hb_up) == SQLITE_DONE || dberr(q, err, errlen);
}

/* ---- retention ---------------------------------------------------------- */

static int64_t delete_by_index(sq_t *q, const char *table, const char *cutoff)
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
    if (sqlite3_prepare_v2(q->db, sql, -1, &st, NULL) != SQLITE_OK)
        return -1;
    int64_t total = 0;
    for (;;) {
        sqlite3_bind_text(st, 1, cutoff, -1, SQLITE_STATIC);
        if (step_reset(st) != SQLITE_DONE) {
            total = -1;
            break;
        }
        int n = sqlite3_changes(q->db);
        total += n;
        if (n < RETENTION_CHUNK || strcmp(table, "batches") == 0)
            break;
    }
    sqlite3_finalize(st);
    return total;
}

/* The largest id whose row (or the next row after it) was received before
 * cutoff: a binary search over the rowid, ~40 lookups for any size. */
static bool old_boundary(sq_t *q, const char *table, const char *cutoff, int64_t *lo_out,
                         int64_t *hi_out)
{
    char sql[160];
    sqlite3_stmt *mm = NULL, *at = NULL;
    snprintf(sql, sizeof sql, "SELECT MIN(id), MAX(id) FROM %s", table);
    bool ok = sqlite3_prepare_v2(q->db, sql, -1, &mm, NULL) == SQLITE_OK &&
              sqlite3_step(mm) == SQLITE_ROW;
    snprintf(sql, sizeof sql, "SELECT received < ?2 FROM %s WHERE id >= ?1 ORDER BY id LIMIT 1",
             table);
    ok = ok && sqlite3_prepare_v2(q->db, sql, -1, &at, NULL) == SQLITE_OK;
    int64_t lo = ok ? sqlite3_column_int64(mm, 0) : 0, hi = ok ? sqlite3_column_int64(mm, 1) : 0;
    *lo_out = lo;
    *hi_out = lo - 1; /* nothing old */
    /* invariant: rows from lo on are old up to the answer; find the last
     * id x in [lo, hi] whose next row is old */
    while (ok && sqlite3_column_type(mm, 0) != SQLITE_NULL && lo <= hi) {
        int64_t mid = lo + (hi - lo) / 2;
        sqlite3_bind_int64(at, 1, mid);
        sqlite3_bind_text(at, 2, cutoff, -1, SQLITE_STATIC);
        int rc = sqlite3_step(at);
        bool old = rc == SQLITE_ROW && sqlite3_column_int(at, 0);
        ok = rc == SQLITE_ROW || rc == SQLITE_DONE;
        sqlite3_reset(at);
        if (old) {
            *hi_out = mid;
            lo = mid + 1;
        } else {
            hi = mid - 1;
        }
    }
    sqlite3_finalize(mm);
    sqlite3_finalize(at);
    return ok;
}

static int64_t delete_by_id(sq_t *q, const char *table, const char *cutoff)
{
    int64_t from, to;
    if (!old_boundary(q, table, cutoff, &from, &to))
        return -1;
    char sql[200];
    snprintf(sql, sizeof sql, "DELETE FROM %s WHERE id >= ?1 AND id < ?2 AND received < ?3", table);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(q->db, sql, -1, &st, NULL) != SQLITE_OK)
        return -1;
    int64_t total = 0;
    for (int64_t a = from; a <= to; a += RETENTION_CHUNK) {
        int64_t z = a + RETENTION_CHUNK <= to + 1 ? a + RETENTION_CHUNK : to + 1;
        sqlite3_bind_int64(st, 1, a);
        sqlite3_bind_int64(st, 2, z);
        sqlite3_bind_text(st, 3, cutoff, -1, SQLITE_STATIC);
        if (step_reset(st) != SQLITE_DONE) {
            total = -1;
            break;
        }
        total += sqlite3_changes(q->db);
    }
    sqlite3_finalize(st);
    return total;
}

static int64_t sq_retention(store_backend_t *b, const char *cutoff, char *err, size_t errlen)
{
    sq_t *q = (sq_t *)b;
    int64_t total = 0;
    for (size_t i = 0; i < sizeof aged / sizeof aged[0]; i++) {
        int64_t n = aged[i].by_id ? delete_by_id(q, aged[i].table, cutoff)
                                  : delete_by_index(q, aged[i].table, cutoff);
        if (n < 0) {
            snprintf(err, errlen, "retention on %s: %s", aged[i].table, sqlite3_errmsg(q->db));
            return -1;
        }
        total += n;
    }
    return total;
}

static const store_ops_t sq_ops = {sq_begin,     sq_commit,    sq_rollback,   sq_claim,
                                   sq_row,       sq_end_batch, sq_probe_seen, sq_heartbeat,
                                   sq_retention, sq_free};

store_backend_t *store_sqlite_open(const char *path, bool sync_full, pii_cache_t *pc, void **db,
                                   char *err, size_t errlen)
{
    sq_t *q = calloc(1, sizeof *q);
    if (!q) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    q->base.ops = &sq_ops;
    q->base.name = "SQLite";
    q->pc = pc;
    /* 0600 outside systemd too (SQLite gives -wal and -shm the same mode) */
    if (path[0] != ':' && strncmp(path, "file:", 5) != 0 &&
        !keyfile_create_private(path, err, errlen)) {
        free(q);
        return NULL;
    }
    /* one connection per thread: SQLite's own mutexes are not needed */
    if (sqlite3_open_v2(path, &q->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        snprintf(err, errlen, "cannot open database %s: %s", path,
                 q->db ? sqlite3_errmsg(q->db) : "out of memory");
        sq_free(&q->base);
        return NULL;
    }
    sqlite3_busy_timeout(q->db, 5000);
    /* 8 KiB pages (new stores only): a batch dirties fewer pages, the WAL
     * gets fewer writes; 57k instead of 48k records/s in bench_transport */
    bool ok = exec(q->db, "PRAGMA page_size=8192", err, errlen) &&
              exec(q->db, "PRAGMA journal_mode=WAL", err, errlen) &&
              exec(q->db, sync_full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL", err,
                   errlen) &&
              exec(q->db, "PRAGMA foreign_keys=ON", err, errlen) &&
              exec(q->db, "PRAGMA cache_size=-65536", err, errlen) && /* 64 MiB */
              sqldb_migrate(q->db, "store", "ingest", migrations, MIGRATIONS, err, errlen) &&
              prepare_all(q, err, errlen) && checkpointer_start(q, path, err, errlen);
    if (!ok) {
        size_t l = strlen(err);
        snprintf(err + l, errlen - l, " (%s)", path);
        sq_free(&q->base);
        return NULL;
    }
    *db = q->db;
    return &q->base;
}
