/* noc.h - the collector's NOC outputs: an HTTP(S) server with a JSON API,
 * Prometheus /metrics and an embedded HTML dashboard, plus alerts when a
 * site's share of LAN or WAN verdicts crosses a threshold (docs/noc.md).
 *
 * Reads the store (verdict_*, streams, probes) through read-only SQLite
 * connections of its own; never writes. Threads:
 *   - libmicrohttpd's internal thread serves every request, one at a time,
 *     on its own read-only connection;
 *   - noc_tick() runs alert evaluation (and the webhook POST, bounded by
 *     cfg.alert_timeout_ms) in the caller's thread on a second connection.
 * The counters callback is called from the HTTP thread during a /metrics
 * request, concurrently with whatever the caller's thread is doing: it must
 * take its own lock or read only values that are safe to read racily
 * (e.g. aligned 64-bit counters). It returns a new JSON object reference
 * (or NULL) whose numeric and boolean leaves become gauges
 * callscope_<path_joined_by_underscores>.
 */
#ifndef CALLSCOPE_NOC_H
#define CALLSCOPE_NOC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "opttab.h"
#include "pii.h"

/* The audit log's name beside the store (--audit-log's default) and the
 * packaged store's ('audit --audit-log' default). */
#define NOC_AUDIT_FILE "audit.log"
#define NOC_AUDIT_DEFAULT "/var/lib/callscope/" NOC_AUDIT_FILE

typedef struct {
    const char *db_path;
    const char *bind;              /* "127.0.0.1:8443", "[::1]:8443", "0.0.0.0:8443" */
    const char *token_file;        /* the investigator's bearer token, one line, mode 0600 */
    const char *viewer_token_file; /* the viewer's; NULL: no viewer role */
    const char *audit_log;         /* NULL: audit.log beside the store */
    const char *tls_cert;          /* PEM files; both or neither */
    const char *tls_key;
    bool metrics_open; /* /metrics without the token */
    unsigned max_rows; /* largest page of /api/calls (limit) */
    /* /api/live: a stream counts as in progress while its newest interval
     * record is at most max(live_hold_s, 2.5 intervals) old; 1-300 */
    unsigned live_hold_s;
    /* alerts */
    const char *alert_webhook; /* http(s) URL, NULL: none */
    bool alert_syslog;
    unsigned alert_threshold_pct; /* share of lan (or wan) calls, 1-100 */
    unsigned alert_window_s;      /* calls that ended within this window */
    unsigned alert_min_calls;     /* fewer calls at a site: no alert */
    unsigned alert_interval_s;    /* at most one alert per site and kind per interval */
    unsigned alert_check_s;       /* evaluation period inside noc_tick */
    unsigned alert_timeout_ms;    /* webhook POST */
    /* live alerts from interval records (docs/noc.md "Alerts"): at least
     * live_calls calls at a site with inbound (WAN) or outbound (LAN) loss
     * above live_loss_pct or jitter above live_jitter_ms over the last
     * live_window_s; live_calls 0: off */
    unsigned alert_live_calls;
    unsigned alert_live_loss_pct;
    unsigned alert_live_jitter_ms;
    unsigned alert_live_window_s;
    const char *alert_format; /* "callscope" (default) or "alertmanager" */
    /* surges of endpoint and cloud verdicts (docs/noc.md "Alerts"): at
     * least surge_calls calls of a site that ended within surge_window_s
     * judged endpoint (or cloud), and at least surge_pct of its calls;
     * surge_calls 0: off */
    unsigned alert_surge_calls;
    unsigned alert_surge_pct;
    unsigned alert_surge_window_s;
} noc_cfg_t;

/* The audit log's path into buf: audit_log when given, else NOC_AUDIT_FILE
 * in db_path's directory (a postgresql:// store: in the working directory).
 * false when it does not fit. */
bool noc_audit_path(const char *audit_log, const char *db_path, char *buf, size_t buflen);

/* Every default, from the option table below. */
void noc_cfg_defaults(noc_cfg_t *cfg);

/* The NOC settings as one option table over a noc_cfg_t (static, borrowed):
 * 'serve' takes the rows of NOC_OPT_SERVE, 'run' those of NOC_OPT_RUN with
 * "http-" before the OPTTAB_PREFIXED names (http-token-file ...). */
enum { NOC_OPT_SERVE = 1, NOC_OPT_RUN = 2 };
const opttab_opt_t *noc_options(size_t *n);

typedef json_t *(*noc_counters_fn)(void *ctx);

typedef struct noc noc_t;

/* Starts the server. pii is borrowed (must outlive the noc_t); counters may
 * be NULL. cfg strings are copied. NULL with err on failure (bad bind
 * address, unreadable token or TLS files, TLS unsupported, database). */
noc_t *noc_new(const noc_cfg_t *cfg, const pii_t *pii, noc_counters_fn counters, void *ctx,
               char *err, size_t errlen);
/* Evaluates alerts when cfg.alert_check_s has passed since the last time.
 * now_us: wall clock (timefmt_now()). Call it from one thread only. */
void noc_tick(noc_t *n, int64_t now_us);
/* The port actually bound (useful with port 0). */
unsigned noc_port(const noc_t *n);
/* Stops the HTTP thread and frees everything; NULLs *n. */
void noc_free(noc_t **n);

#endif
