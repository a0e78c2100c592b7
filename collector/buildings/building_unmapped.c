#include "building_unmapped.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void mask_to(netaddr_t *a, unsigned len)
{
    for (unsigned i = 0; i < 16; i++) {
        unsigned bits = len > i * 8 ? len - i * 8 : 0;
        if (bits < 8)
            a->a[i] &= (uint8_t)(0xff00u >> bits);
    }
}

static int by_subnet(const void *pa, const void *pb)
{
    const building_unmapped_t *a = pa, *b = pb;
    int c = netaddr_cmp(&a->subnet.addr, &b->subnet.addr);
    return c ? c : (a->subnet.len > b->subnet.len) - (a->subnet.len < b->subnet.len);
}

static int by_streams(const void *pa, const void *pb)
{
    const building_unmapped_t *a = pa, *b = pb;
    if (a->streams != b->streams)
        return a->streams > b->streams ? -1 : 1;
    return by_subnet(pa, pb);
}

/* Adds one client's streams to its subnet (linear merge at the end: the
 * entries are appended, then sorted and merged once). */
static bool append(building_unmapped_list_t *l, size_t *cap, const netprefix_t *p, uint64_t streams)
{
    if (l->n >= BUILDING_UNMAPPED_MAX * 4) { /* before merging: clients, not subnets */
        l->more++;
        return true;
    }
    if (l->n == *cap) {
        size_t nc = *cap ? *cap * 2 : 256;
        building_unmapped_t *v = realloc(l->v, nc * sizeof *v);
        if (!v)
            return false;
        l->v = v;
        *cap = nc;
    }
    l->v[l->n++] = (building_unmapped_t){*p, streams, 1};
    return true;
}

static void merge(building_unmapped_list_t *l, uint64_t min_streams)
{
    if (l->n == 0) /* l->v may be NULL: qsort() wants an array */
        return;
    qsort(l->v, l->n, sizeof *l->v, by_subnet);
    size_t out = 0;
    for (size_t i = 0; i < l->n; i++) {
        if (out && by_subnet(&l->v[out - 1], &l->v[i]) == 0) {
            l->v[out - 1].streams += l->v[i].streams;
            l->v[out - 1].clients += l->v[i].clients;
        } else {
            l->v[out++] = l->v[i];
        }
    }
    size_t keep = 0;
    for (size_t i = 0; i < out; i++)
        if (l->v[i].streams >= min_streams)
            l->v[keep++] = l->v[i];
    l->n = keep;
    qsort(l->v, l->n, sizeof *l->v, by_streams);
    if (l->n > BUILDING_UNMAPPED_MAX) {
        l->more += l->n - BUILDING_UNMAPPED_MAX;
        l->n = BUILDING_UNMAPPED_MAX;
    }
}

bool building_unmapped_find(sqlite3 *db, const pii_t *pii, const building_map_t *m,
                            const char *since_iso, unsigned prefix4, unsigned prefix6,
                            uint64_t min_streams, building_unmapped_list_t *out, char *err,
                            size_t errlen)
{
    memset(out, 0, sizeof *out);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db,
                           "SELECT client_ip_enc, count(*) FROM streams WHERE first_seen >= ?"
                           " AND client_ip_hmac IS NOT NULL GROUP BY client_ip_hmac",
                           -1, &st, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "unmapped subnets: %s", sqlite3_errmsg(db));
        return false;
    }
    sqlite3_bind_text(st, 1, since_iso, -1, SQLITE_TRANSIENT);
    size_t cap = 0;
    int rc;
    bool ok = true;
    while (ok && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        char ip[128];
        const void *b = sqlite3_column_blob(st, 0);
        uint64_t n = (uint64_t)sqlite3_column_int64(st, 1);
        netprefix_t p;
        out->clients++;
        if (!b ||
            !pii_open(pii, PII_AAD_STREAMS_CLIENT_IP, b, (size_t)sqlite3_column_bytes(st, 0), ip,
                      sizeof ip) ||
            !netaddr_parse(ip, &p.addr)) {
            out->unreadable++;
            continue;
        }
        if (building_map_lookup(m, &p.addr)) {
            out->mapped++;
            continue;
        }
        p.len = (uint8_t)(p.addr.family == 4 ? prefix4 : prefix6);
        mask_to(&p.addr, p.len);
        ok = append(out, &cap, &p, n);
        if (!ok)
            snprintf(err, errlen, "unmapped subnets: out of memory");
    }
    if (ok && rc != SQLITE_DONE) {
        snprintf(err, errlen, "unmapped subnets: %s", sqlite3_errmsg(db));
        ok = false;
    }
    sqlite3_finalize(st);
    if (!ok) {
        building_unmapped_clear(out);
        return false;
    }
    merge(out, min_streams);
    return true;
}

void building_unmapped_clear(building_unmapped_list_t *l)
{
    free(l->v);
    memset(l, 0, sizeof *l);
}
