#include "graph_poller.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <jansson.h>

#include "graph_http.h"
#include "graph_parse.h"
#include "graph_store.h"
#include "timefmt.h"
#include "graph_token.h"
#include "log.h"

#define URL_MAX 4096
#define ID_MAX 128
#define FIRST_LIMIT 10 /* first-page requests per record per 20 s */
#define NEXT_LIMIT 50  /* further pages per record per 5 min */

typedef enum { PH_START, PH_LIST, PH_FETCH } phase_t;
typedef enum { REQ_LIST, REQ_RECORD, REQ_SESSIONS, REQ_PARTICIPANTS } req_t;
/* What one response means for the caller. */
typedef enum { OUT_OK, OUT_RETRY, OUT_FAIL, OUT_NOTFOUND, OUT_AUTH, OUT_FATAL } outcome_t;

/* Sliding-window request counter (Graph's per-record limits). */
typedef struct {
    int64_t t[NEXT_LIMIT];
    size_t n, cap, head;
    int64_t window_us;
} limiter_t;

typedef struct {
    char *id;
    int64_t first_seen_us; /* when it first 404'd (graph_pending), 0 = never */
} job_t;

struct graph_poller {
    graph_cfg_t cfg;
    char *strings[8]; /* owned copies of the cfg strings */
    char token_url[URL_MAX];
    char origin[URL_MAX];
    graph_http_t *http;
    graph_token_t *token;
    pii_t *pii;
    graph_store_t *store;
    graph_poller_stats_t stats;
    uint64_t rng;

    phase_t phase;
    int64_t wake_us, cycle_start_us;
    int cycle_errors;
    char *list_url;
    job_t *queue;
    size_t qlen, qhead;

    job_t cur; /* the record being fetched (cur.id NULL when none) */
    json_t *doc;
    char *sessions_url;
    char *parts_url;        /* the participants_v2 request to make next, NULL none */
    bool parts_first;       /* parts_url is /participants_v2 itself (no v2 in the record) */
    bool sessions_complete; /* every sessions page was read */
    limiter_t first, next;

    int attempts, token_attempts, auth_retries;
    bool net_down; /* a request gave up on an unreachable host: end the cycle */
    int cycle_net_errors;
    bool fatal;
    int exit_code;
    char error[600];
};

static const graph_exit_t exits[] = {
    {GRAPH_EXIT_OK, "done"},
    {GRAPH_EXIT_PARTIAL, "some records failed (kept pending for the next run)"},
    {GRAPH_EXIT_USAGE, "usage or configuration"},
    {GRAPH_EXIT_AUTH, "token refused (invalid_client, wrong tenant or client id)"},
    {GRAPH_EXIT_CONSENT, "Graph refused (CallRecords.Read.All missing or not consented)"},
    {GRAPH_EXIT_STORE, "store or key file problem"},
    {GRAPH_EXIT_TLS, "TLS certificate not trusted"},
    /* no ';' outside the parentheses: the exit lists of --help are
     * "N meaning; N meaning", and the man page reads them so */
    {GRAPH_EXIT_NETWORK, "network: the token endpoint or Graph could not be reached (DNS, "
                         "connection refused or timed out, TLS handshake; the message names the "
                         "host)"},
};

const graph_exit_t *graph_exit_statuses(size_t *n)
{
    *n = sizeof exits / sizeof exits[0];
    return exits;
}

void graph_cfg_defaults(graph_cfg_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->backoff_base_s = 1.0;
    cfg->backoff_max_s = 300.0;
    cfg->max_body = 64u << 20;
    cfg->max_queue = 5000;
    cfg->max_participants = GRAPH_MAX_PARTICIPANTS;
}

/* ---- small helpers ---------------------------------------------------- */

static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Exponential back-off with jitter: base * 2^(n-1), scaled by 0.5 .. 1.0. */
static double backoff_s(graph_poller_t *p, int attempt)
{
    double d = p->cfg.backoff_base_s * pow(2.0, attempt > 30 ? 30 : attempt - 1);
    if (d > p->cfg.backoff_max_s)
        d = p->cfg.backoff_max_s;
    double r = (double)(rng_next(&p->rng) >> 11) / 9007199254740992.0;
    return d * (0.5 + 0.5 * r);
}

static void limiter_init(limiter_t *l, size_t cap, int64_t window_us)
{
    memset(l, 0, sizeof *l);
    l->cap = cap;
    l->window_us = window_us;
}

/* 0 when a request may go now, else the time it may. */
static int64_t limiter_wait(const limiter_t *l, int64_t now)
{
    if (l->n < l->cap)
        return 0;
    int64_t oldest = l->t[l->head];
    return oldest + l->window_us > now ? oldest + l->window_us : 0;
}

static void limiter_note(limiter_t *l, int64_t now)
{
    if (l->n < l->cap) {
        l->t[(l->head + l->n) % l->cap] = now;
        l->n++;
    } else {
        l->t[l->head] = now;
        l->head = (l->head + 1) % l->cap;
    }
}

static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Ids go into URLs: GUID-like text only. */
static bool id_ok(const char *id)
{
    size_t n = strlen(id);
    return n > 0 && n <= ID_MAX &&
           strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                      "0123456789-_.:") == n;
}

static void set_fatal(graph_poller_t *p, int code, const char *msg)
{
    p->fatal = true;
    p->exit_code = code;
    snprintf(p->error, sizeof p->error, "%s", msg);
    LOG_ERROR("graph: %s", msg);
}

/* "https://host:port" of a URL. */
static void url_origin(const char *url, char *out, size_t outlen)
{
    const char *s = strstr(url, "://");
    size_t n = s ? (size_t)(s + 3 - url) + strcspn(s + 3, "/?#") : strlen(url);
    snprintf(out, outlen, "%.*s", (int)n, url);
}

/* The host (and port) of a URL: "graph.microsoft.com". Not personal data. */
static void url_host(const char *url, char *out, size_t outlen)
{
    const char *s = strstr(url, "://");
    s = s ? s + 3 : url;
    snprintf(out, outlen, "%.*s", (int)strcspn(s, "/?#"), s);
}

/* A request gave up on a host it could not reach: the cycle ends (the
 * rest would fail alike, each after its retries) with GRAPH_EXIT_NETWORK,
 * and the message names the host and the failure. */
static void net_unreachable(graph_poller_t *p, const char *url, const graph_http_resp_t *r,
                            const char *why)
{
    char host[256];
    url_host(url, host, sizeof host);
    snprintf(p->error, sizeof p->error,
             "cannot reach %s: %s (%s); check DNS, proxy and firewall for HTTPS to it", host, why,
             r->error);
    LOG_ERROR("graph: %s", p->error);
    p->cycle_net_errors++;
    p->stats.unreachable++;
    p->net_down = true;
}

/* A nextLink must stay on the Graph origin: the bearer token goes with it. */
static bool link_ok(const graph_poller_t *p, const char *link)
{
    size_t n = strlen(p->origin);
    return link && strncmp(link, p->origin, n) == 0 && (link[n] == '/' || link[n] == '?') &&
           strlen(link) < URL_MAX;
}

/* ---- construction ---------------------------------------------------- */

static const char *keep(graph_poller_t *p, int slot, const char *s)
{
    if (!s)
        return NULL;
    p->strings[slot] = strdup(s);
    return p->strings[slot];
}

static bool check_cfg(const graph_cfg_t *c, char *err, size_t errlen)
{
    const char *missing = !c->tenant || !*c->tenant            ? "--tenant"
                          : !c->client_id || !*c->client_id    ? "--client-id"
                          : !c->secret || !*c->secret          ? "--secret-file"
                          : c->norg_keys == 0                  ? "--org-key"
                          : !c->graph_url || !c->authority_url ? "--graph-url"
                                                               : NULL;
    if (missing) {
        snprintf(err, errlen, "graph: %s is required", missing);
        return false;
    }
    if (!id_ok(c->tenant) || strchr(c->tenant, ':')) {
        snprintf(err, errlen, "graph: --tenant must be a directory id or domain name");
        return false;
    }
    if (strncmp(c->graph_url, "https://", 8) != 0 ||
        strncmp(c->authority_url, "https://", 8) != 0) {
        snprintf(err, errlen, "graph: --graph-url and --authority-url must be https:// URLs");
        return false;
    }
    return true;
}

graph_poller_t *graph_poller_new(const graph_cfg_t *cfg, db_t *db, char *err, size_t errlen)
{
    if (!check_cfg(cfg, err, errlen))
        return NULL;
    graph_poller_t *p = calloc(1, sizeof *p);
    if (!p) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    p->cfg = *cfg;
    if (p->cfg.max_participants == 0 || p->cfg.max_participants > GRAPH_MAX_PARTICIPANTS)
        p->cfg.max_participants = GRAPH_MAX_PARTICIPANTS;
    p->cfg.tenant = keep(p, 0, cfg->tenant);
    p->cfg.client_id = keep(p, 1, cfg->client_id);
    p->cfg.secret = NULL; /* only the token module keeps the secret */
    p->cfg.authority_url = keep(p, 2, cfg->authority_url);
    p->cfg.graph_url = keep(p, 3, cfg->graph_url);
    p->cfg.ca_bundle = keep(p, 4, cfg->ca_bundle);
    p->cfg.scope = NULL;
    for (size_t i = 0; i < PII_MAX_KEYS; i++)
        p->cfg.org_keys[i] = NULL;
    char scope[URL_MAX + 16];
    url_origin(p->cfg.graph_url, p->origin, sizeof p->origin);
    snprintf(scope, sizeof scope, "%s/.default", p->origin);
    snprintf(p->token_url, sizeof p->token_url, "%s/%s/oauth2/v2.0/token", p->cfg.authority_url,
             p->cfg.tenant);
    if (getrandom(&p->rng, sizeof p->rng, 0) != (ssize_t)sizeof p->rng || p->rng == 0)
        p->rng = (uint64_t)mono_us() | 1;
    limiter_init(&p->first, FIRST_LIMIT, 20 * 1000000LL);
    limiter_init(&p->next, NEXT_LIMIT, 300 * 1000000LL);
    p->queue = calloc(cfg->max_queue ? cfg->max_queue : 1, sizeof *p->queue);
    p->pii = pii_new(cfg->org_keys, cfg->norg_keys, cfg->tenant, err, errlen);
    p->http = p->pii ? graph_http_new(p->cfg.ca_bundle, cfg->timeout_ms, cfg->max_body, err, errlen)
                     : NULL;
    p->token = p->http ? graph_token_new(p->token_url, cfg->client_id, cfg->secret,
                                         cfg->scope ? cfg->scope : scope, err, errlen)
                       : NULL;
    p->store = p->token && graph_store_migrate(db, err, errlen)
                   ? graph_store_new(db, p->pii, err, errlen)
                   : NULL;
    if (!p->store || !p->queue || !p->cfg.tenant || !p->cfg.graph_url) {
        if (!p->queue)
            snprintf(err, errlen, "out of memory");
        graph_poller_free(&p);
        return NULL;
    }
    return p;
}

static void drop_current(graph_poller_t *p)
{
    free(p->cur.id);
    p->cur.id = NULL;
    json_decref(p->doc);
    p->doc = NULL;
    free(p->sessions_url);
    p->sessions_url = NULL;
    free(p->parts_url);
    p->parts_url = NULL;
}

static void drop_queue(graph_poller_t *p)
{
    for (size_t i = p->qhead; i < p->qlen; i++)
        free(p->queue[i].id);
    p->qlen = p->qhead = 0;
}

void graph_poller_free(graph_poller_t **pp)
{
    if (!pp || !*pp)
        return;
    graph_poller_t *p = *pp;
    drop_current(p);
    drop_queue(p);
    free(p->queue);
    free(p->list_url);
    graph_store_free(&p->store);
    graph_token_free(&p->token);
    graph_http_free(&p->http);
    pii_free(&p->pii);
    for (size_t i = 0; i < sizeof p->strings / sizeof p->strings[0]; i++)
        free(p->strings[i]);
    free(p);
    *pp = NULL;
}

void graph_poller_abort_on(graph_poller_t *p, const atomic_bool *flag)
{
    graph_http_abort_on(p->http, flag);
}

int graph_poller_exit_code(const graph_poller_t *p)
{
    if (p->fatal)
        return p->exit_code;
    if (p->cycle_net_errors)
        return GRAPH_EXIT_NETWORK;
    return p->cycle_errors ? GRAPH_EXIT_PARTIAL : GRAPH_EXIT_OK;
}

const char *graph_poller_error(const graph_poller_t *p)
{
    return p->error;
}

void graph_poller_stats(const graph_poller_t *p, graph_poller_stats_t *out)
{
    *out = p->stats;
}

/* ---- the queue -------------------------------------------------------- */

static bool queued(const graph_poller_t *p, const char *id)
{
    if (p->cur.id && strcmp(p->cur.id, id) == 0)
        return true;
    for (size_t i = p->qhead; i < p->qlen; i++)
        if (strcmp(p->queue[i].id, id) == 0)
            return true;
    return false;
}

static void enqueue(graph_poller_t *p, const char *id, int64_t first_seen_us)
{
    if (queued(p, id))
        return;
    if (p->qlen >= p->cfg.max_queue)
        return; /* the next cycle lists it again */
    char *copy = strdup(id);
    if (!copy)
        return;
    p->queue[p->qlen].id = copy;
    p->queue[p->qlen].first_seen_us = first_seen_us;
    p->qlen++;
}

static void on_pending(void *ctx, const char *id, int64_t first_seen_us, int attempts)
{
    (void)attempts;
    enqueue(ctx, id, first_seen_us);
}

/* Everything not fetched this cycle goes to graph_pending: nothing is lost. */
static void park_queue(graph_poller_t *p, int64_t now)
{
    if (p->cur.id)
        graph_store_pending_add(p->store, p->cur.id, now, now, 0);
    for (size_t i = p->qhead; i < p->qlen; i++)
        graph_store_pending_add(p->store, p->queue[i].id, now, now, 0);
    drop_current(p);
    drop_queue(p);
}

/* ---- cycle ------------------------------------------------------------ */

static void start_cycle(graph_poller_t *p, int64_t now)
{
    char since[40], iso[40];
    int64_t from = now - p->cfg.lookback_s * 1000000;
    timefmt_iso(from, iso, sizeof iso);
    snprintf(since, sizeof since, "%.19sZ", iso);
    free(p->list_url);
    p->list_url = malloc(URL_MAX);
    if (p->list_url)
        snprintf(p->list_url, URL_MAX,
                 "%s/communications/callRecords?$filter=startDateTime%%20ge%%20%s",
                 p->cfg.graph_url, since);
    p->phase = PH_LIST;
    p->cycle_start_us = now;
    p->cycle_errors = 0;
    p->cycle_net_errors = 0;
    p->net_down = false;
    p->attempts = 0;
    p->stats.cycles++;
    int due = graph_store_pending_due(p->store, now, (int)p->cfg.max_queue, on_pending, p);
    LOG_INFO("graph: poll cycle %llu: listing call records since %s; %d pending id(s) due",
             (unsigned long long)p->stats.cycles, since, due < 0 ? 0 : due);
}

static int end_cycle(graph_poller_t *p, int64_t now, int64_t *next)
{
    const graph_poller_stats_t *s = &p->stats;
    LOG_INFO("graph: poll cycle %llu done: %llu requests so far, inserted %llu, updated %llu, "
             "unchanged %llu, throttled %llu, retries %llu, errors this cycle %d",
             (unsigned long long)s->cycles, (unsigned long long)s->requests,
             (unsigned long long)s->records_inserted, (unsigned long long)s->records_updated,
             (unsigned long long)s->records_unchanged, (unsigned long long)s->throttled,
             (unsigned long long)s->retries, p->cycle_errors);
    p->phase = PH_START;
    p->wake_us = p->cycle_start_us + p->cfg.interval_s * 1000000;
    if (p->wake_us < now)
        p->wake_us = now;
    *next = p->wake_us;
    return GRAPH_STEP_IDLE;
}

/* ---- responses -------------------------------------------------------- */

static const char *req_name(req_t r)
{
    return r == REQ_LIST       ? "list page"
           : r == REQ_RECORD   ? "record"
           : r == REQ_SESSIONS ? "sessions page"
                               : "participants page";
}

/* A transient fault: wait (Retry-After or back-off) and try the same
 * request again, up to max_attempts. False when attempts are used up. */
static bool retry_later(graph_poller_t *p, int64_t now, double retry_after, const char *what,
                        const char *why)
{
    p->attempts++;
    if (p->attempts >= p->cfg.max_attempts) {
        LOG_WARN("graph: %s: %s; giving up after %d attempts", what, why, p->attempts);
        p->attempts = 0;
        return false;
    }
    double d = retry_after >= 0 ? retry_after : backoff_s(p, p->attempts);
    if (d > p->cfg.backoff_max_s && retry_after < 0)
        d = p->cfg.backoff_max_s;
    p->wake_us = now + (int64_t)(d * 1e6);
    p->stats.retries++;
    LOG_WARN("graph: %s: %s; retry %d of %d in %.3f s%s", what, why, p->attempts,
             p->cfg.max_attempts - 1, d, retry_after >= 0 ? " (Retry-After)" : " (back-off)");
    return true;
}

/* The Graph error code of an error body ("Forbidden", "NotFound" ...). */
static void error_code(const graph_http_resp_t *r, char *out, size_t outlen)
{
    json_t *root = json_loadb(r->body, r->len, GRAPH_PARSE_JSON_FLAGS, NULL);
    const char *c = json_string_value(json_object_get(json_object_get(root, "error"), "code"));
    snprintf(out, outlen, "%s", c && strlen(c) < 64 ? c : "no error code");
    json_decref(root);
}

static outcome_t classify(graph_poller_t *p, const char *url, const graph_http_resp_t *r,
                          int64_t now, const char *what)
{
    char why[400], code[80];
    if (r->net == GRAPH_NET_TLS) {
        snprintf(why, sizeof why,
                 "TLS certificate of the Graph server not trusted (%s); check "
                 "--ca-bundle",
                 r->error);
        set_fatal(p, GRAPH_EXIT_TLS, why);
        return OUT_FATAL;
    }
    if (r->net != GRAPH_NET_OK) {
        if (r->net == GRAPH_NET_TIMEOUT)
            p->stats.timeouts++;
        snprintf(why, sizeof why, "%s (%s)", r->net == GRAPH_NET_TIMEOUT ? "timed out" : "failed",
                 r->error);
        if (retry_later(p, now, -1, what, why))
            return OUT_RETRY;
        const char *unreachable = graph_http_unreachable(r);
        if (unreachable)
            net_unreachable(p, url, r, unreachable);
        return OUT_FAIL;
    }
    if (r->status >= 200 && r->status < 300)
        return OUT_OK;
    error_code(r, code, sizeof code);
    if (r->status == 429 || r->status >= 500) {
        if (r->status == 429)
            p->stats.throttled++;
        else
            p->stats.server_errors++;
        snprintf(why, sizeof why, "HTTP %ld %s", r->status, r->status == 429 ? "throttled" : code);
        return retry_later(p, now, r->retry_after_s, what, why) ? OUT_RETRY : OUT_FAIL;
    }
    if (r->status == 401)
        return OUT_AUTH;
    if (r->status == 403) {
        snprintf(why, sizeof why,
                 "Graph refused call records (HTTP 403 %s): the app registration lacks the "
                 "CallRecords.Read.All application permission or its admin consent. Grant it under "
                 "API permissions > Microsoft Graph > Application permissions, then 'Grant admin "
                 "consent'",
                 code);
        set_fatal(p, GRAPH_EXIT_CONSENT, why);
        return OUT_FATAL;
    }
    if (r->status == 404)
        return OUT_NOTFOUND;
    LOG_WARN("graph: %s: HTTP %ld %s; skipped", what, r->status, code);
    return OUT_FAIL;
}

/* ---- list pages ------------------------------------------------------- */

/* Queues the listed id when it is new or changed since it was stored. */
static void consider(graph_poller_t *p, const json_t *item)
{
    const char *id = json_string_value(json_object_get(item, "id"));
    if (!id || !id_ok(id)) {
        p->stats.parse_errors++;
        return;
    }
    p->stats.listed++;
    int64_t ver = -1, lm = -1, sver, slm;
    const json_t *v = json_object_get(item, "version");
    if (json_is_integer(v))
        ver = (int64_t)json_integer_value(v);
    timefmt_parse_iso(json_string_value(json_object_get(item, "lastModifiedDateTime")), &lm);
    int known = graph_store_known(p->store, id, &sver, &slm);
    if (known == 1 && sver >= ver && slm >= lm)
        return;
    if (known == 1)
        LOG_INFO("graph: record %s changed (version %lld -> %lld); fetching again", id,
                 (long long)sver, (long long)ver);
    enqueue(p, id, 0);
}

static void on_list(graph_poller_t *p, const graph_http_resp_t *r, int64_t now)
{
    json_t *root = json_loadb(r->body, r->len, GRAPH_PARSE_JSON_FLAGS, NULL);
    const json_t *value = json_object_get(root, "value");
    if (!json_is_array(value)) {
        p->stats.parse_errors++;
        json_decref(root);
        if (!retry_later(p, now, -1, "list page", "malformed or truncated JSON")) {
            p->cycle_errors++;
            p->stats.errors++;
            p->phase = PH_FETCH;
        }
        return;
    }
    size_t i;
    const json_t *item;
    json_array_foreach(value, i, item) consider(p, item);
    const char *next = json_string_value(json_object_get(root, "@odata.nextLink"));
    LOG_DEBUG("graph: list page: %zu records%s", json_array_size(value),
              next ? ", more pages" : "");
    p->attempts = 0;
    if (next && link_ok(p, next)) {
        snprintf(p->list_url, URL_MAX, "%s", next);
    } else {
        if (next)
            LOG_WARN("graph: list nextLink leaves the Graph origin; not followed");
        p->phase = PH_FETCH;
        LOG_INFO("graph: listing done: %zu record(s) to fetch", p->qlen - p->qhead);
    }
    json_decref(root);
}

/* ---- records ---------------------------------------------------------- */

static void fail_record(graph_poller_t *p, int64_t now, int status, const char *why)
{
    LOG_WARN("graph: record %s not stored (%s); kept pending, next try in %lld s", p->cur.id, why,
             (long long)p->cfg.pending_retry_s);
    graph_store_pending_add(p->store, p->cur.id, now, now + p->cfg.pending_retry_s * 1000000,
                            status);
    p->cycle_errors++;
    p->stats.errors++;
    drop_current(p);
}

static void finish_record(graph_poller_t *p, int64_t now, bool complete)
{
    char err[300];
    graph_record_t *rec = graph_parse_record(p->doc, err, sizeof err);
    if (!rec) {
        p->stats.parse_errors++;
        fail_record(p, now, 200, err);
        return;
    }
    graph_put_t put = graph_store_put(p->store, rec, "graph", complete, err, sizeof err);
    size_t n[GRAPH_NKINDS];
    int64_t ver = -1;
    graph_record_count(rec, n);
    size_t nparts = rec->nparts;
    graph_node_int(rec, REC_VERSION, &ver);
    graph_record_free(&rec);
    if (put == GRAPH_PUT_ERROR) {
        fail_record(p, now, 200, err);
        return;
    }
    static const char *const said[] = {"stored", "updated", "unchanged"};
    LOG_INFO("graph: record %s version %lld %s: %zu sessions, %zu segments, %zu streams, %zu "
             "participants%s",
             p->cur.id, (long long)ver, said[put], n[GRAPH_SESSION], n[GRAPH_SEGMENT],
             n[GRAPH_STREAM], nparts, complete ? "" : " (incomplete, will fetch again)");
    p->stats.participants += nparts;
    if (put == GRAPH_PUT_INSERTED)
        p->stats.records_inserted++;
    else if (put == GRAPH_PUT_UPDATED)
        p->stats.records_updated++;
    else
        p->stats.records_unchanged++;
    if (!complete) {
        graph_store_pending_add(p->store, p->cur.id, now, now + p->cfg.pending_retry_s * 1000000,
                                0);
        p->cycle_errors++;
    }
    drop_current(p);
}

/* After a participants page (or the record with participants_v2 in it):
 * follow the nextLink while under max_participants, else store. */
static void after_parts_page(graph_poller_t *p, const char *next, int64_t now)
{
    free(p->parts_url);
    p->parts_url = NULL;
    p->parts_first = false;
    json_t *parts = json_object_get(p->doc, "participants_v2");
    size_t have = json_array_size(parts), max = p->cfg.max_participants;
    if (have > max || (have == max && next)) {
        LOG_WARN("graph: record %s: more than %zu participants; kept the first %zu "
                 "(--max-participants)",
                 p->cur.id, max, max);
        p->stats.participants_capped++;
        for (size_t i = have; i > max; i--)
            json_array_remove(parts, i - 1);
        finish_record(p, now, p->sessions_complete); /* as complete as Graph lets it be */
        return;
    }
    if (next && link_ok(p, next)) {
        p->parts_url = strdup(next);
        if (p->parts_url)
            return;
    } else if (next) {
        LOG_WARN("graph: record %s: participants nextLink leaves the Graph origin; not followed",
                 p->cur.id);
    }
    finish_record(p, now, p->sessions_complete && next == NULL);
}

/* Sessions done: participants_v2 next, from the record when Graph
 * expanded it there, else from /participants_v2. */
static void start_participants(graph_poller_t *p, int64_t now)
{
    if (json_is_array(json_object_get(p->doc, "participants_v2"))) {
        after_parts_page(
            p, json_string_value(json_object_get(p->doc, "participants_v2@odata.nextLink")), now);
        return;
    }
    p->parts_url = malloc(URL_MAX);
    if (!p->parts_url) {
        finish_record(p, now, false);
        return;
    }
    snprintf(p->parts_url, URL_MAX, "%s/communications/callRecords/%s/participants_v2",
             p->cfg.graph_url, p->cur.id);
    p->parts_first = true;
}

/* No participants_v2 from Graph for this record (an error that retrying
 * does not mend): the record's retired participants, if any, stand. */
static void parts_unavailable(graph_poller_t *p, long status, int64_t now)
{
    LOG_INFO("graph: record %s: participants_v2 not available (HTTP %ld); keeping the record's "
             "participants, if any",
             p->cur.id, status);
    free(p->parts_url);
    p->parts_url = NULL;
    p->parts_first = false;
    finish_record(p, now, p->sessions_complete);
}

/* After a page: follow sessions@odata.nextLink or go on to participants. */
static void after_page(graph_poller_t *p, const char *next, int64_t now)
{
    free(p->sessions_url);
    p->sessions_url = NULL;
    if (next && link_ok(p, next)) {
        p->sessions_url = strdup(next);
        if (p->sessions_url)
            return;
    } else if (next) {
        LOG_WARN("graph: record %s: sessions nextLink leaves the Graph origin; not followed",
                 p->cur.id);
    }
    p->sessions_complete = next == NULL;
    start_participants(p, now);
}

static void on_record(graph_poller_t *p, const graph_http_resp_t *r, int64_t now)
{
    json_t *root = json_loadb(r->body, r->len, GRAPH_PARSE_JSON_FLAGS, NULL);
    if (!json_is_object(root)) {
        p->stats.parse_errors++;
        json_decref(root);
        char what[200];
        snprintf(what, sizeof what, "record %s", p->cur.id);
        if (!retry_later(p, now, -1, what, "malformed or truncated JSON"))
            fail_record(p, now, 200, "malformed JSON");
        return;
    }
    p->attempts = 0;
    p->doc = root;
    after_page(p, json_string_value(json_object_get(root, "sessions@odata.nextLink")), now);
}

static void on_sessions(graph_poller_t *p, const graph_http_resp_t *r, int64_t now)
{
    json_t *root = json_loadb(r->body, r->len, GRAPH_PARSE_JSON_FLAGS, NULL);
    json_t *value = json_object_get(root, "value");
    if (!json_is_array(value)) {
        p->stats.parse_errors++;
        json_decref(root);
        char what[200];
        snprintf(what, sizeof what, "sessions page %s", p->cur.id);
        if (!retry_later(p, now, -1, what, "malformed or truncated JSON")) {
            p->sessions_complete = false;
            start_participants(p, now);
        }
        return;
    }
    p->attempts = 0;
    json_t *sessions = json_object_get(p->doc, "sessions");
    if (!json_is_array(sessions)) {
        sessions = json_array();
        json_object_set_new(p->doc, "sessions", sessions);
    }
    json_array_extend(sessions, value);
    after_page(p, json_string_value(json_object_get(root, "@odata.nextLink")), now);
    json_decref(root);
}

static void on_participants(graph_poller_t *p, const graph_http_resp_t *r, int64_t now)
{
    json_t *root = json_loadb(r->body, r->len, GRAPH_PARSE_JSON_FLAGS, NULL);
    json_t *value = json_object_get(root, "value");
    p->stats.participant_pages++;
    if (!json_is_array(value)) {
        p->stats.parse_errors++;
        json_decref(root);
        char what[200];
        snprintf(what, sizeof what, "participants page %s", p->cur.id);
        if (!retry_later(p, now, -1, what, "malformed or truncated JSON"))
            finish_record(p, now, false);
        return;
    }
    p->attempts = 0;
    json_t *parts = json_object_get(p->doc, "participants_v2");
    if (!json_is_array(parts)) {
        parts = json_array();
        json_object_set_new(p->doc, "participants_v2", parts);
    }
    json_array_extend(parts, value);
    after_parts_page(p, json_string_value(json_object_get(root, "@odata.nextLink")), now);
    json_decref(root);
}

static void on_not_found(graph_poller_t *p, int64_t now)
{
    p->stats.not_found++;
    int64_t first = p->cur.first_seen_us ? p->cur.first_seen_us : now;
    if (now - first < p->cfg.pending_max_age_s * 1000000) {
        LOG_INFO("graph: record %s not available yet (404); will try again in %lld s", p->cur.id,
                 (long long)p->cfg.pending_retry_s);
        graph_store_pending_add(p->store, p->cur.id, now, now + p->cfg.pending_retry_s * 1000000,
                                404);
    } else {
        LOG_WARN("graph: record %s still 404 after %lld min; giving up on it", p->cur.id,
                 (long long)((now - first) / 60000000));
        graph_store_pending_done(p->store, p->cur.id);
    }
    drop_current(p);
}

/* ---- one step --------------------------------------------------------- */

static int step_token(graph_poller_t *p, int64_t now, int64_t *next)
{
    graph_http_resp_t r;
    char err[600];
    p->stats.requests++;
    p->stats.token_requests++;
    graph_token_result_t t = graph_token_fetch(p->token, p->http, now, &r, err, sizeof err);
    if (t == GRAPH_TOKEN_OK) {
        p->token_attempts = 0;
        LOG_INFO("graph: access token obtained; renewing it in %lld s",
                 (long long)graph_token_lifetime_s(p->token));
    } else if (t == GRAPH_TOKEN_FATAL) {
        set_fatal(p, r.net == GRAPH_NET_TLS ? GRAPH_EXIT_TLS : GRAPH_EXIT_AUTH, err);
    } else {
        int saved = p->attempts;
        p->attempts = p->token_attempts;
        if (r.status == 429)
            p->stats.throttled++;
        if (!retry_later(p, now, r.retry_after_s, "token request", err)) {
            const char *unreachable = graph_http_unreachable(&r);
            if (unreachable)
                net_unreachable(p, p->token_url, &r, unreachable);
            p->cycle_errors++;
            p->stats.errors++;
            park_queue(p, now);
            graph_http_resp_clear(&r);
            p->token_attempts = 0;
            p->attempts = 0;
            return end_cycle(p, now, next);
        }
        p->token_attempts = p->attempts;
        p->attempts = saved;
    }
    graph_http_resp_clear(&r);
    *next = p->wake_us > now ? p->wake_us : now;
    return p->fatal ? GRAPH_STEP_FATAL : GRAPH_STEP_BUSY;
}

/* Picks the next request; NULL when the cycle has nothing left. */
static const char *next_request(graph_poller_t *p, req_t *kind, char *buf, size_t buflen)
{
    if (p->phase == PH_LIST && p->list_url) {
        *kind = REQ_LIST;
        return p->list_url;
    }
    p->phase = PH_FETCH;
    if (!p->cur.id) {
        if (p->qhead >= p->qlen)
            return NULL;
        p->cur = p->queue[p->qhead++];
        limiter_init(&p->first, FIRST_LIMIT, 20 * 1000000LL);
        limiter_init(&p->next, NEXT_LIMIT, 300 * 1000000LL);
        p->attempts = 0;
    }
    if (p->sessions_url) {
        *kind = REQ_SESSIONS;
        return p->sessions_url;
    }
    if (p->parts_url) {
        *kind = REQ_PARTICIPANTS;
        return p->parts_url;
    }
    *kind = REQ_RECORD;
    snprintf(buf, buflen, "%s/communications/callRecords/%s?$expand=sessions($expand=segments)",
             p->cfg.graph_url, p->cur.id);
    return buf;
}

static void dispatch(graph_poller_t *p, req_t kind, const char *url, const graph_http_resp_t *r,
                     int64_t now)
{
    char what[200];
    if (kind == REQ_LIST)
        snprintf(what, sizeof what, "list page");
    else
        snprintf(what, sizeof what, "%s %s", req_name(kind), p->cur.id);
    outcome_t o = classify(p, url, r, now, what);
    if (o == OUT_AUTH) {
        graph_token_invalidate(p->token);
        p->auth_retries++;
        if (p->auth_retries > 2) {
            set_fatal(p, GRAPH_EXIT_AUTH,
                      "Graph rejects freshly issued tokens (HTTP 401): check that --graph-url "
                      "and --authority-url belong to the same cloud");
        } else {
            LOG_INFO("graph: access token rejected (HTTP 401, expired or revoked); fetching a "
                     "new one");
        }
        return;
    }
    p->auth_retries = 0;
    if (o == OUT_OK) {
        if (kind == REQ_LIST)
            on_list(p, r, now);
        else if (kind == REQ_RECORD)
            on_record(p, r, now);
        else if (kind == REQ_SESSIONS)
            on_sessions(p, r, now);
        else
            on_participants(p, r, now);
    } else if (o == OUT_NOTFOUND && kind == REQ_RECORD) {
        on_not_found(p, now);
    } else if (o == OUT_FAIL || o == OUT_NOTFOUND) {
        bool refused = r->net == GRAPH_NET_OK && r->status >= 400 && r->status < 500 &&
                       r->status != 429; /* asking again will not help */
        if (kind == REQ_PARTICIPANTS && p->parts_first && refused) {
            parts_unavailable(p, r->status, now);
        } else if (kind == REQ_PARTICIPANTS) {
            finish_record(p, now, false);
        } else if (kind == REQ_LIST) {
            p->cycle_errors++;
            p->stats.errors++;
            p->phase = PH_FETCH;
        } else if (kind == REQ_SESSIONS) {
            finish_record(p, now, false);
        } else {
            fail_record(p, now, (int)r->status, "request failed");
        }
    }
}

int graph_poller_step(graph_poller_t *p, int64_t now, int64_t *next)
{
    *next = now;
    if (p->fatal)
        return GRAPH_STEP_FATAL;
    if (now < p->wake_us) {
        *next = p->wake_us;
        return p->phase == PH_START ? GRAPH_STEP_IDLE : GRAPH_STEP_BUSY;
    }
    if (p->phase == PH_START) {
        start_cycle(p, now);
        return GRAPH_STEP_BUSY;
    }
    if (p->net_down) {
        park_queue(p, now);
        return end_cycle(p, now, next);
    }
    if (!graph_token_current(p->token, now))
        return step_token(p, now, next);
    char buf[URL_MAX];
    req_t kind;
    const char *url = next_request(p, &kind, buf, sizeof buf);
    if (!url)
        return end_cycle(p, now, next);
    /* Graph's per-record limits: first pages (the record, the first
     * participants page) and further pages (sessions and participants
     * nextLinks) */
    limiter_t *lim = kind == REQ_RECORD || (kind == REQ_PARTICIPANTS && p->parts_first) ? &p->first
                     : kind == REQ_SESSIONS || kind == REQ_PARTICIPANTS                 ? &p->next
                                                                                        : NULL;
    int64_t until = lim ? limiter_wait(lim, now) : 0;
    if (until) {
        LOG_INFO("graph: record %s: Graph's per-record request limit reached; waiting %.1f s",
                 p->cur.id, (double)(until - now) / 1e6);
        p->wake_us = until;
        *next = until;
        return GRAPH_STEP_BUSY;
    }
    if (lim)
        limiter_note(lim, now);
    graph_http_resp_t r;
    int64_t t0 = mono_us();
    p->stats.requests++;
    graph_http_get(p->http, url, graph_token_current(p->token, now), &r);
    int64_t after = now + (mono_us() - t0);
    dispatch(p, kind, url, &r, after);
    graph_http_resp_clear(&r);
    int64_t gap = after + p->cfg.min_gap_ms * 1000;
    if (p->wake_us < gap)
        p->wake_us = gap;
    *next = p->wake_us;
    return p->fatal ? GRAPH_STEP_FATAL : GRAPH_STEP_BUSY;
}
