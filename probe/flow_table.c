#include "flow_table.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "siphash.h"

struct flow_table {
    flow_table_cfg_t cfg;
    flow_release_fn release;
    void *ctx;
    siphash_key_t key;
    flow_t **buckets;
    uint32_t nbuckets; /* power of two */
    /* One LRU list per timeout class, head = least recently seen. With one
     * timeout per list, expiry stops at the first live flow of each. */
    struct {
        flow_t *head, *tail;
    } lru[FLOW_CLASS_COUNT];
    /* Direct-mapped cache of recent flows in front of the hash table, under
     * a cheap unkeyed hash: a hit skips SipHash and the bucket walk. A
     * hostile key can only make it miss; the keyed table stays the truth. */
    flow_t *recent[FLOW_RECENT_SLOTS];
    flow_table_stats_t st;
};

static uint64_t load64(const void *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* memcmp() == 0 on the 46-byte key, as six loads a side instead of a call:
 * five words and the last eight bytes (overlapping the fifth). */
static bool key_equal(const flow_key_t *a, const flow_key_t *b)
{
    const uint8_t *x = (const uint8_t *)a, *y = (const uint8_t *)b;
    uint64_t diff = load64(x + sizeof *a - 8) ^ load64(y + sizeof *a - 8);
    for (size_t i = 0; i + 8 <= sizeof *a; i += 8)
        diff |= load64(x + i) ^ load64(y + i);
    return diff == 0;
}

static uint32_t recent_slot(const flow_key_t *k)
{
    uint64_t h = load64(k->addr[0].a) ^ load64(k->addr[0].a + 8) ^
                 (load64(k->addr[1].a) * 0x9E3779B97F4A7C15ULL) ^ load64(k->addr[1].a + 8) ^
                 ((uint64_t)k->port[0] << 16 | k->port[1]) ^ ((uint64_t)k->vlan << 40);
    h *= 0xFF51AFD7ED558CCDULL;
    return (uint32_t)(h >> 40) & (FLOW_RECENT_SLOTS - 1);
}

static const char *const end_names[] = {"idle", "evicted", "flush"};

const char *flow_end_name(flow_end_t why)
{
    return (unsigned)why < 3 ? end_names[why] : "unknown";
}

flow_table_t *flow_table_new(const flow_table_cfg_t *cfg, flow_release_fn release, void *ctx)
{
    flow_table_t *ft = calloc(1, sizeof *ft);
    if (!ft)
        return NULL;
    ft->cfg = *cfg;
    if (ft->cfg.max_flows == 0)
        ft->cfg.max_flows = 1;
    ft->release = release;
    ft->ctx = ctx;
    siphash_key_random(&ft->key);
    ft->nbuckets = 1024;
    while (ft->nbuckets < ft->cfg.max_flows && ft->nbuckets < (1u << 24))
        ft->nbuckets <<= 1;
    ft->buckets = calloc(ft->nbuckets, sizeof *ft->buckets);
    if (!ft->buckets) {
        free(ft);
        return NULL;
    }
    return ft;
}

void flow_table_free(flow_table_t **pft)
{
    if (!pft || !*pft)
        return;
    flow_table_t *ft = *pft;
    flow_table_flush(ft);
    free(ft->buckets);
    free(ft);
    *pft = NULL;
}

static int endpoint_cmp(const netaddr_t *a, uint16_t pa, const netaddr_t *b, uint16_t pb)
{
    int c = netaddr_cmp(a, b);
    if (c != 0)
        return c;
    return (pa > pb) - (pa < pb);
}

void flow_key_from_pkt(const pkt_t *p, flow_key_t *key, int *dir)
{
    memset(key, 0, sizeof *key);
    key->proto = p->l4proto;
    key->vlan = p->vlan_count > 0 ? p->vlan[0] : 0;
    key->vlan_inner = p->vlan_count > 1 ? p->vlan[1] : 0;
    if (endpoint_cmp(&p->src, p->sport, &p->dst, p->dport) <= 0) {
        key->addr[0] = p->src;
        key->port[0] = p->sport;
        key->addr[1] = p->dst;
        key->port[1] = p->dport;
        *dir = 0;
    } else {
        key->addr[0] = p->dst;
        key->port[0] = p->dport;
        key->addr[1] = p->src;
        key->port[1] = p->sport;
        *dir = 1;
    }
}

static void lru_unlink(flow_table_t *ft, flow_t *f)
{
    int c = f->lru_class;
    if (f->lru_prev)
        f->lru_prev->lru_next = f->lru_next;
    else
        ft->lru[c].head = f->lru_next;
    if (f->lru_next)
        f->lru_next->lru_prev = f->lru_prev;
    else
        ft->lru[c].tail = f->lru_prev;
    f->lru_prev = f->lru_next = NULL;
}

static void lru_append(flow_table_t *ft, flow_t *f)
{
    int c = f->lru_class;
    f->lru_prev = ft->lru[c].tail;
    f->lru_next = NULL;
    if (ft->lru[c].tail)
        ft->lru[c].tail->lru_next = f;
    else
        ft->lru[c].head = f;
    ft->lru[c].tail = f;
}

/* The least recently seen of the given flows (one per list); ties go to
 * the lower class, so the order is deterministic. */
static int oldest_of(flow_t *const cand[FLOW_CLASS_COUNT])
{
    int best = -1;
    for (int c = 0; c < FLOW_CLASS_COUNT; c++)
        if (cand[c] && (best < 0 || cand[c]->last_seen < cand[best]->last_seen))
            best = c;
    return best;
}

static flow_t *oldest_flow(const flow_table_t *ft)
{
    flow_t *heads[FLOW_CLASS_COUNT];
    for (int c = 0; c < FLOW_CLASS_COUNT; c++)
        heads[c] = ft->lru[c].head;
    int c = oldest_of(heads);
    return c < 0 ? NULL : heads[c];
}

static void hash_unlink(flow_table_t *ft, flow_t *f)
{
    flow_t **pp = &ft->buckets[f->hash & (ft->nbuckets - 1)];
    while (*pp && *pp != f)
        pp = &(*pp)->hnext;
    if (*pp)
        *pp = f->hnext;
}

static void release_flow(flow_table_t *ft, flow_t *f, flow_end_t why)
{
    uint32_t slot = recent_slot(&f->key);
    if (ft->recent[slot] == f)
        ft->recent[slot] = NULL;
    lru_unlink(ft, f);
    hash_unlink(ft, f);
    ft->st.active--;
    if (why == FLOW_END_IDLE)
        ft->st.expired++;
    else if (why == FLOW_END_EVICTED)
        ft->st.evicted++;
    else
        ft->st.flushed++;
    ft->release(ft->ctx, f, why);
    free(f);
}

static flow_t *lookup(flow_table_t *ft, const flow_key_t *key, uint32_t slot, uint64_t *hash)
{
    flow_t *f = ft->recent[slot];
    if (f && key_equal(&f->key, key))
        return f;
    uint64_t h = siphash13(&ft->key, key, sizeof *key);
    *hash = h;
    for (f = ft->buckets[h & (ft->nbuckets - 1)]; f; f = f->hnext)
        if (f->hash == h && key_equal(&f->key, key))
            break;
    if (f)
        ft->recent[slot] = f;
    return f;
}

flow_t *flow_table_get(flow_table_t *ft, const flow_key_t *key, usec_t now, bool *created)
{
    uint32_t slot = recent_slot(key);
    uint64_t h = 0;
    flow_t *f = lookup(ft, key, slot, &h);
    *created = false;
    if (!f) {
        if (ft->st.active >= ft->cfg.max_flows && oldest_flow(ft))
            release_flow(ft, oldest_flow(ft), FLOW_END_EVICTED);
        f = calloc(1, sizeof *f);
        if (!f)
            return NULL;
        f->key = *key;
        f->hash = h;
        ft->recent[slot] = f;
        f->first_seen = now;
        f->client_side = -1;
        f->lru_class = key->proto == IPPROTO_TCP ? FLOW_CLASS_TCP : FLOW_CLASS_UDP;
        uint32_t b = (uint32_t)(h & (ft->nbuckets - 1));
        f->hnext = ft->buckets[b];
        ft->buckets[b] = f;
        ft->st.created++;
        ft->st.active++;
        if (ft->st.active > ft->st.peak)
            ft->st.peak = ft->st.active;
        *created = true;
    } else {
        lru_unlink(ft, f);
    }
    lru_append(ft, f);
    if (now > f->last_seen)
        f->last_seen = now;
    return f;
}

static usec_t class_timeout(const flow_table_t *ft, int c)
{
    if (c == FLOW_CLASS_TCP)
        return ft->cfg.tcp_timeout;
    return c == FLOW_CLASS_TCP_CLOSED ? ft->cfg.tcp_closed_timeout : ft->cfg.udp_timeout;
}

void flow_table_mark_closed(flow_table_t *ft, flow_t *f)
{
    f->fin_seen = true;
    if (f->lru_class != FLOW_CLASS_TCP)
        return;
    lru_unlink(ft, f);
    f->lru_class = FLOW_CLASS_TCP_CLOSED;
    lru_append(ft, f); /* just seen: the tail of its new list */
}

void flow_table_expire(flow_table_t *ft, usec_t now)
{
    /* Release idle flows oldest first across the lists: each list's head is
     * its only candidate. */
    for (;;) {
        flow_t *idle[FLOW_CLASS_COUNT];
        for (int c = 0; c < FLOW_CLASS_COUNT; c++) {
            flow_t *h = ft->lru[c].head;
            idle[c] = h && now - h->last_seen > class_timeout(ft, c) ? h : NULL;
        }
        int c = oldest_of(idle);
        if (c < 0)
            return;
        release_flow(ft, idle[c], FLOW_END_IDLE);
    }
}

void flow_table_flush(flow_table_t *ft)
{
    flow_t *f;
    while ((f = oldest_flow(ft)) != NULL)
        release_flow(ft, f, FLOW_END_FLUSH);
}

const flow_table_stats_t *flow_table_stats(const flow_table_t *ft)
{
    return &ft->st;
}

void flow_table_each(flow_table_t *ft, void (*fn)(void *ctx, flow_t *f), void *ctx)
{
    flow_t *cur[FLOW_CLASS_COUNT];
    for (int c = 0; c < FLOW_CLASS_COUNT; c++)
        cur[c] = ft->lru[c].head;
    for (int c = oldest_of(cur); c >= 0; c = oldest_of(cur)) {
        flow_t *f = cur[c];
        cur[c] = f->lru_next;
        fn(ctx, f);
    }
}
