/* pg_flow: encapsulation and transport for media and control messages. */
#include "pg_flow.h"

#include <string.h>

#include "pg_stun.h"

void pg_flow_init(pg_flow *f, pg_ctx *c, const pg_ep *local, const pg_ep *remote, pg_encap enc)
{
    memset(f, 0, sizeof(*f));
    f->ep[0] = *local;
    f->ep[1] = *remote;
    f->encap = enc;
    f->tcp = enc == PG_ENC_TCP4571;
    f->channel = 0x4000;
    f->seq[0] = (uint32_t)pg_rng_u64(&c->rng);
    f->seq[1] = (uint32_t)pg_rng_u64(&c->rng);
    f->ip_id[0] = (uint16_t)pg_rng_u64(&c->rng);
    f->ip_id[1] = (uint16_t)pg_rng_u64(&c->rng);
}

void pg_flow_vlan(pg_flow *f, uint16_t tpid, uint16_t id)
{
    if (f->nvlan < 2) {
        f->vlan[f->nvlan].tpid = tpid;
        f->vlan[f->nvlan].id = id;
        f->nvlan++;
    }
}

void pg_flow_l2(const pg_ctx *c, const pg_flow *f, int dir, pg_l2 *l2)
{
    memset(l2, 0, sizeof(*l2));
    l2->linktype = c->linktype;
    l2->outbound = dir == 0;
    if (c->linktype == PG_LT_EN10MB) {
        l2->nvlan = f->nvlan;
        memcpy(l2->vlan, f->vlan, sizeof(l2->vlan));
    }
}

int pg_flow_vlan_outer(const pg_ctx *c, const pg_flow *f)
{
    return c->linktype == PG_LT_EN10MB && f->nvlan > 0 ? f->vlan[0].id : -1;
}

const char *pg_flow_encap_name(const pg_flow *f, int dir)
{
    static const char *const names[] = {"raw", "turn_channeldata", "stun_data_indication",
                                        "tcp_rfc4571"};
    if (f->encap == PG_ENC_STUN_IND && dir == 0) {
        return "stun_send_indication";
    }
    return names[f->encap];
}

void pg_flow_tcp_frame(pg_ctx *c, pg_flow *f, int dir, uint8_t flags, const uint8_t *p, size_t n,
                       pg_frame *out)
{
    pg_l2 l2;

    pg_flow_l2(c, f, dir, &l2);
    pg_wire_tcp(out, &l2, &f->ep[dir], &f->ep[!dir], f->seq[dir], f->seq[!dir], flags, p, n,
                f->ip_id[dir]++);
    f->seq[dir] += (uint32_t)n + ((flags & (PG_TCP_SYN | PG_TCP_FIN)) ? 1 : 0);
}

static void send_l4(pg_ctx *c, pg_flow *f, int dir, uint64_t t, const uint8_t *p, size_t n,
                    const pg_meta *meta)
{
    pg_frame fr;
    pg_l2 l2;

    if (f->tcp) {
        pg_flow_tcp_frame(c, f, dir, PG_TCP_PSH | PG_TCP_ACK, p, n, &fr);
    } else {
        pg_flow_l2(c, f, dir, &l2);
        pg_wire_udp(&fr, &l2, &f->ep[dir], &f->ep[!dir], p, n, f->ip_id[dir]++);
    }
    pg_ctx_emit_frame(c, t, &fr, meta);
}

void pg_flow_send_plain(pg_ctx *c, pg_flow *f, int dir, uint64_t t, const uint8_t *p, size_t n)
{
    send_l4(c, f, dir, t, p, n, NULL);
}

void pg_flow_send(pg_ctx *c, pg_flow *f, int dir, uint64_t t, const uint8_t *p, size_t n,
                  const pg_meta *meta)
{
    uint8_t buf[PG_FRAME_MAX];
    uint8_t tid[12];
    size_t len = 0;

    switch (f->encap) {
    case PG_ENC_RAW:
        send_l4(c, f, dir, t, p, n, meta);
        return;
    case PG_ENC_CHDATA:
        len = pg_turn_chdata(buf, sizeof(buf), f->channel, p, n, 1);
        break;
    case PG_ENC_STUN_IND:
        pg_rng_fill(&c->rng, tid, sizeof(tid));
        len = pg_stun_indication(buf, sizeof(buf), dir == 0 ? PG_STUN_SEND_IND : PG_STUN_DATA_IND,
                                 tid, &f->peer, p, n);
        break;
    case PG_ENC_TCP4571:
        if (n + 2 <= sizeof(buf)) {
            pg_put16(buf, (uint16_t)n);
            memcpy(buf + 2, p, n);
            len = n + 2;
        }
        break;
    }
    if (len > 0) {
        send_l4(c, f, dir, t, buf, len, meta);
    }
}

void pg_flow_tcp_open(pg_ctx *c, pg_flow *f, uint64_t t, uint64_t rtt)
{
    pg_frame fr;

    pg_flow_tcp_frame(c, f, 0, PG_TCP_SYN, NULL, 0, &fr);
    pg_ctx_emit_frame(c, t, &fr, NULL);
    pg_flow_tcp_frame(c, f, 1, PG_TCP_SYN | PG_TCP_ACK, NULL, 0, &fr);
    pg_ctx_emit_frame(c, t + rtt, &fr, NULL);
    pg_flow_tcp_frame(c, f, 0, PG_TCP_ACK, NULL, 0, &fr);
    pg_ctx_emit_frame(c, t + rtt + 100, &fr, NULL);
}
