/* noc_db.h - the NOC's read-only view of the store. */
#ifndef CALLSCOPE_NOC_DB_H
#define CALLSCOPE_NOC_DB_H

#include <jansson.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>

/* A read-only connection (query_only, busy timeout) to an existing store.
 * NULL with err when the file is missing or not a database. */
sqlite3 *noc_db_open(const char *path, char *err, size_t errlen);
void noc_db_close(sqlite3 **db);
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
