/* Large meetings in the correlation (collector/correlate/correlate.c): a
 * 1,000-participant meeting record of which 40 participants sit behind one
 * probe. Every participant is judged, the 40 are joined with their wire
 * streams, the rest are far; with a lower participant bound the call says
 * what was left out. Also a peer-to-peer call whose far participant's
 * stream is explained by the probed one (the shared-stream rule, which
 * was rewritten for large calls). Stores filled by the real writers
 * (store_fixture.h). */
#define FX_GRAPH
#include "correlate.h"

#include <stdarg.h>

#include "check.h"
#include "store_fixture.h"

#define LOOKBACK_S 3600
#define PARTS 1000
#define PROBED 40
#define LOSSY 7 /* this probed participant loses 6 % outbound at the probe */

/* A growing text buffer (the 1,000-session record is about 1.5 MB). */
typedef struct {
    char *s;
    size_t len, cap;
    bool fail;
} buf_t;

__attribute__((format(printf, 2, 3))) static void add(buf_t *b, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = b->fail ? -1 : vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->fail = true;
            return;
        }
        if ((size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap ? b->cap * 2 : 65536;
        char *s = realloc(b->s, cap);
        if (!s) {
            b->fail = true;
            return;
        }
        b->s = s;
        b->cap = cap;
    }
}

static void client_ip(int i, char *out, size_t len)
{
    snprintf(out, len, "10.20.%d.%d", i / 250, i % 250 + 1);
}

/* One session per participant (a meeting: the client is the caller, the
 * conferencing service the callee), one audio media, both directions. */
static void session(buf_t *b, int i, const char *callee_ip, int callee_port)
{
    char ip[32];
    client_ip(i, ip, sizeof ip);
    add(b,
        "%s{\"id\":\"s%d\",\"segments\":[{\"id\":\"g%d\","
        "\"startDateTime\":\"2026-01-15T10:00:00Z\",\"endDateTime\":\"2026-01-15T10:01:02Z\","
        "\"caller\":{\"@odata.type\":\"#microsoft.graph.callRecords.participantEndpoint\","
        "\"associatedIdentity\":{\"id\":\"u-%d\"}},",
        i ? "," : "", i, i, i);
    if (callee_ip)
        add(b, "\"callee\":{\"@odata.type\":\"#microsoft.graph.callRecords.participantEndpoint\","
               "\"associatedIdentity\":{\"id\":\"u-callee\"}},");
    else
        add(b, "\"callee\":{\"@odata.type\":\"#microsoft.graph.callRecords.serviceEndpoint\","
               "\"userAgent\":{\"role\":\"skypeForBusinessAudioVideoMcu\"}},");
    add(b,
        "\"media\":[{\"label\":\"main-audio\",\"callerNetwork\":{\"ipAddress\":\"%s\","
        "\"port\":50010,\"relayIPAddress\":\"%s\",\"relayPort\":%d},",
        ip, FX_RELAY, FX_RELAY_PORT);
    if (callee_ip)
        add(b, "\"calleeNetwork\":{\"ipAddress\":\"%s\",\"port\":%d},", callee_ip, callee_port);
    else
        add(b, "\"calleeNetwork\":{},");
    add(b,
        "\"streams\":[{\"streamDirection\":\"callerToCallee\",\"averagePacketLossRate\":%.3f,"
        "\"averageJitter\":\"PT0.004S\"},{\"streamDirection\":\"calleeToCaller\","
        "\"averagePacketLossRate\":0.001,\"averageJitter\":\"PT0.004S\"}]}]}]}",
        i == LOSSY ? 0.06 : 0.001);
}

static bool put_record(fx_t *f, const char *id, int nparts, const char *callee_ip, int callee_port)
{
    buf_t b = {0};
    char err[256];
    add(&b,
        "{\"id\":\"%s\",\"version\":1,\"type\":\"%s\",\"modalities\":[\"audio\"],"
        "\"lastModifiedDateTime\":\"2026-01-15T11:00:00Z\","
        "\"startDateTime\":\"2026-01-15T10:00:00Z\",\"endDateTime\":\"2026-01-15T10:01:02Z\","
        "\"sessions\":[",
        id, callee_ip ? "peerToPeer" : "groupCall");
    for (int i = 0; i < nparts; i++)
        session(&b, i, callee_ip, callee_port);
    add(&b, "]}");
    graph_record_t *r = b.fail ? NULL : graph_parse_text(b.s, b.len, err, sizeof err);
    graph_put_t p = r ? graph_store_put(f->gs, r, "test", true, err, sizeof err) : GRAPH_PUT_ERROR;
    if (p == GRAPH_PUT_ERROR)
        fprintf(stderr, "put_record: %s\n", b.fail ? "out of memory" : err);
    graph_record_free(&r);
    free(b.s);
    return p != GRAPH_PUT_ERROR;
}

/* The probe's streams of participants 0 .. PROBED-1, both ways, in
 * batches of 10 (the fixture's batch buffer). */
static bool put_probe_streams(fx_t *f)
{
    static char ips[PROBED][32];
    fx_stream_t v[10];
    int seq = 1;
    for (int i = 0; i < PROBED; i += 5) {
        for (int j = 0; j < 5; j++) {
            client_ip(i + j, ips[i + j], sizeof ips[i + j]);
            unsigned ssrc = 1000u + 2u * (unsigned)(i + j);
            int lost = i + j == LOSSY ? 200 : 0;
            v[2 * j] = (fx_stream_t){ips[i + j], 50010, ssrc, false, 0, 60, 3000, lost};
            v[2 * j + 1] = (fx_stream_t){ips[i + j], 50010, ssrc + 1, true, 0, 60, 3000, 0};
        }
        if (!fx_streams(f, "p1", seq++, v, 10))
            return false;
    }
    return true;
}

typedef struct {
    fx_t f;
    db_t *db; /* the fixture's SQLite store through common/db.h */
    correlate_t *c;
} env_t;

static bool env_open(env_t *e, size_t max_parts)
{
    char err[256];
    correlate_cfg_t cfg;
    correlate_cfg_defaults(&cfg);
    if (max_parts)
        cfg.max_parts = max_parts;
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
    static char buf[512];
    return fx_text(&e->f, sql, buf, sizeof buf);
}

static void test_meeting_1000(void)
{
    env_t e;
    CHECK(env_open(&e, 0));
    CHECK(put_probe_streams(&e.f));
    CHECK(put_record(&e.f, "big", PARTS, NULL, 0));
    CHECK_EQ_INT(fx_count(&e.f, "SELECT count(*) FROM graph_segment WHERE record_id='big'"), PARTS);
    CHECK_EQ_INT(step(&e), 1); /* the meeting; no wire-only call is left over */
    CHECK_STR(text(&e, "SELECT source FROM verdict_calls WHERE call_id='big'"), "joined");
    /* every participant judged */
    CHECK_EQ_INT(fx_count(&e.f, "SELECT count(*) FROM verdict_participants WHERE call_id='big'"),
                 PARTS);
    CHECK_EQ_INT(fx_count(&e.f, "SELECT json_extract(evidence, '$.participants')"
                                " FROM verdict_calls WHERE call_id='big'"),
                 PARTS);
    CHECK_EQ_INT(fx_count(&e.f, "SELECT count(*) FROM verdict_calls WHERE call_id='big'"
                                " AND json_extract(evidence, '$.bound') IS NOT NULL"),
                 0);
    /* the 40 behind the probe, each joined with its two wire streams */
    CHECK_EQ_INT(fx_count(&e.f, "SELECT count(*) FROM verdict_participants WHERE call_id='big'"
                                " AND json_extract(evidence, '$.role') = 'probed'"
                                " AND site = 'hq' AND client_ip_hmac IS NOT NULL"),
                 PROBED);
    CHECK_EQ_INT(fx_count(&e.f, "SELECT count(*) FROM verdict_participants WHERE call_id='big'"
                                " AND json_extract(evidence, '$.role') = 'far'"),
                 PARTS - PROBED);
    CHECK_EQ_INT(fx_count(&e.f, "SELECT count(*) FROM verdict_streams WHERE call_id='big'"),
                 2 * PARTS);
    CHECK_EQ_INT(fx_count(&e.f, "SELECT count(*) FROM verdict_streams WHERE call_id='big'"
                                " AND stream_id IS NOT NULL AND graph_stream_rid IS NOT NULL"),
                 2 * PROBED);
    /* each joined row carries the stream of its own participant */
    CHECK_EQ_INT(fx_count(&e.f, "SELECT count(DISTINCT participant) FROM verdict_streams"
                                " WHERE call_id='big' AND stream_id IS NOT NULL"),
                 PROBED);
    CHECK_EQ_INT(fx_count(&e.f, "SELECT count(*) FROM verdict_streams v JOIN streams s"
                                " ON s.id = v.stream_id JOIN verdict_participants p"
                                " ON p.call_id = v.call_id AND p.participant = v.participant"
                                " WHERE v.call_id='big' AND s.client_ip_hmac = p.client_ip_hmac"
                                " AND s.direction = v.direction"),
                 2 * PROBED);
    CHECK_EQ_INT(fx_count(&e.f, "SELECT json_extract(evidence, '$.probe_streams')"
                                " FROM verdict_calls WHERE call_id='big'"),
                 2 * PROBED);
    /* the lossy one is a LAN fault, and it decides the call */
    CHECK_EQ_INT(fx_count(&e.f, "SELECT count(*) FROM verdict_participants WHERE call_id='big'"
                                " AND verdict = 'lan'"),
                 1);
    CHECK_STR(text(&e, "SELECT verdict FROM verdict_calls WHERE call_id='big'"), "lan");
    CHECK_EQ_INT(fx_count(&e.f, "SELECT count(*) FROM verdict_participants p JOIN verdict_calls c"
                                " ON c.call_id = p.call_id AND p.participant ="
                                " json_extract(c.evidence, '$.participant')"
                                " WHERE p.verdict = 'lan'"),
                 1);
    correlate_stats_t st;
    correlate_stats(e.c, &st);
    CHECK_EQ_UINT(st.joined, 1);
    CHECK_EQ_UINT(st.bounded, 0);
    CHECK_EQ_UINT(st.wire_only, 0);
    env_close(&e);
}

/* With the bound lowered to 500 participants, the call says so. */
static void test_bound_counted(void)
{
    env_t e;
    CHECK(env_open(&e, 500));
    CHECK(put_probe_streams(&e.f));
    CHECK(put_record(&e.f, "big", PARTS, NULL, 0));
    CHECK_EQ_INT(step(&e), 1);
    CHECK_EQ_INT(fx_count(&e.f, "SELECT count(*) FROM verdict_participants WHERE call_id='big'"),
                 500);
    CHECK_EQ_INT(fx_count(&e.f, "SELECT json_extract(evidence, '$.bound.participants_not_judged')"
                                " FROM verdict_calls WHERE call_id='big'"),
                 PARTS - 500);
    CHECK_EQ_INT(fx_count(&e.f, "SELECT json_extract(evidence, '$.bound.max_participants')"
                                " FROM verdict_calls WHERE call_id='big'"),
                 500);
    /* media come in session order: the 40 probed ones are among the first 500 */
    CHECK_EQ_INT(fx_count(&e.f, "SELECT count(*) FROM verdict_participants WHERE call_id='big'"
                                " AND json_extract(evidence, '$.role') = 'probed'"),
                 PROBED);
    correlate_stats_t st;
    correlate_stats(e.c, &st);
    CHECK_EQ_UINT(st.bounded, 1);
    env_close(&e);
}

/* Peer to peer: the far callee's stream is the probed caller's, so the
 * caller's LAN loss explains it instead of blaming the far side. */
static void test_p2p_shared_stream(void)
{
    env_t e;
    CHECK(env_open(&e, 0));
    fx_stream_t v[] = {{"10.20.0.1", 50010, 1000, false, 0, 60, 3000, 200},
                       {"10.20.0.1", 50010, 1001, true, 0, 60, 3000, 0}};
    CHECK(fx_streams(&e.f, "p1", 1, v, 2));
    CHECK(put_record(&e.f, "p2p", 1, "10.99.0.9", 50020));
    CHECK_EQ_INT(step(&e), 1);
    CHECK_EQ_INT(fx_count(&e.f, "SELECT count(*) FROM verdict_participants WHERE call_id='p2p'"),
                 2);
    CHECK_EQ_INT(
        fx_count(&e.f, "SELECT count(*) FROM verdict_streams WHERE call_id='p2p'"
                       " AND stream_id IS NULL AND verdict = 'lan' AND"
                       " json_extract(evidence, '$.rule') LIKE 'same stream as participant ip-%'"),
        1);
    env_close(&e);
}

int main(void)
{
    RUN(test_meeting_1000);
    RUN(test_bound_counted);
    RUN(test_p2p_shared_stream);
    return check_finish("unit_correlate_large");
}
