/* Unencrypted calls between two private hosts with static payload types:
 * impair_static_pt (loss + jitter, checkable with tshark) and rtcp_plain
 * (RFC 3550 SR/RR/SDES with report blocks computed from the plans). */
#include <string.h>

#include "pg_rtcp.h"
#include "pg_rtp.h"
#include "pg_scen.h"

static int plain_plan(pg_ctx *c, pg_sched *s, int dir, uint64_t t0, uint8_t pt, size_t count)
{
    pg_sched_par p;

    memset(&p, 0, sizeof(p));
    p.ssrc = (uint32_t)pg_rng_u64(&c->rng);
    p.pt = pt;
    p.seq0 = (uint16_t)pg_rng_u64(&c->rng);
    p.ts0 = (uint32_t)pg_rng_u64(&c->rng);
    p.ts_step = 160; /* 20 ms at 8000 Hz (G.722 too, RFC 3551) */
    p.t0_us = t0 + (dir ? 5 * PG_MS : 0);
    p.period_us = 20 * PG_MS;
    p.count = count;
    p.delay_us = PG_MS;
    p.plen_min = 160;
    p.plen_max = 160;
    return pg_sched_audio(s, &c->rng, &p);
}

static int flow2(pg_ctx *c, pg_flow *f, const char *a, uint16_t pa, uint8_t ma, const char *b,
                 uint16_t pb, uint8_t mb)
{
    pg_ep x, y;

    if (pg_ep_local(&x, a, pa, ma) != 0 || pg_ep_local(&y, b, pb, mb) != 0) {
        return -1;
    }
    pg_flow_init(f, c, &x, &y, PG_ENC_RAW);
    return 0;
}

/* 2 % random isolated loss, one burst of 3, jitter uniform 0-30 ms. */
static void static_impair(pg_ctx *c, pg_sched *s)
{
    size_t n = s->n;

    for (size_t i = 1; i < n; i++) {
        if (pg_rng_unit(&c->rng) < 0.02) {
            pg_sched_drop(s, i, i);
        }
    }
    pg_sched_drop(s, 150, 152);
    pg_sched_net_jitter(s, &c->rng, 30 * PG_MS, 0.0, 0);
}

static int static_call(pg_ctx *c, pg_flow *f, uint8_t pt, uint64_t t0)
{
    int rc = 0;

    for (int d = 0; d < 2 && rc == 0; d++) {
        pg_sched s = {0};
        rc = plain_plan(c, &s, d, t0, pt, 300);
        if (rc == 0) {
            static_impair(c, &s);
            pg_rtp_stream(c, f, d, &s, 8000, "audio", "other", 0);
        }
        pg_sched_free(&s);
    }
    return rc;
}

int pg_scen_impair_static_pt(pg_ctx *c)
{
    pg_flow g711, g722;

    if (flow2(c, &g711, "192.168.5.10", 40010, 0x0a, "192.168.5.20", 40012, 0x14) != 0 ||
        flow2(c, &g722, "192.168.5.11", 40020, 0x0b, "192.168.5.21", 40022, 0x15) != 0) {
        return -1;
    }
    if (static_call(c, &g711, 0, PG_T0_US) != 0) {
        return -1;
    }
    return static_call(c, &g722, 9, PG_T0_US + 200 * PG_MS);
}

typedef struct {
    pg_flow rtp, rtcp;
    pg_sched plan[2];
    pg_rb_state st[2];
    uint64_t last_sr_t[2]; /* 0: none yet */
    uint64_t last_sr_ntp[2];
} rtcp_call;

static void rtcp_report(pg_ctx *c, rtcp_call *k, int d, uint64_t t)
{
    static const char *const cname[2] = {"alice@192.168.5.10", "bob@192.168.5.20"};
    const pg_sched *mine = &k->plan[d];
    uint8_t buf[512];
    size_t n;
    pg_rb rb;
    pg_sr_info si;
    int sender = mine->n > 0 && mine->v[mine->n - 1].send_us + 5 * PG_SEC > t;

    pg_rtcp_rb(&rb, &k->plan[!d], 8000, t, &k->st[d]);
    if (k->last_sr_t[!d] != 0) {
        rb.lsr = pg_rtcp_ntp_mid(k->last_sr_ntp[!d]);
        rb.dlsr = (uint32_t)(((t - k->last_sr_t[!d]) << 16) / PG_SEC);
    }
    if (sender) {
        pg_rtcp_sender(&si, mine, 8000, t);
        n = pg_rtcp_sr(buf, sizeof(buf), &si, &rb, 1);
        k->last_sr_t[d] = t;
        k->last_sr_ntp[d] = si.ntp;
    } else {
        n = pg_rtcp_rr(buf, sizeof(buf), mine->v[0].ssrc, &rb, 1);
    }
    n += pg_rtcp_sdes(buf + n, sizeof(buf) - n, mine->v[0].ssrc, cname[d]);
    pg_flow_send_plain(c, &k->rtcp, d, t, buf, n);
}

int pg_scen_rtcp_plain(pg_ctx *c)
{
    rtcp_call k;
    int rc;

    /* A sends 16 s, B 10 s: B is not a sender at 15.5 s, so its third
     * report is an RR (RFC 3550 6.4). */
    memset(&k, 0, sizeof(k));
    rc = flow2(c, &k.rtp, "192.168.5.10", 40000, 0x0a, "192.168.5.20", 40002, 0x14);
    rc = rc ? rc : flow2(c, &k.rtcp, "192.168.5.10", 40001, 0x0a, "192.168.5.20", 40003, 0x14);
    rc = rc ? rc : plain_plan(c, &k.plan[0], 0, PG_T0_US, 0, 800);
    rc = rc ? rc : plain_plan(c, &k.plan[1], 1, PG_T0_US, 0, 500);
    if (rc == 0) {
        pg_sched_drop(&k.plan[0], 120, 121);
        pg_sched_drop(&k.plan[0], 300, 300);
        pg_sched_drop(&k.plan[1], 77, 77);
        pg_sched_drop(&k.plan[1], 200, 202);
        for (int d = 0; d < 2; d++) {
            pg_rtp_stream(c, &k.rtp, d, &k.plan[d], 8000, "audio", "other", 0);
        }
        for (uint64_t i = 1; i <= 3; i++) {
            rtcp_report(c, &k, 0, PG_T0_US + i * 5 * PG_SEC);
            rtcp_report(c, &k, 1, PG_T0_US + i * 5 * PG_SEC + 500 * PG_MS);
        }
    }
    pg_sched_free(&k.plan[0]);
    pg_sched_free(&k.plan[1]);
    return rc;
}
