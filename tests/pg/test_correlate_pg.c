/* test_correlate_pg - correlation on a real PostgreSQL (tests/pg/db_unit.py
 * starts a throw-away server and passes its URI as the last argument).
 *
 *   identical   the same inputs (probe streams and Graph records stored by
 *               the real writers) correlated on a SQLite file and on
 *               PostgreSQL give the same verdict rows, byte for byte: every
 *               column of verdict_calls, verdict_participants,
 *               verdict_streams, verdict_claims and verdict_history but the
 *               sealed address (a fresh nonce each time; its presence is
 *               compared) and the streams' own ids (compared through the
 *               stream each row names).
 *   late_lower  two writers on one store: the one that drew the lower
 *               stream id commits after the other (its transaction held
 *               open on a connection of its own). A correlation step runs
 *               between the two commits and after: both streams must be
 *               judged, each once.
 *
 * Exit 77 (skipped) without a URI.
 */
#define FX_GRAPH
#include "check.h"
#include "correlate.h"
#include "db.h"
#include "log.h"
#include "store_fixture.h"
#include "correlate/verdict_dump.h"

static const char *uri;

/* Calls of every kind: joined with loss on either side or none, a far
 * participant, a record whose stream is missing (cloud-only) and streams
 * with no record (wire-only). */
static bool fill(fx_t *f)
{
    for (int i = 0; i < 24; i++) {
        char ip[32], id[32];
        snprintf(ip, sizeof ip, "10.30.%d.%d", i / 200, i % 200 + 1);
        snprintf(id, sizeof id, "rec-%d", i);
        fx_stream_t v[] = {{ip, 50010, 7000u + 2u * (unsigned)i, false, 0, 60, 3000, i % 4 * 40},
                           {ip, 50010, 7001u + 2u * (unsigned)i, true, 0, 60, 3000, i % 3 * 50}};
        bool wire_only = i % 6 == 5, cloud_only = i % 6 == 4;
        if (!cloud_only && !fx_streams(f, "p1", i + 1, v, 2))
            return false;
        if (!wire_only && !fx_record(f, id, 1, ip, 50010, 0, 62, 0.02 * (i % 5), 0.001 * (i % 2)))
            return false;
    }
    return true;
}

static const char *const tables[] = {
    "SELECT call_id, source, site, start, \"end\", verdict, confidence, graph_record_id,"
    " graph_version, evaluated, evidence FROM verdict_calls ORDER BY call_id",
    "SELECT call_id, participant, site, client_ip_hmac, client_ip_enc, verdict, confidence,"
    " evidence, bssid, subnet, call_end FROM verdict_participants ORDER BY call_id, participant",
    "SELECT v.call_id, v.participant, s.probe_id, s.ssrc, v.graph_stream_rid, v.direction,"
    " v.media, v.verdict, v.confidence, v.evidence FROM verdict_streams v LEFT JOIN streams s"
    " ON s.id = v.stream_id ORDER BY v.call_id, v.participant, v.media, v.direction, s.ssrc",
    "SELECT c.call_id, s.probe_id, s.ssrc FROM verdict_claims c JOIN streams s ON s.id ="
    " c.stream_id ORDER BY c.call_id, s.ssrc",
    "SELECT call_id, at, verdict, confidence, source, provisional, rule FROM verdict_history"
    " ORDER BY call_id, id",
};
#define NTABLES (sizeof tables / sizeof tables[0])

/* Correlates the fixture's store (db: its connection) at now_us and dumps
 * the verdict tables into out[]. */
static bool judge_and_dump(fx_t *f, db_t *db, int64_t now_us, char *out[NTABLES], int *written)
{
    char err[256];
    correlate_cfg_t cfg;
    correlate_cfg_defaults(&cfg);
    correlate_t *c = correlate_new(&cfg, db, f->pii, err, sizeof err);
    if (!c) {
        fprintf(stderr, "correlate_new: %s\n", err);
        return false;
    }
    *written = correlate_step(c, now_us, 3600, err, sizeof err);
    if (*written < 0)
        fprintf(stderr, "correlate_step: %s\n", err);
    correlate_free(&c);
    for (size_t i = 0; i < NTABLES; i++)
        out[i] = *written >= 0 ? dump(db, tables[i]) : NULL;
    return *written >= 0;
}

static void test_identical(void)
{
    fx_t f;
    char *lite[NTABLES] = {0}, *pg[NTABLES] = {0};
    int nl = -1, np = -1;
    int64_t now = fx_now_us();
    CHECK(fx_open(&f));
    CHECK(fill(&f));
    db_t *ldb = db_from_sqlite(store_db(f.st));
    CHECK(ldb && judge_and_dump(&f, ldb, now, lite, &nl));
    db_close(&ldb);
    CHECK(fx_to_pg(&f, uri, "test_correlate_pg"));
    CHECK(fill(&f));
    char err[256];
    db_t *pdb = db_open(uri, 0, "test_correlate_pg", err, sizeof err);
    CHECK(pdb && judge_and_dump(&f, pdb, now, pg, &np));
    db_close(&pdb);
    fx_close(&f);
    CHECK(nl == 24 && np == nl);
    for (size_t i = 0; i < NTABLES; i++) {
        CHECK(lite[i] && pg[i] && strlen(lite[i]) > 0);
        if (lite[i] && pg[i] && strcmp(lite[i], pg[i]) != 0) {
            fprintf(stderr, "not identical: %s\n--- SQLite\n%s--- PostgreSQL\n%s", tables[i],
                    lite[i], pg[i]);
            CHECK(false);
        }
        free(lite[i]);
        free(pg[i]);
    }
}

static int64_t scalar(db_t *db, const char *sql)
{
    char err[256];
    int64_t v = -1;
    db_stmt_t *st = db_prepare(db, sql, err, sizeof err);
    if (st && db_step(st, err, sizeof err) == DB_ROW)
        v = db_col_int(st, 0);
    else
        fprintf(stderr, "%s: %s\n", sql, err);
    db_finalize(&st);
    return v;
}

static void test_late_lower(void)
{
    fx_t f;
    char err[256], cols[2048] = "", sql[4096];
    CHECK(fx_open(&f));
    CHECK(fx_to_pg(&f, uri, "test_correlate_pg"));
    /* two clients' streams stored by the real writer, then kept aside as
     * templates that the two writers below insert again */
    fx_stream_t a[] = {{"10.77.0.1", 50011, 9001, false, 0, 60, 3000, 200}};
    fx_stream_t b[] = {{"10.77.0.2", 50012, 9002, false, 0, 60, 3000, 0}};
    CHECK(fx_streams(&f, "p9", 1, a, 1) && fx_streams(&f, "p9", 2, b, 1));
    db_t *adm = db_open(uri, 0, "test_correlate_pg", err, sizeof err);
    db_t *wa = db_open(uri, 0, "test_correlate_pg", err, sizeof err);
    db_t *cdb = db_open(uri, 0, "test_correlate_pg", err, sizeof err);
    CHECK(adm && wa && cdb);
    if (!adm || !wa || !cdb)
        goto out;
    CHECK(db_exec(adm, "test",
                  "CREATE TABLE tmpl AS SELECT * FROM streams WHERE probe_id = 'p9';"
                  "DELETE FROM streams WHERE probe_id = 'p9'",
                  err, sizeof err));
    db_stmt_t *st = db_prepare(adm,
                               "SELECT string_agg(column_name, ', ' ORDER BY ordinal_position)"
                               " FROM information_schema.columns WHERE table_name = 'streams'"
                               " AND table_schema = current_schema() AND column_name <> 'id'",
                               err, sizeof err);
    CHECK(st && db_step(st, err, sizeof err) == DB_ROW && db_col_text(st, 0));
    snprintf(cols, sizeof cols, "%s", st && db_col_text(st, 0) ? db_col_text(st, 0) : "");
    db_finalize(&st);

    correlate_cfg_t cfg;
    correlate_cfg_defaults(&cfg);
    correlate_t *c = correlate_new(&cfg, cdb, f.pii, err, sizeof err);
    CHECK(c);
    if (!c)
        goto out;
    /* whatever else the store holds is judged first */
    CHECK(correlate_step(c, fx_now_us(), 3600, err, sizeof err) >= 0);
    int64_t wire0 = scalar(cdb, "SELECT count(*) FROM verdict_calls WHERE source = 'wire-only'");

    /* writer A draws the lower id and holds its transaction open */
    CHECK(db_begin(wa, err, sizeof err));
    snprintf(sql, sizeof sql,
             "INSERT INTO streams(%s) SELECT %s FROM tmpl WHERE client_port = 50011", cols, cols);
    CHECK(db_exec(wa, "writer A", sql, err, sizeof err));
    /* writer B draws the next id and commits */
    snprintf(sql, sizeof sql,
             "INSERT INTO streams(%s) SELECT %s FROM tmpl WHERE client_port = 50012", cols, cols);
    CHECK(db_exec(adm, "writer B", sql, err, sizeof err));
    int64_t ida = scalar(wa, "SELECT id FROM streams WHERE client_port = 50011");
    int64_t idb = scalar(adm, "SELECT id FROM streams WHERE client_port = 50012");
    CHECK(ida > 0 && idb > ida);
    CHECK(scalar(adm, "SELECT count(*) FROM streams WHERE client_port = 50011") == 0);

    /* B's stream is judged; A's is not visible yet */
    CHECK(correlate_step(c, fx_now_us(), 3600, err, sizeof err) == 1);
    CHECK(scalar(cdb, "SELECT count(*) FROM verdict_calls WHERE source = 'wire-only'") ==
          wire0 + 1);
    /* while A is still open, nothing is judged again */
    CHECK(correlate_step(c, fx_now_us(), 3600, err, sizeof err) == 0);

    /* A commits after B: its stream, below one already handled, is judged */
    CHECK(db_commit(wa, err, sizeof err));
    CHECK(correlate_step(c, fx_now_us(), 3600, err, sizeof err) == 1);
    CHECK(scalar(cdb, "SELECT count(*) FROM verdict_calls WHERE source = 'wire-only'") ==
          wire0 + 2);
    CHECK(scalar(cdb, "SELECT count(*) FROM verdict_calls WHERE source = 'wire-only' AND"
                      " verdict = 'lan'") >= 1); /* A's stream lost 200 of 3200 */
    /* and each once: nothing new, nothing judged */
    CHECK(correlate_step(c, fx_now_us(), 3600, err, sizeof err) == 0);
    CHECK(correlate_step(c, fx_now_us(), 3600, err, sizeof err) == 0);
    correlate_free(&c);
out:
    db_close(&wa);
    db_close(&cdb);
    db_close(&adm);
    fx_close(&f);
}

int main(int argc, char **argv)
{
    if (argc < 2 || !db_is_uri(argv[argc - 1])) {
        printf("SKIP: no postgresql:// URI given (tests/pg/db_unit.py passes one)\n");
        return 77;
    }
    uri = argv[argc - 1];
    log_set_level(LOG_LVL_ERROR);
    test_identical();
    test_late_lower();
    return check_finish("test_correlate_pg");
}
