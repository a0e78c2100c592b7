#include "noc_alerts.h"

#include <jansson.h>
#include <pthread.h>
#include <stddef.h>
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

#define MAX_STATES 1024
#define MAX_SITES_PER_CHECK 10000

typedef enum { KIND_LAN, KIND_WAN, KIND_COUNT } kind_t;

static const char *const kind_name[KIND_COUNT] = {"lan", "wan"};

typedef struct {
    char site[NOC_QUERY_VALUE_MAX + 1];
    kind_t kind;
    bool above;
    int64_t last_fired_us; /* 0: never */
    uint64_t fired, suppressed, webhook_failed;
    uint64_t round; /* the last check that saw this site */
} state_t;

typedef struct {
    const char *site;
    kind_t kind;
    int64_t calls, matching;
    int64_t now_us;
} crossing_t;

struct noc_alerts {
    noc_cfg_t cfg;
    char *db_path, *webhook;
    sqlite3 *db;
    int64_t next_us;
    pthread_mutex_t mu; /* guards the counters below and states[] */
    state_t *states;
    size_t nstates;
    uint64_t checks, check_errors, states_full;
    uint64_t round; /* checks started, written by the tick thread only */
};

noc_alerts_t *noc_alerts_new(const noc_cfg_t *cfg, char *err, size_t errlen)
{
    noc_alerts_t *a = calloc(1, sizeof *a);
    if (!a) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    a->cfg = *cfg;
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
    noc_db_close(&a->db);
    free(a->states);
    free(a->db_path);
    free(a->webhook);
    free(a);
    *pa = NULL;
}

/* The state of (site, kind), made on first sight; NULL when the table is full. */
static state_t *state_of(noc_alerts_t *a, const char *site, kind_t k)
{
    for (size_t i = 0; i < a->nstates; i++)
        if (a->states[i].kind == k && strcmp(a->states[i].site, site) == 0)
            return &a->states[i];
    if (a->nstates == MAX_STATES) {
        a->states_full++;
        return NULL;
    }
    state_t *s = &a->states[a->nstates++];
    snprintf(s->site, sizeof s->site, "%s", site);
    s->kind = k;
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

static char *payload(const noc_alerts_t *a, const crossing_t *c)
{
    char now[32], from[32];
    timefmt_iso(c->now_us, now, sizeof now);
    timefmt_iso(c->now_us - (int64_t)a->cfg.alert_window_s * USEC_PER_SEC, from, sizeof from);
    json_t *j = json_pack("{s:s, s:s, s:s, s:f, s:I, s:I, s:I, s:I, s:s, s:s}", "type",
                          "callscope.alert", "site", c->site, "kind", kind_name[c->kind],
                          "share_pct", 100.0 * (double)c->matching / (double)c->calls,
                          "threshold_pct", (json_int_t)a->cfg.alert_threshold_pct, "calls",
                          (json_int_t)c->calls, "matching", (json_int_t)c->matching, "window_s",
                          (json_int_t)a->cfg.alert_window_s, "window_start", from, "time", now);
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    return s;
}

static bool fire(noc_alerts_t *a, const crossing_t *c)
{
    char site[96], line[256];
    printable(c->site, site, sizeof site);
    snprintf(line, sizeof line,
             "alert: site \"%s\": %s verdicts %.1f%% of %lld calls in the last %u s "
             "(threshold %u%%)",
             site, kind_name[c->kind], 100.0 * (double)c->matching / (double)c->calls,
             (long long)c->calls, a->cfg.alert_window_s, a->cfg.alert_threshold_pct);
    LOG_WARN("%s", line);
    if (a->cfg.alert_syslog)
        noc_syslog_warning(line);
    if (!a->webhook)
        return true;
    char *body = payload(a, c), err[256];
    bool ok = body && noc_webhook_post(a->webhook, body, a->cfg.alert_timeout_ms, err, sizeof err);
    if (!ok)
        LOG_WARN("alert: site \"%s\" %s: %s", site, kind_name[c->kind],
                 body ? err : "out of memory");
    free(body);
    return ok;
}

/* One (site, kind) figure: fires on an upward crossing outside the rate limit. */
static void judge(noc_alerts_t *a, const crossing_t *c)
{
    bool above = c->calls >= (int64_t)a->cfg.alert_min_calls &&
                 c->matching * 100 >= (int64_t)a->cfg.alert_threshold_pct * c->calls;
    pthread_mutex_lock(&a->mu);
    state_t *s = state_of(a, c->site, c->kind);
    bool crossing = s && above && !s->above;
    bool limited = crossing && s->last_fired_us &&
                   c->now_us - s->last_fired_us < (int64_t)a->cfg.alert_interval_s * USEC_PER_SEC;
    if (s) {
        s->above = above;
        s->round = a->round;
    }
    if (limited)
        s->suppressed++;
    if (crossing && !limited) {
        s->fired++;
        s->last_fired_us = c->now_us;
    }
    pthread_mutex_unlock(&a->mu);
    if (!crossing || limited)
        return;
    bool ok = fire(a, c); /* outside the lock: the POST may take a while */
    if (!ok) {
        pthread_mutex_lock(&a->mu);
        s->webhook_failed++;
        pthread_mutex_unlock(&a->mu);
    }
}

static bool check(noc_alerts_t *a, int64_t now_us)
{
    char err[256];
    if (!a->db && !(a->db = noc_db_open(a->db_path, err, sizeof err)))
        return false;
    sqlite3_stmt *st;
    if (!noc_db_prepare(a->db,
                        "SELECT site, count(*), sum(verdict = 'lan'), sum(verdict = 'wan')"
                        " FROM verdict_calls WHERE \"end\" >= ?1 AND site IS NOT NULL"
                        " AND site <> '' GROUP BY site ORDER BY site LIMIT ?2",
                        &st, err, sizeof err))
        return false;
    char since[32];
    timefmt_iso(now_us - (int64_t)a->cfg.alert_window_s * USEC_PER_SEC, since, sizeof since);
    sqlite3_bind_text(st, 1, since, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 2, MAX_SITES_PER_CHECK);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        for (int k = 0; k < KIND_COUNT; k++) {
            crossing_t c = {(const char *)sqlite3_column_text(st, 0), (kind_t)k,
                            sqlite3_column_int64(st, 1), sqlite3_column_int64(st, 2 + k), now_us};
            judge(a, &c);
        }
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE;
}

/* A site without calls in the window any more has share 0: re-armed. */
static void rearm_absent(noc_alerts_t *a)
{
    pthread_mutex_lock(&a->mu);
    for (size_t i = 0; i < a->nstates; i++)
        if (a->states[i].round != a->round)
            a->states[i].above = false;
    pthread_mutex_unlock(&a->mu);
}

void noc_alerts_tick(noc_alerts_t *a, int64_t now_us)
{
    if (now_us < a->next_us)
        return;
    a->next_us = now_us + (int64_t)a->cfg.alert_check_s * USEC_PER_SEC;
    a->round++;
    bool ok = check(a, now_us);
    if (ok)
        rearm_absent(a);
    pthread_mutex_lock(&a->mu);
    a->checks++;
    if (!ok)
        a->check_errors++;
    pthread_mutex_unlock(&a->mu);
}

static void per_state(noc_alerts_t *a, dynbuf_t *out, const char *name, const char *help,
                      size_t field)
{
    noc_metrics_family(out, name, "counter", help);
    for (size_t i = 0; i < a->nstates; i++) {
        const state_t *s = &a->states[i];
        const char *l[] = {"site", s->site, "kind", kind_name[s->kind], NULL};
        noc_metrics_sample(out, name, l, (double)*(const uint64_t *)((const char *)s + field));
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
    noc_metrics_family(out, "callscope_alerts_active", "gauge",
                       "1 while a site's share is at or above the threshold");
    for (size_t i = 0; i < a->nstates; i++) {
        const char *l[] = {"site", a->states[i].site, "kind", kind_name[a->states[i].kind], NULL};
        noc_metrics_sample(out, "callscope_alerts_active", l, a->states[i].above);
    }
    noc_metrics_family(out, "callscope_alerts_checks_total", "counter", "Alert evaluations");
    noc_metrics_sample(out, "callscope_alerts_checks_total", NULL, (double)a->checks);
    noc_metrics_family(out, "callscope_alerts_check_errors_total", "counter",
                       "Alert evaluations that could not read the store");
    noc_metrics_sample(out, "callscope_alerts_check_errors_total", NULL, (double)a->check_errors);
    pthread_mutex_unlock(&a->mu);
}
