/* noc_api_buildings.c - GET /api/buildings: calls per building of the CQD
 * building file, with their verdicts, share of bad calls and worst
 * segment, and a rollup per region (docs/noc.md "Buildings").
 *
 * The counts are noc_buildings_calls()'s, the ones /metrics and the
 * building alerts use: a call counts once per building it had a
 * participant in, under that building's participants' worst verdict. A
 * region's figures are the sum of its buildings' (a call with participants
 * in two buildings of one region counts twice there, as it does in the
 * buildings' rows), so the rollup adds up to the rows shown.
 */
#include "noc_api.h"

#include <stdlib.h>
#include <string.h>

#define HTTP_OK 200
#define HTTP_UNAVAILABLE 503
#define BAD_VERDICTS 4 /* lan wan endpoint cloud: noc_query_verdicts' first four */

/* The figures every row and rollup shares: calls, bad, share, verdicts{}. */
static json_t *figures(const int64_t *v)
{
    json_t *o = json_object(), *vc = json_object();
    int64_t calls = 0, bad = 0;
    for (int i = 0; i < NOC_BUILDINGS_VERDICTS; i++) {
        json_object_set_new(vc, noc_query_verdicts[i], json_integer(v[i]));
        calls += v[i];
        if (i < BAD_VERDICTS)
            bad += v[i];
    }
    json_object_set_new(o, "calls", json_integer(calls));
    json_object_set_new(o, "bad", json_integer(bad));
    json_object_set_new(o, "share_bad", json_real(calls ? (double)bad / (double)calls : 0.0));
    json_object_set_new(o, "verdicts", vc);
    return o;
}

/* The bad verdict most of the building's calls had (the first in
 * lan wan endpoint cloud order on a tie); null without bad calls. */
static json_t *worst_segment(const int64_t *v)
{
    int w = -1;
    for (int i = 0; i < BAD_VERDICTS; i++)
        if (v[i] > 0 && (w < 0 || v[i] > v[w]))
            w = i;
    return w < 0 ? json_null() : json_string(noc_query_verdicts[w]);
}

static double share_of(json_t *row)
{
    return json_real_value(json_object_get(row, "share_bad"));
}

/* Worst first: share of bad calls, then more calls, then the name. */
static int by_share(const void *a, const void *b)
{
    json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    double sx = share_of(x), sy = share_of(y);
    if (sx != sy)
        return sx > sy ? -1 : 1;
    json_int_t cx = json_integer_value(json_object_get(x, "calls")),
               cy = json_integer_value(json_object_get(y, "calls"));
    if (cx != cy)
        return cx > cy ? -1 : 1;
    return strcmp(json_string_value(json_object_get(x, "building")),
                  json_string_value(json_object_get(y, "building")));
}

static json_t *sorted(json_t *arr)
{
    size_t n = json_array_size(arr);
    json_t **v = calloc(n ? n : 1, sizeof *v);
    json_t *out = json_array();
    if (!v)
        return arr;
    for (size_t i = 0; i < n; i++)
        v[i] = json_array_get(arr, i);
    qsort(v, n, sizeof *v, by_share);
    for (size_t i = 0; i < n; i++)
        json_array_append(out, v[i]);
    free(v);
    json_decref(arr);
    return out;
}

/* City and country of each counted (building, region): those of its first
 * network in the map. One pass over the map, one hash look-up a network. */
static void places(const building_map_t *m, json_t *index, json_t *rows)
{
    size_t n = building_map_count(m);
    for (size_t i = 0; i < n; i++) {
        const building_t *b = building_map_at(m, i);
        char key[2 * NOC_BUILDINGS_NAME_MAX + 2];
        snprintf(key, sizeof key, "%s\x1f%s", b->f[BUILDING_F_BUILDING], b->f[BUILDING_F_REGION]);
        json_t *at = json_object_get(index, key);
        if (!at)
            continue;
        json_t *row = json_array_get(rows, (size_t)json_integer_value(at));
        if (json_is_null(json_object_get(row, "city"))) {
            json_object_set_new(row, "city", json_string(b->f[BUILDING_F_CITY]));
            json_object_set_new(row, "country", json_string(b->f[BUILDING_F_COUNTRY]));
        }
    }
}

int noc_api_buildings(const noc_api_req_t *r, json_t **out, char *err, size_t errlen)
{
    noc_buildings_ref_t *ref = NULL;
    building_map_t *own = NULL;
    const building_map_t *m;
    if (r->buildings) {
        ref = noc_buildings_acquire(r->buildings, r->store, err, errlen);
        m = ref ? noc_buildings_map(ref) : NULL;
    } else { /* unit tests without the NOC's shared copy */
        m = own = noc_buildings_load(r->store, err, errlen);
    }
    if (!m)
        return HTTP_UNAVAILABLE;
    noc_buildings_counts_t *bc = calloc(1, sizeof *bc); /* ~145 KB: not on a thread's stack */
    if (!bc) {
        snprintf(err, errlen, "buildings: out of memory");
        if (ref)
            noc_buildings_release(r->buildings, &ref);
        building_map_free(&own);
        return HTTP_UNAVAILABLE;
    }
    bool by_region = (r->p->seen & NOC_P_REGION) != 0;
    int code = HTTP_OK;
    if (!noc_buildings_calls(r->store, r->pii, m, r->p->since, bc, err, errlen))
        code = HTTP_UNAVAILABLE;
    json_t *rows = json_array(), *index = json_object(), *regions = json_object();
    json_t *unmapped = NULL;
    int64_t zero[NOC_BUILDINGS_VERDICTS] = {0};
    for (size_t i = 0; code == HTTP_OK && i < bc->n; i++) {
        const noc_buildings_count_t *c = &bc->c[i];
        if (!c->building[0]) { /* participants in no building of the file */
            if (!by_region)
                unmapped = figures(c->verdicts);
            continue;
        }
        if (by_region && strcmp(c->region, r->p->region) != 0)
            continue;
        json_t *row = figures(c->verdicts);
        json_object_set_new(row, "building", json_string(c->building));
        json_object_set_new(row, "region", json_string(c->region));
        json_object_set_new(row, "city", json_null());
        json_object_set_new(row, "country", json_null());
        json_object_set_new(row, "worst_segment", worst_segment(c->verdicts));
        char key[2 * NOC_BUILDINGS_NAME_MAX + 2];
        snprintf(key, sizeof key, "%s\x1f%s", c->building, c->region);
        json_object_set_new(index, key, json_integer((json_int_t)json_array_size(rows)));
        json_array_append_new(rows, row);
        /* the region's sums, kept as verdict arrays until the end */
        json_t *sum = json_object_get(regions, c->region);
        if (!sum) {
            sum = json_array();
            for (int k = 0; k < NOC_BUILDINGS_VERDICTS; k++)
                json_array_append_new(sum, json_integer(0));
            json_object_set_new(regions, c->region, sum);
        }
        for (int k = 0; k < NOC_BUILDINGS_VERDICTS; k++)
            json_array_set_new(
                sum, (size_t)k,
                json_integer(json_integer_value(json_array_get(sum, (size_t)k)) + c->verdicts[k]));
    }
    if (code == HTTP_OK)
        places(m, index, rows);
    size_t folded = bc->folded, networks = building_map_count(m);
    noc_buildings_counts_clear(bc);
    free(bc);
    json_decref(index);
    if (ref)
        noc_buildings_release(r->buildings, &ref);
    building_map_free(&own);
    if (code != HTTP_OK) {
        json_decref(rows);
        json_decref(regions);
        return code;
    }
    json_t *rarr = json_array();
    const char *k;
    json_t *v;
    json_object_foreach(regions, k, v)
    {
        int64_t sum[NOC_BUILDINGS_VERDICTS];
        for (size_t i = 0; i < NOC_BUILDINGS_VERDICTS; i++)
            sum[i] = json_integer_value(json_array_get(v, i));
        json_t *row = figures(sum);
        json_object_set_new(row, "region", json_string(k));
        json_object_set_new(row, "building", json_string(k)); /* sort key only */
        json_array_append_new(rarr, row);
    }
    json_decref(regions);
    rarr = sorted(rarr);
    for (size_t i = 0; i < json_array_size(rarr); i++)
        json_object_del(json_array_get(rarr, i), "building");
    *out = json_pack("{s:o, s:o, s:o, s:I, s:I}", "buildings", sorted(rows), "regions", rarr,
                     "unmapped", unmapped ? unmapped : figures(zero), "folded", (json_int_t)folded,
                     "networks", (json_int_t)networks);
    return HTTP_OK;
}
