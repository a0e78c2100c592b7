/* non_teams_mix: traffic a Teams probe must not claim. */
#include <string.h>

#include "pg_bg.h"
#include "pg_rtp.h"
#include "pg_scen.h"
#include "pg_stun.h"

#define MIX_SECS 5

static int mix_dns(pg_ctx *c, const pg_ep *client, uint64_t t)
{
    static const char *const names[] = {"zoom.us", "meet.google.com", "www.example.com",
                                        "sip.example.net"};
    static const uint8_t ans[4][4] = {
        {170, 114, 52, 2}, {142, 250, 82, 76}, {93, 184, 216, 34}, {192, 168, 5, 20}};
    pg_ep dns;

    if (pg_ep_remote(&dns, "192.168.1.1", 53) != 0) {
        return -1;
    }
    for (int i = 0; i < 4; i++) {
        pg_bg_dns_exchange(c, client, &dns, t + (uint64_t)i * 150 * PG_MS, names[i], ans[i]);
    }
    return 0;
}

static int mix_web(pg_ctx *c, const pg_ep *client, uint64_t t)
{
    uint8_t buf[1500];
    pg_ep cl = *client, srv;
    pg_flow f;

    cl.port = 52000;
    if (pg_ep_remote(&srv, "93.184.216.34", 443) != 0) {
        return -1;
    }
    pg_bg_tcp_flow(c, &f, &cl, &srv);
    pg_flow_tcp_open(c, &f, t, 30 * PG_MS);
    for (int i = 0; i < 10; i++) {
        uint64_t at = t + 100 * PG_MS + (uint64_t)i * 300 * PG_MS;
        size_t n = pg_bg_tls_record(buf, sizeof(buf), &c->rng, pg_rng_range(&c->rng, 80, 400));
        pg_flow_send_plain(c, &f, 0, at, buf, n);
        n = pg_bg_tls_record(buf, sizeof(buf), &c->rng, pg_rng_range(&c->rng, 600, 1400));
        pg_flow_send_plain(c, &f, 1, at + 30 * PG_MS, buf, n);
    }
    return 0;
}

static int mix_zoom(pg_ctx *c, const pg_ep *client, uint64_t t)
{
    uint8_t buf[512];
    pg_ep cl = *client, srv;
    pg_flow f;
    uint16_t seq[2] = {(uint16_t)pg_rng_u64(&c->rng), (uint16_t)pg_rng_u64(&c->rng)};

    cl.port = 60000;
    if (pg_ep_remote(&srv, "144.195.10.20", 8801) != 0) {
        return -1;
    }
    pg_flow_init(&f, c, &cl, &srv, PG_ENC_RAW);
    for (uint32_t i = 0; i < MIX_SECS * 50; i++) {
        for (int d = 0; d < 2; d++) {
            size_t n = pg_bg_zoom(buf, sizeof(buf), &c->rng, seq[d]++, i * 320,
                                  pg_rng_range(&c->rng, 60, 140));
            pg_flow_send_plain(c, &f, d, t + i * 20 * PG_MS + (uint64_t)d * 31 * PG_MS, buf, n);
        }
    }
    return 0;
}

static int mix_rtp(pg_ctx *c, pg_flow *f, uint64_t t, uint8_t pt, uint32_t clock, uint16_t plen_lo,
                   uint16_t plen_hi, const char *app, int abs_ext)
{
    int rc = 0;

    for (int d = 0; d < 2 && rc == 0; d++) {
        pg_sched s = {0};
        pg_sched_par p;
        memset(&p, 0, sizeof(p));
        p.ssrc = (uint32_t)pg_rng_u64(&c->rng);
        p.pt = pt;
        p.seq0 = (uint16_t)pg_rng_u64(&c->rng);
        p.ts0 = (uint32_t)pg_rng_u64(&c->rng);
        p.ts_step = clock / 50;
        p.t0_us = t + (uint64_t)d * 9 * PG_MS;
        p.period_us = 20 * PG_MS;
        p.count = MIX_SECS * 50;
        p.delay_us = d ? 15 * PG_MS : 300;
        p.plen_min = plen_lo;
        p.plen_max = plen_hi;
        rc = pg_sched_audio(&s, &c->rng, &p);
        if (rc == 0) {
            pg_rtp_stream(c, f, d, &s, clock, "audio", app, abs_ext);
        }
        pg_sched_free(&s);
    }
    return rc;
}

static int mix_meet(pg_ctx *c, const pg_ep *client, uint64_t t)
{
    uint8_t tid[12], buf[256];
    pg_ep cl = *client, srv;
    pg_flow f;
    size_t n;

    cl.port = 55000;
    if (pg_ep_remote(&srv, "142.250.82.76", 19305) != 0) {
        return -1;
    }
    pg_flow_init(&f, c, &cl, &srv, PG_ENC_RAW);
    pg_rng_fill(&c->rng, tid, sizeof(tid));
    n = pg_stun_binding(buf, sizeof(buf), tid, NULL);
    pg_flow_send_plain(c, &f, 0, t, buf, n);
    n = pg_stun_binding(buf, sizeof(buf), tid, &cl);
    pg_flow_send_plain(c, &f, 1, t + 30 * PG_MS, buf, n);
    return mix_rtp(c, &f, t + 100 * PG_MS, 111, 48000, 60, 130, "meet", 1);
}

static int mix_sip_g711(pg_ctx *c, uint64_t t)
{
    pg_ep a, b;
    pg_flow f;

    if (pg_ep_local(&a, "192.168.5.10", 40000, 0x0a) != 0 ||
        pg_ep_local(&b, "192.168.5.20", 40002, 0x14) != 0) {
        return -1;
    }
    pg_flow_init(&f, c, &a, &b, PG_ENC_RAW);
    return mix_rtp(c, &f, t, 0, 8000, 160, 160, "other", 0);
}

int pg_scen_non_teams_mix(pg_ctx *c)
{
    pg_ep client;
    uint64_t t = PG_T0_US;

    if (pg_ep_local(&client, "192.168.1.50", 0, 0x32) != 0) {
        return -1;
    }
    if (mix_dns(c, &client, t) != 0 || mix_web(c, &client, t + 200 * PG_MS) != 0 ||
        mix_zoom(c, &client, t + 700 * PG_MS) != 0 || mix_meet(c, &client, t + 900 * PG_MS) != 0) {
        return -1;
    }
    return mix_sip_g711(c, t + 1100 * PG_MS);
}
