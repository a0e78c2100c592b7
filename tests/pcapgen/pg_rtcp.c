/* pg_rtcp: RTCP compound parts, report blocks computed from a stream plan. */
#include "pg_rtcp.h"

#include <math.h>
#include <string.h>

#include "pg_ctx.h"
#include "pg_wire.h"

uint64_t pg_rtcp_ntp(uint64_t t_us)
{
    uint64_t sec = t_us / PG_SEC + 2208988800ULL;
    uint64_t frac = ((t_us % PG_SEC) << 32) / PG_SEC;

    return sec << 32 | frac;
}

uint32_t pg_rtcp_ntp_mid(uint64_t ntp)
{
    return (uint32_t)(ntp >> 16);
}

static void rtcp_hdr(uint8_t *p, int count, uint8_t pt, size_t len)
{
    p[0] = (uint8_t)(0x80 | (count & 0x1f));
    p[1] = pt;
    pg_put16(p + 2, (uint16_t)(len / 4 - 1));
}

static void put_blocks(uint8_t *p, const pg_rb *rb, int nrb)
{
    for (int i = 0; i < nrb; i++, p += 24) {
        pg_put32(p, rb[i].ssrc);
        pg_put32(p + 4, (uint32_t)rb[i].frac << 24 | ((uint32_t)rb[i].cum_lost & 0xffffff));
        pg_put32(p + 8, rb[i].ext_max);
        pg_put32(p + 12, rb[i].jitter);
        pg_put32(p + 16, rb[i].lsr);
        pg_put32(p + 20, rb[i].dlsr);
    }
}

size_t pg_rtcp_sr(uint8_t *out, size_t cap, const pg_sr_info *si, const pg_rb *rb, int nrb)
{
    size_t len = 28 + 24 * (size_t)nrb;

    if (len > cap) {
        return 0;
    }
    rtcp_hdr(out, nrb, 200, len);
    pg_put32(out + 4, si->ssrc);
    pg_put32(out + 8, (uint32_t)(si->ntp >> 32));
    pg_put32(out + 12, (uint32_t)si->ntp);
    pg_put32(out + 16, si->rtp_ts);
    pg_put32(out + 20, si->pkts);
    pg_put32(out + 24, si->octets);
    put_blocks(out + 28, rb, nrb);
    return len;
}

size_t pg_rtcp_rr(uint8_t *out, size_t cap, uint32_t ssrc, const pg_rb *rb, int nrb)
{
    size_t len = 8 + 24 * (size_t)nrb;

    if (len > cap) {
        return 0;
    }
    rtcp_hdr(out, nrb, 201, len);
    pg_put32(out + 4, ssrc);
    put_blocks(out + 8, rb, nrb);
    return len;
}

size_t pg_rtcp_sdes(uint8_t *out, size_t cap, uint32_t ssrc, const char *cname)
{
    size_t cl = strlen(cname);
    size_t len = (8 + 2 + cl + 1 + 3) & ~(size_t)3; /* item + end, padded */

    if (cl > 255 || len > cap) {
        return 0;
    }
    memset(out, 0, len);
    rtcp_hdr(out, 1, 202, len);
    pg_put32(out + 4, ssrc);
    out[8] = 1; /* CNAME */
    out[9] = (uint8_t)cl;
    memcpy(out + 10, cname, cl);
    return len;
}

size_t pg_srtcp(uint8_t *out, size_t cap, pg_rng *r, uint32_t ssrc, uint32_t index)
{
    const size_t clear = 8, body = 44, len = clear + body + 4 + 10;

    if (len > cap) {
        return 0;
    }
    rtcp_hdr(out, 1, 200, clear + body);
    pg_put32(out + 4, ssrc);
    pg_rng_fill(r, out + clear, body);
    pg_put32(out + clear + body, 0x80000000u | (index & 0x7fffffffu));
    pg_rng_fill(r, out + clear + body + 4, 10);
    return len;
}

void pg_rtcp_rb(pg_rb *rb, const pg_sched *s, uint32_t clock, uint64_t upto_us, pg_rb_state *st)
{
    uint64_t rcv = 0, lo = 0, hi = 0, exp, e_int, r_int;
    double j = 0, prev_tr = 0;
    int64_t lost_int;

    memset(rb, 0, sizeof(*rb));
    for (size_t i = 0; i < s->n && s->v[i].arr_us <= upto_us; i++) {
        const pg_rtp_pkt *k = &s->v[i];
        double tr = (double)(k->arr_us - PG_T0_US) * clock / 1e6 - k->ts;
        if (rcv > 0) {
            j += (fabs(tr - prev_tr) - j) / 16.0;
        }
        prev_tr = tr;
        lo = rcv == 0 || k->lidx < lo ? k->lidx : lo;
        hi = rcv == 0 || k->lidx > hi ? k->lidx : hi;
        rcv++;
    }
    if (rcv == 0) {
        return;
    }
    rb->ssrc = s->v[0].ssrc;
    exp = hi - lo + 1;
    rb->ext_max = (uint32_t)(s->v[0].seq + (hi - s->v[0].lidx));
    rb->cum_lost = (int32_t)(exp - rcv);
    rb->jitter = (uint32_t)j;
    e_int = exp - st->exp_prior;
    r_int = rcv - st->rcv_prior;
    lost_int = (int64_t)e_int - (int64_t)r_int;
    rb->frac = e_int == 0 || lost_int <= 0 ? 0 : (uint8_t)((lost_int << 8) / (int64_t)e_int);
    st->exp_prior = exp;
    st->rcv_prior = rcv;
}

void pg_rtcp_sender(pg_sr_info *si, const pg_sched *s, uint32_t clock, uint64_t t_us)
{
    memset(si, 0, sizeof(*si));
    if (s->n == 0) {
        return;
    }
    si->ssrc = s->v[0].ssrc;
    si->ntp = pg_rtcp_ntp(t_us);
    si->rtp_ts = s->v[0].ts + (uint32_t)((t_us - s->v[0].send_us) * clock / PG_SEC);
    /* Counts what the sender sent, lost packets included: the plan is
     * gap-free in lidx, and payload size is constant for the codecs used. */
    for (size_t i = 0; i < s->n && s->v[i].send_us <= t_us; i++) {
        si->pkts = (uint32_t)(s->v[i].lidx - s->v[0].lidx + 1);
    }
    si->octets = si->pkts * s->v[0].plen;
}
