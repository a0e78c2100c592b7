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

/* One sealed address and the stream count per client in the window. SQLite
 * returns a bare column of the group's rows; PostgreSQL wants it named:
 * the first row of each client, its count over the client's rows. */
static const db_sql_t per_client = {
    "SELECT client_ip_enc, count(*) FROM streams WHERE first_seen >= ?1"
    " AND client_ip_hmac IS NOT NULL GROUP BY client_ip_hmac",
    "SELECT DISTINCT ON (client_ip_hmac) client_ip_enc,"
    " count(*) OVER (PARTITION BY client_ip_hmac) FROM streams WHERE first_seen >= ?1"
    " AND client_ip_hmac IS NOT NULL ORDER BY client_ip_hmac"};

bool building_unmapped_find(db_t *db, const pii_t *pii, const building_map_t *m,
                            const char *since_iso, unsigned prefix4, unsigned prefix6,
                            uint64_t min_streams, building_unmapped_list_t *out, char *err,
                            size_t errlen)
{
    char e[256];
    memset(out, 0, sizeof *out);
    db_stmt_t *st = db_prepare(db, db_pick(db, per_client), e, sizeof e);
    if (!st) {
        snprintf(err, errlen, "unmapped subnets: %s", e);
        return false;
    }
    db_bind_text(st, 1, since_iso, -1);
    size_t cap = 0;
    int rc = DB_DONE;
    bool ok = true;
    while (ok && (rc = db_step(st, e, sizeof e)) == DB_ROW) {
        char ip[128];
        const void *b = db_col_blob(st, 0);
        uint64_t n = (uint64_t)db_col_int(st, 1);
        netprefix_t p;
        out->clients++;
        if (!b ||
            !pii_open(pii, PII_AAD_STREAMS_CLIENT_IP, b, db_col_bytes(st, 0), ip, sizeof ip) ||
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
    if (ok && rc != DB_DONE) {
        snprintf(err, errlen, "unmapped subnets: %s", e);
        ok = false;
    }
    db_finalize(&st);
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
