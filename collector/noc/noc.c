/* noc.c - the NOC outputs as one handle for 'run' and 'serve': the HTTP
 * server (noc_http), /metrics (noc_metrics), alerts (noc_alerts). */
#include "noc.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "noc_alerts.h"
#include "noc_db.h"
#include "noc_http.h"
#include "noc_metrics.h"
#include "timefmt.h"

struct noc {
    db_t *db;               /* the HTTP thread's (the metrics callback's) */
    noc_metrics_t *metrics; /* the HTTP thread's */
    noc_alerts_t *alerts;
    noc_buildings_t *buildings; /* the building map, shared by the three */
    noc_http_t *http;
    noc_counters_fn counters;
    void *ctx;
};

#define NOC(f) offsetof(noc_cfg_t, f)
#define BOTH (NOC_OPT_SERVE | NOC_OPT_RUN)

/* Every NOC setting once: 'serve' takes them all, 'run' those marked
 * NOC_OPT_RUN ("http-" before the names marked OPTTAB_PREFIXED). */
static const opttab_opt_t opts[] = {
    {{"token-file", 't', OPTTAB_STR, NOC(token_file), 0, 0, "FILE",
      "The investigator's bearer token (Authorization: Bearer TOKEN), which sees everything, "
      "names and addresses included, each answer that shows any recorded in the audit log: "
      "the file's first line, 16-4096 printable characters, file mode 0600; its base name "
      "names the token in the audit log. Make one with: head -c 32 /dev/urandom | base64 > "
      "FILE. An empty value: no investigator (viewers only)."},
     "/etc/callscope/noc.token",
     BOTH,
     OPTTAB_PREFIXED},
    {{"viewer-token-file", 0, OPTTAB_STR, NOC(viewer_token_file), 0, 0, "FILE",
      "The viewer's bearer token, made and kept the same way (a different token): verdicts, "
      "figures and sites, with names, addresses and devices as stable pseudonyms "
      "('ip-1a2b3c4d'), free text and meeting links withheld, and no search by person "
      "(default: no viewer role)."},
     NULL,
     BOTH,
     OPTTAB_PREFIXED},
    {{"audit-log", 0, OPTTAB_STR, NOC(audit_log), 0, 0, "FILE",
      "Where each answer that showed an investigator personal data is recorded (JSON lines, "
      "appended, mode 0600; read it with 'callscope-collector audit'): time, token name, "
      "endpoint, call ids and which personal fields, never a value. Must be writable at start; "
      "an answer whose record cannot be written is refused (default: audit.log beside the "
      "store, /var/lib/callscope/audit.log for the packaged one)."},
     NULL,
     BOTH,
     OPTTAB_PREFIXED},
    {{"bind", 'b', OPTTAB_STR, NOC(bind), 0, 0, "ADDR:PORT",
      "Where to listen: 127.0.0.1:8443, 0.0.0.0:8443, [::1]:8443; port 0 picks a free one, "
      "logged at start."},
     "127.0.0.1:8443",
     NOC_OPT_SERVE,
     0},
    {{"tls-cert", 0, OPTTAB_STR, NOC(tls_cert), 0, 0, "FILE",
      "Serve HTTPS with this PEM certificate (chain); needs the TLS key below."},
     NULL,
     BOTH,
     OPTTAB_PREFIXED},
    {{"tls-key", 0, OPTTAB_STR, NOC(tls_key), 0, 0, "FILE",
      "The PEM private key of the TLS certificate."},
     NULL,
     BOTH,
     OPTTAB_PREFIXED},
    {{"metrics-open", 0, OPTTAB_FLAG, NOC(metrics_open), 0, 0, NULL,
      "Serve /metrics without the token (it holds no addresses or names). By default /metrics "
      "needs the token like the API."},
     NULL,
     BOTH,
     0},
    {{"max-rows", 0, OPTTAB_UINT, NOC(max_rows), 1, 10000, "N",
      "Largest 'limit' a client may ask for."},
     "1000",
     BOTH,
     0},
    {{"live-hold", 0, OPTTAB_UINT, NOC(live_hold_s), 1, 300, "SECONDS",
      "How long a call stays on the live panel (/api/live) after its newest interval record: "
      "a stream counts as in progress while that record was stored at most SECONDS ago, or "
      "2.5 interval lengths when that is longer (the probe's --interval), and never longer "
      "than the 300 s look-back. Shorter shows a call's end sooner; too short for the "
      "probe's interval and its delivery delay makes calls blink off between records. "
      "/api/live reports it as hold_s."},
     "30",
     BOTH,
     0},
    {{"alert-webhook", 0, OPTTAB_STR, NOC(alert_webhook), 0, 0, "URL",
      "POST each alert as JSON to this http(s) URL (default: none)."},
     NULL,
     BOTH,
     0},
    {{"alert-threshold", 0, OPTTAB_UINT, NOC(alert_threshold_pct), 1, 100, "PERCENT",
      "Alert when a site's share of 'lan' (or of 'wan') verdicts reaches PERCENT of its calls."},
     "30",
     BOTH,
     0},
    {{"alert-window", 0, OPTTAB_UINT, NOC(alert_window_s), 60, 86400, "SECONDS",
      "The share counts the calls that ended within the last SECONDS."},
     "900",
     BOTH,
     0},
    {{"alert-min-calls", 0, OPTTAB_UINT, NOC(alert_min_calls), 1, 1000000, "N",
      "No alert for a site with fewer calls than N in the window."},
     "5",
     BOTH,
     0},
    {{"alert-interval", 0, OPTTAB_UINT, NOC(alert_interval_s), 0, 604800, "SECONDS",
      "At most one alert per site and kind within SECONDS; later crossings are counted as "
      "suppressed."},
     "3600",
     BOTH,
     0},
    {{"alert-check", 0, OPTTAB_UINT, NOC(alert_check_s), 1, 3600, "SECONDS",
      "How often the shares are evaluated."},
     "60",
     BOTH,
     0},
    {{"alert-timeout", 0, OPTTAB_UINT, NOC(alert_timeout_ms), 100, 60000, "MS",
      "Time limit of one webhook POST."},
     "3000",
     BOTH,
     0},
    /* Teams' network targets: loss under 1 % in any 15 s, jitter under 30 ms
     * (also CQD's "poor" jitter); three calls rule out one bad client. */
    {{"alert-live-calls", 0, OPTTAB_UINT, NOC(alert_live_calls), 0, 100000, "N",
      "Live alert when N calls in progress at a site have inbound (WAN) or outbound (LAN) loss "
      "or jitter over the limits; 0: off."},
     "3",
     BOTH,
     0},
    {{"alert-live-loss", 0, OPTTAB_UINT, NOC(alert_live_loss_pct), 0, 100, "PERCENT",
      "Live alert loss limit over the window (Teams' target)."},
     "1",
     BOTH,
     0},
    {{"alert-live-jitter", 0, OPTTAB_UINT, NOC(alert_live_jitter_ms), 1, 10000, "MS",
      "Live alert jitter limit (Teams' target and CQD's poor)."},
     "30",
     BOTH,
     0},
    {{"alert-live-window", 0, OPTTAB_UINT, NOC(alert_live_window_s), 10, 3600, "SECONDS",
      "Live alerts judge the interval records of the last SECONDS."},
     "60",
     BOTH,
     0},
    /* CQD's target for poor audio calls is under 3 %: a tenth of a site's
     * calls judged endpoint (or cloud) is over three times that, and five
     * calls keep one person's broken headset from raising a site alert. */
    {{"alert-surge-calls", 0, OPTTAB_UINT, NOC(alert_surge_calls), 0, 100000, "N",
      "Surge alert when at least N of a site's calls that ended within the surge window were "
      "judged endpoint (or cloud), and at least the surge share of them; 0: off."},
     "5",
     BOTH,
     0},
    {{"alert-surge-share", 0, OPTTAB_UINT, NOC(alert_surge_pct), 1, 100, "PERCENT",
      "Surge alert share: endpoint (or cloud) verdicts at least PERCENT of the site's calls."},
     "10",
     BOTH,
     0},
    {{"alert-surge-window", 0, OPTTAB_UINT, NOC(alert_surge_window_s), 60, 86400, "SECONDS",
      "Surge alerts count the calls that ended within the last SECONDS."},
     "900",
     BOTH,
     0},
    {{"alert-format", 0, OPTTAB_STR, NOC(alert_format), 0, 0, "FORMAT",
      "Webhook body: callscope, or alertmanager (Prometheus Alertmanager's webhook format)."},
     "callscope",
     BOTH,
     0},
    {{"no-syslog", 0, OPTTAB_NOFLAG, NOC(alert_syslog), 0, 0, NULL,
      "Do not send alerts to syslog(3) (they are still logged on stderr)."},
     NULL,
     BOTH,
     0},
};

const opttab_opt_t *noc_options(size_t *n)
{
    *n = sizeof opts / sizeof opts[0];
    return opts;
}

void noc_cfg_defaults(noc_cfg_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    opttab_part_t part = {opts, sizeof opts / sizeof opts[0], 0, NULL, 0};
    opttab_t t = {.prog = "noc", .parts = &part, .nparts = 1, .cfg = cfg};
    opttab_defaults(&t);
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

bool noc_audit_path(const char *audit_log, const char *db_path, char *buf, size_t buflen)
{
    int n;
    /* a postgresql:// store has no directory: audit.log in the working one */
    const char *slash = db_path && !db_is_uri(db_path) ? strrchr(db_path, '/') : NULL;
    if (audit_log && *audit_log)
        n = snprintf(buf, buflen, "%s", audit_log);
    else if (slash)
        n = snprintf(buf, buflen, "%.*s/" NOC_AUDIT_FILE, (int)(slash - db_path), db_path);
    else
        n = snprintf(buf, buflen, NOC_AUDIT_FILE);
    return n >= 0 && (size_t)n < buflen;
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
    n->db = noc_store_open(cfg->db_path, err, errlen);
    n->buildings = n->db ? noc_buildings_new() : NULL;
    n->metrics = n->buildings ? noc_metrics_new() : NULL;
    n->alerts = n->metrics ? noc_alerts_new(cfg, err, errlen) : NULL;
    if (n->db && !n->metrics)
        snprintf(err, errlen, "out of memory");
    if (!n->alerts) {
        noc_free(&n);
        return NULL;
    }
    noc_metrics_buildings(n->metrics, pii, n->buildings);
    noc_alerts_buildings(n->alerts, pii, n->buildings);
    /* the map read once now, outside any request's time limit (a large
     * building file under load could take a request's 3 s); a failure
     * here is retried by the first request that needs it */
    char berr[256];
    noc_buildings_ref_t *ref = noc_buildings_acquire(n->buildings, n->db, berr, sizeof berr);
    if (!ref)
        LOG_WARN("noc: building map: %s (read again on the first request)", berr);
    noc_buildings_release(n->buildings, &ref);
    char audit[4096];
    if (!noc_audit_path(cfg->audit_log, cfg->db_path, audit, sizeof audit)) {
        snprintf(err, errlen, "the audit log's path is too long");
        noc_free(&n);
        return NULL;
    }
    noc_http_cfg_t hc = {cfg->bind,
                         cfg->token_file,
                         cfg->viewer_token_file,
                         audit,
                         cfg->tls_cert,
                         cfg->tls_key,
                         cfg->metrics_open,
                         cfg->max_rows,
                         pii,
                         n->db,
                         cfg->db_path,
                         metrics,
                         n,
                         n->buildings,
                         cfg->live_hold_s};
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
    noc_buildings_free(&n->buildings);
    noc_store_close(&n->db);
    free(n);
    *pn = NULL;
}
