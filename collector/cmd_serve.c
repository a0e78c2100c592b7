/* callscope-collector serve: the NOC outputs on their own, reading a store
 * that 'run' (and the verdict engine) write. docs/noc.md. */
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "commands.h"
#include "pii.h"
#include "log.h"
#include "noc.h"
#include "opttab.h"
#include "textwrap.h"
#include "timefmt.h"

typedef struct {
    noc_cfg_t noc;
    const char *org_keys[PII_MAX_KEYS];
    size_t norg_keys;
    int verbosity;
} serve_cfg_t;

#define SRV(f) offsetof(serve_cfg_t, f)

static const opttab_def_t opts[] = {
    {"db", 'd', OPTTAB_STR, SRV(noc.db_path), 0, 0, "FILE",
     "The collector's SQLite store (required; opened read-only, never changed)."},
    {"org-key", 'o', OPTTAB_SPECIAL, 0, 0, 0, "FILE",
     "The organisation's master key (from 'org-keygen'; mode 0600; default "
     "/etc/callscope/org.key): turns a client address in a query into its lookup hash and "
     "opens the sealed addresses shown to authenticated users. Repeat for older keys after "
     "rotation."},
    {"token-file", 't', OPTTAB_STR, SRV(noc.token_file), 0, 0, "FILE",
     "The bearer token clients must send (Authorization: Bearer TOKEN): the file's first "
     "line, 16-4096 printable characters, file mode 0600 (default /etc/callscope/noc.token). "
     "Make one with: head -c 32 /dev/urandom | base64 > FILE."},
    {"bind", 'b', OPTTAB_STR, SRV(noc.bind), 0, 0, "ADDR:PORT",
     "Where to listen: 127.0.0.1:8443, 0.0.0.0:8443, [::1]:8443 (default 127.0.0.1:8443; "
     "port 0 picks a free one, logged at start)."},
    {"tls-cert", 0, OPTTAB_STR, SRV(noc.tls_cert), 0, 0, "FILE",
     "Serve HTTPS with this PEM certificate (chain); needs --tls-key."},
    {"tls-key", 0, OPTTAB_STR, SRV(noc.tls_key), 0, 0, "FILE",
     "The PEM private key of --tls-cert."},
    {"metrics-open", 0, OPTTAB_FLAG, SRV(noc.metrics_open), 0, 0, NULL,
     "Serve /metrics without the token (it holds no addresses or names). By default /metrics "
     "needs the token like the API."},
    {"max-rows", 0, OPTTAB_UINT, SRV(noc.max_rows), 1, 10000, "N",
     "Largest 'limit' a client may ask for (default 1000)."},
    {"alert-webhook", 0, OPTTAB_STR, SRV(noc.alert_webhook), 0, 0, "URL",
     "POST each alert as JSON to this http(s) URL (default: none)."},
    {"alert-threshold", 0, OPTTAB_UINT, SRV(noc.alert_threshold_pct), 1, 100, "PERCENT",
     "Alert when a site's share of 'lan' (or of 'wan') verdicts reaches PERCENT of its calls "
     "(default 30)."},
    {"alert-window", 0, OPTTAB_UINT, SRV(noc.alert_window_s), 60, 86400, "SECONDS",
     "The share counts the calls that ended within the last SECONDS (default 900)."},
    {"alert-min-calls", 0, OPTTAB_UINT, SRV(noc.alert_min_calls), 1, 1000000, "N",
     "No alert for a site with fewer calls than N in the window (default 5)."},
    {"alert-interval", 0, OPTTAB_UINT, SRV(noc.alert_interval_s), 0, 604800, "SECONDS",
     "At most one alert per site and kind within SECONDS; later crossings are counted as "
     "suppressed (default 3600)."},
    {"alert-check", 0, OPTTAB_UINT, SRV(noc.alert_check_s), 1, 3600, "SECONDS",
     "How often the shares are evaluated (default 60)."},
    {"alert-timeout", 0, OPTTAB_UINT, SRV(noc.alert_timeout_ms), 100, 60000, "MS",
     "Time limit of one webhook POST (default 3000)."},
    {"alert-live-calls", 0, OPTTAB_UINT, SRV(noc.alert_live_calls), 0, 100000, "N",
     "Live alert when N calls in progress at a site have inbound (WAN) or outbound (LAN) loss "
     "or jitter over the limits (default 3; 0: off)."},
    {"alert-live-loss", 0, OPTTAB_UINT, SRV(noc.alert_live_loss_pct), 0, 100, "PERCENT",
     "Live alert loss limit over the window (default 1, Teams' target)."},
    {"alert-live-jitter", 0, OPTTAB_UINT, SRV(noc.alert_live_jitter_ms), 1, 10000, "MS",
     "Live alert jitter limit (default 30, Teams' target and CQD's poor)."},
    {"alert-live-window", 0, OPTTAB_UINT, SRV(noc.alert_live_window_s), 10, 3600, "SECONDS",
     "Live alerts judge the interval records of the last SECONDS (default 60)."},
    {"alert-format", 0, OPTTAB_STR, SRV(noc.alert_format), 0, 0, "FORMAT",
     "Webhook body: callscope (default) or alertmanager (Prometheus Alertmanager's webhook "
     "format)."},
    {"no-syslog", 0, OPTTAB_NOFLAG, SRV(noc.alert_syslog), 0, 0, NULL,
     "Do not send alerts to syslog(3) (they are still logged on stderr)."},
    {"verbose", 'v', OPTTAB_SPECIAL, 0, 0, 0, NULL, "More log detail (repeat for debug)."},
    {"quiet", 'q', OPTTAB_SPECIAL, 0, 0, 0, NULL, "Errors only."},
    {"help", 'h', OPTTAB_SPECIAL, 0, 0, 0, NULL, "This help."},
};

#define NOPTS (sizeof opts / sizeof opts[0])

static void help(const opttab_t *t)
{
    printf("Usage: callscope-collector serve --db FILE [options]\n\n");
    textwrap(stdout,
             "Serves the verdicts in the store to a NOC: a JSON API (/api/calls, "
             "/api/calls/ID, /api/sites, /api/sites/SITE, /api/clients), Prometheus metrics "
             "(/metrics) and a dashboard (/). Every API request needs the bearer token; client "
             "addresses are shown opened only to such requests, and a client address given in a "
             "query is matched by its keyed hash, never stored or logged. Alerts: when a site's "
             "share of 'lan' or 'wan' verdicts crosses --alert-threshold, a line goes to syslog "
             "and stderr and a JSON POST to --alert-webhook, at most once per --alert-interval "
             "per site and kind. SIGINT/SIGTERM stop it.",
             0, 78);
    printf("\nOptions:\n");
    opttab_help(t, stdout);
    printf(
        "\nExamples:\n"
        "  head -c 32 /dev/urandom | base64 > /etc/callscope/noc.token\n"
        "  chmod 600 /etc/callscope/noc.token\n"
        "  callscope-collector serve --db /var/lib/callscope/collector.db \\\n"
        "      --bind 0.0.0.0:8443 --tls-cert noc.pem --tls-key noc.key \\\n"
        "      --alert-webhook https://hooks.example.net/callscope\n"
        "  curl -H \"Authorization: Bearer $(cat /etc/callscope/noc.token)\" \\\n"
        "      "
        "'https://noc.example.net:8443/api/calls?site=hq&verdict=lan&since=2026-01-15T00:00:00Z'\n"
        "  Dashboard: https://noc.example.net:8443/#token=TOKEN (the token stays in the tab)\n"
        "\nExit status: 0 stopped by a signal; 1 could not start; 2 bad usage.\n"
        "See docs/noc.md for every endpoint, parameter, metric and the alert payload.\n");
}

static opttab_result_t special(opttab_t *t, const opttab_def_t *d, const char *val)
{
    serve_cfg_t *cfg = t->cfg;
    switch (d->short_name) {
    case 'v':
        cfg->verbosity++;
        return OPTTAB_RUN;
    case 'q':
        cfg->verbosity = -1;
        return OPTTAB_RUN;
    case 'o':
        if (cfg->norg_keys == PII_MAX_KEYS) {
            fprintf(stderr, "%s: at most %d --org-key\n", t->prog, PII_MAX_KEYS);
            return OPTTAB_EXIT_USAGE;
        }
        cfg->org_keys[cfg->norg_keys++] = val;
        return OPTTAB_RUN;
    default:
        help(t);
        return OPTTAB_EXIT_OK;
    }
}

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    stop_flag = 1;
}

static void wait_for_signal(noc_t *n)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    struct timespec nap = {0, 200 * 1000 * 1000};
    while (!stop_flag) {
        noc_tick(n, timefmt_now());
        nanosleep(&nap, NULL);
    }
}

int cmd_serve(int argc, char **argv)
{
    serve_cfg_t cfg = {.verbosity = 0};
    noc_cfg_defaults(&cfg.noc);
    opttab_t t = {.prog = "callscope-collector serve",
                  .defs = opts,
                  .ndefs = NOPTS,
                  .cfg = &cfg,
                  .special = special};
    int first = 1;
    opttab_result_t r = opttab_parse(&t, argc, argv, &first);
    if (r != OPTTAB_RUN)
        return r == OPTTAB_EXIT_OK ? 0 : 2;
    if (first < argc || !cfg.noc.db_path) {
        fprintf(stderr, "%s: %s (see --help)\n", t.prog,
                first < argc ? "unexpected argument" : "--db FILE is required");
        return 2;
    }
    log_set_level(cfg.verbosity < 0    ? LOG_LVL_ERROR
                  : cfg.verbosity == 0 ? LOG_LVL_INFO
                                       : LOG_LVL_DEBUG);
    if (cfg.norg_keys == 0)
        cfg.org_keys[cfg.norg_keys++] = "/etc/callscope/org.key";
    char err[512];
    pii_t *pii = pii_new(cfg.org_keys, cfg.norg_keys, NULL, err, sizeof err);
    noc_t *n = pii ? noc_new(&cfg.noc, pii, NULL, NULL, err, sizeof err) : NULL;
    if (!n) {
        LOG_ERROR("serve: %s", err);
        pii_free(&pii);
        return 1;
    }
    LOG_INFO("serve: listening on port %u", noc_port(n));
    wait_for_signal(n);
    noc_free(&n);
    pii_free(&pii);
    return 0;
}
