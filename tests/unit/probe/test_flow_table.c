/* test_flow_table.c - probe/flow_table.h: bidirectional keys, VLANs, idle
 * expiry, LRU eviction under the cap, flush, and a random key storm. */
#include <netinet/in.h>
#include <stdlib.h>

#include "check.h"
#include "flow_table.h"

#define SEC USEC_PER_SEC

typedef struct {
    int calls[3]; /* by flow_end_t */
    int total;
    flow_t *last;
    flow_end_t last_why;
} rel_t;

static void on_release(void *ctx, flow_t *f, flow_end_t why)
{
    rel_t *r = ctx;
    if ((unsigned)why < 3)
        r->calls[why]++;
    r->total++;
    r->last = f;
    r->last_why = why;
    /* a flow is released once: poison a field so a second call shows */
    CHECK(f->stream_count != 0xdeadbeef);
    f->stream_count = 0xdeadbeef;
}

static pkt_t pkt4(const char *src, uint16_t sport, const char *dst, uint16_t dport, uint8_t proto,
                  uint16_t vlan)
{
    pkt_t p;
    memset(&p, 0, sizeof p);
    CHECK(netaddr_parse(src, &p.src));
    CHECK(netaddr_parse(dst, &p.dst));
    p.sport = sport;
    p.dport = dport;
    p.l4proto = proto;
    if (vlan) {
        p.vlan_count = 1;
        p.vlan[0] = vlan;
    }
    return p;
}

static flow_table_cfg_t cfg(uint32_t max)
{
    flow_table_cfg_t c = {.max_flows = max,
                          .udp_timeout = 30 * SEC,
                          .tcp_timeout = 300 * SEC,
                          .tcp_closed_timeout = 10 * SEC};
    return c;
}

static void test_both_directions(void)
{
    rel_t r = {0};
    flow_table_cfg_t c = cfg(100);
    flow_table_t *ft = flow_table_new(&c, on_release, &r);
    CHECK(ft != NULL);
    pkt_t a = pkt4("10.1.2.3", 50010, "52.113.1.1", 3478, IPPROTO_UDP, 0);
    pkt_t b = pkt4("52.113.1.1", 3478, "10.1.2.3", 50010, IPPROTO_UDP, 0);
    flow_key_t ka, kb;
    int da, db;
    flow_key_from_pkt(&a, &ka, &da);
    flow_key_from_pkt(&b, &kb, &db);
    CHECK(memcmp(&ka, &kb, sizeof ka) == 0);
    CHECK_EQ_INT(da, 0); /* 10.x sorts first: endpoint 0 */
    CHECK_EQ_INT(db, 1);
    CHECK_EQ_UINT(ka.port[0], 50010);
    bool created;
    flow_t *fa = flow_table_get(ft, &ka, 1 * SEC, &created);
    CHECK(created);
    CHECK_EQ_INT(fa->client_side, -1);
    CHECK_EQ_INT(fa->first_seen, 1 * SEC);
    flow_t *fb = flow_table_get(ft, &kb, 2 * SEC, &created);
    CHECK(!created);
    CHECK(fa == fb);
    CHECK_EQ_INT(fb->last_seen, 2 * SEC);

    /* same address, ports decide the order */
    pkt_t c1 = pkt4("10.0.0.1", 6000, "10.0.0.1", 5000, IPPROTO_UDP, 0);
    flow_key_t kc;
    int dc;
    flow_key_from_pkt(&c1, &kc, &dc);
    CHECK_EQ_INT(dc, 1);
    CHECK_EQ_UINT(kc.port[0], 5000);

    /* UDP and TCP on the same 5-tuple are different flows */
    pkt_t t = pkt4("10.1.2.3", 50010, "52.113.1.1", 3478, IPPROTO_TCP, 0);
    flow_key_t kt;
    int dt;
    flow_key_from_pkt(&t, &kt, &dt);
    CHECK(flow_table_get(ft, &kt, 3 * SEC, &created) != fa);
    CHECK(created);
    CHECK_EQ_UINT(flow_table_stats(ft)->active, 2);
    flow_table_free(&ft);
    CHECK(ft == NULL);
    CHECK_EQ_INT(r.calls[FLOW_END_FLUSH], 2);
    CHECK_EQ_INT(r.total, 2);
}

static void test_vlan(void)
{
    rel_t r = {0};
    flow_table_cfg_t c = cfg(100);
    flow_table_t *ft = flow_table_new(&c, on_release, &r);
    pkt_t a = pkt4("10.1.2.3", 50010, "52.113.1.1", 3478, IPPROTO_UDP, 100);
    pkt_t b = pkt4("10.1.2.3", 50010, "52.113.1.1", 3478, IPPROTO_UDP, 200);
    pkt_t n = pkt4("10.1.2.3", 50010, "52.113.1.1", 3478, IPPROTO_UDP, 0);
    pkt_t q = a; /* QinQ: outer 100, inner 7 */
    q.vlan_count = 2;
    q.vlan[1] = 7;
    flow_key_t k[4];
    int d;
    flow_key_from_pkt(&a, &k[0], &d);
    flow_key_from_pkt(&b, &k[1], &d);
    flow_key_from_pkt(&n, &k[2], &d);
    flow_key_from_pkt(&q, &k[3], &d);
    CHECK_EQ_UINT(k[0].vlan, 100);
    CHECK_EQ_UINT(k[3].vlan_inner, 7);
    flow_t *f[4];
    bool created;
    for (int i = 0; i < 4; i++) {
        f[i] = flow_table_get(ft, &k[i], SEC, &created);
        CHECK(created);
    }
    for (int i = 0; i < 4; i++)
        for (int j = i + 1; j < 4; j++)
            CHECK(f[i] != f[j]);
    CHECK_EQ_UINT(flow_table_stats(ft)->active, 4);
    flow_table_free(&ft);
    CHECK_EQ_INT(r.total, 4);
}

static void test_idle_expiry(void)
{
    rel_t r = {0};
    flow_table_cfg_t c = cfg(100);
    flow_table_t *ft = flow_table_new(&c, on_release, &r);
    pkt_t u = pkt4("10.0.0.1", 1000, "10.0.0.2", 2000, IPPROTO_UDP, 0);
    pkt_t t = pkt4("10.0.0.1", 1001, "10.0.0.2", 443, IPPROTO_TCP, 0);
    flow_key_t ku, kt;
    int d;
    bool created;
    flow_key_from_pkt(&u, &ku, &d);
    flow_key_from_pkt(&t, &kt, &d);
    flow_t *fu = flow_table_get(ft, &ku, 100 * SEC, &created);
    (void)flow_table_get(ft, &kt, 100 * SEC, &created);

    flow_table_expire(ft, 130 * SEC); /* exactly the timeout: still alive */
    CHECK_EQ_INT(r.total, 0);
    flow_table_expire(ft, 130 * SEC + 1);
    CHECK_EQ_INT(r.calls[FLOW_END_IDLE], 1);
    CHECK(r.last == fu);
    CHECK_EQ_INT(r.last_why, FLOW_END_IDLE);
    flow_table_expire(ft, 131 * SEC); /* not again */
    flow_table_expire(ft, 200 * SEC);
    CHECK_EQ_INT(r.calls[FLOW_END_IDLE], 1);
    CHECK_EQ_UINT(flow_table_stats(ft)->expired, 1);
    CHECK_EQ_UINT(flow_table_stats(ft)->active, 1); /* TCP has 300 s */

    /* the UDP flow comes back as a new one */
    (void)flow_table_get(ft, &ku, 201 * SEC, &created);
    CHECK(created);

    /* a TCP flow that saw FIN uses the short timeout */
    flow_t *ftcp = flow_table_get(ft, &kt, 201 * SEC, &created);
    CHECK(!created);
    flow_table_mark_closed(ft, ftcp);
    flow_table_expire(ft, 212 * SEC);
    CHECK_EQ_INT(r.calls[FLOW_END_IDLE], 2);
    CHECK_EQ_UINT(flow_table_stats(ft)->active, 1);
    CHECK_EQ_UINT(flow_table_stats(ft)->created, 3);
    flow_table_free(&ft);
    CHECK_EQ_INT(r.calls[FLOW_END_FLUSH], 1);
    CHECK_EQ_INT(r.total, 3);
}

static void test_lru_eviction(void)
{
    rel_t r = {0};
    flow_table_cfg_t c = cfg(3);
    flow_table_t *ft = flow_table_new(&c, on_release, &r);
    flow_key_t k[5];
    flow_t *f[5];
    bool created;
    for (int i = 0; i < 5; i++) {
        pkt_t p = pkt4("10.0.0.1", (uint16_t)(1000 + i), "10.0.0.2", 2000, IPPROTO_UDP, 0);
        int d;
        flow_key_from_pkt(&p, &k[i], &d);
    }
    f[0] = flow_table_get(ft, &k[0], 1 * SEC, &created);
    f[1] = flow_table_get(ft, &k[1], 2 * SEC, &created);
    f[2] = flow_table_get(ft, &k[2], 3 * SEC, &created);
    CHECK(flow_table_get(ft, &k[0], 4 * SEC, &created) == f[0]); /* 0 is fresh again */
    f[3] = flow_table_get(ft, &k[3], 5 * SEC, &created);         /* evicts 1 */
    CHECK(created);
    CHECK_EQ_INT(r.calls[FLOW_END_EVICTED], 1);
    CHECK(r.last == f[1]);
    const flow_table_stats_t *st = flow_table_stats(ft);
    CHECK_EQ_UINT(st->evicted, 1);
    CHECK_EQ_UINT(st->active, 3);
    CHECK_EQ_UINT(st->peak, 3);
    /* 0, 2, 3 are still there */
    CHECK(flow_table_get(ft, &k[2], 6 * SEC, &created) == f[2] && !created);
    CHECK(flow_table_get(ft, &k[0], 7 * SEC, &created) == f[0] && !created);
    CHECK(flow_table_get(ft, &k[3], 8 * SEC, &created) == f[3] && !created);
    f[4] = flow_table_get(ft, &k[4], 9 * SEC, &created); /* evicts 2 */
    CHECK(r.last == f[2]);
    CHECK_EQ_UINT(st->evicted, 2);

    flow_table_flush(ft);
    CHECK_EQ_INT(r.calls[FLOW_END_FLUSH], 3);
    CHECK_EQ_UINT(st->active, 0);
    CHECK_EQ_UINT(st->flushed, 3);
    flow_table_flush(ft); /* nothing left */
    CHECK_EQ_INT(r.total, 5);
    flow_table_free(&ft);
    CHECK_EQ_INT(r.total, 5);
    CHECK_STR(flow_end_name(FLOW_END_EVICTED), "evicted");
}

static void count_each(void *ctx, flow_t *f)
{
    (void)f;
    (*(int *)ctx)++;
}

static void test_random_storm(void)
{
    rel_t r = {0};
    flow_table_cfg_t c = cfg(5000);
    flow_table_t *ft = flow_table_new(&c, on_release, &r);
    srand(4242);
    bool created;
    uint64_t made = 0;
    for (int i = 0; i < 100000; i++) {
        pkt_t p;
        memset(&p, 0, sizeof p);
        uint8_t a[16];
        for (int j = 0; j < 16; j++)
            a[j] = (uint8_t)rand();
        if (rand() & 1) {
            netaddr_set4(&p.src, a);
            netaddr_set4(&p.dst, a + 4);
        } else {
            netaddr_set6(&p.src, a);
            a[0] ^= 0x80;
            netaddr_set6(&p.dst, a);
        }
        p.sport = (uint16_t)rand();
        p.dport = (uint16_t)(rand() % 8); /* some collisions on purpose */
        p.l4proto = (rand() & 1) ? IPPROTO_UDP : IPPROTO_TCP;
        p.vlan_count = (uint8_t)(rand() % 3);
        p.vlan[0] = (uint16_t)(rand() & 0xfff);
        p.vlan[1] = (uint16_t)(rand() & 0xfff);
        flow_key_t k;
        int d;
        flow_key_from_pkt(&p, &k, &d);
        flow_t *f = flow_table_get(ft, &k, (usec_t)i * 1000, &created);
        CHECK(f != NULL);
        made += created;
        if (i % 10000 == 9999)
            flow_table_expire(ft, (usec_t)i * 1000);
    }
    const flow_table_stats_t *st = flow_table_stats(ft);
    CHECK(st->active <= 5000);
    CHECK_EQ_UINT(st->created, made);
    CHECK_EQ_UINT(st->created, st->active + st->expired + st->evicted);
    int live = 0;
    flow_table_each(ft, count_each, &live);
    CHECK_EQ_UINT(live, st->active);
    flow_table_free(&ft);
    CHECK_EQ_UINT(r.total, made);
}

int main(void)
{
    RUN(test_both_directions);
    RUN(test_vlan);
    RUN(test_idle_expiry);
    RUN(test_lru_eviction);
    RUN(test_random_storm);
    return check_finish("unit_flow_table");
}
