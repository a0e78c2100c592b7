/* noc.c - the NOC outputs as one handle for 'run' and 'serve': the HTTP
 * server (noc_http), /metrics (noc_metrics), alerts (noc_alerts). */
#include "noc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "noc_alerts.h"
#include "noc_db.h"
#include "noc_http.h"
#include "noc_metrics.h"
#include "timefmt.h"

struct noc {
    sqlite3 *db;            /* the HTTP thread's */
    noc_metrics_t *metrics; /* the HTTP thread's */
    noc_alerts_t *alerts;
    noc_http_t *http;
    noc_counters_fn counters;
    void *ctx;
};

void noc_cfg_defaults(noc_cfg_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->bind = "127.0.0.1:8443";
    cfg->token_file = "/etc/callscope/noc.token";
    cfg->max_rows = 1000;
    cfg->alert_syslog = true;
    cfg->alert_threshold_pct = 30;
    cfg->alert_window_s = 900;
    cfg->alert_min_calls = 5;
    cfg->alert_interval_s = 3600;
    cfg->alert_check_s = 60;
    cfg->alert_timeout_ms = 3000;
    /* Teams' network targets: loss under 1 % in any 15 s, jitter under 30 ms
     * (also CQD's "poor" jitter); three calls rule out one bad client. */
    cfg->alert_live_calls = 3;
    cfg->alert_live_loss_pct = 1;
    cfg->alert_live_jitter_ms = 30;
    cfg->alert_live_window_s = 60;
    cfg->alert_format = "callscope";
}

/* /metrics, in the HTTP thread. */
static void metrics(void *ctx, dynbuf_t *out)
{
    noc_t *n = ctx;
    noc_metrics_store(n->metrics, n->db, timefmt_now(), out);
    noc_alerts_metrics(n->alerts, out);
    if (n->counters) {
        json_t *j = n->counters(n->ctx);
        noc_metrics_json(j, out);
        json_decref(j);
    }
}

noc_t *noc_new(const noc_cfg_t *cfg, const pii_t *pii, noc_counters_fn counters, void *ctx,
               char *err, size_t errlen)
{
    noc_t *n = calloc(1, sizeof *n);
    if (!n) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    n->counters = counters;
    n->ctx = ctx;
    n->db = noc_db_open(cfg->db_path, err, errlen);
    n->metrics = n->db ? noc_metrics_new() : NULL;
    n->alerts = n->metrics ? noc_alerts_new(cfg, err, errlen) : NULL;
    if (n->db && !n->metrics)
        snprintf(err, errlen, "out of memory");
    if (!n->alerts) {
        noc_free(&n);
        return NULL;
    }
    noc_http_cfg_t hc = {cfg->bind,
                         cfg->token_file,
                         cfg->tls_cert,
                         cfg->tls_key,
                         cfg->metrics_open,
                         cfg->max_rows,
                         pii,
                         n->db,
                         metrics,
                         n};
    n->http = noc_http_new(&hc, err, errlen);
    if (!n->http) {
        noc_free(&n);
        return NULL;
    }
    return n;
}

void noc_tick(noc_t *n, int64_t now_us)
{
    noc_alerts_tick(n->alerts, now_us);
}

unsigned noc_port(const noc_t *n)
{
    return noc_http_port(n->http);
}

void noc_free(noc_t **pn)
{
    if (!pn || !*pn)
        return;
    noc_t *n = *pn;
    noc_http_free(&n->http); /* first: the thread uses the rest */
    noc_alerts_free(&n->alerts);
    noc_metrics_free(&n->metrics);
    noc_db_close(&n->db);
    free(n);
    *pn = NULL;
}
