#include "rtp_stream.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rtp_clock.h"

#define AST_FRACTION_BITS 18
#define AST_MOD (1u << 24)
#define AST_MIN_PAIRS 8
#define PENDING_FIRST 4 /* samples; then x4 up to RTP_PENDING_MAX */

struct rtp_stream_pool {
    rtp_stream_pool_stats_t st;
    rtp_stream_t *uhead, *utail; /* unconfirmed, oldest first */
};

/* ---- budget ------------------------------------------------------------- */

rtp_stream_pool_t *rtp_stream_pool_new(uint64_t max_streams, uint64_t max_bytes)
{
    rtp_stream_pool_t *pool = calloc(1, sizeof *pool);
    if (!pool)
        return NULL;
    pool->st.max_streams = max_streams;
    pool->st.max_bytes = max_bytes;
    return pool;
}

void rtp_stream_pool_free(rtp_stream_pool_t **pool)
{
    if (!pool || !*pool)
        return;
    free(*pool);
    *pool = NULL;
}

const rtp_stream_pool_stats_t *rtp_stream_pool_stats(const rtp_stream_pool_t *pool)
{
    return &pool->st;
}

static void unconfirmed_unlink(rtp_stream_pool_t *pool, rtp_stream_t *s)
{
    if (!s->in_unconfirmed)
        return;
    if (s->uprev)
        s->uprev->unext = s->unext;
    else
        pool->uhead = s->unext;
    if (s->unext)
        s->unext->uprev = s->uprev;
    else
        pool->utail = s->uprev;
    s->uprev = s->unext = NULL;
    s->in_unconfirmed = false;
}

static void charge(rtp_stream_pool_t *pool, int64_t bytes)
{
    pool->st.bytes += (uint64_t)bytes; /* wraps back for a credit */
    if (pool->st.bytes > pool->st.peak_bytes)
        pool->st.peak_bytes = pool->st.bytes;
}

static bool over_budget(const rtp_stream_pool_t *pool, uint64_t streams, uint64_t bytes)
{
    const rtp_stream_pool_stats_t *st = &pool->st;
    return (st->max_streams && st->active + streams > st->max_streams) ||
           (st->max_bytes && st->bytes + bytes > st->max_bytes);
}

/* Takes the stream out of its flow's list and frees it. */
static void evict(rtp_stream_pool_t *pool, rtp_stream_t *v)
{
    flow_t *f = v->flow;
    for (rtp_stream_t **pp = &f->streams; *pp; pp = &(*pp)->next)
        if (*pp == v) {
            *pp = v->next;
            break;
        }
    for (int d = 0; d < 2; d++)
        if (f->last_stream[d] == v)
            f->last_stream[d] = NULL;
    f->stream_count--;
    pool->st.evicted++;
    rtp_stream_free(&v);
}

/* Evicts the oldest unconfirmed streams (never 'keep') until 'streams' more
 * streams and 'bytes' more bytes fit. False when they cannot. */
static bool make_room(rtp_stream_pool_t *pool, uint64_t streams, uint64_t bytes,
                      const rtp_stream_t *keep)
{
    while (over_budget(pool, streams, bytes)) {
        rtp_stream_t *v = pool->uhead;
        if (v && v == keep)
            v = v->unext;
        if (!v)
            return false;
        evict(pool, v);
    }
    return true;
}

rtp_stream_t *rtp_stream_pool_new_stream(rtp_stream_pool_t *pool, flow_t *f, uint32_t ssrc,
                                         uint8_t dir, const rtp_hdr_t *h, demux_encap_t encap,
                                         bool teams_hint, usec_t now)
{
    if (!make_room(pool, 1, sizeof(rtp_stream_t), NULL)) {
        pool->st.refused++;
        return NULL;
    }
    rtp_stream_t *s = rtp_stream_new(ssrc, dir, h, encap, teams_hint, now);
    if (!s)
        return NULL;
    s->pool = pool;
    s->flow = f;
    s->uprev = pool->utail;
    if (pool->utail)
        pool->utail->unext = s;
    else
        pool->uhead = s;
    pool->utail = s;
    s->in_unconfirmed = true;
    pool->st.created++;
    pool->st.active++;
    if (pool->st.active > pool->st.peak_streams)
        pool->st.peak_streams = pool->st.active;
    charge(pool, (int64_t)sizeof *s);
    return s;
}

static void confirm(rtp_stream_t *s)
{
    s->confirmed = true;
    if (s->pool) {
        unconfirmed_unlink(s->pool, s);
        s->pool->st.confirmed++;
    }
}

/* ---- stream ------------------------------------------------------------- */

rtp_stream_t *rtp_stream_new(uint32_t ssrc, uint8_t dir, const rtp_hdr_t *h, demux_encap_t encap,
                             bool teams_hint, usec_t now)
{
    rtp_stream_t *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->ssrc = ssrc;
    s->dir = dir;
    s->payload_type = s->first_pt = s->last_pt = h->payload_type;
    s->teams_hint = teams_hint;
    s->encap = encap;
    s->first_seen = s->last_seen = now;
    s->ast_id = -1;
    return s;
}

void rtp_stream_free(rtp_stream_t **s)
{
    if (!s || !*s)
        return;
    rtp_stream_pool_t *pool = (*s)->pool;
    if (pool) {
        unconfirmed_unlink(pool, *s);
        pool->st.active--;
        charge(pool, -(int64_t)(sizeof **s + (*s)->pending_cap * sizeof *(*s)->pending));
    }
    free((*s)->pending);
    free(*s);
    *s = NULL;
}

/* ---- jitter filter ------------------------------------------------------ */

static void jitter_add(jitter_t *j, double arrival_ms, double media_ms, bool count, jitter_win_t *w)
{
    double transit = arrival_ms - media_ms;
    if (j->primed) {
        double d = fabs(transit - j->last_transit_ms);
        j->j += (d - j->j) / 16.0;
        double delta = arrival_ms - j->last_arrival_ms;
        if (count) {
            if (j->j > j->jmax)
                j->jmax = j->j;
            if (j->j > w->max)
                w->max = j->j;
            w->sum += j->j;
            w->n++;
            j->jsum += j->j;
            j->n++;
            if (delta > j->max_delta_ms)
                j->max_delta_ms = delta;
        }
    }
    j->primed = true;
    j->last_transit_ms = transit;
    j->last_arrival_ms = arrival_ms;
}

/* ---- decisions on the first packets ------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static uint32_t infer_clock(const rtp_stream_t *s)
{
    /* Over the whole buffer first: paced video sends a frame's packets a
     * few ms apart, so neighbouring pairs say little, but timestamp advance
     * over arrival time across 60 ms or more does. */
    if (s->npending >= 2) {
        const rtp_sample_t *a = &s->pending[0], *b = &s->pending[s->npending - 1];
        int64_t dts = 0;
        for (uint32_t i = 1; i < s->npending; i++)
            dts += (int32_t)(s->pending[i].ts - s->pending[i - 1].ts);
        double dt = (double)(b->arrival - a->arrival) / 1e6;
        if (dts > 0 && dt >= 0.06) {
            uint32_t r = rtp_clock_snap((double)dts / dt);
            if (r)
                return r;
        }
    }
    double rates[RTP_PENDING_MAX];
    size_t n = 0;
    for (uint32_t i = 1; i < s->npending; i++) {
        const rtp_sample_t *a = &s->pending[i - 1], *b = &s->pending[i];
        int32_t dts = (int32_t)(b->ts - a->ts);
        double dt = (double)(b->arrival - a->arrival) / 1e6;
        if (dts > 0 && dt > 0.002)
            rates[n++] = dts / dt;
    }
    if (n < 3)
        return 0;
    qsort(rates, n, sizeof rates[0], cmp_double);
    return rtp_clock_snap(rates[n / 2]);
}

static double ast_seconds(uint32_t raw)
{
    return (double)raw / (double)(1u << AST_FRACTION_BITS);
}

/* An extension element behaves like abs-send-time when its 24-bit value
 * advances with arrival time (64 s wrap) for most consecutive pairs. */
static int infer_abs_send_time(const rtp_stream_t *s)
{
    for (uint8_t c = 0; c < s->ast_ncand; c++) {
        uint32_t pairs = 0, good = 0;
        for (uint32_t i = 1; i < s->npending; i++) {
            const rtp_sample_t *a = &s->pending[i - 1], *b = &s->pending[i];
            if (!((a->ext_has >> c) & 1) || !((b->ext_has >> c) & 1))
                continue;
            uint32_t dv = (b->ext_val[c] - a->ext_val[c]) & (AST_MOD - 1);
            double dt = (double)(b->arrival - a->arrival) / 1e6;
            pairs++;
            if (fabs(ast_seconds(dv) - dt) < 0.1)
                good++;
        }
        if (pairs >= AST_MIN_PAIRS && good * 10 >= pairs * 8)
            return s->ast_cand_id[c];
    }
    return -1;
}

static int cand_index(const rtp_stream_t *s, int id)
{
    for (uint8_t c = 0; c < s->ast_ncand; c++)
        if (s->ast_cand_id[c] == id)
            return c;
    return -1;
}

/* ---- per packet --------------------------------------------------------- */

static void feed_network_jitter(rtp_stream_t *s, const rtp_sample_t *x, double arrival_ms)
{
    int c = cand_index(s, s->ast_id);
    if (c < 0 || !((x->ext_has >> c) & 1))
        return;
    uint32_t raw = x->ext_val[c];
    if (!s->ast_have_last) {
        s->ast_send_unwrapped = (uint64_t)1 << 40; /* relative to the first */
        s->ast_have_last = true;
    } else {
        uint32_t d = (raw - s->ast_last_raw) & (AST_MOD - 1);
        if (d < AST_MOD / 2)
            s->ast_send_unwrapped += d;
        else
            s->ast_send_unwrapped -= (AST_MOD - d); /* reordered */
    }
    s->ast_last_raw = raw;
    double send_ms = (double)(int64_t)(s->ast_send_unwrapped - ((uint64_t)1 << 40)) * 1000.0 /
                     (double)(1u << AST_FRACTION_BITS);
    jitter_add(&s->netjit, arrival_ms, send_ms, true, &s->win_netjit);
}

static void feed(rtp_stream_t *s, const rtp_sample_t *x)
{
    /* Relative to the stream's start, so doubles keep microseconds. */
    double arrival_ms = (double)(x->arrival - s->first_seen) / 1000.0;
    bool cn = rtp_pt_is_cn(x->pt, s->teams_hint);
    bool first = !s->have_last_ts;
    if (first)
        s->first_ts = x->ts;
    /* Wireshark's rule: a timestamp behind the first one, or 2^31 or more
     * ahead of it, is wrong; such a packet leaves the jitter state alone. */
    if ((uint32_t)(x->ts - s->first_ts) >= 0x80000000u) {
        s->wrong_ts++;
        s->last_was_cn = cn;
        s->last_pt = x->pt;
        return;
    }
    /* Wireshark leaves these out of its maxima (docs/metrics.md). */
    bool flagged = first || x->marker || cn || s->last_was_cn;
    if (first)
        s->media_ms = 0.0;
    else if (s->clock_rate > 0)
        s->media_ms += (double)(int32_t)(x->ts - s->last_ts) * 1000.0 / s->clock_rate;
    else
        s->media_ms = arrival_ms; /* no clock: only the arrival deltas count */
    jitter_add(&s->jit, arrival_ms, s->media_ms, !flagged, &s->win_jit);
    if (s->ast_id >= 0)
        feed_network_jitter(s, x, arrival_ms);
    s->last_ts = x->ts;
    s->have_last_ts = true;
    s->last_pt = x->pt;
    s->last_was_cn = cn;
}

static void decide(rtp_stream_t *s)
{
    uint32_t known = rtp_clock_static(s->first_pt);
    if (!known && s->teams_hint)
        known = rtp_clock_teams(s->first_pt);
    if (known) {
        s->clock_rate = known;
    } else {
        s->clock_rate = infer_clock(s);
        s->clock_inferred = s->clock_rate != 0;
    }
    s->ast_id = infer_abs_send_time(s);
    s->clock_decided = true;
    for (uint32_t i = 0; i < s->npending; i++)
        feed(s, &s->pending[i]);
    s->npending = 0;
    free(s->pending); /* only the first packets need it */
    s->pending = NULL;
    if (s->pool)
        charge(s->pool, -(int64_t)(s->pending_cap * sizeof *s->pending));
    s->pending_cap = 0;
}

/* Room for one more sample, within the pool's budget. False: none. */
static bool grow_pending(rtp_stream_t *s)
{
    uint32_t cap = s->pending_cap ? s->pending_cap * 4 : PENDING_FIRST;
    if (cap > RTP_PENDING_MAX)
        cap = RTP_PENDING_MAX;
    size_t more = (size_t)(cap - s->pending_cap) * sizeof *s->pending;
    if (s->pool && !make_room(s->pool, 0, more, s)) {
        s->pool->st.buffers_refused++;
        return false;
    }
    rtp_sample_t *p = realloc(s->pending, (size_t)cap * sizeof *p);
    if (!p)
        return false;
    s->pending = p;
    s->pending_cap = cap;
    if (s->pool)
        charge(s->pool, (int64_t)more);
    return true;
}

static void make_sample(rtp_stream_t *s, const rtp_hdr_t *h, usec_t arrival, rtp_sample_t *x)
{
    memset(x, 0, sizeof *x);
    x->arrival = arrival;
    x->ts = h->ts;
    x->marker = h->marker;
    x->pt = h->payload_type;
    if (h->ext_profile != 0xBEDE)
        return;
    for (uint8_t i = 0; i < h->ext_count; i++) {
        if (h->ext[i].len != 3)
            continue;
        int c = cand_index(s, h->ext[i].id);
        if (c < 0 && s->ast_ncand < RTP_AST_CANDIDATES && !s->clock_decided) {
            c = s->ast_ncand;
            s->ast_cand_id[s->ast_ncand++] = h->ext[i].id;
        }
        if (c >= 0) {
            x->ext_val[c] = h->ext[i].value;
            x->ext_has |= (uint8_t)(1u << c);
        }
    }
}

static void count_video(rtp_stream_t *s, const rtp_hdr_t *h)
{
    if (h->marker)
        s->frames++;
    if (s->packets > 1 && h->ts == s->video_prev_ts)
        s->cur_pkts_same_ts++;
    else
        s->cur_pkts_same_ts = 1;
    s->video_prev_ts = h->ts;
    if (s->cur_pkts_same_ts > s->max_pkts_per_ts)
        s->max_pkts_per_ts = s->cur_pkts_same_ts;
}

void rtp_stream_packet(rtp_stream_t *s, const rtp_hdr_t *h, usec_t arrival, uint32_t bytes)
{
    s->packets++;
    s->bytes += bytes;
    s->payload_bytes += h->payload_len;
    if (arrival > s->last_seen)
        s->last_seen = arrival;
    if (h->payload_type != s->payload_type && !rtp_pt_is_cn(h->payload_type, s->teams_hint)) {
        s->pt_changes++;
        s->payload_type = h->payload_type;
    }
    if (rtp_seq_update(&s->seq, h->seq) == SEQ_IN_ORDER && !s->confirmed)
        confirm(s);
    count_video(s, h);
    rtp_sample_t x;
    make_sample(s, h, arrival, &x);
    if (s->clock_decided) {
        feed(s, &x);
        return;
    }
    if (s->npending == s->pending_cap && !grow_pending(s)) {
        decide(s); /* on what is buffered: the budget keeps the rest */
        feed(s, &x);
        return;
    }
    s->pending[s->npending++] = x;
    if (s->npending == RTP_PENDING_MAX)
        decide(s);
}

void rtp_stream_prefetch(const rtp_stream_t *s)
{
    for (size_t off = 0; off < sizeof *s; off += 64)
        __builtin_prefetch((const char *)s + off);
}

void rtp_stream_rtcp_sr(rtp_stream_t *s, uint32_t ntp_mid, usec_t seen)
{
    s->sr_count++;
    s->sr_sent[s->sr_next].ntp_mid = ntp_mid;
    s->sr_sent[s->sr_next].seen = seen;
    s->sr_next = (s->sr_next + 1) % RTP_SR_MEMORY;
}

void rtp_stream_rtcp_rb(rtp_stream_t *s, uint8_t fraction, int32_t cumulative, uint32_t jitter_ts,
                        uint32_t lsr, uint32_t dlsr, usec_t seen)
{
    s->rtcp_seen = true;
    s->rtcp_fraction_lost = fraction;
    s->rtcp_cumulative_lost = cumulative;
    if (s->clock_rate > 0)
        s->rtcp_jitter_ms = (double)jitter_ts * 1000.0 / s->clock_rate;
    if (lsr == 0)
        return;
    /* RTT beyond the probe: the SR left here at t1, the RR that echoes it
     * came back at t2 after the far end held it DLSR: t2 - t1 - DLSR. No
     * clock but the probe's own is involved. */
    for (uint32_t i = 0; i < RTP_SR_MEMORY; i++) {
        if (s->sr_sent[i].seen == 0 || s->sr_sent[i].ntp_mid != lsr)
            continue;
        double rtt = (double)(seen - s->sr_sent[i].seen) / 1000.0 - (double)dlsr * 1000.0 / 65536.0;
        if (rtt >= 0) {
            s->rtcp_rtt_ms = rtt;
            s->rtcp_rtt_valid = true;
        }
    }
}

void rtp_stream_finish(rtp_stream_t *s)
{
    if (!s->clock_decided)
        decide(s);
    rtp_seq_finish(&s->seq);
}

void rtp_stream_window(const rtp_stream_t *s, rtp_window_t *t)
{
    t->packets = s->packets;
    t->bytes = s->bytes;
    t->expected = rtp_seq_expected(&s->seq);
    t->lost = rtp_seq_lost(&s->seq);
    t->duplicates = s->seq.duplicates;
    t->late = s->seq.late;
    t->frames = s->frames;
    t->jitter_ms_max = s->win_jit.max;
    t->jit = s->win_jit;
    t->netjit = s->win_netjit;
    t->burst_max = s->seq.wmax;
    t->loss_runs = s->seq.wruns;
}

void rtp_stream_take_window(rtp_stream_t *s, rtp_window_t *d)
{
    rtp_window_t now;
    rtp_stream_window(s, &now);
    d->packets = now.packets - s->win_mark.packets;
    d->bytes = now.bytes - s->win_mark.bytes;
    d->expected = now.expected - s->win_mark.expected;
    d->lost = now.lost >= s->win_mark.lost ? now.lost - s->win_mark.lost : 0;
    d->duplicates = now.duplicates - s->win_mark.duplicates;
    d->late = now.late - s->win_mark.late;
    d->frames = now.frames - s->win_mark.frames;
    d->jitter_ms_max = s->win_jit.max;
    d->jit = s->win_jit;
    d->netjit = s->win_netjit;
    rtp_seq_take_window(&s->seq, &d->burst_max, &d->loss_runs);
    s->win_mark = (rtp_totals_t){now.packets,    now.bytes, now.expected, now.lost,
                                 now.duplicates, now.late,  now.frames};
    memset(&s->win_jit, 0, sizeof s->win_jit);
    memset(&s->win_netjit, 0, sizeof s->win_netjit);
}

double rtp_stream_loss_pct(const rtp_stream_t *s)
{
    uint64_t exp = rtp_seq_expected(&s->seq);
    if (exp == 0)
        return 0.0;
    return 100.0 * (double)rtp_seq_lost(&s->seq) / (double)exp;
}
