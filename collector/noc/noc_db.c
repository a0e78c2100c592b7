#include "noc_db.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#define NOC_DB_BUSY_MS 2000

sqlite3 *noc_db_open(const char *path, char *err, size_t errlen)
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

void noc_db_limit(sqlite3 *db, noc_db_limit_t *l)
{
    sqlite3_progress_handler(db, PROGRESS_OPS, progress, l);
}

void noc_db_limit_arm(noc_db_limit_t *l, unsigned ms)
{
    l->hit = false;
    l->deadline_ms = noc_db_now_ms() + ms;
}

void noc_db_close(sqlite3 **db)
{
    if (db && *db) {
        sqlite3_close(*db);
        *db = NULL;
    }
}

bool noc_db_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st, char *err, size_t errlen)
{
    if (sqlite3_prepare_v2(db, sql, -1, st, NULL) == SQLITE_OK)
        return true;
    const char *m = sqlite3_errmsg(db);
    if (strstr(m, "no such table: verdict_"))
        snprintf(err, errlen, "no verdicts yet (the verdict tables are not in the store)");
    else
        snprintf(err, errlen, "database: %s", m);
    *st = NULL;
    return false;
}

json_t *noc_db_column_json(sqlite3_stmt *st, int i)
{
    switch (sqlite3_column_type(st, i)) {
    case SQLITE_INTEGER:
        return json_integer((json_int_t)sqlite3_column_int64(st, i));
    case SQLITE_FLOAT:
        return json_real(sqlite3_column_double(st, i));
    case SQLITE_TEXT: {
        json_t *s = json_stringn((const char *)sqlite3_column_text(st, i),
                                 (size_t)sqlite3_column_bytes(st, i));
        return s ? s : json_null(); /* not UTF-8 */
    }
    default:
        return json_null();
    }
}

json_t *noc_db_column_parsed(sqlite3_stmt *st, int i)
{
    if (sqlite3_column_type(st, i) != SQLITE_TEXT)
        return json_null();
    json_t *j = json_loadb((const char *)sqlite3_column_text(st, i),
                           (size_t)sqlite3_column_bytes(st, i), JSON_DECODE_ANY, NULL);
    return j ? j : json_null();
}

json_t *noc_db_row_json(sqlite3_stmt *st)
{
    json_t *o = json_object();
    int n = sqlite3_column_count(st);
    for (int i = 0; i < n; i++)
        json_object_set_new(o, sqlite3_column_name(st, i), noc_db_column_json(st, i));
    return o;
}
