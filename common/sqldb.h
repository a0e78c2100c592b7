/* sqldb.h - the SQL helpers every store of the collector shares: run a
 * statement with a clear error, and bring one component's tables to the
 * version this program knows.
 *
 * Migrations are kept per component ("ingest", "graph", "verdict", ...) in
 * one table, migrations(component, version). Each step runs in a
 * transaction of its own with the row that records its version, so a
 * crash leaves the schema at a step boundary. A store whose component is
 * newer than the program's last step is refused with a message that says
 * so, and nothing is changed.
 *
 * The calls name what a store needs, not how SQLite does it: a second SQL
 * backend (PostgreSQL, docs/store.md) sits behind the same calls.
 */
#ifndef CALLSCOPE_SQLDB_H
#define CALLSCOPE_SQLDB_H

#include <stdbool.h>
#include <stddef.h>

#include <sqlite3.h>

/* One migration step: sql run as is, or, for schemas generated from a
 * table (enrich's field list), fn called inside the step's transaction. */
typedef struct {
    int version;
    const char *sql;
    bool (*fn)(sqlite3 *db, char *err, size_t errlen);
} sqldb_step_t;

/* Runs one or more statements. On failure err reads "<who>: <message>". */
bool sqldb_exec(sqlite3 *db, const char *who, const char *sql, char *err, size_t errlen);

/* The component's recorded version: 0 when it has none yet, -1 on error. */
int sqldb_version(sqlite3 *db, const char *component);

/* Applies steps[i] with version above the recorded one, in order (steps
 * sorted by version). Refuses a recorded version above the last step's:
 * "database schema '<component>' is version N, newer than this collector
 * knows (M)". who prefixes other errors. */
bool sqldb_migrate(sqlite3 *db, const char *who, const char *component, const sqldb_step_t *steps,
                   size_t nsteps, char *err, size_t errlen);

#endif
