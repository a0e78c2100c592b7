/* noc_metrics.h - Prometheus text exposition (version 0.0.4) of what the
 * store holds: verdict counts per site and verdict, histograms of the
 * probe's stream figures per site, probe health from the heartbeats; plus
 * any JSON object of counters as gauges. docs/noc.md lists the names.
 *
 * The histograms are real counters: each scrape adds the streams stored
 * since the last one (by streams.id, at most NOC_METRICS_CHUNK rows per
 * scrape, so a first scrape of a large store catches up over several).
 * SQLite and PostgreSQL stores give the same series (common/db.h).
 * Not thread-safe: one noc_metrics_t per HTTP thread.
 */
#ifndef CALLSCOPE_NOC_METRICS_H
#define CALLSCOPE_NOC_METRICS_H

#include <jansson.h>
#include <stdint.h>

#include "db.h"
#include "dynbuf.h"
#include "noc_buildings.h"
#include "pii.h"

#define NOC_METRICS_CHUNK 200000
/* A probe whose last heartbeat is older than this is stale (six missed
 * heartbeats at the probe's default --heartbeat 10). */
#define NOC_PROBE_STALE_S 60

typedef struct noc_metrics noc_metrics_t;

noc_metrics_t *noc_metrics_new(void);
void noc_metrics_free(noc_metrics_t **m);
/* Per-building series too (docs/noc.md "Metrics"): the stream histograms
 * per (building, region) of the stream's client address, and the calls
 * that ended within NOC_METRICS_BUILDING_WINDOW_S per building and
 * verdict; at most NOC_BUILDINGS_MAX pairs, the rest under "(other)" and
 * counted. pii and b are borrowed and must outlive m. Without this call,
 * or while no building file is imported, there are no building series. */
#define NOC_METRICS_BUILDING_WINDOW_S 3600
void noc_metrics_buildings(noc_metrics_t *m, const pii_t *pii, noc_buildings_t *b);
/* Appends the store's series to out, read through db (either backend:
 * common/db.h). now_us for heartbeat ages. */
void noc_metrics_store(noc_metrics_t *m, db_t *db, int64_t now_us, dynbuf_t *out);
/* Appends every numeric/boolean leaf of obj as a gauge callscope_<path>. */
void noc_metrics_json(const json_t *obj, dynbuf_t *out);
/* "# HELP" and "# TYPE" lines of one family. */
void noc_metrics_family(dynbuf_t *out, const char *name, const char *type, const char *help);
/* One sample: name{k1="v1",k2="v2"} value; labels NULL-terminated pairs,
 * values escaped. */
void noc_metrics_sample(dynbuf_t *out, const char *name, const char *const *labels, double v);

#endif
