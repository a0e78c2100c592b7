#include "noc_metrics.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "timefmt.h"
#include "noc_query.h"

#define MAX_SITES 256
#define OTHER_SITE "(other)"
#define MAX_JSON_LEAVES 2000
#define MAX_JSON_DEPTH 6
#define NAME_MAX_LEN 200
#define MAX_STALE_BYTES (1u << 20)
#define STR_(x) #x
#define STR(x) STR_(x)

typedef struct {
    const char *name, *column, *help;
    double le[10];
    int nle;
} hist_def_t;

static const hist_def_t hists[] = {
    {"callscope_stream_loss_pct",
     "loss_pct",
     "Per-stream RTP loss at the probe, percent",
     {0.1, 0.5, 1, 2, 5, 10, 20},
     7},
    {"callscope_stream_jitter_ms_max",
     "jitter_ms_max",
     "Per-stream largest RFC 3550 jitter at the probe, ms",
     {5, 10, 20, 30, 50, 100, 200},
     7},
    {"callscope_stream_mos",
     "mos",
     "Per-stream E-model MOS at the probe",
     {1, 2, 2.5, 3, 3.5, 4, 4.3, 4.5},
     8},
};

#define NHISTS (sizeof hists / sizeof hists[0])

typedef struct {
    uint64_t bucket[10], count;
    double sum;
} hist_t;

typedef struct {
    char site[NOC_QUERY_VALUE_MAX + 1];
    hist_t h[NHISTS];
} site_hist_t;

struct noc_metrics {
    int64_t last_id;
    site_hist_t *sites;
    size_t nsites;
    /* per building (noc_metrics_buildings): which pairs, and their histograms
     * in the same order */
    const pii_t *pii;
    noc_buildings_t *buildings;
    noc_buildings_counts_t *bnames;
    hist_t (*bh)[NHISTS];
};

noc_metrics_t *noc_metrics_new(void)
{
    noc_metrics_t *m = calloc(1, sizeof *m);
    if (m)
        m->sites = calloc(MAX_SITES + 1, sizeof *m->sites);
    if (m && !m->sites) {
        free(m);
        return NULL;
    }
    return m;
}

void noc_metrics_buildings(noc_metrics_t *m, const pii_t *pii, noc_buildings_t *b)
{
    m->bnames = calloc(1, sizeof *m->bnames);
    m->bh = calloc(NOC_BUILDINGS_MAX + 2, sizeof *m->bh);
    if (!m->bnames || !m->bh) { /* no building series rather than none at all */
        free(m->bnames);
        free(m->bh);
        m->bnames = NULL;
        m->bh = NULL;
        return;
    }
    m->pii = pii;
    m->buildings = b;
}

void noc_metrics_free(noc_metrics_t **m)
{
    if (!m || !*m)
        return;
    if ((*m)->bnames)
        noc_buildings_counts_clear((*m)->bnames);
    free((*m)->bnames);
    free((*m)->bh);
    free((*m)->sites);
    free(*m);
    *m = NULL;
}

/* ---- exposition helpers ------------------------------------------------------ */

void noc_metrics_family(dynbuf_t *out, const char *name, const char *type, const char *help)
{
    dynbuf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void label_value(dynbuf_t *out, const char *v)
{
    for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
        if (*p == '\\' || *p == '"')
            dynbuf_printf(out, "\\%c", *p);
        else if (*p == '\n')
            dynbuf_addstr(out, "\\n");
        else if (*p < 0x20 || *p == 0x7f)
            dynbuf_addstr(out, "?");
        else
            dynbuf_add(out, p, 1);
    }
}

static void value(dynbuf_t *out, double v)
{
    if (isnan(v))
        dynbuf_addstr(out, "NaN");
    else if (isinf(v))
        dynbuf_addstr(out, v > 0 ? "+Inf" : "-Inf");
    else if (v == floor(v) && fabs(v) < 1e15)
        dynbuf_printf(out, "%.0f", v);
    else
        dynbuf_printf(out, "%.17g", v);
}

void noc_metrics_sample(dynbuf_t *out, const char *name, const char *const *labels, double v)
{
    dynbuf_addstr(out, name);
    if (labels && labels[0]) {
        dynbuf_addstr(out, "{");
        for (size_t i = 0; labels[i]; i += 2) {
            dynbuf_printf(out, "%s%s=\"", i ? "," : "", labels[i]);
            label_value(out, labels[i + 1] ? labels[i + 1] : "");
            dynbuf_addstr(out, "\"");
        }
        dynbuf_addstr(out, "}");
    }
    dynbuf_addstr(out, " ");
    value(out, v);
    dynbuf_addstr(out, "\n");
}

/* ---- verdicts ----------------------------------------------------------------- */

/* PostgreSQL prepares at the first step: a missing table shows there. */
static void verdicts(db_t *db, dynbuf_t *out)
{
    char err[256];
    db_stmt_t *st = db_prepare(db,
                               "SELECT COALESCE(site, ''), verdict, count(*) FROM verdict_calls"
                               " GROUP BY 1, 2 ORDER BY 1, 2",
                               err, sizeof err);
    int rc = st ? db_step(st, err, sizeof err) : DB_ERR;
    bool have = rc != DB_ERR;
    noc_metrics_family(out, "callscope_verdict_tables", "gauge",
                       "1 when the store has the verdict tables");
    noc_metrics_sample(out, "callscope_verdict_tables", NULL, have);
    noc_metrics_family(out, "callscope_verdict_calls", "gauge",
                       "Calls in the store by site and verdict");
    for (; rc == DB_ROW; rc = db_step(st, err, sizeof err)) {
        const char *l[] = {"site", db_col_text(st, 0), "verdict", db_col_text(st, 1), NULL};
        noc_metrics_sample(out, "callscope_verdict_calls", l, (double)db_col_int(st, 2));
    }
    db_finalize(&st);
}

/* ---- stream histograms ---------------------------------------------------------- */

static site_hist_t *site_of(noc_metrics_t *m, const char *site)
{
    for (size_t i = 0; i < m->nsites; i++)
        if (strcmp(m->sites[i].site, site) == 0)
            return &m->sites[i];
    if (m->nsites == MAX_SITES)
        site = OTHER_SITE; /* the spare slot at the end */
    site_hist_t *s = &m->sites[m->nsites];
    snprintf(s->site, sizeof s->site, "%s", site);
    if (m->nsites < MAX_SITES)
        m->nsites++;
    return s;
}

static void observe(hist_t *h, const hist_def_t *d, double v)
{
    for (int i = 0; i < d->nle; i++)
        if (v <= d->le[i])
            h->bucket[i]++;
    h->count++;
    h->sum += v;
}

/* The histograms of the stream's building (bm NULL: none kept). */
static hist_t *building_hists(noc_metrics_t *m, const building_map_t *bm, db_stmt_t *st, int col)
{
    if (!bm)
        return NULL;
    const building_t *b = noc_buildings_of(bm, m->pii, PII_AAD_STREAMS_CLIENT_IP,
                                           db_col_blob(st, col), db_col_bytes(st, col), NULL);
    noc_buildings_count_t *c = noc_buildings_slot(m->bnames, b ? b->f[BUILDING_F_BUILDING] : "",
                                                  b ? b->f[BUILDING_F_REGION] : "");
    return c ? m->bh[c - m->bnames->c] : NULL;
}

static void absorb(noc_metrics_t *m, db_t *db, const building_map_t *bm)
{
    char err[256];
    db_stmt_t *st = db_prepare(db,
                               "SELECT id, site, loss_pct, jitter_ms_max, mos, client_ip_enc"
                               " FROM streams WHERE id > ?1 ORDER BY id LIMIT ?2",
                               err, sizeof err);
    if (!st)
        return;
    db_bind_int(st, 1, m->last_id);
    db_bind_int(st, 2, NOC_METRICS_CHUNK);
    while (db_step(st, err, sizeof err) == DB_ROW) {
        m->last_id = db_col_int(st, 0);
        const char *site = db_col_text(st, 1);
        site_hist_t *s = site_of(m, site ? site : "");
        hist_t *bh = building_hists(m, bm, st, 5);
        for (size_t i = 0; i < NHISTS; i++)
            if (db_col_type(st, 2 + (int)i) != DB_T_NULL) {
                observe(&s->h[i], &hists[i], db_col_real(st, 2 + (int)i));
                if (bh)
                    observe(&bh[i], &hists[i], db_col_real(st, 2 + (int)i));
            }
    }
    db_finalize(&st);
}

static void histogram(const noc_metrics_t *m, const hist_def_t *d, size_t k, dynbuf_t *out)
{
    char bucket[NAME_MAX_LEN], sum[NAME_MAX_LEN], count[NAME_MAX_LEN];
    snprintf(bucket, sizeof bucket, "%s_bucket", d->name);
    snprintf(sum, sizeof sum, "%s_sum", d->name);
    snprintf(count, sizeof count, "%s_count", d->name);
    noc_metrics_family(out, d->name, "histogram", d->help);
    size_t n = m->nsites + (m->sites[MAX_SITES].site[0] ? 1 : 0);
    for (size_t s = 0; s < n; s++) {
        const site_hist_t *sh = &m->sites[s < m->nsites ? s : MAX_SITES];
        const hist_t *h = &sh->h[k];
        for (int i = 0; i <= d->nle; i++) {
            char le[32];
            snprintf(le, sizeof le, "%g", d->le[i < d->nle ? i : 0]);
            const char *l[] = {"site", sh->site, "le", i < d->nle ? le : "+Inf", NULL};
            noc_metrics_sample(out, bucket, l, (double)(i < d->nle ? h->bucket[i] : h->count));
        }
        const char *l[] = {"site", sh->site, NULL};
        noc_metrics_sample(out, sum, l, h->sum);
        noc_metrics_sample(out, count, l, (double)h->count);
    }
}

/* ---- probe health ------------------------------------------------------------- */

/* A probe's heartbeat figures are what it said last: once its heartbeats
 * stop (NOC_PROBE_STALE_S) they are no longer current. Its spool and drop
 * gauges are then left out (Prometheus marks the series stale),
 * callscope_probe_connected reads 0 and callscope_probe_stale 1. */
typedef struct {
    const char *name, *path, *help, *extra_label, *extra_value;
    bool stale_zero; /* stale: report 0 (else leave the series out) */
} probe_series_t;

static const probe_series_t probe_series[] = {
    {"callscope_probe_decode_dropped", "$.probe.dropped",
     "Malformed packets dropped by the probe's decoder (from its last heartbeat)", NULL, NULL,
     false},
    {"callscope_probe_capture_dropped", "$.probe.pcap.kernel_dropped",
     "Packets dropped before the probe saw them (libpcap)", "where", "kernel", false},
    {"callscope_probe_capture_dropped", "$.probe.pcap.iface_dropped", NULL, "where", "iface",
     false},
    {"callscope_probe_spool_batches", "$.export.spool.batches",
     "Batches in the probe's spool, not yet acknowledged", NULL, NULL, false},
    {"callscope_probe_spool_bytes", "$.export.spool.bytes", "Bytes in the probe's spool", NULL,
     NULL, false},
    {"callscope_probe_connected", "$.export.connected",
     "1 when the probe reports a connection; 0 once its heartbeats stop", NULL, NULL, true},
};

#define NPROBE_SERIES (sizeof probe_series / sizeof probe_series[0])

/* The member at path ("$.a.b") of a probe's health, as a number
 * (booleans 0/1, as SQLite's json_extract read them); false when absent or
 * not a number. */
static bool health_number(json_t *h, const char *path, double *v)
{
    char key[64];
    const char *p = path + 1; /* after '$' */
    while (h && *p == '.') {
        size_t n = strcspn(p + 1, ".");
        if (n >= sizeof key)
            return false;
        memcpy(key, p + 1, n);
        key[n] = '\0';
        h = json_object_get(h, key);
        p += 1 + n;
    }
    if (json_is_number(h))
        *v = json_number_value(h);
    else if (json_is_boolean(h))
        *v = json_is_true(h) ? 1.0 : 0.0;
    else
        return false;
    return true;
}

#define MAX_PROBES 10000

/* The JSON text p (n bytes), parsed; NULL when NULL or not JSON. */
static json_t *parsed(const char *p, size_t n)
{
    return p ? json_loadb(p, n, JSON_DECODE_ANY, NULL) : NULL;
}

/* The heartbeat series of every probe whose health is JSON, from one read
 * of the probes table (health parsed once per probe, in C on both
 * backends); fresh_since: the oldest heartbeat still current (ISO text
 * compares as time). */
static void probe_health(db_t *db, const char *fresh_since, dynbuf_t *out)
{
    char err[256];
    db_stmt_t *st = db_prepare(db,
                               "SELECT probe_id, site, health, last_heartbeat FROM probes"
                               " ORDER BY probe_id LIMIT ?1",
                               err, sizeof err);
    if (!st)
        return;
    db_bind_int(st, 1, MAX_PROBES);
    typedef struct {
        char *probe, *site;
        json_t *health;
        bool fresh;
    } probe_t;
    probe_t *p = NULL;
    size_t n = 0, cap = 0;
    while (db_step(st, err, sizeof err) == DB_ROW) {
        json_t *h = parsed(db_col_text(st, 2), db_col_bytes(st, 2));
        if (!h)
            continue; /* not JSON: no health series */
        if (n == cap) {
            size_t nc = cap ? 2 * cap : 16;
            probe_t *np = realloc(p, nc * sizeof *np);
            if (!np) {
                json_decref(h);
                break;
            }
            p = np;
            cap = nc;
        }
        const char *id = db_col_text(st, 0), *site = db_col_text(st, 1), *hb = db_col_text(st, 3);
        p[n].probe = strdup(id ? id : "");
        p[n].site = strdup(site ? site : "");
        p[n].health = h;
        p[n].fresh = hb && strcmp(hb, fresh_since) >= 0;
        n++;
    }
    db_finalize(&st);
    for (size_t k = 0; k < NPROBE_SERIES; k++) {
        const probe_series_t *ps = &probe_series[k];
        if (ps->help)
            noc_metrics_family(out, ps->name, "gauge", ps->help);
        for (size_t i = 0; i < n; i++) {
            double v = 0.0;
            if (!p[i].fresh && !ps->stale_zero)
                continue;
            if (p[i].fresh && !health_number(p[i].health, ps->path, &v))
                continue;
            const char *l[] = {"probe",         p[i].probe,      "site", p[i].site,
                               ps->extra_label, ps->extra_value, NULL};
            noc_metrics_sample(out, ps->name, l, p[i].fresh ? v : 0.0);
        }
    }
    for (size_t i = 0; i < n; i++) {
        free(p[i].probe);
        free(p[i].site);
        json_decref(p[i].health);
    }
    free(p);
}

static void probe_ages(db_t *db, int64_t now_us, dynbuf_t *out)
{
    char err[256];
    db_stmt_t *st = db_prepare(db,
                               "SELECT probe_id, site, last_heartbeat FROM probes"
                               " ORDER BY 1 LIMIT ?1",
                               err, sizeof err);
    if (!st)
        return;
    db_bind_int(st, 1, MAX_PROBES);
    dynbuf_t stale;
    dynbuf_init(&stale, MAX_STALE_BYTES);
    noc_metrics_family(out, "callscope_probe_heartbeat_age_seconds", "gauge",
                       "Seconds since the probe's last heartbeat");
    noc_metrics_family(&stale, "callscope_probe_stale", "gauge",
                       "1 when the probe's heartbeats stopped (none for " STR(
                           NOC_PROBE_STALE_S) " s): its other gauges are its last word");
    while (db_step(st, err, sizeof err) == DB_ROW) {
        int64_t t;
        const char *hb = db_col_text(st, 2);
        const char *l[] = {"probe", db_col_text(st, 0), "site", db_col_text(st, 1), NULL};
        bool known = hb && timefmt_parse_iso(hb, &t);
        if (known)
            noc_metrics_sample(out, "callscope_probe_heartbeat_age_seconds", l,
                               (double)(now_us - t) / 1e6);
        bool is_stale = !known || now_us - t > (int64_t)NOC_PROBE_STALE_S * USEC_PER_SEC;
        noc_metrics_sample(&stale, "callscope_probe_stale", l, is_stale ? 1.0 : 0.0);
    }
    db_finalize(&st);
    size_t len = 0;
    char *s = dynbuf_take(&stale, &len);
    if (s)
        dynbuf_add(out, s, len);
    free(s);
}

/* ---- per building ---------------------------------------------------------------------- */

static void building_histogram(const noc_metrics_t *m, const hist_def_t *d, size_t k, dynbuf_t *out)
{
    char name[NAME_MAX_LEN / 2], bucket[NAME_MAX_LEN], sum[NAME_MAX_LEN], count[NAME_MAX_LEN],
        help[NAME_MAX_LEN];
    /* callscope_stream_X -> callscope_building_stream_X */
    snprintf(name, sizeof name, "callscope_building_%s", d->name + strlen("callscope_"));
    snprintf(bucket, sizeof bucket, "%s_bucket", name);
    snprintf(sum, sizeof sum, "%s_sum", name);
    snprintf(count, sizeof count, "%s_count", name);
    snprintf(help, sizeof help, "%s, by the client's building", d->help);
    noc_metrics_family(out, name, "histogram", help);
    for (size_t s = 0; s < m->bnames->n; s++) {
        const noc_buildings_count_t *b = &m->bnames->c[s];
        const hist_t *h = &m->bh[s][k];
        for (int i = 0; i <= d->nle; i++) {
            char le[32];
            snprintf(le, sizeof le, "%g", d->le[i < d->nle ? i : 0]);
            const char *l[] = {
                "building", b->building, "region", b->region, "le", i < d->nle ? le : "+Inf", NULL};
            noc_metrics_sample(out, bucket, l, (double)(i < d->nle ? h->bucket[i] : h->count));
        }
        const char *l[] = {"building", b->building, "region", b->region, NULL};
        noc_metrics_sample(out, sum, l, h->sum);
        noc_metrics_sample(out, count, l, (double)h->count);
    }
}

/* The calls that ended within the window per building and verdict: read
 * afresh each scrape (a gauge), every participant address of the window
 * opened in memory once. */
static void building_calls(noc_metrics_t *m, db_t *db, const building_map_t *bm, int64_t now_us,
                           dynbuf_t *out)
{
    noc_buildings_counts_t *c = calloc(1, sizeof *c);
    char since[40], err[256];
    timefmt_iso(now_us - (int64_t)NOC_METRICS_BUILDING_WINDOW_S * USEC_PER_SEC, since,
                sizeof since);
    bool ok = c && noc_buildings_calls(db, m->pii, bm, since, c, err, sizeof err);
    noc_metrics_family(out, "callscope_building_calls", "gauge",
                       "Calls that ended in the last " STR(
                           NOC_METRICS_BUILDING_WINDOW_S) " s with a participant in the building, "
                                                          "by the worst verdict of its "
                                                          "participants there");
    for (size_t i = 0; ok && i < c->n; i++)
        for (int v = 0; v < NOC_BUILDINGS_VERDICTS; v++) {
            const char *l[] = {"building", c->c[i].building,      "region", c->c[i].region,
                               "verdict",  noc_query_verdicts[v], NULL};
            noc_metrics_sample(out, "callscope_building_calls", l, (double)c->c[i].verdicts[v]);
        }
    noc_metrics_family(out, "callscope_building_calls_check_ok", "gauge",
                       "1 when the calls per building could be read (verdict schema 3)");
    noc_metrics_sample(out, "callscope_building_calls_check_ok", NULL, ok);
    noc_metrics_family(out, "callscope_buildings_folded", "gauge",
                       "Buildings (with region) beyond the " STR(
                           NOC_BUILDINGS_MAX) " that have series of their own, counted under "
                                              "building=\"" NOC_BUILDINGS_OTHER "\"");
    const char *hl[] = {"series", "streams", NULL}, *cl[] = {"series", "calls", NULL};
    noc_metrics_sample(out, "callscope_buildings_folded", hl, (double)m->bnames->folded);
    noc_metrics_sample(out, "callscope_buildings_folded", cl, ok ? (double)c->folded : 0.0);
    if (c)
        noc_buildings_counts_clear(c);
    free(c);
}

void noc_metrics_store(noc_metrics_t *m, db_t *db, int64_t now_us, dynbuf_t *out)
{
    verdicts(db, out);
    char err[256];
    noc_buildings_ref_t *ref =
        m->buildings ? noc_buildings_acquire(m->buildings, db, err, sizeof err) : NULL;
    /* no building file imported: no building series (and nothing opened) */
    const building_map_t *bm =
        ref && building_map_count(noc_buildings_map(ref)) > 0 ? noc_buildings_map(ref) : NULL;
    absorb(m, db, bm);
    for (size_t i = 0; i < NHISTS; i++)
        histogram(m, &hists[i], i, out);
    if (bm) {
        for (size_t i = 0; i < NHISTS; i++)
            building_histogram(m, &hists[i], i, out);
        building_calls(m, db, bm, now_us, out);
        noc_metrics_family(out, "callscope_buildings_networks", "gauge",
                           "Networks in the building map in force (CQD building file)");
        noc_metrics_sample(out, "callscope_buildings_networks", NULL,
                           (double)building_map_count(bm));
    }
    if (ref)
        noc_buildings_release(m->buildings, &ref);
    char fresh_since[40];
    timefmt_iso(now_us - (int64_t)NOC_PROBE_STALE_S * USEC_PER_SEC, fresh_since,
                sizeof fresh_since);
    probe_health(db, fresh_since, out);
    probe_ages(db, now_us, out);
}

/* ---- JSON counters as gauges -------------------------------------------------------- */

static void json_leaf(const char *name, const json_t *v, dynbuf_t *out)
{
    double x = json_is_boolean(v) ? (json_is_true(v) ? 1 : 0) : json_number_value(v);
    noc_metrics_family(out, name, "gauge", "Collector counter (in-process)");
    noc_metrics_sample(out, name, NULL, x);
}

static void json_walk(const json_t *o, char *name, size_t len, int depth, json_t *seen,
                      dynbuf_t *out)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)o, k, v)
    {
        if (json_object_size(seen) >= MAX_JSON_LEAVES)
            return;
        int n = snprintf(name + len, NAME_MAX_LEN - len, "_%s", k);
        if (n < 0 || len + (size_t)n >= NAME_MAX_LEN)
            continue;
        for (char *p = name + len + 1; *p; p++)
            if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')))
                *p = '_';
        if (json_is_object(v) && depth < MAX_JSON_DEPTH)
            json_walk(v, name, len + (size_t)n, depth + 1, seen, out);
        else if ((json_is_number(v) || json_is_boolean(v)) && !json_object_get(seen, name)) {
            json_object_set_new(seen, name, json_true());
            json_leaf(name, v, out);
        }
        name[len] = '\0';
    }
}

/* "collector_duty": [{"duty": d, ["tenant": t,] "held": 0|1}, ...] (the
 * walk above skips arrays): one labelled gauge (collector/duty.h). */
static void duties(const json_t *a, dynbuf_t *out)
{
    size_t i;
    json_t *d;
    if (!json_is_array(a) || json_array_size(a) == 0)
        return;
    noc_metrics_family(out, "callscope_collector_duty", "gauge",
                       "1 when this collector runs the duty (one collector per store at a time)");
    json_array_foreach(a, i, d)
    {
        const char *labels[] = {"duty", json_string_value(json_object_get(d, "duty")), "tenant",
                                json_string_value(json_object_get(d, "tenant")), NULL};
        if (!labels[3])
            labels[2] = NULL;
        noc_metrics_sample(out, "callscope_collector_duty", labels,
                           (double)json_integer_value(json_object_get(d, "held")));
    }
}

void noc_metrics_json(const json_t *obj, dynbuf_t *out)
{
    if (!json_is_object(obj))
        return;
    char name[NAME_MAX_LEN] = "callscope";
    json_t *seen = json_object();
    json_walk(obj, name, strlen(name), 0, seen, out);
    json_decref(seen);
    duties(json_object_get(obj, "collector_duty"), out);
}
