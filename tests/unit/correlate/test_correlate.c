/* Unit tests of the correlation (collector/correlate/correlate.c) in
 * process: probe streams stored by the store, call records by the Graph
 * store (store_fixture.h), then correlate_step() and the verdict tables
 * read back. Joined, cloud-only and wire-only calls, a wire-only call
 * replaced when its record arrives, streams shared by two probes, and a
 * new version of a record judged again in place. */
#define FX_GRAPH
#include "correlate.h"

#include "check.h"
#include "store_fixture.h"

#define LOOKBACK_S 3600

/* 10.1.0.5:50010 sends 6 % loss towards the relay (a LAN fault), receives clean. */
static const fx_stream_t LOSSY_OUT = {"10.1.0.5", 50010, 1111, false, 0, 60, 3000, 200};
static const fx_stream_t CLEAN_IN = {"10.1.0.5", 50010, 2222, true, 0, 60, 3000, 0};
static const fx_stream_t CLEAN_OUT = {"10.1.0.5", 50010, 1111, false, 0, 60, 3000, 0};

typedef struct {
    fx_t f;
    db_t *db; /* the fixture's SQLite store through common/db.h */
    correlate_t *c;
} env_t;

static bool env_open(env_t *e)
{
    char err[256];
    correlate_cfg_t cfg;
    correlate_cfg_defaults(&cfg);
    e->c = NULL;
    e->db = NULL;
    if (!fx_open(&e->f))
        return false;
    e->db = db_from_sqlite(store_db(e->f.st));
    e->c = e->db ? correlate_new(&cfg, e->db, e->f.pii, err, sizeof err) : NULL;
    if (!e->c)
        fprintf(stderr, "correlate_new: %s\n", err);
    return e->c != NULL;
}

static void env_close(env_t *e)
{
    correlate_free(&e->c);
    CHECK(e->c == NULL);
    db_close(&e->db);
    fx_close(&e->f);
}

static int step(env_t *e)
{
    char err[256];
    int n = correlate_step(e->c, fx_now_us(), LOOKBACK_S, err, sizeof err);
    if (n < 0)
        fprintf(stderr, "correlate_step: %s\n", err);
    return n;
}

static const char *text(env_t *e, const char *sql)
{
    static char buf[256];
    return fx_text(&e->f, sql, buf, sizeof buf);
}

static void test_joined(void)
{
    env_t e;
    CHECK(env_open(&e));
    fx_stream_t v[] = {LOSSY_OUT, CLEAN_IN};
    CHECK(fx_streams(&e.f, "p1", 1, v, 2));
    CHECK(fx_record(&e.f, "r1", 1, "10.1.0.5", 50010, 0, 62, 0.05, 0.002));
    CHECK_EQ_INT(step(&e), 1);
    CHECK_EQ_INT(fx_count(&e.f, "SELECT count(*) FROM verdict_calls"), 1);
    CHECK_STR(text(&e, "SELECT source FROM verdict_calls WHERE call_id='r1'"), "joined");
    CHECK_STR(text(&e, "SELECT verdict FROM verdict_calls WHERE call_id='r1'"), "lan");
    CHECK_STR(text(&e, "SELECT site FROM verdict_calls WHERE call_id='r1'"), "hq");
    /* both probe streams joined to the record's media, one row each way */
    CHECK_EQ_INT(fx_count(&e.f, "SELECT count(*) FROM verdict_streams WHERE call_id='r1'"
                                " AND stream_id IS NOT NULL AND graph_stream_rid IS NOT NULL"),
                 2);
    CHECK_STR(text(&e, "SELECT verdict FROM verdict_streams WHERE direction='outbound'"), "lan");
    /* the participant's address, resealed under the verdict table's label */
    char ip[64];
    CHECK_STR(fx_open_blob(&e.f, "SELECT client_ip_enc FROM verdict_participants",
                           PII_AAD_PARTICIPANT_IP, ip, sizeof ip),
              "10.1.0.5");
    correlate_stats_t st;
    correlate_stats(e.c, &st);
    CHECK_EQ_UINT(st.joined, 1);
    CHECK_EQ_UINT(st.streams, 2);
    /* nothing new: a second step writes nothing */
    CHECK_EQ_INT(step(&e), 0);
    env_close(&e);
}

static void test_cloud_only(void)
{
    env_t e;
    CHECK(env_open(&e));
    CHECK(fx_record(&e.f, "r2", 1, "10.1.0.9", 50020, 0, 62, 0.002, 0.002));
    CHECK_EQ_INT(step(&e), 1);
    CHECK_STR(text(&e, "SELECT source FROM verdict_calls WHERE call_id='r2'"), "cloud-only");
    CHECK_EQ_INT(fx_count(&e.f, "SELECT count(*) FROM verdict_calls WHERE site IS NULL"), 1);
    CHECK_EQ_INT(fx_count(&e.f, "SELECT count(*) FROM verdict_streams WHERE stream_id IS NOT NULL"),
                 0);
    env_close(&e);
}

/* Streams no record claims make a wire-only call; when the record comes,
 * the joined call replaces it (one call, not two). */
static void test_wire_only_then_joined(void)
{
    env_t e;
    CHECK(env_open(&e));
    fx_stream_t v[] = {LOSSY_OUT, CLEAN_IN};
    CHECK(fx_streams(&e.f, "p1", 1, v, 2));
    CHECK_EQ_INT(step(&e), 1);
    CHECK_EQ_INT(fx_count(&e.f, "SELECT count(*) FROM verdict_calls WHERE source='wire-only'"
                                " AND call_id LIKE 'wire:ip-%' AND graph_record_id IS NULL"),
                 1);
    CHECK_STR(text(&e, "SELECT verdict FROM verdict_calls"), "lan");
    CHECK(fx_record(&e.f, "r3", 1, "10.1.0.5", 50010, 0, 62, 0.05, 0.002));
    CHECK(step(&e) >= 1);
    CHECK_EQ_INT(fx_count(&e.f, "SELECT count(*) FROM verdict_calls"), 1);
    CHECK_STR(text(&e, "SELECT source FROM verdict_calls WHERE call_id='r3'"), "joined");
    CHECK_EQ_INT(fx_count(&e.f, "SELECT count(*) FROM verdict_streams WHERE call_id LIKE 'wire:%'"),
                 0);
    env_close(&e);
}

/* Two probes on the same path report the same streams: each counts once. */
static void test_shared_streams(void)
{
    env_t e;
    CHECK(env_open(&e));
    fx_stream_t v[] = {LOSSY_OUT, CLEAN_IN};
    CHECK(fx_streams(&e.f, "p1", 1, v, 2));
    CHECK(fx_streams(&e.f, "p2", 1, v, 2));
    CHECK(fx_record(&e.f, "r4", 1, "10.1.0.5", 50010, 0, 62, 0.05, 0.002));
    CHECK_EQ_INT(step(&e), 1);
    CHECK_EQ_INT(fx_count(&e.f, "SELECT count(*) FROM verdict_streams"), 2);
    CHECK_EQ_INT(fx_count(&e.f, "SELECT count(*) FROM verdict_streams"
                                " WHERE json_extract(evidence, '$.wire.probes') = 2"),
                 2);
    CHECK_EQ_INT(fx_count(&e.f, "SELECT json_extract(evidence, '$.probe_streams')"
                                " FROM verdict_calls WHERE call_id='r4'"),
                 4);
    CHECK_STR(text(&e, "SELECT verdict FROM verdict_calls WHERE call_id='r4'"), "lan");
    env_close(&e);
}

/* A later version of a record is judged again and replaces its rows. */
static void test_new_version(void)
{
    env_t e;
    CHECK(env_open(&e));
    fx_stream_t v[] = {CLEAN_OUT, CLEAN_IN};
    CHECK(fx_streams(&e.f, "p1", 1, v, 2));
    CHECK(fx_record(&e.f, "r5", 1, "10.1.0.5", 50010, 0, 62, 0.002, 0.002));
    CHECK_EQ_INT(step(&e), 1);
    CHECK_STR(text(&e, "SELECT verdict FROM verdict_calls WHERE call_id='r5'"), "healthy");
    CHECK_EQ_INT(fx_count(&e.f, "SELECT graph_version FROM verdict_calls WHERE call_id='r5'"), 1);
    /* version 2: Graph saw outbound loss the probe did not, so beyond the probe */
    CHECK(fx_record(&e.f, "r5", 2, "10.1.0.5", 50010, 0, 62, 0.06, 0.002));
    CHECK_EQ_INT(step(&e), 1);
    CHECK_EQ_INT(fx_count(&e.f, "SELECT count(*) FROM verdict_calls"), 1);
    CHECK_EQ_INT(fx_count(&e.f, "SELECT graph_version FROM verdict_calls WHERE call_id='r5'"), 2);
    CHECK_STR(text(&e, "SELECT verdict FROM verdict_calls WHERE call_id='r5'"), "wan");
    CHECK_EQ_INT(fx_count(&e.f, "SELECT count(*) FROM verdict_streams WHERE call_id='r5'"), 2);
    env_close(&e);
}

int main(void)
{
    RUN(test_joined);
    RUN(test_cloud_only);
    RUN(test_wire_only_then_joined);
    RUN(test_shared_streams);
    RUN(test_new_version);
    return check_finish("unit_correlate");
}
