/* test_rtp_stream.c - probe/rtp_stream.h: RFC 3550 A.8 jitter against an
 * independent reference, clock inference, abs-send-time detection. Packets
 * are rtp_hdr_t built directly; arrival times are exact microseconds. */
#include <stdlib.h>

#include "check.h"
#include "rtp_stream.h"

#define T0 ((usec_t)1700000000 * USEC_PER_SEC)

static rtp_hdr_t hdr(uint8_t pt, uint16_t seq, uint32_t ts, uint8_t marker)
{
    rtp_hdr_t h;
    memset(&h, 0, sizeof h);
    h.payload_type = pt;
    h.seq = seq;
    h.ts = ts;
    h.marker = marker;
    h.ssrc = 0xcafe;
    h.header_len = 12;
    h.payload_len = 160;
    return h;
}

/* Arrival offsets (µs) added to the nominal 20 ms grid. */
static const int32_t JIT_US[] = {0,     1200, -800, 3500,  200,  -2500, 900,  0,
                                 4100,  -300, 1700, -1900, 2600, 50,    -700, 1300,
                                 -3100, 2200, 600,  -1200, 0,    3300,  -400, 800};
#define NJIT (sizeof JIT_US / sizeof JIT_US[0])

/* RFC 3550 A.8 in the test's own words, ms. first packet primes only; the
 * maximum skips the first packet and marker packets (Wireshark). */
typedef struct {
    double j, jmax;
} ref_t;

static void ref_run(const usec_t *arr, const uint32_t *ts, const uint8_t *mk, size_t n,
                    double clock, ref_t *r)
{
    r->j = r->jmax = 0;
    for (size_t i = 1; i < n; i++) {
        double d = (double)(arr[i] - arr[i - 1]) / 1000.0 -
                   (double)(int32_t)(ts[i] - ts[i - 1]) * 1000.0 / clock;
        r->j += (fabs(d) - r->j) / 16.0;
        if (!mk[i] && r->j > r->jmax)
            r->jmax = r->j;
    }
}

static void test_jitter_pcmu_vs_reference(void)
{
    enum { N = 200, STEP = 100 };
    static usec_t arr[N];
    static uint32_t ts[N];
    static uint8_t mk[N];
    for (size_t i = 0; i < N; i++) {
        ts[i] = 12345u + (uint32_t)i * 160u;
        arr[i] = T0 + (usec_t)i * 20000 + JIT_US[i % NJIT];
        /* from packet STEP on the path is 60 ms longer; STEP carries the
         * marker (a talkspurt start), so its big jitter is not a maximum */
        if (i >= STEP)
            arr[i] += 60000;
        mk[i] = i == STEP;
    }
    rtp_hdr_t h0 = hdr(0, 100, ts[0], 0);
    rtp_stream_t *s = rtp_stream_new(0xcafe, 0, &h0, ENCAP_RAW, false, arr[0]);
    CHECK(s != NULL);
    if (!s)
        return;
    for (size_t i = 0; i < N; i++) {
        rtp_hdr_t h = hdr(0, (uint16_t)(100 + i), ts[i], mk[i]);
        rtp_stream_packet(s, &h, arr[i], 172);
    }
    rtp_stream_finish(s);
    ref_t r;
    ref_run(arr, ts, mk, N, 8000.0, &r);
    CHECK_EQ_UINT(s->clock_rate, 8000);
    CHECK(!s->clock_inferred);
    CHECK_NEAR(s->jit.j, r.j, 1e-9);
    CHECK_NEAR(s->jit.jmax, r.jmax, 1e-9);
    /* the marker exclusion matters for this input */
    ref_t all;
    static uint8_t none[N];
    ref_run(arr, ts, none, N, 8000.0, &all);
    CHECK(all.jmax > r.jmax + 0.1);

    rtp_window_t w;
    rtp_stream_window(s, &w);
    CHECK_NEAR(w.jitter_ms_max, r.jmax, 1e-9);
    CHECK_EQ_UINT(w.packets, N);
    CHECK_EQ_UINT(w.expected, N);
    CHECK_EQ_UINT(w.lost, 0);
    CHECK_EQ_UINT(s->bytes, 172u * N);
    CHECK_NEAR(rtp_stream_loss_pct(s), 0.0, 1e-12);
    rtp_stream_free(&s);
    CHECK(s == NULL);
}

/* Fewer packets than the pending buffer: decided at finish, same result. */
static void test_jitter_short_stream(void)
{
    enum { N = 20 };
    usec_t arr[N];
    uint32_t ts[N];
    uint8_t mk[N] = {0};
    for (size_t i = 0; i < N; i++) {
        ts[i] = (uint32_t)i * 160u;
        arr[i] = T0 + (usec_t)i * 20000 + JIT_US[(i * 7) % NJIT];
    }
    rtp_hdr_t h0 = hdr(8, 0, 0, 0);
    rtp_stream_t *s = rtp_stream_new(1, 1, &h0, ENCAP_RAW, false, arr[0]);
    for (size_t i = 0; i < N; i++) {
        rtp_hdr_t h = hdr(8, (uint16_t)i, ts[i], 0);
        rtp_stream_packet(s, &h, arr[i], 172);
    }
    rtp_stream_finish(s);
    ref_t r;
    ref_run(arr, ts, mk, N, 8000.0, &r);
    CHECK_NEAR(s->jit.j, r.j, 1e-9);
    CHECK_NEAR(s->jit.jmax, r.jmax, 1e-9);
    rtp_stream_free(&s);
}

static void test_clock_opus_48k(void)
{
    enum { N = 100 };
    rtp_hdr_t h0 = hdr(111, 0, 0, 0);
    rtp_stream_t *s = rtp_stream_new(2, 0, &h0, ENCAP_RAW, false, T0);
    for (size_t i = 0; i < N; i++) {
        rtp_hdr_t h = hdr(111, (uint16_t)i, 7777u + (uint32_t)i * 960u, 0);
        rtp_stream_packet(s, &h, T0 + (usec_t)i * 20000 + JIT_US[i % NJIT] / 4, 100);
    }
    CHECK(s->clock_decided); /* 64 packets were enough */
    rtp_stream_finish(s);
    CHECK_EQ_UINT(s->clock_rate, 48000);
    CHECK(s->clock_inferred);
    CHECK(s->jit.jmax > 0 && s->jit.jmax < 2.0);
    rtp_stream_free(&s);
}

/* 30 fps video, 3 packets per frame 1 ms apart, PT 96, no Teams hint. */
static rtp_stream_t *video(unsigned frames)
{
    rtp_hdr_t h0 = hdr(96, 0, 0, 0);
    rtp_stream_t *s = rtp_stream_new(3, 0, &h0, ENCAP_RAW, false, T0);
    uint16_t seq = 0;
    for (unsigned f = 0; f < frames; f++) {
        for (unsigned k = 0; k < 3; k++) {
            rtp_hdr_t h = hdr(96, seq++, 90000u + f * 3000u, k == 2);
            rtp_stream_packet(s, &h, T0 + (usec_t)f * 33333 + (usec_t)k * 1000, 1200);
        }
    }
    rtp_stream_finish(s);
    return s;
}

static void test_clock_video_90k(void)
{
    rtp_stream_t *s = video(40); /* 120 packets: decided after 64 */
    CHECK_EQ_UINT(s->clock_rate, 90000);
    CHECK(s->clock_inferred);
    CHECK_EQ_UINT(s->frames, 40);
    CHECK_EQ_UINT(s->max_pkts_per_ts, 3);
    rtp_stream_free(&s);

    s = video(20); /* 60 packets: everything decided at finish */
    CHECK_EQ_UINT(s->clock_rate, 90000);
    CHECK_EQ_UINT(s->frames, 20);
    /* classify_media() uses this to call a stream video */
    CHECK_EQ_UINT(s->max_pkts_per_ts, 3);
    rtp_stream_free(&s);
}

/* abs-send-time (6.18 fixed point seconds, 24 bits, wraps at 64 s) */
static uint32_t ast_of(usec_t send_us)
{
    return (uint32_t)(((send_us << 18) + USEC_PER_SEC / 2) / USEC_PER_SEC) & 0xFFFFFFu;
}

static rtp_stream_t *ast_stream(bool random_ext)
{
    enum { N = 150 };
    srand(99);
    /* send clock starts at 63 s: its 24-bit value wraps during the stream */
    usec_t send0 = 63 * USEC_PER_SEC;
    usec_t first_arrival = T0;
    rtp_stream_t *s = NULL;
    for (size_t i = 0; i < N; i++) {
        /* sender pacing varies (media clock is regular): +-3 ms */
        usec_t send = send0 + (usec_t)i * 20000 + JIT_US[i % NJIT] * 3 / 4;
        usec_t arrival = first_arrival + (send - send0) + 30000; /* constant path */
        rtp_hdr_t h = hdr(111, (uint16_t)i, (uint32_t)i * 960u, 0);
        h.extension = 1;
        h.ext_profile = 0xBEDE;
        h.ext_count = 2;
        h.ext[0].id = 1; /* audio level, 1 byte: not a candidate */
        h.ext[0].len = 1;
        h.ext[0].value = 0x7f;
        h.ext[1].id = 3;
        h.ext[1].len = 3;
        h.ext[1].value = random_ext ? ((uint32_t)rand() & 0xFFFFFF) : ast_of(send);
        if (!s)
            s = rtp_stream_new(4, 0, &h, ENCAP_RAW, false, arrival);
        rtp_stream_packet(s, &h, arrival, 120);
    }
    rtp_stream_finish(s);
    return s;
}

static void test_abs_send_time(void)
{
    rtp_stream_t *s = ast_stream(false);
    CHECK_EQ_INT(s->ast_id, 3);
    CHECK(s->netjit.primed);
    CHECK(s->netjit.jmax < 0.01); /* arrival = send + constant */
    CHECK(s->jit.jmax > 0.3);     /* the media clock sees the pacing */
    CHECK_EQ_UINT(s->clock_rate, 48000);
    rtp_stream_free(&s);

    s = ast_stream(true);
    CHECK_EQ_INT(s->ast_id, -1);
    CHECK(!s->netjit.primed);
    rtp_stream_free(&s);
}

static void test_rtcp_rb_rtt(void)
{
    rtp_hdr_t h0 = hdr(0, 0, 0, 0);
    rtp_stream_t *s = rtp_stream_new(5, 0, &h0, ENCAP_RAW, false, T0);
    for (int i = 0; i < 70; i++) {
        rtp_hdr_t h = hdr(0, (uint16_t)i, (uint32_t)i * 160u, 0);
        rtp_stream_packet(s, &h, T0 + i * 20000, 172);
    }
    rtp_stream_rtcp_sr(s, 0x456789ab, T0 + 1000000);
    /* RR echoes it 250 ms later after holding it 200 ms: RTT 50 ms */
    rtp_stream_rtcp_rb(s, 64, -2, 160, 0x456789ab, 13107 /* 0.2 s */, T0 + 1250000);
    CHECK(s->rtcp_rtt_valid);
    CHECK_NEAR(s->rtcp_rtt_ms, 50.0, 0.01);
    CHECK_NEAR(s->rtcp_jitter_ms, 20.0, 1e-9); /* 160 / 8000 Hz */
    CHECK_EQ_INT(s->rtcp_cumulative_lost, -2);
    rtp_stream_free(&s);
}

int main(void)
{
    RUN(test_jitter_pcmu_vs_reference);
    RUN(test_jitter_short_stream);
    RUN(test_clock_opus_48k);
    RUN(test_clock_video_90k);
    RUN(test_abs_send_time);
    RUN(test_rtcp_rb_rtt);
    return check_finish("unit_rtp_stream");
}
