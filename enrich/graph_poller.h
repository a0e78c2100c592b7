/* graph_poller.h - polls Microsoft Graph for call records, one request per
 * step, so the collector can run it inside its own event loop.
 *
 * A cycle: list /communications/callRecords whose startDateTime lies within
 * the look-back window (following @odata.nextLink), queue every id that is
 * new or whose version / lastModifiedDateTime moved past what is stored,
 * plus due ids from graph_pending; then fetch each with
 * $expand=sessions($expand=segments), following sessions@odata.nextLink,
 * then its participants (participants_v2, expanded in the record or from
 * /participants_v2, following every nextLink up to max_participants; the
 * retired participants of the record when Graph has no v2 for it), and
 * store it. Faults (docs/graph.md):
 *   429            wait Retry-After (decimal seconds) or back off
 *   5xx, timeout   exponential back-off with jitter, max_attempts per request
 *   bad JSON       retried like a transient fault (a cut transfer), then skipped
 *   401            token dropped and fetched again (expired mid-run)
 *   403            fatal: CallRecords.Read.All application permission/consent
 *   404 record     kept in graph_pending and tried again while fresh
 * Per-record limits of Graph (10 first-page requests per 20 s, 50 further
 * pages per 5 min) and a minimum gap between any two requests are kept.
 *
 * graph_poller_step() blocks for at most one HTTP request (cfg.timeout_ms)
 * and says when it wants to run next. now_us is wall-clock time
 * (timefmt_now()).
 */
#ifndef CALLSCOPE_GRAPH_POLLER_H
#define CALLSCOPE_GRAPH_POLLER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "pii.h"

/* Process exit codes of the graph commands. */
enum {
    GRAPH_EXIT_OK = 0,
    GRAPH_EXIT_PARTIAL = 1, /* ran, but some records failed (they stay pending) */
    GRAPH_EXIT_USAGE = 2,   /* bad options or configuration */
    GRAPH_EXIT_AUTH = 3,    /* token refused: secret, client id or tenant wrong */
    GRAPH_EXIT_CONSENT = 4, /* Graph refused: CallRecords.Read.All missing or not consented */
    GRAPH_EXIT_STORE = 5,   /* database or key file problem */
    GRAPH_EXIT_TLS = 6,     /* server certificate not trusted */
    GRAPH_EXIT_NETWORK =
        7, /* a host unreachable: DNS, connection, TLS handshake, connect timeout */
};

/* What each exit code means, in order (static, borrowed): the graph
 * commands' manual and the collector's --help print it. */
typedef struct {
    int code;
    const char *what;
} graph_exit_t;
const graph_exit_t *graph_exit_statuses(size_t *n);

typedef struct {
    const char *tenant;
    const char *client_id;
    const char *secret;        /* the secret itself, read from a file by the caller */
    const char *authority_url; /* https://login.microsoftonline.com */
    const char *graph_url;     /* https://graph.microsoft.com/v1.0 */
    const char *scope;         /* NULL: origin of graph_url + "/.default" */
    const char *ca_bundle;     /* NULL: the system's */
    const char *org_keys[PII_MAX_KEYS];
    size_t norg_keys;
    int64_t lookback_s;        /* list window and re-fetch horizon */
    int64_t interval_s;        /* between cycle starts */
    int64_t pending_retry_s;   /* next try of a 404 / failed id */
    int64_t pending_max_age_s; /* a 404 id older than this is given up */
    long timeout_ms;           /* per request */
    int max_attempts;          /* per request, transient faults */
    double backoff_base_s, backoff_max_s;
    int64_t min_gap_ms;      /* between any two requests */
    size_t max_body;         /* bytes per response */
    size_t max_queue;        /* ids fetched per cycle; the rest wait */
    size_t max_participants; /* kept per record (GRAPH_MAX_PARTICIPANTS at most) */
} graph_cfg_t;

/* participants_v2 pages (130 participants each) are followed up to this
 * many participants per record: the parser's bound on any list, and a
 * town hall's size. 77 further pages, which Graph's per-record limit (50
 * per 5 min) spreads over about 10 minutes. */
#define GRAPH_MAX_PARTICIPANTS 10000

/* The settings that are not options (back-off, body and queue bounds);
 * the rest comes from graph_cmd_cfg() (the option table's defaults). */
void graph_cfg_defaults(graph_cfg_t *cfg);

typedef struct {
    uint64_t cycles, requests, token_requests, throttled, retries, timeouts, server_errors,
        not_found, listed, records_inserted, records_updated, records_unchanged, parse_errors,
        errors, unreachable, /* requests given up on a host that could not be reached (exit 7) */
        participants,        /* stored with records (participants_v2, else the retired ones) */
        participant_pages,   /* participants_v2 pages requested */
        participants_capped; /* records with more participants than max_participants */
} graph_poller_stats_t;

typedef enum { GRAPH_STEP_BUSY, GRAPH_STEP_IDLE, GRAPH_STEP_FATAL } graph_step_t;

typedef struct graph_poller graph_poller_t;

/* cfg strings are copied; db is borrowed (graph_store_migrate is run). */
graph_poller_t *graph_poller_new(const graph_cfg_t *cfg, db_t *db, char *err, size_t errlen);
void graph_poller_free(graph_poller_t **p);
/* The request in progress (and each later one) ends within about a second
 * once *flag is true: how a thread running the poller is stopped. */
void graph_poller_abort_on(graph_poller_t *p, const atomic_bool *flag);

/* Does at most one request. BUSY: call again at *next_wake_us; IDLE: a
 * cycle ended, the next starts at *next_wake_us; FATAL: stop, see
 * graph_poller_exit_code() / graph_poller_error(). */
int graph_poller_step(graph_poller_t *p, int64_t now_us, int64_t *next_wake_us);

/* After IDLE: GRAPH_EXIT_OK or GRAPH_EXIT_PARTIAL for the last cycle;
 * after FATAL: the reason's code. */
int graph_poller_exit_code(const graph_poller_t *p);
const char *graph_poller_error(const graph_poller_t *p);
void graph_poller_stats(const graph_poller_t *p, graph_poller_stats_t *out);

#endif
