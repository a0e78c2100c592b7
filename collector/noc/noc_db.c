#include "noc_db.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#define NOC_DB_BUSY_MS 2000

static sqlite3 *sqlite_open(const char *path, char *err, size_t errlen)
{
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        snprintf(err, errlen, "%s: %s", path, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        sqlite3_close(db);
        return NULL;
    }
    sqlite3_busy_timeout(db, NOC_DB_BUSY_MS);
    char *msg = NULL;
    rc = sqlite3_exec(db, "PRAGMA query_only = 1; SELECT count(*) FROM sqlite_master", NULL, NULL,
                      &msg);
    if (rc != SQLITE_OK) {
        snprintf(err, errlen, "%s: %s", path, msg ? msg : sqlite3_errmsg(db));
        sqlite3_free(msg);
        sqlite3_close(db);
        return NULL;
    }
    return db;
}

int64_t noc_db_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Called every PROGRESS_OPS virtual machine steps (about 0.1-1 ms). */
#define PROGRESS_OPS 10000

static int progress(void *ctx)
{
    noc_db_limit_t *l = ctx;
    if (l->deadline_ms == 0 || noc_db_now_ms() < l->deadline_ms)
        return 0;
    if (!l->hit) {
        l->hit = true;
        l->hits++;
    }
    return 1;
}

static void sqlite_limit(sqlite3 *db, noc_db_limit_t *l)
{
    sqlite3_progress_handler(db, PROGRESS_OPS, progress, l);
}

void noc_db_limit_arm(noc_db_limit_t *l, unsigned ms)
{
    l->hit = false;
    l->deadline_ms = noc_db_now_ms() + ms;
    if (l->pg) {
        /* the server's own limit: it cancels the statement at ms; a failure
         * here shows as the request's own statement failing */
        char sql[64], err[128];
        snprintf(sql, sizeof sql, "SET statement_timeout = %u", ms);
        (void)db_exec(l->pg, "noc", sql, err, sizeof err);
    }
}

/* ---- both backends ------------------------------------------------------------ */

db_t *noc_store_open(const char *target, char *err, size_t errlen)
{
    if (!db_is_uri(target)) {
        /* the SQLite connection exactly as before (busy timeout, query_only) */
        sqlite3 *h = sqlite_open(target, err, errlen);
        db_t *db = h ? db_from_sqlite(h) : NULL;
        if (h && !db) {
            snprintf(err, errlen, "%s: out of memory", target);
            sqlite3_close(h);
        }
        return db;
    }
    db_t *db = db_open(target, DB_READONLY, "callscope-noc", err, errlen);
    /* The NOC's statements are short reads of a window, planned anew per
     * request: JIT compilation (above jit_above_cost, which the month-wide
     * joins pass) cost 280 ms of a 24 h /api/clients on the month-sized
     * store, more than it saved, and parallel workers only add their
     * start-up on a loaded 2-core server (the NOC's own connections run
     * requests side by side already). work_mem: /api/live's first read
     * sorts the look-back's records (144,000 on the month-sized store
     * while the bench fed it), which spilled 36 MB to disk with the
     * default 4 MB. Session settings: the server's defaults stay as they
     * are for everyone else. */
    if (db && !db_exec(db, "noc",
                       "SET jit = off; SET max_parallel_workers_per_gather = 0;"
                       " SET work_mem = '64MB'",
                       err, errlen))
        db_close(&db);
    return db;
}

void noc_store_close(db_t **db)
{
    if (!db || !*db)
        return;
    sqlite3 *h = db_kind(*db) == DB_SQLITE ? db_sqlite(*db) : NULL;
    db_close(db); /* a wrapped SQLite handle stays open: close it here */
    if (h)
        sqlite3_close(h);
}

void noc_store_limit(db_t *db, noc_db_limit_t *l)
{
    if (db_kind(db) == DB_SQLITE)
        sqlite_limit(db_sqlite(db), l);
    else
        l->pg = db;
}

/* The database's complaint about a missing verdict table, on either
 * backend: SQLite "no such table: verdict_x", PostgreSQL 'relation
 * "verdict_x" does not exist'. */
static bool no_verdicts(const char *m)
{
    return strstr(m, "no such table: verdict_") ||
           (strstr(m, "relation \"verdict_") && strstr(m, "does not exist"));
}

db_stmt_t *noc_store_prepare(db_t *db, const char *sql, char *err, size_t errlen)
{
    db_stmt_t *st = db_prepare(db, sql, err, errlen);
    if (!st && no_verdicts(err))
        snprintf(err, errlen, "no verdicts yet (the verdict tables are not in the store)");
    return st;
}

int noc_store_step(db_stmt_t *st, noc_db_limit_t *l, char *err, size_t errlen)
{
    int rc = db_step(st, err, errlen);
    if (rc != DB_ERR)
        return rc;
    if (no_verdicts(err))
        snprintf(err, errlen, "no verdicts yet (the verdict tables are not in the store)");
    else if (l && (strstr(err, "statement timeout") || strstr(err, "interrupted"))) {
        if (!l->hit)
            l->hits++;
        l->hit = true;
    }
    return rc;
}

json_t *noc_store_col_json(db_stmt_t *st, int i)
{
    switch (db_col_type(st, i)) {
    case DB_T_INT:
        return json_integer((json_int_t)db_col_int(st, i));
    case DB_T_REAL:
        return json_real(db_col_real(st, i));
    case DB_T_TEXT: {
        json_t *s = json_stringn(db_col_text(st, i), db_col_bytes(st, i));
        return s ? s : json_null(); /* not UTF-8 */
    }
    default:
        return json_null();
    }
}

json_t *noc_store_col_parsed(db_stmt_t *st, int i)
{
    if (db_col_type(st, i) != DB_T_TEXT)
        return json_null();
    json_t *j = json_loadb(db_col_text(st, i), db_col_bytes(st, i), JSON_DECODE_ANY, NULL);
    return j ? j : json_null();
}

json_t *noc_store_row_json(db_stmt_t *st)
{
    json_t *o = json_object();
    int n = db_col_count(st);
    for (int i = 0; i < n; i++)
        json_object_set_new(o, db_col_name(st, i), noc_store_col_json(st, i));
    return o;
}
