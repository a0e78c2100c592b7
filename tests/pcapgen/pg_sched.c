/* pg_sched: stream plans and impairments known by construction. */
#include "pg_sched.h"

#include <stdlib.h>
#include <string.h>

static pg_rtp_pkt *push(pg_sched *s)
{
    if (s->n == s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 1024;
        pg_rtp_pkt *nv = realloc(s->v, nc * sizeof(*nv));
        if (nv == NULL) {
            return NULL;
        }
        s->v = nv;
        s->cap = nc;
    }
    return &s->v[s->n++];
}

static pg_rtp_pkt *push_pkt(pg_sched *s, pg_rng *r, const pg_sched_par *p, uint64_t i,
                            uint64_t send)
{
    pg_rtp_pkt *k = push(s);

    if (k == NULL) {
        return NULL;
    }
    k->lidx = p->lidx0 + i;
    k->seq = (uint16_t)(p->seq0 + i);
    k->ssrc = p->ssrc;
    k->pt = p->pt;
    k->marker = 0;
    k->send_us = send;
    k->arr_us = send + p->delay_us;
    k->plen = (uint16_t)pg_rng_range(r, p->plen_min, p->plen_max);
    return k;
}

int pg_sched_audio(pg_sched *s, pg_rng *r, const pg_sched_par *p)
{
    for (size_t i = 0; i < p->count; i++) {
        pg_rtp_pkt *k = push_pkt(s, r, p, i, p->t0_us + i * p->period_us);
        if (k == NULL) {
            return -1;
        }
        k->ts = p->ts0 + (uint32_t)i * p->ts_step;
        k->marker = i == 0;
    }
    return 0;
}

int pg_sched_video(pg_sched *s, pg_rng *r, const pg_sched_par *p)
{
    uint64_t n = 0;

    for (size_t f = 0; f < p->count; f++) {
        uint32_t np = pg_rng_range(r, p->pkts_min, p->pkts_max);
        for (uint32_t j = 0; j < np; j++) {
            uint64_t send = p->t0_us + f * p->period_us + j * 400;
            pg_rtp_pkt *k = push_pkt(s, r, p, n++, send);
            if (k == NULL) {
                return -1;
            }
            k->ts = p->ts0 + (uint32_t)f * p->ts_step;
            k->marker = j + 1 == np;
        }
    }
    return 0;
}

void pg_sched_free(pg_sched *s)
{
    free(s->v);
    memset(s, 0, sizeof(*s));
}

static size_t find(const pg_sched *s, uint64_t lidx)
{
    for (size_t i = 0; i < s->n; i++) {
        if (s->v[i].lidx == lidx) {
            return i;
        }
    }
    return s->n;
}

void pg_sched_drop(pg_sched *s, uint64_t lo, uint64_t hi)
{
    size_t w = 0;

    for (size_t i = 0; i < s->n; i++) {
        if (s->v[i].lidx < lo || s->v[i].lidx > hi) {
            s->v[w++] = s->v[i];
        }
    }
    s->n = w;
}

int pg_sched_dup(pg_sched *s, uint64_t lidx, uint64_t extra_us)
{
    size_t i = find(s, lidx);
    pg_rtp_pkt copy;

    if (i == s->n) {
        return 0;
    }
    copy = s->v[i];
    if (push(s) == NULL) {
        return -1;
    }
    memmove(&s->v[i + 2], &s->v[i + 1], (s->n - i - 2) * sizeof(*s->v));
    copy.arr_us += extra_us;
    s->v[i + 1] = copy;
    return 0;
}

void pg_sched_swap_next(pg_sched *s, uint64_t lidx)
{
    size_t i = find(s, lidx);
    pg_rtp_pkt tmp;
    uint64_t a0, a1;

    if (i + 1 >= s->n) {
        return;
    }
    /* Contents trade places; the arrival slots stay where they are. */
    a0 = s->v[i].arr_us;
    a1 = s->v[i + 1].arr_us;
    tmp = s->v[i];
    s->v[i] = s->v[i + 1];
    s->v[i + 1] = tmp;
    s->v[i].arr_us = a0;
    s->v[i + 1].arr_us = a1;
}

void pg_sched_move_later(pg_sched *s, uint64_t lidx, size_t k)
{
    size_t i = find(s, lidx);
    pg_rtp_pkt tmp;

    if (i + k >= s->n) {
        return;
    }
    tmp = s->v[i];
    memmove(&s->v[i], &s->v[i + 1], k * sizeof(*s->v));
    tmp.arr_us = s->v[i + k - 1].arr_us + 1000;
    s->v[i + k] = tmp;
}

void pg_sched_net_jitter(pg_sched *s, pg_rng *r, uint64_t max_us, double spike_p, uint64_t spike_us)
{
    uint64_t prev = 0;

    for (size_t i = 0; i < s->n; i++) {
        uint64_t d = pg_rng_range(r, 0, (uint32_t)max_us);
        if (pg_rng_unit(r) < spike_p) {
            d += spike_us;
        }
        s->v[i].arr_us += d;
        if (s->v[i].arr_us < prev) {
            s->v[i].arr_us = prev;
        }
        prev = s->v[i].arr_us;
    }
}

void pg_sched_pace_jitter(pg_sched *s, pg_rng *r, uint64_t max_us)
{
    for (size_t i = 0; i < s->n; i++) {
        uint64_t d = pg_rng_range(r, 0, (uint32_t)max_us);
        s->v[i].send_us += d;
        s->v[i].arr_us += d;
    }
}

void pg_sched_seq_restart(pg_sched *s, uint64_t lidx, uint16_t seq)
{
    for (size_t i = 0; i < s->n; i++) {
        if (s->v[i].lidx >= lidx) {
            s->v[i].seq = (uint16_t)(seq + (s->v[i].lidx - lidx));
        }
    }
}

void pg_sched_ts_base(pg_sched *s, uint32_t ts0)
{
    uint32_t first = s->n > 0 ? s->v[0].ts : 0;

    for (size_t i = 0; i < s->n; i++) {
        s->v[i].ts = ts0 + (s->v[i].ts - first);
    }
}
