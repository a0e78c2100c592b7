/* test_rollup.c - verdict_site_hours (collector/correlate/rollup.h) stays
 * equal to the counts of verdict_calls it summarises: after inserts,
 * verdict changes (provisional -> final), moved start and end times, site
 * changes, deletes (retention), a call written again (delete + insert, as
 * verdict_store_put_call does) and a backfill of calls written before the
 * rollup existed. On a temporary SQLite file, or on PostgreSQL when a URI
 * is given as argv[1] (tests/pg/db_unit.py starts a throw-away server). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "db.h"
#include "rollup.h"
#include "timefmt.h"
#include "verdict_store.h"

#define NCALLS 600

static const char *const verdicts[] = {"lan", "wan", "endpoint", "cloud", "healthy", "unknown"};
static const char *const sites[] = {"hq", "branch", NULL, "lab"};

static uint64_t rng = 88172645463325252ULL;
static unsigned rnd(unsigned n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (unsigned)(rng % n);
}

static bool exec(db_t *db, const char *sql)
{
    char err[512];
    bool ok = db_exec(db, "test", sql, err, sizeof err);
    if (!ok)
        fprintf(stderr, "%s: %s\n", sql, err);
    return ok;
}

/* The rows of a query as one text ("a|b|c\n" each). */
static char *rows_text(db_t *db, const char *sql)
{
    char err[512];
    db_stmt_t *st = db_prepare(db, sql, err, sizeof err);
    if (!st) {
        fprintf(stderr, "%s\n", err);
        return strdup("(prepare failed)");
    }
    size_t cap = 1 << 16, len = 0;
    char *out = malloc(cap);
    out[0] = '\0';
    int rc;
    while ((rc = db_step(st, err, sizeof err)) == DB_ROW) {
        for (int i = 0; i < db_col_count(st); i++) {
            const char *v = db_col_text(st, i);
            size_t need = len + (v ? strlen(v) : 4) + 2;
            if (need + 1 > cap) {
                cap = 2 * need;
                out = realloc(out, cap);
            }
            len += (size_t)sprintf(out + len, "%s%c", v ? v : "NULL",
                                   i + 1 < db_col_count(st) ? '|' : '\n');
        }
    }
    if (rc != DB_DONE)
        fprintf(stderr, "%s\n", err);
    db_finalize(&st);
    return out;
}

static int64_t scalar(db_t *db, const char *sql)
{
    char err[512];
    db_stmt_t *st = db_prepare(db, sql, err, sizeof err);
    int64_t v = -1;
    if (st && db_step(st, err, sizeof err) == DB_ROW)
        v = db_col_int(st, 0);
    db_finalize(&st);
    return v;
}

/* The rollup equals verdict_calls grouped by its key, row for row (no row
 * left at zero). */
static void check_equal(db_t *db, const char *when)
{
    char *want = rows_text(db, "SELECT COALESCE(site, ''), substr(\"end\", 1, 13),"
                               " substr(start, 1, 13), verdict, count(*) FROM verdict_calls"
                               " GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4");
    char *got = rows_text(db, "SELECT site, end_hour, start_hour, verdict, calls"
                              " FROM verdict_site_hours ORDER BY 1, 2, 3, 4");
    bool same = strcmp(want, got) == 0;
    if (!same)
        fprintf(stderr, "after %s:\n--- want\n%.2000s\n--- got\n%.2000s\n", when, want, got);
    CHECK(same);
    CHECK(strlen(want) > 100); /* not two empty tables */
    free(want);
    free(got);
}

static void insert_calls(db_t *db, int from, int to)
{
    char err[512];
    db_stmt_t *st = db_prepare(db,
                               "INSERT INTO verdict_calls(call_id, source, site, start, \"end\","
                               " verdict, confidence, evaluated, evidence)"
                               " VALUES(?1, 'joined', ?2, ?3, ?4, ?5, 0.9, ?3, '{}')",
                               err, sizeof err);
    CHECK(st != NULL);
    if (!st)
        return;
    usec_t base = 1764669600LL * USEC_PER_SEC; /* 2025-12-02T10:00:00Z */
    for (int i = from; i < to; i++) {
        char id[32], s[40], e[40];
        /* starts over two days, to the second; lengths up to 3 h, some
         * calls exactly on an hour */
        usec_t t0 = base + (usec_t)rnd(48 * 3600) * USEC_PER_SEC;
        if (i % 17 == 0)
            t0 -= t0 % (3600 * USEC_PER_SEC);
        usec_t t1 = t0 + (usec_t)(i % 5 == 0 ? rnd(3 * 3600) : rnd(1800)) * USEC_PER_SEC;
        snprintf(id, sizeof id, "call-%04d", i);
        db_bind_text(st, 1, id, -1);
        db_bind_text(st, 2, sites[rnd(4)], -1);
        db_bind_text(st, 3, timefmt_iso(t0, s, sizeof s), -1);
        db_bind_text(st, 4, timefmt_iso(t1, e, sizeof e), -1);
        db_bind_text(st, 5, verdicts[rnd(6)], -1);
        CHECK_EQ_INT(db_step(st, err, sizeof err), DB_DONE);
        db_reset(st);
    }
    db_finalize(&st);
}

/* Drops the rollup (the store as an older collector left it). */
static const db_sql_t drop_rollup = {
    "DROP TRIGGER verdict_site_hours_ins; DROP TRIGGER verdict_site_hours_del;"
    " DROP TRIGGER verdict_site_hours_upd; DROP TABLE verdict_site_hours;"
    " DELETE FROM migrations WHERE component = 'verdict_rollup'",
    /* version 2: three statement-level triggers on the one function */
    "DROP TABLE verdict_site_hours; DROP FUNCTION verdict_site_hours_keep() CASCADE;"
    " DELETE FROM migrations WHERE component = 'verdict_rollup'",
};

int main(int argc, char **argv)
{
    char dir[] = "/tmp/rollup_XXXXXX", dbp[300], err[512];
    if (!mkdtemp(dir))
        return 1;
    snprintf(dbp, sizeof dbp, "%s/collector.db", dir);
    const char *target = argc > 1 ? argv[1] : dbp;
    db_t *db = db_open(target, DB_CREATE, "test_rollup", err, sizeof err);
    if (!db) {
        fprintf(stderr, "open: %s\n", err);
        return 1;
    }
    fprintf(stderr, "backend: %s\n", db_name(db));
    CHECK(verdict_store_migrate(db, err, sizeof err));
    CHECK(verdict_store_migrate(db, err, sizeof err)); /* idempotent */
    CHECK_EQ_INT(scalar(db, "SELECT version FROM migrations WHERE component = 'verdict_rollup'"),
                 2);
    if (db_kind(db) == DB_PG) /* version 2: FOR EACH STATEMENT (tgtype bit 0 clear) */
        CHECK_EQ_INT(scalar(db, "SELECT count(*) FROM pg_trigger WHERE tgrelid ="
                                " 'verdict_calls'::regclass AND tgname LIKE 'verdict_site_hours%'"
                                " AND tgtype & 1 = 0"),
                     3);

    insert_calls(db, 0, NCALLS);
    check_equal(db, "inserts");
    CHECK(scalar(db, "SELECT count(*) FROM verdict_site_hours") > 100);

    /* provisional -> final: verdicts change in place */
    CHECK(exec(db, "UPDATE verdict_calls SET verdict = 'healthy' WHERE call_id LIKE '%3'"));
    CHECK(exec(db, "UPDATE verdict_calls SET verdict = 'wan', confidence = 0.5"
                   " WHERE call_id LIKE '%7' AND verdict <> 'wan'"));
    check_equal(db, "verdict changes");

    /* a call's times move (the wire's view replaced by Graph's), across
     * hours, and sites change, NULL included */
    CHECK(exec(db, "UPDATE verdict_calls SET start = '2025-12-01T23:59:59.500000Z'"
                   " WHERE call_id LIKE '%1'"));
    CHECK(exec(db, "UPDATE verdict_calls SET \"end\" = '2025-12-05T00:00:00.000000Z'"
                   " WHERE call_id LIKE '%2'"));
    CHECK(exec(db, "UPDATE verdict_calls SET site = NULL WHERE call_id LIKE '%4'"));
    CHECK(exec(db, "UPDATE verdict_calls SET site = 'hq', verdict = 'lan',"
                   " start = '2025-12-02T11:00:00.000000Z', \"end\" = '2025-12-02T11:30:00.000000Z'"
                   " WHERE call_id LIKE '%5'"));
    check_equal(db, "moves");
    /* an update that changes none of the key's columns */
    CHECK(exec(db, "UPDATE verdict_calls SET evidence = '{\"x\":1}' WHERE call_id LIKE '%6'"));
    check_equal(db, "other columns");

    /* retention deletes calls; re-evaluation deletes and writes again */
    CHECK(exec(db, "DELETE FROM verdict_calls WHERE \"end\" < '2025-12-02T20:00:00'"));
    CHECK(exec(db, "DELETE FROM verdict_calls WHERE call_id LIKE '%8'"));
    int64_t left = scalar(db, "SELECT count(*) FROM verdict_calls");
    CHECK(left > 100 && left < NCALLS);
    check_equal(db, "deletes");
    /* rows whose count fell to zero are gone */
    CHECK_EQ_INT(scalar(db, "SELECT count(*) FROM verdict_site_hours WHERE calls <= 0"), 0);
    CHECK_EQ_INT(scalar(db, "SELECT count(*) FROM verdict_site_hours WHERE end_hour <"
                            " '2025-12-02T19'"),
                 0);
    insert_calls(db, NCALLS, NCALLS + 100);
    check_equal(db, "new calls");

    /* the backfill: calls written while there was no rollup */
    CHECK(exec(db, db_pick(db, drop_rollup)));
    insert_calls(db, NCALLS + 100, NCALLS + 300);
    CHECK(verdict_store_migrate(db, err, sizeof err));
    check_equal(db, "backfill");
    CHECK(exec(db, "DELETE FROM verdict_calls WHERE call_id LIKE '%9'"));
    insert_calls(db, NCALLS + 300, NCALLS + 350);
    check_equal(db, "after the backfill");

    db_close(&db);
    if (argc <= 1) {
        char p[340];
        const char *sfx[] = {"", "-wal", "-shm"};
        for (int i = 0; i < 3; i++) {
            snprintf(p, sizeof p, "%s%s", dbp, sfx[i]);
            unlink(p);
        }
        rmdir(dir);
    }
    return check_finish("rollup");
}
