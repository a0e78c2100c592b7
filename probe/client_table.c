#include "client_table.h"

#include <stdlib.h>
#include <string.h>

#include "siphash.h"

struct client_table {
    client_t **buckets;
    uint32_t nbuckets, count, max;
    uint64_t overflow;
    siphash_key_t key;
};

client_table_t *client_table_new(uint32_t max_clients)
{
    client_table_t *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->nbuckets = 4096;
    t->max = max_clients;
    siphash_key_random(&t->key);
    t->buckets = calloc(t->nbuckets, sizeof *t->buckets);
    if (!t->buckets) {
        free(t);
        return NULL;
    }
    return t;
}

void client_table_free(client_table_t **pt)
{
    if (!pt || !*pt)
        return;
    client_table_t *t = *pt;
    for (uint32_t i = 0; i < t->nbuckets; i++) {
        client_t *c = t->buckets[i];
        while (c) {
            client_t *n = c->next;
            free(c);
            c = n;
        }
    }
    free(t->buckets);
    free(t);
    *pt = NULL;
}

client_t *client_table_get(client_table_t *t, const netaddr_t *a, uint16_t vlan)
{
    struct {
        netaddr_t a;
        uint16_t vlan;
    } k;
    memset(&k, 0, sizeof k);
    k.a = *a;
    k.vlan = vlan;
    uint32_t b = (uint32_t)(siphash13(&t->key, &k, sizeof k) % t->nbuckets);
    for (client_t *c = t->buckets[b]; c; c = c->next)
        if (c->vlan == vlan && netaddr_cmp(&c->addr, a) == 0)
            return c;
    if (t->count >= t->max) {
        t->overflow++;
        return NULL;
    }
    client_t *c = calloc(1, sizeof *c);
    if (!c) {
        t->overflow++;
        return NULL;
    }
    c->addr = *a;
    c->vlan = vlan;
    c->next = t->buckets[b];
    t->buckets[b] = c;
    t->count++;
    return c;
}

uint64_t client_table_overflow(const client_table_t *t)
{
    return t->overflow;
}

static int cmp_client(const void *x, const void *y)
{
    const client_t *a = *(const client_t *const *)x, *b = *(const client_t *const *)y;
    int c = netaddr_cmp(&a->addr, &b->addr);
    if (c != 0)
        return c;
    return (a->vlan > b->vlan) - (a->vlan < b->vlan);
}

void client_table_each_sorted(client_table_t *t, void (*fn)(void *ctx, const client_t *c),
                              void *ctx)
{
    if (t->count == 0)
        return;
    const client_t **v = malloc(t->count * sizeof *v);
    if (!v)
        return;
    uint32_t n = 0;
    for (uint32_t i = 0; i < t->nbuckets; i++)
        for (client_t *c = t->buckets[i]; c; c = c->next)
            v[n++] = c;
    qsort(v, n, sizeof *v, cmp_client);
    for (uint32_t i = 0; i < n; i++)
        fn(ctx, v[i]);
    free(v);
}
