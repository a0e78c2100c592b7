/* db.h - one statement API over the collector's two SQL backends: a SQLite
 * file (the embedded default) and PostgreSQL (libpq, a postgresql:// URI).
 * The modules that read and write the store beside ingest (Graph records,
 * correlation and verdicts, buildings, the NOC) speak this API, so one
 * piece of C serves both backends; ingest keeps its own two backends
 * (collector/ingest/store_backend.h) for its COPY and group-commit paths.
 *
 * SQL is written with numbered placeholders ?1 .. ?N on both backends (on
 * PostgreSQL they become $1 .. $N; a placeholder may appear more than
 * once). Write the SQL both engines accept where there is one (both take
 * ON CONFLICT DO NOTHING / DO UPDATE SET x = excluded.x, RETURNING,
 * coalesce, CAST(x AS DOUBLE PRECISION), TEXT COLLATE "C" comparisons of
 * ISO times). Where the two differ (DDL types, JSON access, date
 * arithmetic), a module keeps both texts side by side in one table of its
 * own (db_sql_t) and picks with db_pick(), never with scattered branches.
 *
 * Values: bind INT (int64), REAL (double), TEXT, BLOB or NULL; text and
 * blobs are copied at bind time. On PostgreSQL a statement is prepared on
 * its first step with the types of the values bound (int8, float8, text,
 * bytea; NULL as unknown) and prepared again when a later step binds other
 * types, so "?1 IS NULL" needs no cast and a text never lands in a BIGINT
 * column by accident. Columns read back the SQLite way: db_col_int() of a
 * text column converts, booleans read as 0/1, bytea as the raw bytes.
 *
 * A PostgreSQL step fetches the statement's whole result on its first call
 * (another statement may run on the same connection while its rows are
 * read, as on SQLite); statements that may return many rows carry a LIMIT
 * or are paged by key.
 *
 * One db_t per thread, as with sqlite3 connections: neither backend's
 * handle may be used by two threads at once.
 */
#ifndef CALLSCOPE_DB_H
#define CALLSCOPE_DB_H

#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum { DB_SQLITE = 1, DB_PG = 2 } db_kind_t;

typedef struct db db_t;
typedef struct db_stmt db_stmt_t;

/* True for "postgresql://" and "postgres://" targets. */
bool db_is_uri(const char *target);

/* Open flags. */
#define DB_READONLY 0x1u /* SQLite: read-only open, query_only; PG: read-only transactions */
#define DB_CREATE 0x2u   /* SQLite: create the file when missing */

/* Opens a SQLite file (WAL, busy timeout 5 s) or connects to a PostgreSQL
 * URI (application_name app). NULL + err naming the file or
 * "user@host:port/db" (never a password) and the reason. */
db_t *db_open(const char *target, unsigned flags, const char *app, char *err, size_t errlen);

/* Wraps a connection another module opened; db_close() leaves it open. */
db_t *db_from_sqlite(sqlite3 *h);
db_t *db_from_pg(PGconn *c);

/* Closes (or, for a wrapped handle, forgets) and sets *db to NULL. */
void db_close(db_t **db);

db_kind_t db_kind(const db_t *db);
const char *db_name(const db_t *db); /* "SQLite", "PostgreSQL" */
sqlite3 *db_sqlite(db_t *db);        /* NULL on PostgreSQL */
PGconn *db_pg(db_t *db);             /* NULL on SQLite */

/* A statement whose text differs per backend. */
typedef struct {
    const char *sqlite;
    const char *pg; /* NULL: the same text as sqlite */
} db_sql_t;

/* The text of s for db's backend. */
const char *db_pick(const db_t *db, db_sql_t s);

/* Runs one or more statements without parameters. err: "<who>: <message>". */
bool db_exec(db_t *db, const char *who, const char *sql, char *err, size_t errlen);

/* BEGIN (SQLite: BEGIN IMMEDIATE), COMMIT, ROLLBACK. */
bool db_begin(db_t *db, char *err, size_t errlen);
bool db_commit(db_t *db, char *err, size_t errlen);
void db_rollback(db_t *db);

/* Prepares sql (placeholders ?1..?N). NULL + err "database: <message>". */
db_stmt_t *db_prepare(db_t *db, const char *sql, char *err, size_t errlen);
void db_finalize(db_stmt_t **st);

/* Parameters are numbered from 1. A value is copied; it stays bound until
 * bound again or db_clear_bindings(). Return false only when i is out of
 * range or memory ran out. */
bool db_bind_int(db_stmt_t *st, int i, int64_t v);
bool db_bind_real(db_stmt_t *st, int i, double v);
bool db_bind_text(db_stmt_t *st, int i, const char *s, int len); /* len -1: strlen; s NULL: NULL */
bool db_bind_blob(db_stmt_t *st, int i, const void *p, size_t len);
bool db_bind_null(db_stmt_t *st, int i);
void db_clear_bindings(db_stmt_t *st);

enum { DB_ERR = -1, DB_DONE = 0, DB_ROW = 1 };
/* The next row: DB_ROW, DB_DONE when there is none, DB_ERR with err
 * "database: <message>" (on PostgreSQL the primary message only, never
 * its DETAIL, which may quote a row). */
int db_step(db_stmt_t *st, char *err, size_t errlen);
/* Ready to run again with the same or new bindings. */
void db_reset(db_stmt_t *st);
/* Rows changed by the statement's last run (INSERT/UPDATE/DELETE). */
int64_t db_changes(db_stmt_t *st);

/* Columns of the current row, numbered from 0. Pointers stay valid until
 * the next db_step/db_reset/db_finalize of st. */
typedef enum { DB_T_NULL, DB_T_INT, DB_T_REAL, DB_T_TEXT, DB_T_BLOB } db_type_t;
int db_col_count(db_stmt_t *st);
const char *db_col_name(db_stmt_t *st, int i);
db_type_t db_col_type(db_stmt_t *st, int i);
int64_t db_col_int(db_stmt_t *st, int i);
double db_col_real(db_stmt_t *st, int i);
const char *db_col_text(db_stmt_t *st, int i); /* NULL for NULL */
const void *db_col_blob(db_stmt_t *st, int i); /* NULL for NULL or empty */
size_t db_col_bytes(db_stmt_t *st, int i);     /* length of text or blob */

/* One migration step of a component: sql for each backend (db_sql_t), or
 * fn called inside the step's transaction (schemas generated from a table,
 * backfills that need C). */
typedef struct {
    int version;
    db_sql_t sql;
    bool (*fn)(db_t *db, char *err, size_t errlen);
} db_step_t;

/* The component's recorded version in migrations(component, version): 0
 * when none yet, -1 on error. */
int db_version(db_t *db, const char *component);

/* Applies the steps above the recorded version, in order (sorted by
 * version), each with its version row in one transaction (PostgreSQL: all
 * pending steps in one transaction under an advisory lock, so collectors
 * starting together migrate once). A recorded version above the last
 * step's is refused: "database schema '<component>' is version N, newer
 * than this collector knows (M)", and nothing is changed. */
bool db_migrate(db_t *db, const char *who, const char *component, const db_step_t *steps,
                size_t nsteps, char *err, size_t errlen);

#endif
