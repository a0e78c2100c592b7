/* noc_db.h - the NOC's read-only view of the store: a SQLite file or a
 * PostgreSQL database, through common/db.h. */
#ifndef CALLSCOPE_NOC_DB_H
#define CALLSCOPE_NOC_DB_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"

/* A statement time limit on one connection (SQLite: a progress handler
 * interrupts a statement still running at deadline_ms, CLOCK_MONOTONIC, 0:
 * none; PostgreSQL: statement_timeout); 'hits' counts them. The struct must
 * outlive the connection's use; one thread arms it at a time. */
typedef struct {
    int64_t deadline_ms;
    bool hit; /* the last armed request was interrupted */
    uint64_t hits;
    db_t *pg; /* PostgreSQL: arming sets the connection's statement_timeout */
} noc_db_limit_t;

/* Every statement from now on must end within ms of now. On PostgreSQL
 * the server enforces it (statement_timeout, set when armed): a statement
 * it cancels fails, and noc_store_step() marks the limit hit. */
void noc_db_limit_arm(noc_db_limit_t *l, unsigned ms);
int64_t noc_db_now_ms(void);
/* ---- both backends (common/db.h) -------------------------------------------- */

/* The store read-only: a SQLite file (query_only, busy timeout) or a postgresql:// URI (read-only
 * transactions, application name "callscope-noc"). NULL with err naming the file or server. */
db_t *noc_store_open(const char *target, char *err, size_t errlen);
void noc_store_close(db_t **db);
/* The statement time limit l on db (SQLite: progress handler; PostgreSQL:
 * statement_timeout at each noc_db_limit_arm). */
void noc_store_limit(db_t *db, noc_db_limit_t *l);
/* db_prepare (PostgreSQL prepares at the first step, so a missing table
 * shows there: use noc_store_step). */
db_stmt_t *noc_store_prepare(db_t *db, const char *sql, char *err, size_t errlen);
/* db_step, with a store without the verdict tables yet answered "no
 * verdicts yet (...)" on both backends, and a statement cancelled by the
 * time limit marking l hit (l may be NULL). */
int noc_store_step(db_stmt_t *st, noc_db_limit_t *l, char *err, size_t errlen);
/* Column i as JSON: integers, reals, text; NULL and blobs as null. */
json_t *noc_store_col_json(db_stmt_t *st, int i);
/* Column i (JSON text) parsed, or null when NULL or not JSON. */
json_t *noc_store_col_parsed(db_stmt_t *st, int i);
/* The current row as an object, one member per column name. */
json_t *noc_store_row_json(db_stmt_t *st);

#endif
