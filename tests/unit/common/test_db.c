/* test_db.c - common/db.c on either backend: a temporary SQLite file when
 * run without arguments, the PostgreSQL URI given as argv[1] otherwise
 * (tests/pg/db_unit.py starts a throw-away server and passes its URI).
 * Every case runs the same C against both, so a difference between the
 * backends shows up as a failed check here.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "db.h"

static db_t *db;
static char err[512];

static void exec_ok(const char *sql)
{
    bool ok = db_exec(db, "test", sql, err, sizeof err);
    if (!ok)
        fprintf(stderr, "exec %s: %s\n", sql, err);
    CHECK(ok);
}

static int64_t count(const char *sql);

/* db_step, printing the message of an error */
static int step(db_stmt_t *st)
{
    int rc = db_step(st, err, sizeof err);
    if (rc == DB_ERR)
        fprintf(stderr, "step: %s\n", err);
    return rc;
}

static db_stmt_t *prep(const char *sql)
{
    db_stmt_t *st = db_prepare(db, sql, err, sizeof err);
    if (!st)
        fprintf(stderr, "prepare %s: %s\n", sql, err);
    CHECK(st != NULL);
    return st;
}

/* Every value type in and out, NULL, empty text and blob, NULs in a blob,
 * the int64 extremes. */
static void test_round_trip(void)
{
    exec_ok(db_pick(db, (db_sql_t){"CREATE TABLE t(i INTEGER, r REAL, s TEXT, b BLOB)",
                                   "CREATE TABLE t(i BIGINT, r DOUBLE PRECISION,"
                                   " s TEXT COLLATE \"C\", b BYTEA)"}));
    db_stmt_t *ins = prep("INSERT INTO t(i, r, s, b) VALUES(?1, ?2, ?3, ?4)");
    static const unsigned char nul_blob[] = {0x00, 0x01, 0x00, 0xff, 0x00};
    struct {
        int64_t i;
        double r;
        const char *s;
        const void *b;
        size_t blen;
    } rows[] = {
        {INT64_MAX, 1.5, "héllo", nul_blob, sizeof nul_blob},
        {INT64_MIN, -2.25e-300, "", "", 0},
        {0, 0.1, "it's \"quoted\" ?1", "x", 1},
    };
    for (size_t k = 0; k < 3; k++) {
        CHECK(db_bind_int(ins, 1, rows[k].i));
        CHECK(db_bind_real(ins, 2, rows[k].r));
        CHECK(db_bind_text(ins, 3, rows[k].s, -1));
        CHECK(db_bind_blob(ins, 4, rows[k].b, rows[k].blen));
        CHECK_EQ_INT(step(ins), DB_DONE);
        CHECK_EQ_INT(db_changes(ins), 1);
        db_reset(ins);
    }
    /* all NULL */
    db_clear_bindings(ins);
    CHECK(db_bind_null(ins, 1));
    CHECK(db_bind_text(ins, 3, NULL, 0));
    CHECK_EQ_INT(step(ins), DB_DONE);
    CHECK(!db_bind_int(ins, 5, 1)); /* out of range */
    CHECK(!db_bind_int(ins, 0, 1));
    db_finalize(&ins);
    CHECK(ins == NULL);

    db_stmt_t *q = prep("SELECT i, r, s, b FROM t ORDER BY i IS NULL, i");
    CHECK_EQ_INT(step(q), DB_ROW);
    CHECK_EQ_INT(db_col_count(q), 4);
    CHECK(strcmp(db_col_name(q, 2), "s") == 0);
    CHECK_EQ_INT(db_col_type(q, 0), DB_T_INT);
    CHECK(db_col_int(q, 0) == INT64_MIN);
    CHECK_EQ_INT(db_col_type(q, 1), DB_T_REAL);
    CHECK(db_col_real(q, 1) == -2.25e-300);
    CHECK_EQ_INT(db_col_type(q, 2), DB_T_TEXT);
    CHECK(db_col_text(q, 2) != NULL && strcmp(db_col_text(q, 2), "") == 0);
    CHECK_EQ_INT(db_col_bytes(q, 2), 0);
    CHECK_EQ_INT(db_col_type(q, 3), DB_T_BLOB); /* empty, not NULL */
    CHECK(db_col_blob(q, 3) == NULL);
    CHECK_EQ_INT(db_col_bytes(q, 3), 0);

    CHECK_EQ_INT(step(q), DB_ROW);
    CHECK(db_col_int(q, 0) == 0);
    CHECK(db_col_real(q, 1) == 0.1);
    CHECK(strcmp(db_col_text(q, 2), "it's \"quoted\" ?1") == 0);
    CHECK_EQ_INT(db_col_bytes(q, 3), 1);

    CHECK_EQ_INT(step(q), DB_ROW);
    CHECK(db_col_int(q, 0) == INT64_MAX);
    CHECK(db_col_real(q, 1) == 1.5);
    CHECK(strcmp(db_col_text(q, 2), "héllo") == 0);
    CHECK_EQ_INT(db_col_bytes(q, 2), strlen("héllo"));
    CHECK_EQ_INT(db_col_bytes(q, 3), sizeof nul_blob);
    CHECK(db_col_blob(q, 3) && memcmp(db_col_blob(q, 3), nul_blob, sizeof nul_blob) == 0);

    CHECK_EQ_INT(step(q), DB_ROW);
    for (int c = 0; c < 4; c++)
        CHECK_EQ_INT(db_col_type(q, c), DB_T_NULL);
    CHECK(db_col_text(q, 2) == NULL);
    CHECK(db_col_blob(q, 3) == NULL);
    CHECK_EQ_INT(db_col_int(q, 0), 0);
    CHECK_EQ_INT(step(q), DB_DONE);
    db_finalize(&q);

    /* text read as a number, a boolean as 0/1, a count */
    q = prep("SELECT CAST('42' AS TEXT), 2 > 1, count(*) FROM t");
    CHECK_EQ_INT(step(q), DB_ROW);
    CHECK_EQ_INT(db_col_int(q, 0), 42);
    CHECK_EQ_INT(db_col_int(q, 1), 1);
    CHECK_EQ_INT(db_col_int(q, 2), 4);
    db_finalize(&q);
}

/* One placeholder used twice; a bare "?" numbers after the largest so far;
 * "?1 IS NULL" filters with the parameter NULL and then set, which on
 * PostgreSQL prepares a second form (other types) and keeps both. */
static void test_placeholders(void)
{
    db_stmt_t *q = prep("SELECT count(*) FROM t WHERE i >= ?1 AND i <= ?1");
    CHECK(db_bind_int(q, 1, 0));
    CHECK_EQ_INT(step(q), DB_ROW);
    CHECK_EQ_INT(db_col_int(q, 0), 1);
    db_finalize(&q);

    q = prep("SELECT ?1 + ?, ?3 - ?2"); /* the bare ? is ?2 */
    CHECK(db_bind_int(q, 1, 10));
    CHECK(db_bind_int(q, 2, 5));
    CHECK(db_bind_int(q, 3, 1));
    CHECK_EQ_INT(step(q), DB_ROW);
    CHECK_EQ_INT(db_col_int(q, 0), 15);
    CHECK_EQ_INT(db_col_int(q, 1), -4);
    db_finalize(&q);

    q = prep("SELECT count(*) FROM t WHERE (?1 IS NULL OR s = ?1) AND i IS NOT NULL");
    for (int round = 0; round < 2; round++) {
        CHECK(db_bind_null(q, 1));
        CHECK_EQ_INT(step(q), DB_ROW);
        CHECK_EQ_INT(db_col_int(q, 0), 3);
        db_reset(q);
        CHECK(db_bind_text(q, 1, "héllo", -1));
        CHECK_EQ_INT(step(q), DB_ROW);
        CHECK_EQ_INT(db_col_int(q, 0), 1);
        db_reset(q);
    }
    db_finalize(&q);

    /* "?1 IS NULL" alone: PostgreSQL cannot infer the type of a NULL, the
     * statement is prepared again with text, inside a transaction too */
    CHECK(db_begin(db, err, sizeof err));
    q = prep("SELECT ?1 IS NULL");
    CHECK(db_bind_null(q, 1));
    CHECK_EQ_INT(step(q), DB_ROW);
    CHECK_EQ_INT(db_col_int(q, 0), 1);
    db_finalize(&q);
    CHECK(db_commit(db, err, sizeof err));

    /* a type change between steps: int, then real, then int again */
    q = prep("SELECT ?1 * 2");
    CHECK(db_bind_int(q, 1, 21));
    CHECK_EQ_INT(step(q), DB_ROW);
    CHECK_EQ_INT(db_col_int(q, 0), 42);
    db_reset(q);
    CHECK(db_bind_real(q, 1, 1.25));
    CHECK_EQ_INT(step(q), DB_ROW);
    CHECK(db_col_real(q, 0) == 2.5);
    db_reset(q);
    CHECK(db_bind_int(q, 1, -3));
    CHECK_EQ_INT(step(q), DB_ROW);
    CHECK_EQ_INT(db_col_int(q, 0), -6);
    db_finalize(&q);

    /* An insert whose value is now NULL, now set: one prepared form on
     * PostgreSQL (the NULL takes the type the server gave the column);
     * a text bound where the server typed a BIGINT is refused. */
    exec_ok(db_pick(db, (db_sql_t){"CREATE TABLE n(a INTEGER, b TEXT)",
                                   "CREATE TABLE n(a BIGINT, b TEXT COLLATE \"C\")"}));
    q = prep("INSERT INTO n(a, b) VALUES(?1, ?2)");
    for (int k = 0; k < 6; k++) {
        if (k % 2)
            CHECK(db_bind_int(q, 1, k));
        else
            CHECK(db_bind_null(q, 1));
        CHECK(k % 3 ? db_bind_text(q, 2, "x", 1) : db_bind_null(q, 2));
        CHECK_EQ_INT(step(q), DB_DONE);
        db_reset(q);
    }
    db_finalize(&q);
    CHECK_EQ_INT(count("SELECT count(*) FROM n WHERE a IS NOT NULL"), 3);
    CHECK_EQ_INT(count("SELECT sum(a) FROM n"), 9);
    if (db_kind(db) == DB_PG) {
        q = prep("INSERT INTO n(a, b) VALUES(?1, ?2)");
        CHECK(db_bind_null(q, 1));
        CHECK(db_bind_null(q, 2));
        CHECK_EQ_INT(step(q), DB_DONE);
        db_reset(q);
        CHECK(db_bind_int(q, 1, 1));
        CHECK(db_bind_text(q, 2, "y", -1));
        CHECK_EQ_INT(step(q), DB_DONE);
        CHECK_EQ_INT(count("SELECT count(*) FROM pg_prepared_statements"
                           " WHERE statement LIKE 'INSERT INTO n(%'"),
                     1);
        db_reset(q);
        CHECK(db_bind_text(q, 1, "12", -1));
        CHECK_EQ_INT(db_step(q, err, sizeof err), DB_ERR);
        CHECK(strstr(err, "bigint") != NULL);
        db_finalize(&q);
    }

    /* ? inside a string literal and a comment is no placeholder */
    q = prep("SELECT '?1', ?1 -- ?2\n");
    CHECK(db_bind_int(q, 1, 7));
    CHECK_EQ_INT(step(q), DB_ROW);
    CHECK(strcmp(db_col_text(q, 0), "?1") == 0);
    CHECK_EQ_INT(db_col_int(q, 1), 7);
    db_finalize(&q);
}

static void test_changes_returning(void)
{
    exec_ok(db_pick(db, (db_sql_t){"CREATE TABLE k(id INTEGER PRIMARY KEY, v TEXT UNIQUE)",
                                   "CREATE TABLE k(id BIGSERIAL PRIMARY KEY, v TEXT UNIQUE)"}));
    db_stmt_t *ins = prep("INSERT INTO k(v) VALUES(?1) ON CONFLICT DO NOTHING RETURNING id");
    CHECK(db_bind_text(ins, 1, "a", -1));
    CHECK_EQ_INT(step(ins), DB_ROW);
    int64_t id = db_col_int(ins, 0);
    CHECK(id > 0);
    CHECK_EQ_INT(step(ins), DB_DONE);
    CHECK_EQ_INT(db_changes(ins), 1);
    db_reset(ins);
    CHECK_EQ_INT(step(ins), DB_DONE); /* the same again: conflict */
    CHECK_EQ_INT(db_changes(ins), 0);
    db_reset(ins);
    CHECK(db_bind_text(ins, 1, "b", -1));
    CHECK_EQ_INT(step(ins), DB_ROW);
    CHECK(db_col_int(ins, 0) > id);
    db_finalize(&ins);

    db_stmt_t *up = prep("UPDATE k SET v = v || 'x' WHERE id >= ?1");
    CHECK(db_bind_int(up, 1, 0));
    CHECK_EQ_INT(step(up), DB_DONE);
    CHECK_EQ_INT(db_changes(up), 2);
    db_finalize(&up);
    db_stmt_t *del = prep("DELETE FROM k WHERE v = ?1");
    CHECK(db_bind_text(del, 1, "nothing", -1));
    CHECK_EQ_INT(step(del), DB_DONE);
    CHECK_EQ_INT(db_changes(del), 0);
    db_finalize(&del);
}

static int64_t count(const char *sql)
{
    db_stmt_t *q = prep(sql);
    int64_t n = -1;
    if (q && db_step(q, err, sizeof err) == DB_ROW)
        n = db_col_int(q, 0);
    db_finalize(&q);
    return n;
}

static void test_transactions(void)
{
    int64_t before = count("SELECT count(*) FROM k");
    CHECK(db_begin(db, err, sizeof err));
    exec_ok("INSERT INTO k(v) VALUES('rolled back')");
    CHECK_EQ_INT(count("SELECT count(*) FROM k"), before + 1);
    db_rollback(db);
    CHECK_EQ_INT(count("SELECT count(*) FROM k"), before);
    CHECK(db_begin(db, err, sizeof err));
    exec_ok("INSERT INTO k(v) VALUES('kept')");
    CHECK(db_commit(db, err, sizeof err));
    CHECK_EQ_INT(count("SELECT count(*) FROM k"), before + 1);
}

/* Bad SQL names the problem; a unique violation's DETAIL (PostgreSQL
 * quotes the row's value there) never reaches the message. */
static void test_errors(void)
{
    db_stmt_t *q = db_prepare(db, "SELECT nosuchcolumn FROM k", err, sizeof err);
    if (q) /* PostgreSQL prepares on the first step */
        CHECK_EQ_INT(db_step(q, err, sizeof err), DB_ERR);
    db_finalize(&q);
    CHECK(strncmp(err, "database: ", 10) == 0);
    CHECK(strstr(err, "nosuchcolumn") != NULL);
    CHECK(strchr(err, '\n') == NULL);

    CHECK(!db_exec(db, "who", "CREATE TABLE k(x INTEGER)", err, sizeof err));
    CHECK(strncmp(err, "who: ", 5) == 0);
    CHECK(strstr(err, "already exists") != NULL);

    db_stmt_t *ins = prep("INSERT INTO k(v) VALUES(?1)");
    CHECK(db_bind_text(ins, 1, "secret-person@example.org", -1));
    CHECK_EQ_INT(step(ins), DB_DONE);
    db_reset(ins);
    CHECK_EQ_INT(db_step(ins, err, sizeof err), DB_ERR);
    fprintf(stderr, "unique violation reads: %s\n", err);
    CHECK(strstr(err, "UNIQUE") != NULL || strstr(err, "unique") != NULL);
    CHECK(strstr(err, "secret-person") == NULL);
    db_finalize(&ins);
    /* the connection is usable after an error */
    CHECK(count("SELECT count(*) FROM k") > 0);
}

static int fails_calls;
static bool step_fn(db_t *d, char *e, size_t elen)
{
    fails_calls++;
    return db_exec(d, "fn", "INSERT INTO m1(x) VALUES(7)", e, elen);
}
static bool step_fail(db_t *d, char *e, size_t elen)
{
    return db_exec(d, "fn", "INSERT INTO m1(x) VALUES(8)", e, elen) &&
           db_exec(d, "fn", "SELECT * FROM no_such_table", e, elen);
}

static void test_migrations(void)
{
    const db_step_t steps[] = {
        {1, {"CREATE TABLE m1(x INTEGER)", "CREATE TABLE m1(x BIGINT)"}, NULL},
        {2, {NULL, NULL}, step_fn},
        {3, {"ALTER TABLE m1 ADD COLUMN y TEXT", NULL}, NULL},
    };
    CHECK_EQ_INT(db_version(db, "unit"), -1); /* no migrations table yet */
    CHECK(db_migrate(db, "unit", "unit", steps, 3, err, sizeof err));
    CHECK_EQ_INT(db_version(db, "unit"), 3);
    CHECK_EQ_INT(db_version(db, "other"), 0);
    CHECK_EQ_INT(fails_calls, 1);
    CHECK_EQ_INT(count("SELECT count(*) FROM m1 WHERE x = 7 AND y IS NULL"), 1);
    /* up to date: nothing runs again */
    CHECK(db_migrate(db, "unit", "unit", steps, 3, err, sizeof err));
    CHECK_EQ_INT(fails_calls, 1);
    /* a collector that knows only two steps refuses the store */
    CHECK(!db_migrate(db, "unit", "unit", steps, 2, err, sizeof err));
    CHECK(strcmp(err, "database schema 'unit' is version 3, newer than this collector knows (2)") ==
          0);
    CHECK_EQ_INT(db_version(db, "unit"), 3);
    /* a failing step leaves the version and its own writes undone */
    const db_step_t more[] = {
        steps[0],
        steps[1],
        steps[2],
        {4, {"ALTER TABLE m1 ADD COLUMN z TEXT", NULL}, NULL},
        {5, {NULL, NULL}, step_fail},
    };
    CHECK(!db_migrate(db, "unit", "unit", more, 5, err, sizeof err));
    CHECK(strstr(err, "no_such_table") != NULL);
    fprintf(stderr, "failed step reads: %s\n", err);
    CHECK_EQ_INT(count("SELECT count(*) FROM m1 WHERE x = 8"), 0);
    /* SQLite commits each step (4 stays), PostgreSQL all pending in one */
    CHECK_EQ_INT(db_version(db, "unit"), db_kind(db) == DB_PG ? 3 : 4);
}

static void test_open_errors(void)
{
    db_t *bad = db_open("/nonexistent-dir/x.db", DB_CREATE, "test", err, sizeof err);
    CHECK(bad == NULL);
    CHECK(strstr(err, "/nonexistent-dir/x.db") != NULL);
    bad = db_open("postgresql://u:hunter2pw@/nodb?host=/nonexistent-sock&port=1", 0, "test", err,
                  sizeof err);
    CHECK(bad == NULL);
    CHECK(strstr(err, "hunter2pw") == NULL);
    CHECK(strstr(err, "u@/nonexistent-sock:1/nodb") != NULL);
    CHECK(db_is_uri("postgres://x") && db_is_uri("postgresql://x") && !db_is_uri("/tmp/x.db"));
}

int main(int argc, char **argv)
{
    char path[] = "/tmp/cs-test-db-XXXXXX";
    char file[64] = "";
    const char *target = argc > 1 ? argv[1] : NULL;
    if (!target) {
        if (!mkdtemp(path))
            return 1;
        snprintf(file, sizeof file, "%s/t.db", path);
        target = file;
    }
    db = db_open(target, DB_CREATE, "test_db", err, sizeof err);
    if (!db) {
        fprintf(stderr, "open: %s\n", err);
        return 1;
    }
    fprintf(stderr, "backend: %s\n", db_name(db));
    const char *db_kind_name = db_kind(db) == DB_PG ? "pg_unit_db" : "unit_db";
    CHECK((db_kind(db) == DB_PG) == (db_pg(db) != NULL));
    CHECK((db_kind(db) == DB_SQLITE) == (db_sqlite(db) != NULL));
    test_round_trip();
    test_placeholders();
    test_changes_returning();
    test_transactions();
    test_errors();
    test_migrations();
    test_open_errors();

    /* a wrapped handle stays open after db_close */
    db_t *wrap = db_kind(db) == DB_PG ? db_from_pg(db_pg(db)) : db_from_sqlite(db_sqlite(db));
    db_close(&wrap);
    CHECK(wrap == NULL);
    CHECK_EQ_INT(count("SELECT count(*) FROM k") > 0, 1);
    db_close(&db);
    if (file[0]) {
        char f2[80];
        unlink(file);
        snprintf(f2, sizeof f2, "%s-wal", file);
        unlink(f2);
        snprintf(f2, sizeof f2, "%s-shm", file);
        unlink(f2);
        rmdir(path);
    }
    return check_finish(db_kind_name);
}
