/* test_correlate_sets - correlation by chunks on PostgreSQL (correlate.c
 * "a step in sets") gives the rows of the per-call path on SQLite, byte
 * for byte, over several steps of one correlator and where the chunks'
 * bounds fall. tests/pg/db_unit.py starts a throw-away server and passes
 * its URI as the last argument; exit 77 (skipped) without one.
 *
 *   step 1  420 clients: 280 records (two chunks of records, the first cut
 *           at CORRELATE_CHUNK_RECORDS), 140 clients with streams and no
 *           record (wire-only, over one chunk of wire-only clients), 28
 *           of the records with no streams (cloud-only);
 *   step 2  the 140 wire-only calls' records arrive (each supersedes its
 *           wire-only call: deleted, history moved to the joined call, a
 *           second history row), and version 2 of 28 other records;
 *   step 3  nothing new: no call written;
 *   step 4  a fresh correlator over the whole look-back (as 'correlate'
 *           run again): every call judged again, rows unchanged (but
 *           verdict_calls.evaluated).
 * After each step every verdict table is dumped on both stores and
 * compared (the sealed address only for presence: a fresh nonce each
 * time; probe streams through the probe and SSRC they name, Graph streams
 * through their record and direction).
 */
#define FX_GRAPH
#include "check.h"
#include "correlate.h"
#include "correlate_input.h"
#include "db.h"
#include "log.h"
#include "store_fixture.h"
#include "correlate/verdict_dump.h"

#define CLIENTS 420
#define STEPS 4

static const char *uri;

static void client_ip(int i, char *ip, size_t len)
{
    snprintf(ip, len, "10.40.%d.%d", i / 200, i % 200 + 1);
}

/* Step 1's inputs: i % 3 == 0 streams only; i % 15 == 1 a record only. */
static bool fill1(fx_t *f)
{
    for (int i = 0; i < CLIENTS; i++) {
        char ip[32], id[32];
        client_ip(i, ip, sizeof ip);
        snprintf(id, sizeof id, "rec-%03d", i);
        fx_stream_t v[] = {{ip, 50010, 9000u + 2u * (unsigned)i, false, 0, 60, 3000, i % 4 * 40},
                           {ip, 50010, 9001u + 2u * (unsigned)i, true, 0, 60, 3000, i % 5 * 30}};
        if (i % 15 != 1 && !fx_streams(f, "p1", i + 1, v, 2))
            return false;
        if (i % 3 != 0 && !fx_record(f, id, 1, ip, 50010, 0, 62, 0.02 * (i % 4), 0.001))
            return false;
    }
    return true;
}

/* Step 2's inputs: the late records, and a version 2 of every tenth. */
static bool fill2(fx_t *f)
{
    for (int i = 0; i < CLIENTS; i++) {
        char ip[32], id[32];
        client_ip(i, ip, sizeof ip);
        snprintf(id, sizeof id, "rec-%03d", i);
        if (i % 3 == 0 && !fx_record(f, id, 1, ip, 50010, 0, 62, 0.001 * (i % 2), 0.02))
            return false;
        if (i % 10 == 2 && !fx_record(f, id, 2, ip, 50010, 0, 62, 0.02 * (i % 20 == 2), 0.001))
            return false;
    }
    return true;
}

static const char *const tables[] = {
    "SELECT call_id, source, site, start, \"end\", verdict, confidence, graph_record_id,"
    " graph_version, evaluated, evidence FROM verdict_calls ORDER BY call_id",
    "SELECT call_id, participant, site, client_ip_hmac, client_ip_enc, verdict, confidence,"
    " evidence, bssid, subnet, call_end FROM verdict_participants ORDER BY call_id, participant",
    /* the Graph stream by record and direction: a record stored again gets
     * new rids, which SQLite takes from the table's highest and PostgreSQL
     * from its sequence */
    "SELECT v.call_id, v.participant, s.probe_id, s.ssrc, (SELECT g.record_id || ':' ||"
    " g.direction FROM graph_stream g WHERE g.rid = v.graph_stream_rid), v.direction,"
    " v.media, v.verdict, v.confidence, v.evidence FROM verdict_streams v LEFT JOIN streams s"
    " ON s.id = v.stream_id ORDER BY v.call_id, v.participant, v.media, v.direction, s.ssrc",
    "SELECT c.call_id, s.probe_id, s.ssrc FROM verdict_claims c JOIN streams s ON s.id ="
    " c.stream_id ORDER BY c.call_id, s.ssrc",
    "SELECT call_id, at, verdict, confidence, source, provisional, rule FROM verdict_history"
    " ORDER BY call_id, id",
    "SELECT site, end_hour, start_hour, verdict, calls FROM verdict_site_hours"
    " ORDER BY site, end_hour, start_hour, verdict",
};
#define NTABLES (sizeof tables / sizeof tables[0])

typedef struct {
    int written[STEPS];
    char *rows[STEPS][NTABLES];
} run_t;

static bool judge(fx_t *f, db_t *db, correlate_t **c, int step, int64_t now, run_t *out)
{
    char err[256];
    correlate_cfg_t cfg;
    correlate_cfg_defaults(&cfg);
    if (!*c && !(*c = correlate_new(&cfg, db, f->pii, err, sizeof err))) {
        fprintf(stderr, "correlate_new: %s\n", err);
        return false;
    }
    out->written[step] = correlate_step(*c, now, 3600, err, sizeof err);
    if (out->written[step] < 0) {
        fprintf(stderr, "correlate_step %d: %s\n", step + 1, err);
        return false;
    }
    for (size_t i = 0; i < NTABLES; i++)
        if (!(out->rows[step][i] = dump(db, tables[i])))
            return false;
    /* verdict schema 4: each participant carries its call's end */
    char *wrong = dump(db, "SELECT p.call_id, p.participant, p.call_end FROM verdict_participants p"
                           " LEFT JOIN verdict_calls c ON c.call_id = p.call_id"
                           " WHERE COALESCE(p.call_end, '-') <> COALESCE(c.\"end\", '-')");
    bool right = wrong && !*wrong;
    if (wrong && *wrong)
        fprintf(stderr, "step %d: call_end not the call's end:\n%.400s", step + 1, wrong);
    free(wrong);
    return right;
}

/* The four steps on f's store through db (fresh tables). */
static bool scenario(fx_t *f, db_t *db, int64_t now, run_t *out)
{
    correlate_t *c = NULL;
    bool ok = fill1(f) && judge(f, db, &c, 0, now, out) && fill2(f) &&
              judge(f, db, &c, 1, now + 1000000, out) && judge(f, db, &c, 2, now + 2000000, out);
    correlate_free(&c);
    ok = ok && judge(f, db, &c, 3, now + 2000000, out);
    correlate_free(&c);
    return ok;
}

static void run_free(run_t *r)
{
    for (int s = 0; s < STEPS; s++)
        for (size_t i = 0; i < NTABLES; i++)
            free(r->rows[s][i]);
}

static size_t lines(const char *s)
{
    size_t n = 0;
    for (; s && *s; s++)
        n += *s == '\n';
    return n;
}

/* The first line where a and b differ, on stderr. */
static void first_difference(const char *a, const char *b)
{
    size_t i = 0, line = 0;
    while (a[i] && a[i] == b[i])
        i++;
    while (i > 0 && a[i - 1] != '\n')
        i--;
    for (size_t k = 0; k < i; k++)
        line += a[k] == '\n';
    fprintf(stderr, "  line %zu\n  SQLite:     %.*s\n  PostgreSQL: %.*s\n", line + 1,
            (int)strcspn(a + i, "\n"), a + i, (int)strcspn(b + i, "\n"), b + i);
}

static void test_sets(void)
{
    fx_t f;
    run_t lite, pg;
    memset(&lite, 0, sizeof lite);
    memset(&pg, 0, sizeof pg);
    int64_t now = fx_now_us();
    char err[256];
    CHECK(fx_open(&f));
    db_t *ldb = db_from_sqlite(store_db(f.st));
    CHECK(ldb && scenario(&f, ldb, now, &lite));
    db_close(&ldb);
    CHECK(fx_to_pg(&f, uri, "test_correlate_sets"));
    db_t *pdb = db_open(uri, 0, "test_correlate_sets", err, sizeof err);
    CHECK(pdb && scenario(&f, pdb, now, &pg));
    db_close(&pdb);
    fx_close(&f);
    /* the scenario is what it says (on SQLite, the per-call path) */
    int late = 0, again = 0;
    for (int i = 0; i < CLIENTS; i++) {
        late += i % 3 == 0;
        again += i % 10 == 2 && i % 3 != 0;
    }
    CHECK(CLIENTS - late > CORRELATE_CHUNK_RECORDS); /* records over two chunks */
    CHECK(lite.written[0] == CLIENTS);               /* records + wire-only */
    CHECK(lite.written[1] == late + again);          /* late records, versions 2 */
    CHECK(lite.written[2] == 0);                     /* nothing new */
    CHECK(lite.written[3] == CLIENTS);               /* all again */
    CHECK(lines(lite.rows[1][0]) == CLIENTS);        /* every wire-only call superseded */
    CHECK(lite.rows[1][0] && !strstr(lite.rows[1][0], "|wire-only|"));
    CHECK(lines(lite.rows[1][4]) >= lines(lite.rows[0][4]) + (size_t)late); /* joined rows */
    for (int s = 0; s < STEPS; s++) {
        CHECK(pg.written[s] == lite.written[s]);
        for (size_t i = 0; i < NTABLES; i++) {
            CHECK(lite.rows[s][i] && pg.rows[s][i] && strlen(lite.rows[s][i]) > 0);
            if (lite.rows[s][i] && pg.rows[s][i] && strcmp(lite.rows[s][i], pg.rows[s][i]) != 0) {
                fprintf(stderr, "step %d: not identical: %.60s\n", s + 1, tables[i]);
                first_difference(lite.rows[s][i], pg.rows[s][i]);
                CHECK(false);
            }
        }
    }
    /* judged again from scratch: the same rows (but verdict_calls, whose
     * evaluated is the step's time) */
    for (size_t i = 1; i < NTABLES; i++)
        CHECK(pg.rows[3][i] && pg.rows[2][i] && strcmp(pg.rows[3][i], pg.rows[2][i]) == 0);
    run_free(&lite);
    run_free(&pg);
}

int main(int argc, char **argv)
{
    if (argc < 2 || !db_is_uri(argv[argc - 1])) {
        printf("SKIP: no postgresql:// URI given (tests/pg/db_unit.py passes one)\n");
        return 77;
    }
    uri = argv[argc - 1];
    log_set_level(LOG_LVL_ERROR);
    test_sets();
    return check_finish("test_correlate_sets");
}
