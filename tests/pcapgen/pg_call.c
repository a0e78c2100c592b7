/* pg_call: Teams-like call building blocks. */
#include "pg_call.h"

#include <string.h>

#include "pg_rtcp.h"
#include "pg_rtp.h"
#include "pg_stun.h"

#define PG_UP_DELAY_US 200     /* client -> capture point */
#define PG_DOWN_DELAY_US 25000 /* relay -> capture point */

int pg_call_flow(pg_ctx *c, pg_flow *f, const pg_call_par *p)
{
    pg_ep l, r;

    if (pg_ep_local(&l, p->client_ip, p->client_port, p->mac) != 0 ||
        pg_ep_remote(&r, p->relay_ip, p->relay_port) != 0) {
        return -1;
    }
    pg_flow_init(f, c, &l, &r, p->encap);
    for (int i = 0; i < p->nvlan && i < 2; i++) {
        pg_flow_vlan(f, p->vlan[i].tpid, p->vlan[i].id);
    }
    return 0;
}

static void stun_pair(pg_ctx *c, pg_flow *f, uint64_t t, int kind, const pg_ep *a, const pg_ep *b)
{
    uint8_t tid[12], buf[512];
    size_t n;

    pg_rng_fill(&c->rng, tid, sizeof(tid));
    n = kind == 0   ? pg_stun_binding(buf, sizeof(buf), tid, NULL)
        : kind == 1 ? pg_stun_allocate(buf, sizeof(buf), tid, NULL, NULL)
                    : pg_stun_chbind(buf, sizeof(buf), tid, f->channel, a);
    pg_flow_send_plain(c, f, 0, t, buf, n);
    n = kind == 0   ? pg_stun_binding(buf, sizeof(buf), tid, a)
        : kind == 1 ? pg_stun_allocate(buf, sizeof(buf), tid, b, a)
                    : pg_stun_chbind(buf, sizeof(buf), tid, f->channel, NULL);
    pg_flow_send_plain(c, f, 1, t + 2 * PG_DOWN_DELAY_US, buf, n);
}

static void framed_binding(pg_ctx *c, pg_flow *f, uint64_t t)
{
    uint8_t tid[12], buf[256];
    size_t n;

    /* Over TCP, STUN travels in the same RFC 4571 framing as media. */
    pg_rng_fill(&c->rng, tid, sizeof(tid));
    n = pg_stun_binding(buf, sizeof(buf), tid, NULL);
    pg_flow_send(c, f, 0, t, buf, n, NULL);
    n = pg_stun_binding(buf, sizeof(buf), tid, &f->ep[0]);
    pg_flow_send(c, f, 1, t + 2 * PG_DOWN_DELAY_US, buf, n, NULL);
}

uint64_t pg_call_setup(pg_ctx *c, pg_flow *f, uint64_t t)
{
    pg_ep mapped = f->ep[0], relayed = f->ep[1];

    if (f->tcp) {
        pg_flow_tcp_open(c, f, t, 2 * PG_DOWN_DELAY_US);
        framed_binding(c, f, t + 60 * PG_MS);
        return t + 150 * PG_MS;
    }
    if (mapped.fam == 4) {
        /* NAT: reflexive address in TEST-NET-2 */
        static const uint8_t nat[4] = {198, 51, 100, 7};
        memcpy(mapped.ip, nat, 4);
        mapped.port = (uint16_t)(mapped.port + 10000);
    }
    relayed.port = (uint16_t)pg_rng_range(&c->rng, 50000, 59999);
    if (f->peer.fam == 0) {
        f->peer = relayed;
        f->peer.port = (uint16_t)pg_rng_range(&c->rng, 50000, 59999);
    }
    stun_pair(c, f, t, 0, &mapped, NULL);
    stun_pair(c, f, t + 100 * PG_MS, 1, &mapped, &relayed);
    if (f->encap == PG_ENC_CHDATA) {
        stun_pair(c, f, t + 200 * PG_MS, 2, &f->peer, NULL);
    }
    return t + 300 * PG_MS;
}

int pg_call_audio_plan(pg_ctx *c, pg_sched *s, int dir, uint64_t t0, size_t count)
{
    pg_sched_par p;

    memset(&p, 0, sizeof(p));
    p.ssrc = (uint32_t)pg_rng_u64(&c->rng);
    p.pt = PG_TEAMS_PT_SILK16;
    p.seq0 = (uint16_t)pg_rng_u64(&c->rng);
    p.ts0 = (uint32_t)pg_rng_u64(&c->rng);
    p.ts_step = 320;
    p.t0_us = t0 + (dir ? 7 * PG_MS : 0);
    p.period_us = 20 * PG_MS;
    p.count = count;
    p.delay_us = dir ? PG_DOWN_DELAY_US : PG_UP_DELAY_US;
    p.plen_min = 70; /* 60-120 bytes of SRTP payload + 10-byte tag */
    p.plen_max = 130;
    return pg_sched_audio(s, &c->rng, &p);
}

int pg_call_video_plan(pg_ctx *c, pg_sched *s, int dir, uint64_t t0, size_t frames, uint8_t pt,
                       uint32_t fps)
{
    pg_sched_par p;

    memset(&p, 0, sizeof(p));
    p.ssrc = (uint32_t)pg_rng_u64(&c->rng);
    p.pt = pt;
    p.seq0 = (uint16_t)pg_rng_u64(&c->rng);
    p.ts0 = (uint32_t)pg_rng_u64(&c->rng);
    p.ts_step = 90000 / fps;
    p.t0_us = t0 + (dir ? 11 * PG_MS : 3 * PG_MS);
    p.period_us = PG_SEC / fps;
    p.count = frames;
    p.delay_us = dir ? PG_DOWN_DELAY_US : PG_UP_DELAY_US;
    p.plen_min = 810; /* 800-1200 + 10-byte tag */
    p.plen_max = 1210;
    p.pkts_min = 2;
    p.pkts_max = 6;
    return pg_sched_video(s, &c->rng, &p);
}

void pg_call_srtcp(pg_ctx *c, pg_flow *f, int dir, uint32_t ssrc, uint64_t t0, uint64_t t1,
                   uint64_t period)
{
    uint8_t buf[128];
    uint32_t index = 1;

    for (uint64_t t = t0 + period; t < t1; t += period) {
        uint64_t at = t + (dir ? PG_DOWN_DELAY_US + 3 * PG_MS : PG_UP_DELAY_US);
        size_t n = pg_srtcp(buf, sizeof(buf), &c->rng, ssrc, index++);
        pg_flow_send(c, f, dir, at, buf, n, NULL);
    }
}

int pg_call_teams(pg_ctx *c, pg_call *call, const pg_call_par *p, uint64_t t0, uint32_t secs)
{
    size_t count = (size_t)secs * 50;

    memset(call, 0, sizeof(*call));
    if (pg_call_flow(c, &call->flow, p) != 0) {
        return -1;
    }
    call->t_media = pg_call_setup(c, &call->flow, t0);
    call->t_end = call->t_media + (uint64_t)secs * PG_SEC;
    if (pg_call_audio_plan(c, &call->plan[0], 0, call->t_media, count) != 0 ||
        pg_call_audio_plan(c, &call->plan[1], 1, call->t_media, count) != 0) {
        return -1;
    }
    return 0;
}

static uint64_t srtcp_at(const pg_call *call, int dir, uint32_t index)
{
    return call->t_media + index * 5 * PG_SEC +
           (dir ? PG_DOWN_DELAY_US + 3 * PG_MS : PG_UP_DELAY_US);
}

/* Both directions are merged in time order so that TCP sequence and
 * acknowledgement numbers progress as they would on the wire. */
void pg_call_emit(pg_ctx *c, pg_call *call, const char *media)
{
    size_t i[2] = {0, 0};
    uint32_t idx[2] = {1, 1};
    uint8_t buf[128];

    for (int d = 0; d < 2; d++) {
        call->sid[d] = pg_rtp_register(c, &call->flow, d, &call->plan[d], 16000, media, "teams", 1);
    }
    for (;;) {
        uint64_t best = UINT64_MAX;
        int bd = -1, rtcp = 0;
        for (int d = 0; d < 2; d++) {
            const pg_sched *s = &call->plan[d];
            uint64_t tr = srtcp_at(call, d, idx[d]);
            if (i[d] < s->n && s->v[i[d]].arr_us < best) {
                best = s->v[i[d]].arr_us;
                bd = d;
                rtcp = 0;
            }
            if (s->n > 0 && tr < call->t_end && tr < best) {
                best = tr;
                bd = d;
                rtcp = 1;
            }
        }
        if (bd < 0) {
            break;
        }
        if (rtcp) {
            size_t n = pg_srtcp(buf, sizeof(buf), &c->rng, call->plan[bd].v[0].ssrc, idx[bd]);
            pg_flow_send(c, &call->flow, bd, best, buf, n, NULL);
            idx[bd]++;
        } else {
            pg_rtp_emit_one(c, &call->flow, bd, &call->plan[bd].v[i[bd]], call->sid[bd], 1);
            i[bd]++;
        }
    }
}

void pg_call_free(pg_call *call)
{
    pg_sched_free(&call->plan[0]);
    pg_sched_free(&call->plan[1]);
}
