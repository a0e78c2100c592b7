/* pg_truth: RFC 3550 reference statistics. Definitions (see pcaps/README.md):
 *  - expected = highest lidx - lowest lidx + 1 (lidx = sender's gap-free
 *    index; equals the extended sequence unless the sender restarted seq),
 *  - a duplicate is a packet whose lidx was already received,
 *  - out_of_order is a non-duplicate with lidx below the highest seen,
 *  - jitter: RFC 3550 A.8 over all packets in on-wire order. */
#include "pg_truth.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PG_T0_US (1768471200ULL * 1000000ULL)

int32_t pg_truth_add(pg_truth *t, const pg_stream_info *info)
{
    if (t->n == t->cap) {
        size_t nc = t->cap ? t->cap * 2 : 16;
        pg_tstream *nv = realloc(t->v, nc * sizeof(*nv));
        if (nv == NULL) {
            return -1;
        }
        t->v = nv;
        t->cap = nc;
    }
    memset(&t->v[t->n], 0, sizeof(t->v[t->n]));
    t->v[t->n].info = *info;
    return (int32_t)t->n++;
}

static int seen_test_set(pg_tstream *s, uint64_t i)
{
    size_t byte = (size_t)(i >> 3);
    int was;

    if (byte >= s->seen_bytes) {
        size_t nb = s->seen_bytes ? s->seen_bytes : 256;
        uint8_t *np;
        while (nb <= byte) {
            nb *= 2;
        }
        np = realloc(s->seen, nb);
        if (np == NULL) {
            return 0;
        }
        memset(np + s->seen_bytes, 0, nb - s->seen_bytes);
        s->seen = np;
        s->seen_bytes = nb;
    }
    was = (s->seen[byte] >> (i & 7)) & 1;
    s->seen[byte] |= (uint8_t)(1u << (i & 7));
    return was;
}

static int seen_test(const pg_tstream *s, uint64_t i)
{
    size_t byte = (size_t)(i >> 3);
    return byte < s->seen_bytes && ((s->seen[byte] >> (i & 7)) & 1);
}

static void jitter_update(pg_tstream *s, const pg_meta *m, double arr)
{
    double clk = (double)s->info.clock;
    double d = (arr - s->prev_arr_s) * clk - (double)(int32_t)(m->ts - s->prev_ts);

    s->j += (fabs(d) - s->j) / 16.0;
    if (s->j > s->jmax) {
        s->jmax = s->j;
    }
    if (m->has_abs) {
        int32_t da = (int32_t)(((m->abs24 - s->prev_abs) & 0xffffffu) << 8) >> 8;
        double nd = (arr - s->prev_arr_s) - (double)da / 262144.0;
        s->nj += (fabs(nd) - s->nj) / 16.0;
        if (s->nj > s->njmax) {
            s->njmax = s->nj;
        }
    }
}

void pg_truth_observe(pg_truth *t, const pg_meta *m, uint64_t t_us)
{
    pg_tstream *s;
    double arr;

    if (m->stream < 0 || (size_t)m->stream >= t->n) {
        return;
    }
    s = &t->v[m->stream];
    arr = (double)(t_us - PG_T0_US) / 1e6;
    s->packets++;
    if (seen_test_set(s, m->lidx)) {
        s->dups++;
    } else if (s->any && m->lidx < s->max_lidx) {
        s->ooo++;
    }
    if (!s->any || m->lidx > s->max_lidx) {
        s->max_lidx = m->lidx;
    }
    if (!s->any || m->lidx < s->min_lidx) {
        s->min_lidx = m->lidx;
    }
    s->any = 1;
    if (s->have_prev) {
        jitter_update(s, m, arr);
    }
    s->have_prev = 1;
    s->prev_arr_s = arr;
    s->prev_ts = m->ts;
    s->prev_abs = m->abs24;
}

void pg_truth_count(pg_truth *t, const char *name, uint64_t n)
{
    t->object_mode = 1;
    for (size_t i = 0; i < t->nkv; i++) {
        if (strcmp(t->kv[i].name, name) == 0) {
            t->kv[i].count += n;
            return;
        }
    }
    if (t->nkv < PG_TRUTH_KV_MAX) {
        t->kv[t->nkv].name = name;
        t->kv[t->nkv].count = n;
        t->nkv++;
    }
}

typedef struct {
    uint64_t expected, unique, lost, max_burst, bursts, runs;
} pg_loss;

static void loss_scan(const pg_tstream *s, pg_loss *l)
{
    uint64_t run = 0;

    memset(l, 0, sizeof(*l));
    if (!s->any) {
        return;
    }
    l->expected = s->max_lidx - s->min_lidx + 1;
    for (uint64_t i = s->min_lidx; i <= s->max_lidx + 1; i++) {
        int have = i > s->max_lidx || seen_test(s, i);
        if (have) {
            if (run > 0) {
                l->runs++;
                l->bursts += run >= 2;
                l->max_burst = run > l->max_burst ? run : l->max_burst;
            }
            run = 0;
            l->unique += i <= s->max_lidx;
        } else {
            run++;
        }
    }
    l->lost = l->expected - l->unique;
}

static void write_ms(FILE *f, const char *key, double units, uint32_t clock)
{
    fprintf(f, "\"%s\": %.6f", key, units * 1000.0 / (double)clock);
}

static void write_stream(FILE *f, const pg_tstream *s)
{
    const pg_stream_info *i = &s->info;
    pg_loss l;

    loss_scan(s, &l);
    fprintf(f,
            "  {\"src_ip\": \"%s\", \"src_port\": %u, \"dst_ip\": \"%s\", "
            "\"dst_port\": %u, \"ssrc\": %lu, \"payload_type\": %u, "
            "\"clock_rate\": %lu, \"media\": \"%s\", \"app\": \"%s\", "
            "\"encap\": \"%s\",\n",
            i->src, i->sport, i->dst, i->dport, (unsigned long)i->ssrc, i->pt,
            (unsigned long)i->clock, i->media, i->app, i->encap);
    fprintf(f,
            "   \"packets\": %lu, \"unique_seq\": %lu, \"expected\": %lu, "
            "\"lost\": %lu, \"duplicates\": %lu, \"out_of_order\": %lu, "
            "\"max_burst_loss\": %lu, \"burst_count\": %lu, "
            "\"loss_runs\": %lu, \"seq_restarts\": %d, ",
            (unsigned long)s->packets, (unsigned long)l.unique, (unsigned long)l.expected,
            (unsigned long)l.lost, (unsigned long)s->dups, (unsigned long)s->ooo,
            (unsigned long)l.max_burst, (unsigned long)l.bursts, (unsigned long)l.runs,
            i->seq_restarts);
    if (i->vlan >= 0) {
        fprintf(f, "\"vlan\": %d,\n   ", i->vlan);
    } else {
        fprintf(f, "\"vlan\": null,\n   ");
    }
    write_ms(f, "jitter_ms_max_ref", s->jmax, i->clock);
    fprintf(f, ", ");
    write_ms(f, "jitter_ms_final_ref", s->j, i->clock);
    if (i->has_abs) {
        fprintf(f,
                ", \"network_jitter_ms_max_ref\": %.6f, "
                "\"network_jitter_ms_final_ref\": %.6f}",
                s->njmax * 1000.0, s->nj * 1000.0);
    } else {
        fprintf(f, ", \"network_jitter_ms_max_ref\": null, "
                   "\"network_jitter_ms_final_ref\": null}");
    }
}

static void write_object(FILE *f, const pg_truth *t)
{
    fprintf(f, "{\"malformed\": {");
    for (size_t i = 0; i < t->nkv; i++) {
        fprintf(f, "%s\n  \"%s\": %lu", i ? "," : "", t->kv[i].name, (unsigned long)t->kv[i].count);
    }
    fprintf(f, "\n}, \"streams\": [\n");
}

int pg_truth_write(const pg_truth *t, const char *path)
{
    FILE *f = fopen(path, "w");
    int rc;

    if (f == NULL) {
        return -1;
    }
    if (t->object_mode) {
        write_object(f, t);
    } else {
        fprintf(f, "[\n");
    }
    for (size_t i = 0; i < t->n; i++) {
        write_stream(f, &t->v[i]);
        fprintf(f, "%s\n", i + 1 < t->n ? "," : "");
    }
    fprintf(f, t->object_mode ? "]}\n" : "]\n");
    rc = ferror(f) ? -1 : 0;
    if (fclose(f) != 0) {
        rc = -1;
    }
    return rc;
}

void pg_truth_free(pg_truth *t)
{
    for (size_t i = 0; i < t->n; i++) {
        free(t->v[i].seen);
    }
    free(t->v);
    memset(t, 0, sizeof(*t));
}
