#include "noc_alerts.h"

#include <jansson.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "noc_db.h"
#include "noc_metrics.h"
#include "noc_query.h"
#include "noc_syslog.h"
#include "noc_webhook.h"
#include "timefmt.h"

/* sites, and every kind of NOC_BUILDINGS_MAX buildings */
#define MAX_STATES (1024 + 4 * NOC_BUILDINGS_MAX)
#define MAX_SITES_PER_CHECK 10000

/* lan/wan: the share of ended calls with that verdict; live_lan/live_wan:
 * calls in progress degraded on that side now (interval records);
 * endpoint/cloud: surges of those verdicts among ended calls. */
typedef enum {
    KIND_LAN,
    KIND_WAN,
    KIND_LIVE_LAN,
    KIND_LIVE_WAN,
    KIND_ENDPOINT,
    KIND_CLOUD,
    KIND_COUNT
} kind_t;

static const char *const kind_name[KIND_COUNT] = {"lan",      "wan",      "live_lan",
                                                  "live_wan", "endpoint", "cloud"};

/* The families are evaluated by their own queries; a site a family's query
 * did not return this round is re-armed (rearm_absent). Buildings have
 * the share and surge families of their own (check_buildings). */
typedef enum {
    FAMILY_SHARE,
    FAMILY_LIVE,
    FAMILY_SURGE,
    FAMILY_BUILDING_SHARE,
    FAMILY_BUILDING_SURGE
} family_t;

typedef struct {
    char site[NOC_QUERY_VALUE_MAX + 1]; /* or the building's name */
    char region[NOC_BUILDINGS_NAME_MAX + 1];
    bool building; /* a building's state, not a site's */
    kind_t kind;
    bool above;
    bool firing;           /* fired and not yet resolved */
    int64_t last_fired_us; /* 0: never */
    uint64_t fired, suppressed, webhook_failed, resolved;
    uint64_t round; /* the last check that saw this site */
} state_t;

typedef struct {
    const char *site; /* or the building's name */
    kind_t kind;
    int64_t calls, matching;
    int64_t now_us;
    bool resolved;      /* the message says the condition cleared */
    bool building;      /* site is a building of the CQD building file */
    const char *region; /* the building's region (building only) */
} crossing_t;

struct noc_alerts {
    noc_cfg_t cfg;
    char *db_path, *webhook;
    bool alertmanager; /* webhook body in Alertmanager's format */
    db_t *db;          /* noc_store_open: its own connection, either backend */
    int64_t next_us;
    pthread_mutex_t mu; /* guards the counters below and states[] */
    state_t *states;
    size_t nstates;
    uint64_t checks, check_errors, states_full;
    uint64_t round;             /* checks started, written by the tick thread only */
    const pii_t *pii;           /* noc_alerts_buildings(): per-building alerts */
    noc_buildings_t *buildings; /* NULL: none */
    noc_buildings_counts_t *bc; /* the tick thread's scratch */
};

void noc_alerts_buildings(noc_alerts_t *a, const pii_t *pii, noc_buildings_t *b)
{
    a->bc = calloc(1, sizeof *a->bc);
    if (!a->bc)
        return; /* no building alerts rather than no alerts */
    a->pii = pii;
    a->buildings = b;
}

noc_alerts_t *noc_alerts_new(const noc_cfg_t *cfg, char *err, size_t errlen)
{
    noc_alerts_t *a = calloc(1, sizeof *a);
    if (!a) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    a->cfg = *cfg;
    a->alertmanager = cfg->alert_format && strcmp(cfg->alert_format, "alertmanager") == 0;
    if (cfg->alert_format && !a->alertmanager && strcmp(cfg->alert_format, "callscope") != 0) {
        snprintf(err, errlen, "--alert-format: callscope or alertmanager");
        free(a);
        return NULL;
    }
    a->db_path = strdup(cfg->db_path);
    a->webhook = cfg->alert_webhook ? strdup(cfg->alert_webhook) : NULL;
    a->states = calloc(MAX_STATES, sizeof *a->states);
    if (!a->db_path || !a->states || (cfg->alert_webhook && !a->webhook)) {
        snprintf(err, errlen, "out of memory");
        noc_alerts_free(&a);
        return NULL;
    }
    pthread_mutex_init(&a->mu, NULL);
    if (cfg->alert_syslog)
        noc_syslog_open();
    return a;
}

void noc_alerts_free(noc_alerts_t **pa)
{
    if (!pa || !*pa)
        return;
    noc_alerts_t *a = *pa;
    if (a->states) {
        pthread_mutex_destroy(&a->mu);
        if (a->cfg.alert_syslog)
            noc_syslog_close();
    }
    noc_store_close(&a->db);
    if (a->bc)
        noc_buildings_counts_clear(a->bc);
    free(a->bc);
    free(a->states);
    free(a->db_path);
    free(a->webhook);
    free(a);
    *pa = NULL;
}

/* The state of (site or building, kind), made on first sight; NULL when
 * the table is full. */
static state_t *state_of(noc_alerts_t *a, const crossing_t *c)
{
    const char *region = c->building && c->region ? c->region : "";
    for (size_t i = 0; i < a->nstates; i++)
        if (a->states[i].kind == c->kind && a->states[i].building == c->building &&
            strcmp(a->states[i].site, c->site) == 0 && strcmp(a->states[i].region, region) == 0)
            return &a->states[i];
    if (a->nstates == MAX_STATES) {
        a->states_full++;
        return NULL;
    }
    state_t *s = &a->states[a->nstates++];
    snprintf(s->site, sizeof s->site, "%s", c->site);
    snprintf(s->region, sizeof s->region, "%s", region);
    s->building = c->building;
    s->kind = c->kind;
    return s;
}

/* The site name as it may appear in a log line: printable ASCII only. */
static void printable(const char *in, char *out, size_t outlen)
{
    size_t j = 0;
    for (size_t i = 0; in[i] && j + 1 < outlen; i++)
        out[j++] = (in[i] >= 0x20 && in[i] < 0x7f && in[i] != '"') ? in[i] : '?';
    out[j] = '\0';
}

static bool is_live(kind_t k)
{
    return k == KIND_LIVE_LAN || k == KIND_LIVE_WAN;
}

static bool is_surge(kind_t k)
{
    return k == KIND_ENDPOINT || k == KIND_CLOUD;
}

static family_t family_of(const state_t *s)
{
    if (s->building)
        return is_surge(s->kind) ? FAMILY_BUILDING_SURGE : FAMILY_BUILDING_SHARE;
    return is_live(s->kind) ? FAMILY_LIVE : is_surge(s->kind) ? FAMILY_SURGE : FAMILY_SHARE;
}

static unsigned window_of(const noc_alerts_t *a, kind_t k)
{
    return is_live(k)    ? a->cfg.alert_live_window_s
           : is_surge(k) ? a->cfg.alert_surge_window_s
                         : a->cfg.alert_window_s;
}

static unsigned threshold_of(const noc_alerts_t *a, kind_t k)
{
    return is_surge(k) ? a->cfg.alert_surge_pct : a->cfg.alert_threshold_pct;
}

/* The condition in words, for the log line and the annotations; who is
 * 'site "hq"' or 'building "Lyon Office" (EMEA)'. */
static void describe(const noc_alerts_t *a, const crossing_t *c, const char *who, char *out,
                     size_t len)
{
    if (is_live(c->kind))
        snprintf(out, len,
                 "%s: %lld of %lld calls in progress with %s loss over %u%% or jitter "
                 "over %u ms in the last %u s (%s side; alert at %u calls)",
                 who, (long long)c->matching, (long long)c->calls,
                 c->kind == KIND_LIVE_WAN ? "inbound" : "outbound", a->cfg.alert_live_loss_pct,
                 a->cfg.alert_live_jitter_ms, a->cfg.alert_live_window_s,
                 c->kind == KIND_LIVE_WAN ? "WAN" : "LAN/Wi-Fi", a->cfg.alert_live_calls);
    else if (is_surge(c->kind))
        snprintf(out, len,
                 "%s: surge of %s verdicts: %lld of %lld calls (%.1f%%) that ended in "
                 "the last %u s (alert at %u calls and %u%%)",
                 who, kind_name[c->kind], (long long)c->matching, (long long)c->calls,
                 c->calls ? 100.0 * (double)c->matching / (double)c->calls : 0.0,
                 a->cfg.alert_surge_window_s, a->cfg.alert_surge_calls, a->cfg.alert_surge_pct);
    else
        snprintf(out, len,
                 "%s: %s verdicts %.1f%% of %lld calls in the last %u s "
                 "(threshold %u%%)",
                 who, kind_name[c->kind],
                 c->calls ? 100.0 * (double)c->matching / (double)c->calls : 0.0,
                 (long long)c->calls, a->cfg.alert_window_s, a->cfg.alert_threshold_pct);
}

static json_t *callscope_payload(const noc_alerts_t *a, const crossing_t *c, const char *now,
                                 const char *from)
{
    json_t *j =
        json_pack("{s:s, s:s, s:s, s:f, s:I, s:I, s:I, s:I, s:s, s:s, s:s}", "type",
                  "callscope.alert", "site", c->site, "kind", kind_name[c->kind], "share_pct",
                  c->calls ? 100.0 * (double)c->matching / (double)c->calls : 0.0, "threshold_pct",
                  (json_int_t)threshold_of(a, c->kind), "calls", (json_int_t)c->calls, "matching",
                  (json_int_t)c->matching, "window_s", (json_int_t)window_of(a, c->kind),
                  "window_start", from, "time", now, "status", c->resolved ? "resolved" : "firing");
    if (j && is_live(c->kind))
        json_object_update_new(j, json_pack("{s:I, s:I, s:I}", "min_calls",
                                            (json_int_t)a->cfg.alert_live_calls, "loss_pct",
                                            (json_int_t)a->cfg.alert_live_loss_pct, "jitter_ms",
                                            (json_int_t)a->cfg.alert_live_jitter_ms));
    if (j && is_surge(c->kind))
        json_object_set_new(j, "min_calls", json_integer((json_int_t)a->cfg.alert_surge_calls));
    if (j)
        json_object_set_new(j, "scope", json_string(c->building ? "building" : "site"));
    if (j && c->building) { /* a building's alert: no probe site */
        json_object_set_new(j, "site", json_null());
        json_object_set_new(j, "building", json_string(c->site));
        json_object_set_new(j, "region", json_string(c->region ? c->region : ""));
    }
    return j;
}

/* Prometheus Alertmanager's webhook body (version 4), one alert in it, so
 * receivers written for Alertmanager take callscope's alerts as they are. */
static json_t *alertmanager_payload(const noc_alerts_t *a, const crossing_t *c, const char *now,
                                    const char *text)
{
    const char *status = c->resolved ? "resolved" : "firing";
    char name[64], key[400];
    const char *scope = c->building ? "building" : "site";
    snprintf(name, sizeof name, "Callscope%s%s", c->building ? "Building" : "Site",
             c->kind == KIND_LAN        ? "LanVerdicts"
             : c->kind == KIND_WAN      ? "WanVerdicts"
             : c->kind == KIND_LIVE_LAN ? "LanDegradedNow"
             : c->kind == KIND_LIVE_WAN ? "WanDegradedNow"
             : c->kind == KIND_ENDPOINT ? "EndpointSurge"
                                        : "CloudSurge");
    snprintf(key, sizeof key, "{}:{alertname=\"%s\", %s=\"%.256s\"}", name, scope, c->site);
    json_t *labels = json_pack("{s:s, s:s, s:s, s:s}", "alertname", name, scope, c->site, "kind",
                               kind_name[c->kind], "severity", "warning");
    if (labels && c->building)
        json_object_set_new(labels, "region", json_string(c->region ? c->region : ""));
    json_t *alert = json_pack("{s:s, s:O, s:{s:s}, s:s, s:s, s:s}", "status", status, "labels",
                              labels, "annotations", "summary", text, "startsAt", now, "endsAt",
                              c->resolved ? now : "0001-01-01T00:00:00Z", "generatorURL", "");
    json_t *j =
        json_pack("{s:s, s:s, s:s, s:s, s:i, s:o, s:O, s:O, s:s, s:[o]}", "version", "4",
                  "groupKey", key, "status", status, "receiver", "callscope", "truncatedAlerts", 0,
                  "groupLabels", json_pack("{s:s, s:s}", "alertname", name, scope, c->site),
                  "commonLabels", labels, "commonAnnotations",
                  json_object_get(alert, "annotations"), "externalURL", "", "alerts", alert);
    json_decref(labels);
    return j;
}

static char *payload(const noc_alerts_t *a, const crossing_t *c, const char *text)
{
    char now[32], from[32];
    timefmt_iso(c->now_us, now, sizeof now);
    timefmt_iso(c->now_us - (int64_t)window_of(a, c->kind) * USEC_PER_SEC, from, sizeof from);
    json_t *j = a->alertmanager ? alertmanager_payload(a, c, now, text)
                                : callscope_payload(a, c, now, from);
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    return s;
}

static bool fire(noc_alerts_t *a, const crossing_t *c)
{
    char site[96], region[64], who[200], text[480];
    printable(c->site, site, sizeof site);
    printable(c->region ? c->region : "", region, sizeof region);
    if (c->building)
        snprintf(who, sizeof who, "building \"%s\" (%s)", site, region[0] ? region : "no region");
    else
        snprintf(who, sizeof who, "site \"%s\"", site);
    describe(a, c, who, text, sizeof text);
    if (c->resolved)
        LOG_INFO("alert resolved: %s", text);
    else
        LOG_WARN("alert: %s", text);
    if (a->cfg.alert_syslog) {
        char line[540];
        snprintf(line, sizeof line, "alert%s: %s", c->resolved ? " resolved" : "", text);
        noc_syslog_warning(line);
    }
    if (!a->webhook)
        return true;
    char *body = payload(a, c, text), err[256];
    bool ok = body && noc_webhook_post(a->webhook, body, a->cfg.alert_timeout_ms, err, sizeof err);
    if (!ok)
        LOG_WARN("alert: %s %s: %s", who, kind_name[c->kind], body ? err : "out of memory");
    free(body);
    return ok;
}

static bool above_of(const noc_alerts_t *a, const crossing_t *c)
{
    if (is_live(c->kind))
        return c->matching >= (int64_t)a->cfg.alert_live_calls;
    if (is_surge(c->kind))
        return c->matching >= (int64_t)a->cfg.alert_surge_calls &&
               c->matching * 100 >= (int64_t)a->cfg.alert_surge_pct * c->calls;
    return c->calls >= (int64_t)a->cfg.alert_min_calls &&
           c->matching * 100 >= (int64_t)a->cfg.alert_threshold_pct * c->calls;
}

/* Sends c (outside the lock: the POST may take a while) and counts a
 * failed POST against s. */
static void send(noc_alerts_t *a, state_t *s, const crossing_t *c)
{
    if (fire(a, c))
        return;
    pthread_mutex_lock(&a->mu);
    s->webhook_failed++;
    pthread_mutex_unlock(&a->mu);
}

/* One (site, kind) figure: fires on an upward crossing outside the rate
 * limit; a fired alert whose condition cleared sends "resolved". */
static void judge(noc_alerts_t *a, const crossing_t *c)
{
    bool above = above_of(a, c);
    pthread_mutex_lock(&a->mu);
    state_t *s = state_of(a, c);
    bool crossing = s && above && !s->above;
    bool limited = crossing && s->last_fired_us &&
                   c->now_us - s->last_fired_us < (int64_t)a->cfg.alert_interval_s * USEC_PER_SEC;
    bool resolving = s && !above && s->firing;
    if (s) {
        s->above = above;
        s->round = a->round;
    }
    if (limited)
        s->suppressed++;
    if (crossing && !limited) {
        s->fired++;
        s->firing = true;
        s->last_fired_us = c->now_us;
    }
    if (resolving) {
        s->firing = false;
        s->resolved++;
    }
    pthread_mutex_unlock(&a->mu);
    if (crossing && !limited)
        send(a, s, c);
    if (resolving) {
        crossing_t r = *c;
        r.resolved = true;
        send(a, s, &r);
    }
}

/* A check that could not read the store (counted in
 * callscope_alerts_check_errors_total); a store without verdicts yet is
 * normal for a while and not logged. */
static void warn(const char *err)
{
    if (strncmp(err, "no verdicts yet", 15) != 0)
        warn(err);
}

/* The store's connection, opened on first use and again after a failed
 * check (a PostgreSQL server restarted, a SQLite file replaced). */
static bool connect(noc_alerts_t *a)
{
    char err[256];
    if (a->db)
        return true;
    a->db = noc_store_open(a->db_path, err, sizeof err);
    if (!a->db)
        warn(err);
    return a->db != NULL;
}

/* Per site, from the interval records stored within the live window: the
 * calls in progress (one per client address: the sender of outbound
 * streams, the receiver of inbound ones) and how many of them have
 * outbound or inbound loss (lost over sent, the window's sum) or jitter
 * over the limits. SQLite's two-argument max() is PostgreSQL's GREATEST. */
#define LIVE_SQL_(GREATEST)                                                                        \
    "WITH c AS (SELECT site,"                                                                      \
    "  CASE WHEN direction = 'inbound' THEN dst_ip_hmac ELSE src_ip_hmac END AS client,"           \
    "  direction = 'inbound' AS inbound,"                                                          \
    "  100.0 * sum(lost) / " GREATEST "(1, sum(packets) + sum(lost)) > ?2"                         \
    "  OR max(jitter_ms_max) > ?3 AS bad"                                                          \
    "  FROM intervals WHERE received >= ?1 AND site <> '' GROUP BY site, client, inbound)"         \
    " SELECT site, count(DISTINCT client),"                                                        \
    "  count(DISTINCT CASE WHEN bad AND NOT inbound THEN client END),"                             \
    "  count(DISTINCT CASE WHEN bad AND inbound THEN client END)"                                  \
    " FROM c GROUP BY site ORDER BY site LIMIT ?4"
static const db_sql_t live_sql = {LIVE_SQL_("max"), LIVE_SQL_("GREATEST")};

/* Per site, of the calls that ended within the window (?1): how many, and
 * how many were judged ?2 and ?3. */
static const db_sql_t share_sql = {"SELECT site, count(*), count(*) FILTER (WHERE verdict = ?3),"
                                   " count(*) FILTER (WHERE verdict = ?4)"
                                   " FROM verdict_calls WHERE \"end\" >= ?1 AND site IS NOT NULL"
                                   " AND site <> '' GROUP BY site ORDER BY site LIMIT ?2",
                                   NULL};

/* The same over the surge window. On SQLite a range over the "end" index
 * (verdict_calls_end, verdict schema 3), named because SQLite 3.40
 * otherwise walks verdict_calls_cover for the GROUP BY's order, every call
 * of the store: 1,050,000 calls, a 24 h window, 19 ms of CPU instead of
 * 39 ms, and the gap grows with the store. PostgreSQL has no INDEXED BY
 * (its planner picks the range by its statistics). */
static const db_sql_t surge_sql = {
    "SELECT site, count(*), count(*) FILTER (WHERE verdict = ?3),"
    " count(*) FILTER (WHERE verdict = ?4)"
    " FROM verdict_calls INDEXED BY verdict_calls_end WHERE \"end\" >= ?1"
    " AND site IS NOT NULL AND site <> '' GROUP BY site ORDER BY site LIMIT ?2",
    "SELECT site, count(*), count(*) FILTER (WHERE verdict = ?3),"
    " count(*) FILTER (WHERE verdict = ?4)"
    " FROM verdict_calls WHERE \"end\" >= ?1"
    " AND site IS NOT NULL AND site <> '' GROUP BY site ORDER BY site LIMIT ?2"};

/* Rows of (site, calls, calls of kind first, calls of kind first + 1):
 * each site judged for both kinds; st finalised. */
static bool judge_rows(noc_alerts_t *a, db_stmt_t **st, kind_t first, int64_t now_us)
{
    int rc;
    char err[256];
    while ((rc = noc_store_step(*st, NULL, err, sizeof err)) == DB_ROW) {
        for (int k = first; k <= (int)first + 1; k++) {
            const char *site = db_col_text(*st, 0);
            crossing_t c = {site ? site : "",
                            (kind_t)k,
                            db_col_int(*st, 1),
                            db_col_int(*st, 2 + (k - (int)first)),
                            now_us,
                            false,
                            false,
                            NULL};
            judge(a, &c);
        }
    }
    db_finalize(st);
    if (rc == DB_ERR)
        warn(err);
    return rc == DB_DONE;
}

static bool check_live(noc_alerts_t *a, int64_t now_us)
{
    char err[256], since[32];
    db_stmt_t *st;
    if (!connect(a))
        return false;
    if (!(st = noc_store_prepare(a->db, db_pick(a->db, live_sql), err, sizeof err))) {
        warn(err);
        return false;
    }
    timefmt_iso(now_us - (int64_t)a->cfg.alert_live_window_s * USEC_PER_SEC, since, sizeof since);
    db_bind_text(st, 1, since, -1);
    db_bind_real(st, 2, a->cfg.alert_live_loss_pct);
    db_bind_real(st, 3, a->cfg.alert_live_jitter_ms);
    db_bind_int(st, 4, MAX_SITES_PER_CHECK);
    return judge_rows(a, &st, KIND_LIVE_LAN, now_us);
}

/* The share (lan, wan) or surge (endpoint, cloud) check of the sites. */
static bool check_ended(noc_alerts_t *a, db_sql_t sql, unsigned window_s, kind_t first,
                        int64_t now_us)
{
    char err[256], since[32];
    db_stmt_t *st;
    if (!connect(a))
        return false;
    if (!(st = noc_store_prepare(a->db, db_pick(a->db, sql), err, sizeof err))) {
        warn(err);
        return false;
    }
    timefmt_iso(now_us - (int64_t)window_s * USEC_PER_SEC, since, sizeof since);
    db_bind_text(st, 1, since, -1);
    db_bind_int(st, 2, MAX_SITES_PER_CHECK);
    db_bind_text(st, 3, kind_name[first], -1);
    db_bind_text(st, 4, kind_name[first + 1], -1);
    return judge_rows(a, &st, first, now_us);
}

static bool check(noc_alerts_t *a, int64_t now_us)
{
    return check_ended(a, share_sql, a->cfg.alert_window_s, KIND_LAN, now_us);
}

static bool check_surge(noc_alerts_t *a, int64_t now_us)
{
    return check_ended(a, surge_sql, a->cfg.alert_surge_window_s, KIND_ENDPOINT, now_us);
}

/* Per building of the CQD building file: of the calls that ended within
 * window_s with a participant in the building, those whose worst
 * participant there was judged kinds [k0, k0 + 1] (noc_buildings_calls:
 * the building's own side of the call). Unmapped participants and the
 * buildings past NOC_BUILDINGS_MAX ("(other)", counted in /metrics) raise
 * nothing. */
static bool check_buildings(noc_alerts_t *a, const building_map_t *bm, unsigned window_s, kind_t k0,
                            int64_t now_us)
{
    char err[256], since[32];
    timefmt_iso(now_us - (int64_t)window_s * USEC_PER_SEC, since, sizeof since);
    noc_buildings_counts_clear(a->bc);
    if (!noc_buildings_calls(a->db, a->pii, bm, since, a->bc, err, sizeof err)) {
        warn(err);
        return false;
    }
    for (size_t i = 0; i < a->bc->n; i++) {
        const noc_buildings_count_t *b = &a->bc->c[i];
        if (!b->building[0] || (strcmp(b->building, NOC_BUILDINGS_OTHER) == 0 && !b->region[0]))
            continue;
        for (int k = k0; k <= (int)k0 + 1; k++) {
            /* verdicts[] in noc_query_verdicts' order: lan wan endpoint cloud */
            int v = k == KIND_LAN ? 0 : k == KIND_WAN ? 1 : k == KIND_ENDPOINT ? 2 : 3;
            crossing_t c = {b->building, (kind_t)k, b->calls, b->verdicts[v],
                            now_us,      false,     true,     b->region};
            judge(a, &c);
        }
    }
    return true;
}

/* A site without calls in the window any more has share 0: re-armed, and
 * a firing alert of it resolved; f: the family whose query just ran. */
static void rearm_absent(noc_alerts_t *a, int64_t now_us, family_t f)
{
    for (size_t i = 0; i < a->nstates; i++) {
        pthread_mutex_lock(&a->mu);
        state_t *s = &a->states[i];
        bool absent = s->round != a->round && family_of(s) == f;
        crossing_t c = {s->site, s->kind, 0, 0, now_us, false, s->building, s->region};
        pthread_mutex_unlock(&a->mu);
        if (absent)
            judge(a, &c); /* below: clears, and resolves when firing */
    }
}

void noc_alerts_tick(noc_alerts_t *a, int64_t now_us)
{
    if (now_us < a->next_us)
        return;
    a->next_us = now_us + (int64_t)a->cfg.alert_check_s * USEC_PER_SEC;
    a->round++;
    bool ok = check(a, now_us);
    if (ok)
        rearm_absent(a, now_us, FAMILY_SHARE);
    if (a->cfg.alert_surge_calls > 0) {
        bool surge_ok = check_surge(a, now_us);
        if (surge_ok)
            rearm_absent(a, now_us, FAMILY_SURGE);
        ok = ok && surge_ok;
    }
    if (a->buildings && ok) {
        char err[256];
        noc_buildings_ref_t *ref = NULL;
        if (connect(a) && (ref = noc_buildings_acquire(a->buildings, a->db, err, sizeof err))) {
            const building_map_t *bm = noc_buildings_map(ref);
            bool b_ok = building_map_count(bm) == 0 || /* no file: no buildings */
                        check_buildings(a, bm, a->cfg.alert_window_s, KIND_LAN, now_us);
            if (b_ok)
                rearm_absent(a, now_us, FAMILY_BUILDING_SHARE);
            if (a->cfg.alert_surge_calls > 0) {
                bool s_ok =
                    building_map_count(bm) == 0 ||
                    check_buildings(a, bm, a->cfg.alert_surge_window_s, KIND_ENDPOINT, now_us);
                if (s_ok)
                    rearm_absent(a, now_us, FAMILY_BUILDING_SURGE);
                b_ok = b_ok && s_ok;
            }
            ok = b_ok;
            noc_buildings_release(a->buildings, &ref);
        } else {
            ok = false;
        }
    }
    if (a->cfg.alert_live_calls > 0) { /* on its own: a store may have no verdicts yet */
        bool live_ok = check_live(a, now_us);
        if (live_ok)
            rearm_absent(a, now_us, FAMILY_LIVE);
        ok = ok && live_ok;
    }
    if (!ok) /* connect again at the next check (a server restarted, a file replaced) */
        noc_store_close(&a->db);
    pthread_mutex_lock(&a->mu);
    a->checks++;
    if (!ok)
        a->check_errors++;
    pthread_mutex_unlock(&a->mu);
}

/* The site states' series under name, and the building states' under
 * callscope_building_<name without callscope_> (labels building, region,
 * kind): new names, so a rule over the site series sees sites only. */
static void per_state(noc_alerts_t *a, dynbuf_t *out, const char *name, const char *help,
                      size_t field)
{
    char bname[128];
    snprintf(bname, sizeof bname, "callscope_building_%s", name + strlen("callscope_"));
    for (int building = 0; building < 2; building++) {
        if (building && !a->buildings)
            break;
        noc_metrics_family(out, building ? bname : name, field == SIZE_MAX ? "gauge" : "counter",
                           help);
        for (size_t i = 0; i < a->nstates; i++) {
            const state_t *s = &a->states[i];
            if (s->building != (building != 0))
                continue;
            const char *l[] = {"site", s->site, "kind", kind_name[s->kind], NULL};
            const char *bl[] = {"building",         s->site, "region", s->region, "kind",
                                kind_name[s->kind], NULL};
            double v = field == SIZE_MAX ? (double)s->above
                                         : (double)*(const uint64_t *)((const char *)s + field);
            noc_metrics_sample(out, building ? bname : name, building ? bl : l, v);
        }
    }
}

void noc_alerts_metrics(noc_alerts_t *a, dynbuf_t *out)
{
    pthread_mutex_lock(&a->mu);
    per_state(a, out, "callscope_alerts_fired_total",
              "Alerts sent (syslog, webhook) per site and kind", offsetof(state_t, fired));
    per_state(a, out, "callscope_alerts_suppressed_total",
              "Crossings not alerted: same site and kind alerted within the rate limit",
              offsetof(state_t, suppressed));
    per_state(a, out, "callscope_alerts_webhook_failures_total", "Alerts whose webhook POST failed",
              offsetof(state_t, webhook_failed));
    per_state(a, out, "callscope_alerts_resolved_total",
              "Fired alerts whose condition cleared (a resolved message sent)",
              offsetof(state_t, resolved));
    per_state(a, out, "callscope_alerts_active",
              "1 while a site's (building's) share is at or above the threshold", SIZE_MAX);
    noc_metrics_family(out, "callscope_alerts_checks_total", "counter", "Alert evaluations");
    noc_metrics_sample(out, "callscope_alerts_checks_total", NULL, (double)a->checks);
    noc_metrics_family(out, "callscope_alerts_check_errors_total", "counter",
                       "Alert evaluations that could not read the store");
    noc_metrics_sample(out, "callscope_alerts_check_errors_total", NULL, (double)a->check_errors);
    pthread_mutex_unlock(&a->mu);
}
