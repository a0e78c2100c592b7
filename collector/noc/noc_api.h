/* noc_api.h - the JSON API's handlers (docs/noc.md). Each reads the store
 * through the HTTP thread's read-only connection and returns an HTTP status
 * with a body: 200 and the result, or 4xx/5xx and *out NULL with err set.
 * Client addresses are opened (pii_open) for the response only;
 * every caller of these handlers has been authenticated.
 */
#ifndef CALLSCOPE_NOC_API_H
#define CALLSCOPE_NOC_API_H

#include <jansson.h>
#include <sqlite3.h>
#include <stddef.h>

#include "db.h"
#include "noc_buildings.h"
#include "noc_db.h"
#include "pii.h"
#include "noc_query.h"

typedef struct {
    db_t *store;           /* the request's read connection, either backend (db.h) */
    noc_db_limit_t *limit; /* its statement time limit (noc_store_step) */
    const pii_t *pii;
    const noc_params_t *p;
    const char *arg;            /* from the path: a call id or a site; NULL for lists */
    noc_buildings_t *buildings; /* the building map in force (noc_buildings.h) */
    unsigned live_hold_s;       /* /api/live's hold, seconds; 0: NOC_LIVE_MIN_AGE_S */
} noc_api_req_t;

typedef int (*noc_api_fn)(const noc_api_req_t *r, json_t **out, char *err, size_t errlen);

int noc_api_calls(const noc_api_req_t *r, json_t **out, char *err, size_t errlen);
int noc_api_call(const noc_api_req_t *r, json_t **out, char *err, size_t errlen);
int noc_api_sites(const noc_api_req_t *r, json_t **out, char *err, size_t errlen);
int noc_api_site(const noc_api_req_t *r, json_t **out, char *err, size_t errlen);
int noc_api_clients(const noc_api_req_t *r, json_t **out, char *err, size_t errlen);
/* GET /api/buildings (noc_api_buildings.c): per building of the building
 * file in force, its region, city, country, calls by verdict (each call
 * once per building it had a participant in, under that building's worst
 * verdict: noc_buildings_calls), bad calls and their share, and worst
 * segment (the bad verdict most of its calls had), worst share first;
 * "regions": the same figures summed per region; "unmapped": calls of
 * participants in no building; "folded": buildings past
 * NOC_BUILDINGS_MAX counted as "(other)"; "networks": the networks of
 * the map in force (0: no building file imported). Filters: since, region. */
int noc_api_buildings(const noc_api_req_t *r, json_t **out, char *err, size_t errlen);

/* From the probe's interval records (the `intervals` table, one row per
 * stream per --interval window; docs/noc.md "Timelines" and "Live"):
 *   noc_api_timeline  GET /api/calls/{id}/timeline: per verdict stream of
 *       the call its intervals in time order (at most
 *       NOC_TIMELINE_MAX_INTERVALS each, "truncated" says so), beside the
 *       probe's whole-stream figures and Graph's whole-call figures as
 *       reference values, and the thresholds the call was judged by.
 *   noc_api_live  GET /api/live: streams whose interval records still
 *       arrive (the newest stored within max(hold, 2.5 intervals): the
 *       hold is --live-hold, live_hold_s, NOC_LIVE_MIN_AGE_S by default), looked for over the last
 * NOC_LIVE_LOOKBACK_S), grouped per site into calls (one per client address), each with a
 *       provisional wire verdict from its streams' newest intervals
 *       (verdict_stream() without Graph: outbound bad -> lan, inbound bad
 *       -> wan); per site and per building the active and degraded calls
 *       by side, and a page of the calls (limit, offset; 25 by default).
 *       Filters: site, building (the client's), user (the addresses of the
 *       person's Graph records of the last 7 days). The streams' newest
 *       records are kept in the process between requests (thread-safe;
 *       each request reads only the records stored since the last). */
#define NOC_TIMELINE_MAX_INTERVALS 8640 /* a day at 10 s */
#define NOC_LIVE_LOOKBACK_S 300
#define NOC_LIVE_MIN_AGE_S 30.0 /* --live-hold's default */
int noc_api_timeline(const noc_api_req_t *r, json_t **out, char *err, size_t errlen);
int noc_api_live(const noc_api_req_t *r, json_t **out, char *err, size_t errlen);

#endif
