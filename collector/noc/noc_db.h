/* noc_db.h - the NOC's read-only view of the store. */
#ifndef CALLSCOPE_NOC_DB_H
#define CALLSCOPE_NOC_DB_H

#include <jansson.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A read-only connection (query_only, busy timeout) to an existing store.
 * NULL with err when the file is missing or not a database. */
sqlite3 *noc_db_open(const char *path, char *err, size_t errlen);
void noc_db_close(sqlite3 **db);

/* A statement time limit on one connection (sqlite3_progress_handler): a
 * statement still running at deadline_ms (CLOCK_MONOTONIC; 0: none) is
 * interrupted and fails with SQLITE_INTERRUPT; 'hits' counts them. The
 * struct must outlive the connection's use; one thread arms it at a time. */
typedef struct {
    int64_t deadline_ms;
    bool hit; /* the last armed request was interrupted */
    uint64_t hits;
} noc_db_limit_t;

void noc_db_limit(sqlite3 *db, noc_db_limit_t *l);
/* Every statement from now on must end within ms of now. */
void noc_db_limit_arm(noc_db_limit_t *l, unsigned ms);
int64_t noc_db_now_ms(void);
/* Prepares sql; false with err naming the database's complaint. A store
 * without the verdict tables yet says so ("no verdicts yet"). */
bool noc_db_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st, char *err, size_t errlen);
/* Column i as JSON: integers, reals, text; NULL and blobs as null. */
json_t *noc_db_column_json(sqlite3_stmt *st, int i);
/* Column i (JSON text) parsed, or null when NULL or not JSON. */
json_t *noc_db_column_parsed(sqlite3_stmt *st, int i);
/* The current row as an object, one member per column name. */
json_t *noc_db_row_json(sqlite3_stmt *st);

#endif
