/* bench: N concurrent Teams calls (audio both ways, video in every 4th
 * call, raw RTP or ChannelData) plus ~5 % background, written in time
 * order through a min-heap of packet sources until M packets. */
#include <stdlib.h>
#include <string.h>

#include "pg_bg.h"
#include "pg_rtp.h"
#include "pg_scen.h"

enum { SRC_AUDIO, SRC_VIDEO, SRC_BG };

typedef struct {
    uint64_t next;
    uint32_t flow;
    uint8_t dir, kind, left;
    uint64_t frame_t;
    pg_rtp_pkt k;
    int32_t sid;
} bsrc;

typedef struct {
    bsrc *src;
    uint32_t *heap;
    size_t nsrc, nheap;
    pg_flow *flows;
    size_t nflows;
    pg_flow web[16];
    pg_ep bg_client, dns, zoom;
    uint64_t bg_n;
    uint16_t dns_id;
} bench;

static int src_less(const bench *b, uint32_t x, uint32_t y)
{
    const bsrc *p = &b->src[x], *q = &b->src[y];
    return p->next < q->next || (p->next == q->next && x < y);
}

static void sift_down(bench *b, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        uint32_t tmp;
        if (l < b->nheap && src_less(b, b->heap[l], b->heap[m])) {
            m = l;
        }
        if (r < b->nheap && src_less(b, b->heap[r], b->heap[m])) {
            m = r;
        }
        if (m == i) {
            return;
        }
        tmp = b->heap[i];
        b->heap[i] = b->heap[m];
        b->heap[m] = tmp;
        i = m;
    }
}

static void heapify(bench *b)
{
    b->nheap = b->nsrc;
    for (size_t i = 0; i < b->nsrc; i++) {
        b->heap[i] = (uint32_t)i;
    }
    for (size_t i = b->nheap / 2; i-- > 0;) {
        sift_down(b, i);
    }
}

static void client_ip(char *out, size_t cap, uint32_t i)
{
    snprintf(out, cap, "10.%u.%u.%u", 1 + i / 62500, (i / 250) % 250, 1 + i % 250);
}

static int add_flow(pg_ctx *c, bench *b, uint32_t i, int video)
{
    char cip[32], rip[32];
    pg_ep l, r;

    client_ip(cip, sizeof(cip), i);
    snprintf(rip, sizeof(rip), "52.%u.%u.%u", 112 + i % 4, 1 + (i / 4) % 250, 10 + i % 200);
    if (pg_ep_local(&l, cip, (uint16_t)(50000 + (video ? 20 : 0) + i % 20),
                    (uint8_t)(1 + i % 250)) != 0 ||
        pg_ep_remote(&r, rip, (uint16_t)(3478 + i % 4)) != 0) {
        return -1;
    }
    pg_flow_init(&b->flows[b->nflows], c, &l, &r, i % 3 == 1 ? PG_ENC_CHDATA : PG_ENC_RAW);
    b->nflows++;
    return 0;
}

static void add_src(pg_ctx *c, bench *b, uint32_t flow, int dir, int kind, uint64_t start)
{
    bsrc *s = &b->src[b->nsrc++];
    pg_sched one;

    memset(s, 0, sizeof(*s));
    s->flow = flow;
    s->dir = (uint8_t)dir;
    s->kind = (uint8_t)kind;
    s->next = start + (dir ? 7 * PG_MS : 0);
    s->frame_t = s->next;
    s->k.ssrc = (uint32_t)pg_rng_u64(&c->rng);
    s->k.seq = (uint16_t)pg_rng_u64(&c->rng);
    s->k.ts = (uint32_t)pg_rng_u64(&c->rng);
    s->k.pt = kind == SRC_VIDEO ? 122 : 104;
    s->k.marker = 1;
    one.v = &s->k;
    one.n = 1;
    s->sid = pg_rtp_register(c, &b->flows[flow], dir, &one, kind == SRC_VIDEO ? 90000 : 16000,
                             kind == SRC_VIDEO ? "video" : "audio", "teams", 1);
}

static void media_pop(pg_ctx *c, bench *b, bsrc *s)
{
    uint64_t delay = s->dir ? 25 * PG_MS : 200;

    s->k.arr_us = s->next;
    s->k.send_us = s->next - delay;
    if (s->kind == SRC_AUDIO) {
        s->k.plen = (uint16_t)pg_rng_range(&c->rng, 70, 130);
        pg_rtp_emit_one(c, &b->flows[s->flow], s->dir, &s->k, s->sid, 1);
        s->k.marker = 0;
        s->k.ts += 320;
        s->next += 20 * PG_MS;
    } else {
        if (s->left == 0) {
            s->left = (uint8_t)pg_rng_range(&c->rng, 2, 6);
        }
        s->left--;
        s->k.marker = s->left == 0;
        s->k.plen = (uint16_t)pg_rng_range(&c->rng, 810, 1210);
        pg_rtp_emit_one(c, &b->flows[s->flow], s->dir, &s->k, s->sid, 1);
        if (s->left == 0) {
            s->frame_t += 33333;
            s->k.ts += 3000;
            s->next = s->frame_t;
        } else {
            s->next += 400;
        }
    }
    s->k.seq++;
    s->k.lidx++;
}

static void bg_pop(pg_ctx *c, bench *b, bsrc *s)
{
    static const uint8_t ans[4] = {93, 184, 216, 34};
    uint8_t buf[1500];
    size_t n;
    uint64_t i = b->bg_n++;
    pg_flow f;

    if (i % 3 == 0) {
        int resp = (i / 3) % 2;
        pg_flow_init(&f, c, &b->bg_client, &b->dns, PG_ENC_RAW);
        f.ep[0].port = (uint16_t)(33000 + b->dns_id % 20000);
        n = pg_bg_dns(buf, sizeof(buf), b->dns_id, "www.example.com", resp ? ans : NULL);
        pg_flow_send_plain(c, &f, resp, s->next, buf, n);
        b->dns_id = (uint16_t)(b->dns_id + resp);
    } else if (i % 3 == 1) {
        pg_flow *w = &b->web[(i / 3) % 16];
        int dir = (int)((i / 48) % 2);
        n = pg_bg_tls_record(buf, sizeof(buf), &c->rng, pg_rng_range(&c->rng, 100, 1300));
        pg_flow_send_plain(c, w, dir, s->next, buf, n);
    } else {
        pg_flow_init(&f, c, &b->bg_client, &b->zoom, PG_ENC_RAW);
        f.ep[0].port = 60000;
        n = pg_bg_zoom(buf, sizeof(buf), &c->rng, (uint16_t)i, (uint32_t)i,
                       pg_rng_range(&c->rng, 60, 140));
        pg_flow_send_plain(c, &f, (int)(i % 2), s->next, buf, n);
    }
}

static int bench_setup(pg_ctx *c, bench *b, uint32_t calls)
{
    uint64_t rate = 0;
    pg_ep srv;

    b->flows = calloc((size_t)calls * 2, sizeof(*b->flows));
    b->src = calloc((size_t)calls * 4 + 1, sizeof(*b->src));
    b->heap = calloc((size_t)calls * 4 + 1, sizeof(*b->heap));
    if (b->flows == NULL || b->src == NULL || b->heap == NULL ||
        pg_ep_local(&b->bg_client, "10.250.0.9", 0, 0xf9) != 0 ||
        pg_ep_remote(&b->dns, "10.250.255.53", 53) != 0 ||
        pg_ep_remote(&b->zoom, "144.195.10.20", 8801) != 0 ||
        pg_ep_remote(&srv, "93.184.216.34", 443) != 0) {
        return -1;
    }
    for (uint32_t i = 0; i < calls; i++) {
        uint64_t start = PG_T0_US + pg_rng_range(&c->rng, 0, 999999);
        if (add_flow(c, b, i, 0) != 0) {
            return -1;
        }
        add_src(c, b, (uint32_t)b->nflows - 1, 0, SRC_AUDIO, start);
        add_src(c, b, (uint32_t)b->nflows - 1, 1, SRC_AUDIO, start);
        rate += 100;
        if (i % 4 == 0) {
            if (add_flow(c, b, i, 1) != 0) {
                return -1;
            }
            add_src(c, b, (uint32_t)b->nflows - 1, 0, SRC_VIDEO, start + 3000);
            add_src(c, b, (uint32_t)b->nflows - 1, 1, SRC_VIDEO, start + 3000);
            rate += 240;
        }
    }
    for (int w = 0; w < 16; w++) {
        pg_ep cl = b->bg_client;
        cl.port = (uint16_t)(41000 + w);
        pg_bg_tcp_flow(c, &b->web[w], &cl, &srv);
    }
    /* background source: 5 % of all packets */
    memset(&b->src[b->nsrc], 0, sizeof(b->src[0]));
    b->src[b->nsrc].kind = SRC_BG;
    b->src[b->nsrc].next = PG_T0_US;
    b->src[b->nsrc].frame_t = rate ? (PG_SEC * 19) / rate : PG_SEC;
    b->nsrc++;
    heapify(b);
    return 0;
}

int pg_scen_bench(pg_ctx *c)
{
    bench b;
    int rc;

    memset(&b, 0, sizeof(b));
    rc = bench_setup(c, &b, c->bench_calls);
    while (rc == 0 && c->emitted < c->bench_packets && !c->failed) {
        bsrc *s = &b.src[b.heap[0]];
        if (s->kind == SRC_BG) {
            bg_pop(c, &b, s);
            s->next += s->frame_t ? s->frame_t : 1;
        } else {
            media_pop(c, &b, s);
        }
        sift_down(&b, 0);
    }
    free(b.flows);
    free(b.src);
    free(b.heap);
    return rc;
}
