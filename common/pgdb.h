/* pgdb.h - common/sqldb.h's calls for PostgreSQL (libpq): connect with a
 * message that says what went wrong (and never the password), run a
 * statement with a clear error, bring one component's tables to the
 * version this program knows.
 *
 * Migrations are kept per component in migrations(component, version), as
 * on SQLite. All pending steps of a component run in one transaction
 * (PostgreSQL's DDL is transactional) under an advisory lock, so
 * collectors starting together against one database migrate it once. A
 * database whose component is newer than the program's last step is
 * refused: "database schema '<component>' is version N, newer than this
 * collector knows (M)", and nothing is changed.
 */
#ifndef CALLSCOPE_PGDB_H
#define CALLSCOPE_PGDB_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct {
    int version;
    const char *sql; /* one or more statements */
} pgdb_step_t;

/* Connects to a postgresql:// URI (connect_timeout 10 s unless the URI
 * says otherwise). NULL + err: "invalid PostgreSQL URI ...", or "cannot
 * connect to PostgreSQL <user@host:port/db>: <server's reason>". */
PGconn *pgdb_connect(const char *uri, const char *app, char *err, size_t errlen);
/* "user@host:port/db" of a URI (no password), for messages. */
void pgdb_describe(const char *uri, char *out, size_t outlen);

/* Runs one or more statements. On failure err reads "<who>: <message>". */
bool pgdb_exec(PGconn *c, const char *who, const char *sql, char *err, size_t errlen);
/* err = "<who>: <the result's primary message (never its DETAIL, which may
 * quote a row) or the connection's message>", one line. */
void pgdb_error(PGconn *c, const PGresult *r, const char *who, char *err, size_t errlen);

/* The component's recorded version: 0 when none yet, -1 on error. */
int pgdb_version(PGconn *c, const char *component);

/* Applies the steps above the recorded version (steps sorted by version). */
bool pgdb_migrate(PGconn *c, const char *who, const char *component, const pgdb_step_t *steps,
                  size_t nsteps, char *err, size_t errlen);

#endif
