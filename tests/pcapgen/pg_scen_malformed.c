/* malformed: hostile frames for decoder tests, with a few valid Teams
 * packets in between. The truth file is an object:
 * {"malformed": {kind: count, ...}, "streams": [valid RTP streams]}. */
#include <string.h>

#include "pg_call.h"
#include "pg_rtp.h"
#include "pg_scen.h"
#include "pg_stun.h"

typedef struct {
    pg_flow v4, v6;
    pg_frame f;
    uint32_t caplen, origlen; /* 0: use f.len */
} mal;

typedef void (*mal_fn)(pg_ctx *c, mal *m, int i);

static void base_udp(pg_ctx *c, mal *m, pg_flow *fl, const uint8_t *p, size_t n)
{
    pg_l2 l2;

    pg_flow_l2(c, fl, 0, &l2);
    pg_wire_udp(&m->f, &l2, &fl->ep[0], &fl->ep[1], p, n, fl->ip_id[0]++);
}

static void rand_udp(pg_ctx *c, mal *m, size_t n)
{
    uint8_t buf[1500];

    pg_rng_fill(&c->rng, buf, n);
    buf[0] = 0x90; /* looks like Teams RTP */
    base_udp(c, m, &m->v4, buf, n);
}

static void trunc_ip(pg_ctx *c, mal *m, int i)
{
    rand_udp(c, m, 100);
    m->caplen = m->origlen = (uint32_t)(m->f.l3 + 6 + 4 * (size_t)i);
    if (i == 2) {
        m->origlen = (uint32_t)m->f.len; /* snaplen-style truncation */
    }
}

static void ihl_lt5(pg_ctx *c, mal *m, int i)
{
    static const uint8_t ihl[3] = {0, 3, 4};

    rand_udp(c, m, 60);
    m->f.b[m->f.l3] = (uint8_t)(0x40 | ihl[i]);
}

static void totlen_big(pg_ctx *c, mal *m, int i)
{
    rand_udp(c, m, 100);
    pg_put16(m->f.b + m->f.l3 + 2, (uint16_t)(1400 + i));
    pg_wire_ip4_fix(&m->f);
}

static void udplen_big(pg_ctx *c, mal *m, int i)
{
    rand_udp(c, m, 60);
    pg_put16(m->f.b + m->f.l4 + 4, (uint16_t)(500 + i * 1000));
}

static void v6_ext_trunc(pg_ctx *c, mal *m, int i)
{
    uint8_t *ip;

    (void)i;
    base_udp(c, m, &m->v6, (const uint8_t *)"\x90\x68\x00\x01", 4);
    ip = m->f.b + m->f.l3;
    ip[6] = 0; /* next header: hop-by-hop */
    /* HBH: next = 60 (destination options), hdr ext len 10 => 88 bytes,
     * but only the UDP header's 8 bytes + 4 follow. */
    ip[40] = 60;
    ip[41] = 10;
    if (i == 1) {
        pg_put16(ip + 4, 200); /* payload length also beyond the capture */
    }
}

static void tcp_doff(pg_ctx *c, mal *m, int i)
{
    pg_flow t = m->v4;
    uint8_t pay[40];

    t.ep[1].port = 443;
    pg_rng_fill(&c->rng, pay, sizeof(pay));
    pg_flow_tcp_frame(c, &t, 0, PG_TCP_PSH | PG_TCP_ACK, pay, sizeof(pay), &m->f);
    m->f.b[m->f.l4 + 12] = (uint8_t)((i == 0 ? 2 : 4) << 4);
}

static void frag(pg_ctx *c, mal *m, int i)
{
    uint8_t *ip;

    rand_udp(c, m, 200);
    ip = m->f.b + m->f.l3;
    if (i == 0) {
        pg_put16(m->f.b + m->f.l4 + 4, 1208); /* whole datagram's length */
        pg_put16(ip + 6, 0x2000);             /* MF, offset 0 */
    } else {
        pg_put16(ip + 6, (uint16_t)(26 + i)); /* offset (x8), last fragment */
    }
    pg_wire_ip4_fix(&m->f);
}

static void rtp_csrc(pg_ctx *c, mal *m, int i)
{
    uint8_t b[20];

    pg_rng_fill(&c->rng, b, sizeof(b));
    b[0] = (uint8_t)(0x80 | (i ? 0x1f : 0x0f)); /* CC = 15, X maybe */
    b[1] = 104;
    base_udp(c, m, &m->v4, b, sizeof(b));
}

static void rtp_ext(pg_ctx *c, mal *m, int i)
{
    uint8_t b[24];

    pg_rng_fill(&c->rng, b, sizeof(b));
    b[0] = 0x90;
    b[1] = 104;
    pg_put16(b + 12, 0xBEDE);
    pg_put16(b + 14, (uint16_t)(i ? 0xffff : 3)); /* words beyond the end */
    base_udp(c, m, &m->v4, b, sizeof(b));
}

static void chdata_len(pg_ctx *c, mal *m, int i)
{
    uint8_t b[60];

    pg_rng_fill(&c->rng, b, sizeof(b));
    pg_put16(b, 0x4000);
    pg_put16(b + 2, (uint16_t)(1000 + i));
    b[4] = 0x90;
    base_udp(c, m, &m->v4, b, sizeof(b));
}

static void stun_attr(pg_ctx *c, mal *m, int i)
{
    uint8_t tid[12], b[64];
    size_t o;

    pg_rng_fill(&c->rng, tid, sizeof(tid));
    o = pg_stun_begin(b, sizeof(b), PG_STUN_BIND_OK, tid);
    o = pg_stun_xaddr(b, sizeof(b), o, PG_ATTR_XOR_MAPPED, &m->v4.ep[0]);
    o = pg_stun_end(b, sizeof(b), o, 0);
    pg_put16(b + 22, (uint16_t)(i ? 0xfff0 : 0x0400)); /* attr length */
    base_udp(c, m, &m->v4, b, o);
}

static void random_frame(pg_ctx *c, mal *m, int i)
{
    (void)i;
    m->f.len = pg_rng_range(&c->rng, 1, 200);
    pg_rng_fill(&c->rng, m->f.b, m->f.len);
}

typedef struct {
    const char *name;
    int count;
    mal_fn fn;
} mal_kind;

static const mal_kind kinds[] = {
    {"l3_truncated_in_ip_header", 3, trunc_ip},
    {"ipv4_ihl_lt_5", 3, ihl_lt5},
    {"ipv4_total_length_gt_captured", 2, totlen_big},
    {"udp_length_gt_datagram", 2, udplen_big},
    {"ipv6_truncated_ext_chain", 2, v6_ext_trunc},
    {"tcp_data_offset_lt_5", 2, tcp_doff},
    {"ipv4_fragment", 3, frag}, /* first (MF), last, orphan non-first */
    {"rtp_csrc_overrun", 2, rtp_csrc},
    {"rtp_ext_overrun", 2, rtp_ext},
    {"turn_chdata_len_overrun", 2, chdata_len},
    {"stun_attr_overrun", 2, stun_attr},
    {"random_frames", 50, random_frame},
};

static int mal_flows(pg_ctx *c, mal *m)
{
    pg_ep a, b, a6, b6;

    if (pg_ep_local(&a, "10.1.20.15", 50010, 0x15) != 0 ||
        pg_ep_remote(&b, "52.113.10.20", 3478) != 0 ||
        pg_ep_local(&a6, "2001:db8:10::15", 50010, 0x15) != 0 ||
        pg_ep_remote(&b6, "2603:1063:1::20", 3478) != 0) {
        return -1;
    }
    pg_flow_init(&m->v4, c, &a, &b, PG_ENC_RAW);
    pg_flow_init(&m->v6, c, &a6, &b6, PG_ENC_RAW);
    return 0;
}

int pg_scen_malformed(pg_ctx *c)
{
    mal m;
    pg_sched valid = {0};
    uint64_t t;
    size_t nv = 0, nhostile = 0;
    int32_t sid;

    memset(&m, 0, sizeof(m));
    if (mal_flows(c, &m) != 0) {
        return -1;
    }
    t = pg_call_setup(c, &m.v4, PG_T0_US);
    if (pg_call_audio_plan(c, &valid, 0, t, 40) != 0) {
        return -1;
    }
    sid = pg_rtp_register(c, &m.v4, 0, &valid, 16000, "audio", "teams", 1);
    for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
        for (int i = 0; i < kinds[k].count; i++) {
            uint64_t at = t + nhostile * 5 * PG_MS + 1000;
            m.caplen = m.origlen = 0;
            kinds[k].fn(c, &m, i);
            pg_ctx_emit(c, at, m.f.b, m.caplen ? m.caplen : (uint32_t)m.f.len,
                        m.origlen ? m.origlen : (uint32_t)m.f.len, NULL);
            pg_truth_count(&c->truth, kinds[k].name, 1);
            nhostile++;
        }
    }
    /* 40 valid Teams RTP packets every 20 ms across the hostile ones */
    for (; nv < valid.n; nv++) {
        pg_rtp_emit_one(c, &m.v4, 0, &valid.v[nv], sid, 1);
    }
    pg_truth_count(&c->truth, "valid_frames", 4 + valid.n);
    pg_sched_free(&valid);
    return 0;
}
