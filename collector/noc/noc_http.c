#include "noc_http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "noc_api.h"
#include "noc_audit.h"
#include "noc_auth.h"
#include "noc_dashboard.h"
#include "noc_db.h"
#include "noc_metrics.h"
#include "noc_privacy.h"
#include "noc_query.h"
#include "timefmt.h"

#define MAX_PEM (1 << 20)
#define MAX_METRICS_BYTES (16u << 20)
/* Limits (docs/noc.md). One thread per connection, so a slow request or a
 * slow client holds only its own: with 200,000 calls a whole-history
 * timeline took 2.4 s, and eight of them queued on the old single thread
 * made /healthz wait 15.8 s. */
#define CONN_LIMIT 256      /* connections (and threads) at once */
#define PER_IP_LIMIT 32     /* of them from one address */
#define CONN_TIMEOUT_S 30   /* idle connection */
#define HEADER_MS 10000     /* request line + headers must arrive within this */
#define HEADER_BUSY_MS 2000 /* ... when over half the connections are in their headers */
#define REAP_EVERY_MS 250
#define CONN_MEMORY (64u << 10)  /* request line + headers; longer gets 414/431 */
#define DB_READERS 4             /* read connections: API requests answered at once */
#define DB_WAIT_MS 2000          /* an API request waits this long for one, then 503 */
#define REQUEST_MS 3000          /* every statement of one API or /metrics request */
#define HEALTH_MS 1000           /* /healthz's look at the store */
#define READER_MMAP "4294967296" /* bytes of the store a reader maps (SQLite caps it) */
#define MAX_STATUS 600
/* Answers kept for a while (route_t.cache_ms: fresh for that long, then
 * served at once while the refresher thread makes a new one, up to
 * ANSWER_STALE_MS). /api/buildings opens and looks up every participant of
 * the window's calls: on the month-sized store over 24 h, 48,700
 * participants, 0.45-0.65 s of CPU (1.2-3 s wall at load 10, over the
 * statement limit at times), which was most of the dashboard's load. Its
 * counts over a day may so lag by cache_ms plus one computation, or
 * ANSWER_STALE_MS for the first load after nobody asked for that long
 * (docs/noc.md "Threads and connections"). */
#define ANSWER_CACHE_MS 30000
#define ANSWER_STALE_MS 300000
/* The refresher's statement time limit: it holds no client, and an answer
 * over REQUEST_MS on a busy machine (503 to the request) is then made in
 * the background and kept, so the next load has it. */
#define REFRESH_MS 15000
#define ANSWER_CACHE_N 16   /* answers kept (distinct queries) */
#define ANSWER_KEY_MAX 1200 /* path and query; a longer one is not kept */
#define SAVED_ARGS (2 * (NOC_QUERY_MAX_ARGS + 1))

#define CSP                                                                                        \
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self';"                 \
    " img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

typedef enum { R_API, R_METRICS, R_HEALTH, R_WHOAMI } route_kind_t;

/* What the name in a route's path is, for the audit record: a call id or
 * a site is written as it is (a call id also among the record's calls);
 * any other name (ARG_OTHER, the default of a new route) only as "{name}",
 * in case it names a person. */
typedef enum { ARG_OTHER = 0, ARG_CALL, ARG_SITE } arg_kind_t;

typedef struct {
    const char *path; /* exact, or a prefix ending in '/' followed by one name */
    bool has_arg;
    route_kind_t kind;
    unsigned params;
    noc_api_fn fn;
    const char *suffix; /* after the name (has_arg only), e.g. "/timeline"; NULL none */
    arg_kind_t arg_kind;
    unsigned cache_ms; /* 0: every request asks the store; else answers kept this long */
} route_t;

#define FILTER_P (NOC_P_SINCE | NOC_P_UNTIL | NOC_P_SITE | NOC_P_VERDICT | NOC_P_CLIENT)

static const route_t routes[] = {
    {"/api/calls/", true, R_API, 0, noc_api_timeline, "/timeline", ARG_CALL, 0},
    {"/api/live", false, R_API,
     NOC_P_SITE | NOC_P_BUILDING | NOC_P_USER | NOC_P_LIMIT | NOC_P_OFFSET, noc_api_live, NULL,
     ARG_OTHER, 0},
    {"/api/calls", false, R_API, FILTER_P | NOC_P_LIMIT | NOC_P_OFFSET, noc_api_calls, NULL,
     ARG_OTHER, 0},
    {"/api/calls/", true, R_API, 0, noc_api_call, NULL, ARG_CALL, 0},
    {"/api/sites", false, R_API, FILTER_P & ~NOC_P_SITE, noc_api_sites, NULL, ARG_OTHER, 0},
    {"/api/sites/", true, R_API, (FILTER_P & ~NOC_P_SITE) | NOC_P_BUCKET | NOC_P_LIMIT,
     noc_api_site, NULL, ARG_SITE, 0},
    {"/api/buildings", false, R_API, NOC_P_SINCE | NOC_P_REGION, noc_api_buildings, NULL, ARG_OTHER,
     ANSWER_CACHE_MS},
    {"/api/clients", false, R_API, FILTER_P | NOC_P_LIMIT, noc_api_clients, NULL, ARG_OTHER, 0},
    {"/api/whoami", false, R_WHOAMI, 0, NULL, NULL, ARG_OTHER, 0},
    {"/metrics", false, R_METRICS, 0, NULL, NULL, ARG_OTHER, 0},
    {"/healthz", false, R_HEALTH, 0, NULL, NULL, ARG_OTHER, 0},
};

#define NROUTES (sizeof routes / sizeof routes[0])

/* A read connection of the pool, with its statement time limit. */
typedef struct {
    db_t *store;
    noc_db_limit_t limit;
    bool busy;
} reader_t;

/* A kept answer: the handler's JSON before the role's filter (the filter
 * and the audit run on a copy for each request). */
typedef struct {
    char key[ANSWER_KEY_MAX]; /* the path and the query's parameters as sent */
    const route_t *rt;
    /* the parameters again, for the refresher: keys and values in buf */
    char buf[ANSWER_KEY_MAX];
    size_t off[SAVED_ARGS], len[SAVED_ARGS], nargs;
    bool has_value[NOC_QUERY_MAX_ARGS + 1];
    json_t *out; /* NULL: none yet (free slot unless pending) */
    int64_t at_ms;
    bool refresh;        /* served stale, or pending: the refresher makes a new one */
    bool pending;        /* no answer yet: the request's own reached its time limit, or warm-up */
    bool warm;           /* pending since start (answer_warm), not asked for yet */
    int64_t map_version; /* the building map's (newest import's id) when made */
} answer_t;

/* A connection whose request line and headers are awaited since since_ms. */
typedef struct {
    int fd; /* -1: free slot */
    int64_t since_ms;
    bool in_headers, cut;
} conn_t;

struct noc_http {
    noc_http_cfg_t cfg;
    noc_auth_t auth;
    noc_privacy_t *privacy; /* what a viewer sees */
    noc_audit_t *audit;     /* NULL without an investigator token */
    struct MHD_Daemon *d;
    char *cert, *key;     /* PEM, kept while the daemon runs */
    pthread_mutex_t lock; /* everything below but the health and metrics parts */
    pthread_cond_t reader_free, reaper_wake, refresh_wake, answer_made;
    reader_t readers[DB_READERS];
    answer_t answers[ANSWER_CACHE_N];
    conn_t conns[CONN_LIMIT];
    bool stopping, reaper_started, refresher_started, warmer_started, warmer_done, locks_made;
    pthread_t reaper, refresher, warmer;
    uint64_t by_status[MAX_STATUS], auth_failures, header_timeouts, busy, query_timeouts;
    pthread_mutex_t health_lock; /* health_db and its limit */
    db_t *health_db;
    noc_db_limit_t health_limit;
    pthread_mutex_t metrics_lock; /* cfg.db (the metrics callback's) and its limit */
    noc_db_limit_t metrics_limit;
};

static void count(struct noc_http *h, uint64_t *counter)
{
    pthread_mutex_lock(&h->lock);
    (*counter)++;
    pthread_mutex_unlock(&h->lock);
}

/* Request states kept in *con_cls: the addresses are the markers. */
static const char req_started = 's', req_with_body = 'b';

/* ---- responses ------------------------------------------------------------- */

static enum MHD_Result respond(struct noc_http *h, struct MHD_Connection *c, unsigned status,
                               const char *mime, void *body, size_t len,
                               enum MHD_ResponseMemoryMode mm)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, body, mm);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", mime);
    MHD_add_response_header(r, "Cache-Control", "no-store");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    if (strncmp(mime, "text/html", 9) == 0)
        MHD_add_response_header(r, "Content-Security-Policy", CSP);
    if (status == MHD_HTTP_UNAUTHORIZED)
        MHD_add_response_header(r, "WWW-Authenticate", "Bearer realm=\"callscope\"");
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(r, "Allow", "GET, HEAD");
    enum MHD_Result ok = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    if (status < MAX_STATUS)
        count(h, &h->by_status[status]);
    return ok;
}

/* A dashboard file, with an ETag (FNV-1a of its bytes) and "no-cache": the
 * browser asks again on every load and gets 304 without the bytes, so it
 * keeps its parsed and compiled copy of app.js (Chromium caches the
 * compiled code of a script it got from its HTTP cache, never of one
 * served no-store), and a new collector's files are seen at once. */
static enum MHD_Result send_asset(struct noc_http *h, struct MHD_Connection *c,
                                  const noc_dashboard_asset_t *as)
{
    uint64_t x = 1469598103934665603ULL;
    for (size_t i = 0; i < as->len; i++)
        x = (x ^ as->data[i]) * 1099511628211ULL;
    char etag[24];
    snprintf(etag, sizeof etag, "\"%016llx\"", (unsigned long long)x);
    const char *inm =
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_NONE_MATCH);
    bool same = inm && strcmp(inm, etag) == 0;
    unsigned status = same ? MHD_HTTP_NOT_MODIFIED : MHD_HTTP_OK;
    struct MHD_Response *r = MHD_create_response_from_buffer(
        same ? 0 : as->len, same ? NULL : (void *)as->data, MHD_RESPMEM_PERSISTENT);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", as->mime);
    MHD_add_response_header(r, "Cache-Control", "no-cache");
    MHD_add_response_header(r, "ETag", etag);
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    if (strncmp(as->mime, "text/html", 9) == 0)
        MHD_add_response_header(r, "Content-Security-Policy", CSP);
    enum MHD_Result ok = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    count(h, &h->by_status[status]);
    return ok;
}

static enum MHD_Result send_json(struct noc_http *h, struct MHD_Connection *c, unsigned status,
                                 json_t *j)
{
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!s) {
        static const char oom[] = "{\"error\":\"out of memory\",\"status\":500}";
        return respond(h, c, MHD_HTTP_INTERNAL_SERVER_ERROR, "application/json", (void *)oom,
                       sizeof oom - 1, MHD_RESPMEM_PERSISTENT);
    }
    return respond(h, c, status, "application/json", s, strlen(s), MHD_RESPMEM_MUST_FREE);
}

static enum MHD_Result send_error(struct noc_http *h, struct MHD_Connection *c, unsigned status,
                                  const char *msg)
{
    return send_json(h, c, status, json_pack("{s:s, s:i}", "error", msg, "status", (int)status));
}

/* ---- the pieces of a request ------------------------------------------------------ */

typedef struct {
    noc_kv_t kv[NOC_QUERY_MAX_ARGS + 1];
    size_t n;
} args_t;

static enum MHD_Result collect(void *cls, enum MHD_ValueKind kind, const char *key, size_t klen,
                               const char *value, size_t vlen)
{
    args_t *a = cls;
    if (a->n > NOC_QUERY_MAX_ARGS)
        return MHD_NO;
    a->kv[a->n++] = (noc_kv_t){key, value, klen, value ? vlen : 0};
    return MHD_YES;
}

/* The name between a route's prefix and its suffix, copied into buf. */
static bool route_arg(const route_t *rt, const char *url, char *buf, size_t buflen)
{
    size_t n = strlen(rt->path), len = strlen(url), sl = rt->suffix ? strlen(rt->suffix) : 0;
    if (strncmp(url, rt->path, n) != 0 || len <= n + sl)
        return false;
    if (sl && strcmp(url + len - sl, rt->suffix) != 0)
        return false;
    snprintf(buf, buflen, "%.*s", (int)(len - n - sl), url + n);
    return true;
}

static const route_t *route_of(const char *url, char *buf, size_t buflen, const char **arg)
{
    for (size_t i = 0; i < NROUTES; i++) {
        if (!routes[i].has_arg && strcmp(url, routes[i].path) == 0) {
            *arg = NULL;
            return &routes[i];
        }
        if (routes[i].has_arg && route_arg(&routes[i], url, buf, buflen)) {
            *arg = buf;
            return &routes[i];
        }
    }
    return NULL;
}

/* The token the request presents (borrowed), or NULL (counted). */
static const noc_auth_token_t *authorised(struct noc_http *h, struct MHD_Connection *c)
{
    const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    const noc_auth_token_t *t = noc_auth_match(&h->auth, v);
    if (!t)
        count(h, &h->auth_failures);
    return t;
}

/* A free read connection, waiting up to DB_WAIT_MS; NULL: none. */
static reader_t *reader_take(struct noc_http *h)
{
    struct timespec until = timefmt_deadline(CLOCK_MONOTONIC, DB_WAIT_MS);
    reader_t *r = NULL;
    pthread_mutex_lock(&h->lock);
    for (;;) {
        for (size_t i = 0; i < DB_READERS && !r; i++)
            if (h->readers[i].store && !h->readers[i].busy)
                r = &h->readers[i];
        if (r || pthread_cond_timedwait(&h->reader_free, &h->lock, &until) != 0)
            break;
    }
    if (r)
        r->busy = true;
    else
        h->busy++;
    pthread_mutex_unlock(&h->lock);
    return r;
}

static void reader_give(struct noc_http *h, reader_t *r)
{
    pthread_mutex_lock(&h->lock);
    r->busy = false;
    r->limit.deadline_ms = 0;
    pthread_cond_signal(&h->reader_free);
    pthread_mutex_unlock(&h->lock);
}

/* The endpoint as the audit record names it: the path, with a name that
 * is neither a call id nor a site shown as "{name}". */
static void audit_endpoint(const route_t *rt, const char *url, char *buf, size_t buflen)
{
    if (!rt->has_arg || rt->arg_kind != ARG_OTHER)
        snprintf(buf, buflen, "%s", url);
    else
        snprintf(buf, buflen, "%s{name}%s", rt->path, rt->suffix ? rt->suffix : "");
}

/* The investigator's answer showed personal values: one audit record. */
static bool audit(struct noc_http *h, const noc_auth_token_t *tok, const route_t *rt,
                  const char *url, const char *arg, const noc_privacy_seen_t *seen)
{
    const char *fields[32];
    size_t nf = 0;
    for (size_t i = 0; i < noc_privacy_nkeys() && nf < sizeof fields / sizeof fields[0]; i++)
        if (seen->keys & (1u << i))
            fields[nf++] = noc_privacy_key(i);
    char ep[NOC_AUDIT_MAX_ENDPOINT + 64];
    audit_endpoint(rt, url, ep, sizeof ep);
    noc_audit_entry_t e = {timefmt_now(),
                           tok->name,
                           noc_auth_role_name(tok->role),
                           ep,
                           rt->arg_kind == ARG_CALL ? arg : NULL,
                           seen->call_ids,
                           fields,
                           nf,
                           seen->values};
    return h->audit && noc_audit_write(h->audit, &e);
}

/* The role's view of a handler's answer (noc_privacy.h), and the audit
 * record of what an investigator saw. Fails closed: an answer whose
 * record cannot be written is not sent. */
static enum MHD_Result send_answer(struct noc_http *h, struct MHD_Connection *c,
                                   const noc_auth_token_t *tok, const route_t *rt, const char *url,
                                   const char *arg, bool head, json_t *out)
{
    bool investigator = tok->role == NOC_ROLE_INVESTIGATOR;
    noc_privacy_seen_t seen = {0};
    if (!noc_privacy_apply(h->privacy, out, !investigator, investigator ? &seen : NULL)) {
        json_decref(out);
        noc_privacy_seen_free(&seen);
        return send_error(h, c, MHD_HTTP_INTERNAL_SERVER_ERROR,
                          "the answer could not be filtered for this role");
    }
    bool refused = investigator && seen.values && !head && !audit(h, tok, rt, url, arg, &seen);
    noc_privacy_seen_free(&seen);
    if (refused) {
        json_decref(out);
        return send_error(h, c, MHD_HTTP_SERVICE_UNAVAILABLE,
                          "the audit log cannot be written, so personal data is not shown; "
                          "see the server's log");
    }
    return send_json(h, c, MHD_HTTP_OK, out);
}

/* A viewer may not search by person: checked on the raw query, before any
 * parameter is parsed, so a parameter added later is covered too. */
static const char *person_search(const args_t *a)
{
    for (size_t i = 0; i < a->n; i++) {
        const char *name = noc_privacy_person_param(a->kv[i].key, a->kv[i].key_len);
        if (name)
            return name;
    }
    return NULL;
}

/* The kept answer's key: the path and the parameters in the order sent
 * (the same query in another order is another key), each with its length
 * so that no two queries share one; false: too long, or a NUL inside. */
static bool answer_key(const char *url, const args_t *a, char *key, size_t len)
{
    size_t n = (size_t)snprintf(key, len, "%s", url);
    for (size_t i = 0; i < a->n && n < len; i++) {
        const char *v = a->kv[i].value ? a->kv[i].value : "";
        size_t vl = a->kv[i].value ? a->kv[i].value_len : 0;
        if (strnlen(a->kv[i].key, a->kv[i].key_len) != a->kv[i].key_len || strnlen(v, vl) != vl)
            return false;
        n += (size_t)snprintf(key + n, len - n, " %zu:%.*s%c%zu:%.*s", a->kv[i].key_len,
                              (int)a->kv[i].key_len, a->kv[i].key, a->kv[i].value ? '=' : '-', vl,
                              (int)vl, v);
    }
    return n < len;
}

/* The parameters kept with an answer (false: too long to keep). */
static bool args_save(const args_t *a, answer_t *e)
{
    size_t n = 0, k = 0;
    for (size_t i = 0; i < a->n; i++) {
        const char *part[2] = {a->kv[i].key, a->kv[i].value ? a->kv[i].value : ""};
        size_t plen[2] = {a->kv[i].key_len, a->kv[i].value ? a->kv[i].value_len : 0};
        for (int j = 0; j < 2; j++) {
            if (n + plen[j] + 1 > sizeof e->buf)
                return false;
            memcpy(e->buf + n, part[j], plen[j]);
            e->buf[n + plen[j]] = '\0';
            e->off[k] = n;
            e->len[k++] = plen[j];
            n += plen[j] + 1;
        }
        e->has_value[i] = a->kv[i].value != NULL;
    }
    e->nargs = a->n;
    return true;
}

/* The kept parameters as a request's, pointing into e (which must stay). */
static void args_load(const answer_t *e, args_t *a)
{
    a->n = e->nargs;
    for (size_t i = 0; i < e->nargs; i++)
        a->kv[i] =
            (noc_kv_t){e->buf + e->off[2 * i], e->has_value[i] ? e->buf + e->off[2 * i + 1] : NULL,
                       e->len[2 * i], e->has_value[i] ? e->len[2 * i + 1] : 0};
}

/* A copy of the answer kept under key: fresh (younger than cache_ms), or
 * stale but younger than ANSWER_STALE_MS, then marked for the refresher.
 * NULL: none, or too old. */
static json_t *answer_get(struct noc_http *h, const char *key, unsigned ms, int64_t *map_version)
{
    json_t *out = NULL;
    int64_t now = noc_db_now_ms();
    pthread_mutex_lock(&h->lock);
    for (size_t i = 0; i < ANSWER_CACHE_N && !out; i++) {
        answer_t *e = &h->answers[i];
        if (!e->out || strcmp(e->key, key) != 0 || now - e->at_ms >= ANSWER_STALE_MS)
            continue;
        out = json_deep_copy(e->out);
        *map_version = e->map_version;
        if (now - e->at_ms >= (int64_t)ms && !e->refresh && h->refresher_started) {
            e->refresh = true;
            pthread_cond_signal(&h->refresh_wake);
        }
    }
    pthread_mutex_unlock(&h->lock);
    return out;
}

/* Under h->lock: the slot of key, else a free one, else the oldest. */
static answer_t *answer_slot(struct noc_http *h, const char *key)
{
    answer_t *slot = &h->answers[0];
    for (size_t i = 0; i < ANSWER_CACHE_N; i++) {
        answer_t *e = &h->answers[i];
        bool used = e->out || e->pending, slot_used = slot->out || slot->pending;
        if (used && strcmp(e->key, key) == 0)
            return e;
        if (!used ? slot_used : (slot_used && e->at_ms < slot->at_ms))
            slot = e;
    }
    return slot;
}

/* While the refresher makes key's first answer (pending), a request waits
 * for it up to ms instead of making its own copy beside it; then a copy
 * of it, or NULL (none pending, or not made in time). */
static json_t *answer_wait(struct noc_http *h, const char *key, unsigned ms, bool *pending)
{
    *pending = false;
    struct timespec until = timefmt_deadline(CLOCK_MONOTONIC, (long)ms);
    json_t *out = NULL;
    bool first = true;
    pthread_mutex_lock(&h->lock);
    for (;;) {
        answer_t *e = NULL;
        for (size_t i = 0; i < ANSWER_CACHE_N && !e; i++)
            if ((h->answers[i].out || h->answers[i].pending) && strcmp(h->answers[i].key, key) == 0)
                e = &h->answers[i];
        /* only an answer being made: a kept one the caller refused (made
         * with an older building map) is not given back */
        if (!e || (first && !e->pending))
            break;
        first = false;
        if (!e->pending) {
            out = e->out ? json_deep_copy(e->out) : NULL;
            break;
        }
        *pending = true;
        if (h->stopping || pthread_cond_timedwait(&h->answer_made, &h->lock, &until) != 0)
            break;
    }
    pthread_mutex_unlock(&h->lock);
    return out;
}

/* The request's answer reached its time limit: the refresher makes it
 * (with REFRESH_MS) and keeps it for the next request. */
static void answer_want(struct noc_http *h, const char *key, const route_t *rt, const args_t *a,
                        bool warm)
{
    pthread_mutex_lock(&h->lock);
    answer_t *slot = answer_slot(h, key);
    if (!slot->out && !slot->pending && h->refresher_started && args_save(a, slot)) {
        snprintf(slot->key, sizeof slot->key, "%s", key);
        slot->rt = rt;
        slot->at_ms = noc_db_now_ms();
        slot->pending = slot->refresh = true;
        slot->warm = warm;
        pthread_cond_signal(&h->refresh_wake);
    }
    pthread_mutex_unlock(&h->lock);
}

/* Keeps a copy of out under key (in the slot of the same key, a free one
 * or the oldest), with the parameters that made it. */
static void answer_put(struct noc_http *h, const char *key, const route_t *rt, const args_t *a,
                       int64_t map_version, const json_t *out)
{
    json_t *copy = json_deep_copy(out);
    if (!copy)
        return;
    pthread_mutex_lock(&h->lock);
    answer_t *slot = answer_slot(h, key);
    json_decref(slot->out);
    slot->out = NULL;
    slot->refresh = slot->pending = slot->warm = false;
    if (args_save(a, slot)) {
        snprintf(slot->key, sizeof slot->key, "%s", key);
        slot->rt = rt;
        slot->out = copy;
        slot->at_ms = noc_db_now_ms();
        slot->map_version = map_version;
    } else {
        json_decref(copy);
    }
    pthread_cond_broadcast(&h->answer_made);
    pthread_mutex_unlock(&h->lock);
}

/* The building map's version (its newest import's id), read as every
 * request that reads the map does; -1 when it cannot be read (a kept
 * answer is then not used, a new one not kept). */
static int64_t building_version(struct noc_http *h)
{
    if (!h->cfg.buildings)
        return 0;
    reader_t *rd = reader_take(h);
    if (!rd)
        return -1;
    char err[256];
    noc_db_limit_arm(&rd->limit, REQUEST_MS);
    noc_buildings_ref_t *ref = noc_buildings_acquire(h->cfg.buildings, rd->store, err, sizeof err);
    int64_t v = ref ? noc_buildings_version(ref) : -1;
    noc_buildings_release(h->cfg.buildings, &ref);
    reader_give(h, rd);
    return v;
}

/* A handler's answer to a request's parameters: HTTP status, *out on 200,
 * err otherwise (a 503 when every reader is taken or the statement time
 * limit is reached, both counted). */
static int answer_make(struct noc_http *h, const route_t *rt, const char *arg, const args_t *a,
                       int limit_ms, json_t **out, bool *timed_out, char *err, size_t errlen)
{
    noc_params_t p;
    *out = NULL;
    *timed_out = false;
    if (!noc_query_parse(a->kv, a->n, rt->params, h->cfg.max_rows, h->cfg.pii, &p, err, errlen))
        return MHD_HTTP_BAD_REQUEST;
    if (rt->has_arg && !noc_query_name_ok(arg)) {
        snprintf(err, errlen, "the name in the path must be 1-256 printable characters");
        return MHD_HTTP_BAD_REQUEST;
    }
    reader_t *rd = reader_take(h);
    if (!rd) {
        snprintf(err, errlen, "busy: every database reader is taken; try again");
        return MHD_HTTP_SERVICE_UNAVAILABLE;
    }
    noc_db_limit_arm(&rd->limit, limit_ms);
    noc_api_req_t req = {rd->store, &rd->limit,       h->cfg.pii,        &p,
                         arg,       h->cfg.buildings, h->cfg.live_hold_s};
    int status = rt->fn(&req, out, err, errlen);
    *timed_out = rd->limit.hit;
    reader_give(h, rd);
    if (*timed_out) {
        json_decref(*out);
        *out = NULL;
        count(h, &h->query_timeouts);
        snprintf(err, errlen,
                 "query time limit (%d ms) reached: narrow the time range or the filters",
                 limit_ms);
        status = MHD_HTTP_SERVICE_UNAVAILABLE;
    }
    if (status != MHD_HTTP_OK) {
        json_decref(*out);
        *out = NULL;
    }
    return status;
}

/* One line per warm-up answer made (warm_up[]'s have one parameter). */
static void warm_log(const route_t *rt, const args_t *a, int64_t t0, const char *kept)
{
    LOG_INFO("noc: warm-up: %s?%s=%s made in %lld ms%s", rt->path, a->n ? a->kv[0].key : "",
             a->n && a->kv[0].value ? a->kv[0].value : "", (long long)(noc_db_now_ms() - t0), kept);
}

/* The refresher: makes a new copy of each kept answer a request found
 * stale, one at a time, on a reader of the pool like a request. */
static void *refresher(void *arg)
{
    struct noc_http *h = arg;
    answer_t *job = malloc(sizeof *job);
    pthread_mutex_lock(&h->lock);
    while (!h->stopping && job) {
        answer_t *e = NULL;
        for (size_t i = 0; i < ANSWER_CACHE_N && !e; i++)
            if ((h->answers[i].out || h->answers[i].pending) && h->answers[i].refresh)
                e = &h->answers[i];
        if (!e) {
            pthread_cond_wait(&h->refresh_wake, &h->lock);
            continue;
        }
        memcpy(job, e, sizeof *job);
        job->out = NULL;
        pthread_mutex_unlock(&h->lock);
        args_t a;
        args_load(job, &a);
        json_t *out = NULL;
        char err[256];
        bool late = false;
        int64_t t0 = noc_db_now_ms(), version = building_version(h);
        int status = answer_make(h, job->rt, NULL, &a, REFRESH_MS, &out, &late, err, sizeof err);
        if (status == MHD_HTTP_OK && version < 0)
            status = MHD_HTTP_SERVICE_UNAVAILABLE;
        pthread_mutex_lock(&h->lock);
        bool stopping = h->stopping; /* cut short by noc_http_free: no warning */
        pthread_mutex_unlock(&h->lock);
        if (status != MHD_HTTP_OK && !stopping)
            LOG_WARN("noc: %s (kept answer, refreshed): %s", job->rt->path, err);
        if (status == MHD_HTTP_OK)
            answer_put(h, job->key, job->rt, &a, version, out);
        if (status == MHD_HTTP_OK && job->warm)
            warm_log(job->rt, &a, t0, " and kept");
        json_decref(out);
        pthread_mutex_lock(&h->lock);
        for (size_t i = 0; i < ANSWER_CACHE_N; i++)
            if (status != MHD_HTTP_OK && (h->answers[i].out || h->answers[i].pending) &&
                strcmp(h->answers[i].key, job->key) == 0)
                h->answers[i].refresh = h->answers[i].pending = false; /* tried again later */
        pthread_cond_broadcast(&h->answer_made);
    }
    pthread_mutex_unlock(&h->lock);
    free(job);
    return NULL;
}

/* The dashboard's main page asks these on every load (its default window,
 * "last 24 hours"), in the form its api() sends them, and they are made
 * once at start, before the first request can come in, in parallel: a
 * kept answer (/api/buildings) by the refresher, marked as being made
 * meanwhile, so the first page load waits for that one instead of making
 * its own beside it (on the month-sized store the first page load after
 * start took 2.5 s); the others (/api/live: it keeps no answer but its
 * streams' newest records, noc_api_live.c) by the warm-up thread, so the
 * 300 s look-back is read once, and a request meanwhile waits for that
 * read (the live cache's lock) and then reads only what is newer. */
static const struct {
    const char *path, *name, *value;
} warm_up[] = {
    {"/api/live", "limit", "1"},
    {"/api/buildings", "since", "24h"},
};
#define NWARM (sizeof warm_up / sizeof warm_up[0])

/* warm_up[i]'s route and parameters; NULL: no such route. */
static const route_t *warm_args(size_t i, args_t *a)
{
    const char *name = warm_up[i].name, *value = warm_up[i].value;
    *a = (args_t){.kv = {{name, value, strlen(name), strlen(value)}}, .n = 1};
    for (size_t r = 0; r < NROUTES; r++)
        if (!routes[r].has_arg && strcmp(routes[r].path, warm_up[i].path) == 0)
            return &routes[r];
    return NULL;
}

/* The warm-up thread: the answers of warm_up[] that are not kept. */
static void *warmer(void *arg)
{
    struct noc_http *h = arg;
    for (size_t i = 0; i < NWARM; i++) {
        args_t a;
        const route_t *rt = warm_args(i, &a);
        if (!rt || rt->cache_ms)
            continue;
        json_t *out = NULL;
        char err[256];
        bool late = false;
        int64_t t0 = noc_db_now_ms();
        int status = answer_make(h, rt, NULL, &a, REFRESH_MS, &out, &late, err, sizeof err);
        json_decref(out);
        pthread_mutex_lock(&h->lock);
        bool stopping = h->stopping;
        pthread_mutex_unlock(&h->lock);
        if (status == MHD_HTTP_OK)
            warm_log(rt, &a, t0, "");
        else if (!stopping)
            LOG_WARN("noc: warm-up: %s: %s", rt->path, err);
    }
    pthread_mutex_lock(&h->lock);
    h->warmer_done = true;
    pthread_cond_broadcast(&h->answer_made);
    pthread_mutex_unlock(&h->lock);
    return NULL;
}

/* Starts the warm-up of warm_up[]: kept answers marked as being made for
 * the refresher, the rest on the warm-up thread. */
static void answer_warm(struct noc_http *h)
{
    for (size_t i = 0; i < NWARM; i++) {
        args_t a;
        const route_t *rt = warm_args(i, &a);
        char key[ANSWER_KEY_MAX];
        if (rt && rt->cache_ms && answer_key(rt->path, &a, key, sizeof key))
            answer_want(h, key, rt, &a, true);
    }
    if (pthread_create(&h->warmer, NULL, warmer, h) == 0)
        h->warmer_started = true;
    else
        LOG_WARN("noc: no warm-up thread: the first page load reads the live look-back");
}

static enum MHD_Result serve_api(struct noc_http *h, struct MHD_Connection *c, const route_t *rt,
                                 const char *url, const char *arg, const noc_auth_token_t *tok,
                                 bool head)
{
    args_t a = {.n = 0};
    MHD_get_connection_values_n(c, MHD_GET_ARGUMENT_KIND, collect, &a);
    char err[256];
    const char *person = tok->role == NOC_ROLE_INVESTIGATOR ? NULL : person_search(&a);
    if (person) {
        snprintf(err, sizeof err,
                 "%s=: searching by person needs an investigator token; a viewer sees people "
                 "only as pseudonyms",
                 person);
        return send_error(h, c, MHD_HTTP_FORBIDDEN, err);
    }
    /* a kept answer: the same parameters parsed before, the role's filter
     * and the audit below on this request's copy */
    char key[ANSWER_KEY_MAX];
    bool keep = rt->cache_ms && !rt->has_arg && answer_key(url, &a, key, sizeof key);
    int64_t kept_version = 0, version = keep ? building_version(h) : 0;
    json_t *out = keep ? answer_get(h, key, rt->cache_ms, &kept_version) : NULL;
    if (out && (version < 0 || kept_version != version)) {
        json_decref(out); /* made with the map before an import: made again */
        out = NULL;
    }
    bool pending = false;
    if (keep && !out)
        out = answer_wait(h, key, REQUEST_MS, &pending);
    if (out)
        return send_answer(h, c, tok, rt, url, arg, head, out);
    if (pending) {
        count(h, &h->query_timeouts);
        return send_error(h, c, MHD_HTTP_SERVICE_UNAVAILABLE,
                          "this answer takes longer than the request time limit now: it is "
                          "being made in the background; try again in a few seconds");
    }
    bool late = false;
    int status = answer_make(h, rt, arg, &a, REQUEST_MS, &out, &late, err, sizeof err);
    if (late && keep)
        answer_want(h, key, rt, &a, false);
    if (status != MHD_HTTP_OK) {
        if (status >= 500)
            LOG_WARN("noc: %s: %s", rt->path, err);
        return send_error(h, c, (unsigned)status, err);
    }
    if (keep && version >= 0)
        answer_put(h, key, rt, &a, version, out);
    return send_answer(h, c, tok, rt, url, arg, head, out);
}

/* Under h->lock. */
static void http_series(struct noc_http *h, dynbuf_t *out)
{
    uint64_t written = 0, failed = 0;
    if (h->audit)
        noc_audit_counts(h->audit, &written, &failed);
    noc_metrics_family(out, "callscope_noc_http_responses_total", "counter",
                       "Answers of the NOC's HTTP server by status");
    for (unsigned s = 100; s < MAX_STATUS; s++) {
        if (!h->by_status[s])
            continue;
        char code[8];
        snprintf(code, sizeof code, "%u", s);
        const char *l[] = {"code", code, NULL};
        noc_metrics_sample(out, "callscope_noc_http_responses_total", l, (double)h->by_status[s]);
    }
    const struct {
        const char *name, *help;
        uint64_t v;
    } c[] = {
        {"callscope_noc_http_auth_failures_total",
         "Requests refused for a missing or wrong bearer token", h->auth_failures},
        {"callscope_noc_http_header_timeouts_total",
         "Connections closed for not sending their headers in time", h->header_timeouts},
        {"callscope_noc_http_busy_total", "API requests refused: every database reader taken",
         h->busy},
        {"callscope_noc_http_query_timeouts_total",
         "Requests whose queries reached the statement time limit", h->query_timeouts},
        {"callscope_noc_audit_writes_total",
         "Audit records written: answers that showed an investigator personal data", written},
        {"callscope_noc_audit_failures_total",
         "Audit records that could not be written (the answer was refused)", failed},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        noc_metrics_family(out, c[i].name, "counter", c[i].help);
        noc_metrics_sample(out, c[i].name, NULL, (double)c[i].v);
    }
}

static enum MHD_Result serve_metrics(struct noc_http *h, struct MHD_Connection *c)
{
    dynbuf_t b;
    dynbuf_init(&b, MAX_METRICS_BYTES);
    pthread_mutex_lock(&h->metrics_lock);
    noc_db_limit_arm(&h->metrics_limit, REQUEST_MS);
    if (h->cfg.metrics)
        h->cfg.metrics(h->cfg.ctx, &b);
    h->metrics_limit.deadline_ms = 0;
    pthread_mutex_unlock(&h->metrics_lock);
    pthread_mutex_lock(&h->lock);
    http_series(h, &b);
    pthread_mutex_unlock(&h->lock);
    size_t len = 0;
    char *s = dynbuf_take(&b, &len);
    if (!s)
        return send_error(h, c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
    return respond(h, c, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", s, len,
                   MHD_RESPMEM_MUST_FREE);
}

/* Up when the store answers a read within HEALTH_MS, on a connection of
 * its own (never queued behind API requests). */
static enum MHD_Result serve_health(struct noc_http *h, struct MHD_Connection *c)
{
    char err[256] = "";
    pthread_mutex_lock(&h->health_lock);
    noc_db_limit_arm(&h->health_limit, HEALTH_MS);
    /* SQLite: a read of the file's schema, not only of the connection */
    static const db_sql_t probe = {"SELECT count(*) FROM sqlite_master", "SELECT 1"};
    db_stmt_t *st = h->health_db ? noc_store_prepare(h->health_db, db_pick(h->health_db, probe),
                                                     err, sizeof err)
                                 : NULL;
    bool ok = st && noc_store_step(st, &h->health_limit, err, sizeof err) == DB_ROW;
    db_finalize(&st);
    h->health_limit.deadline_ms = 0;
    pthread_mutex_unlock(&h->health_lock);
    if (!ok)
        return send_json(
            h, c, MHD_HTTP_SERVICE_UNAVAILABLE,
            json_pack("{s:s, s:s}", "status", "unavailable", "store", err[0] ? err : "not open"));
    return send_json(h, c, MHD_HTTP_OK, json_pack("{s:s, s:s}", "status", "ok", "store", "ok"));
}

static enum MHD_Result serve_whoami(struct noc_http *h, struct MHD_Connection *c,
                                    const noc_auth_token_t *tok)
{
    return send_json(
        h, c, MHD_HTTP_OK,
        json_pack("{s:s, s:s}", "role", noc_auth_role_name(tok->role), "token", tok->name));
}

static enum MHD_Result dispatch(struct noc_http *h, struct MHD_Connection *c, const char *url,
                                bool head)
{
    const char *arg = NULL;
    char argbuf[NOC_QUERY_VALUE_MAX + 2]; /* one more: a longer name is refused, not cut */
    const route_t *rt = route_of(url, argbuf, sizeof argbuf, &arg);
    if (!rt) {
        const noc_dashboard_asset_t *as = noc_dashboard_find(url);
        if (as)
            return send_asset(h, c, as);
        return send_error(h, c, MHD_HTTP_NOT_FOUND, "no such endpoint (see docs/noc.md)");
    }
    if (rt->kind == R_HEALTH)
        return serve_health(h, c);
    if (rt->kind == R_METRICS && h->cfg.metrics_open)
        return serve_metrics(h, c);
    const noc_auth_token_t *tok = authorised(h, c);
    if (!tok)
        return send_error(h, c, MHD_HTTP_UNAUTHORIZED,
                          "authentication required: Authorization: Bearer <token>");
    if (rt->kind == R_METRICS)
        return serve_metrics(h, c);
    if (rt->kind == R_WHOAMI)
        return serve_whoami(h, c, tok);
    return serve_api(h, c, rt, url, arg, tok, head);
}

/* ---- header deadline ------------------------------------------------------------- */

/* MHD's connection timeout counts idle time only: a client sending one
 * header line every 5 s held a connection for ever (slowloris). Each
 * connection is tracked from accept; the reaper thread shuts down the
 * socket of one still in its headers after HEADER_MS (HEADER_BUSY_MS when
 * over half the slots are), and MHD then closes it. The slot is freed in
 * MHD's CLOSED notification, which comes before MHD closes the socket, so
 * the reaper never touches a descriptor that was reused. */
static conn_t *conn_of(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *i =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return i ? i->socket_context : NULL;
}

static void headers_done(struct noc_http *h, struct MHD_Connection *c)
{
    conn_t *k = conn_of(c);
    if (!k)
        return;
    pthread_mutex_lock(&h->lock);
    k->in_headers = false;
    pthread_mutex_unlock(&h->lock);
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode why)
{
    struct noc_http *h = cls;
    pthread_mutex_lock(&h->lock);
    if (why == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *i =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        for (size_t n = 0; i && n < CONN_LIMIT; n++) {
            if (h->conns[n].fd >= 0)
                continue;
            h->conns[n] = (conn_t){i->connect_fd, noc_db_now_ms(), true, false};
            *socket_context = &h->conns[n];
            break;
        }
    } else if (*socket_context) {
        ((conn_t *)*socket_context)->fd = -1;
        *socket_context = NULL;
    }
    pthread_mutex_unlock(&h->lock);
}

static void reap(struct noc_http *h)
{
    unsigned waiting = 0;
    for (size_t n = 0; n < CONN_LIMIT; n++)
        waiting += h->conns[n].fd >= 0 && h->conns[n].in_headers;
    int64_t limit = waiting > CONN_LIMIT / 2 ? HEADER_BUSY_MS : HEADER_MS;
    int64_t now = noc_db_now_ms();
    for (size_t n = 0; n < CONN_LIMIT; n++) {
        conn_t *k = &h->conns[n];
        if (k->fd < 0 || !k->in_headers || k->cut || now - k->since_ms < limit)
            continue;
        shutdown(k->fd, SHUT_RDWR);
        k->cut = true;
        h->header_timeouts++;
    }
}

static void *reaper(void *arg)
{
    struct noc_http *h = arg;
    pthread_mutex_lock(&h->lock);
    while (!h->stopping) {
        struct timespec t = timefmt_deadline(CLOCK_MONOTONIC, REAP_EVERY_MS);
        pthread_cond_timedwait(&h->reaper_wake, &h->lock, &t);
        reap(h);
    }
    pthread_mutex_unlock(&h->lock);
    return NULL;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_size, void **state)
{
    struct noc_http *h = cls;
    if (!*state) {
        *state = (void *)&req_started;
        headers_done(h, c);
        return MHD_YES;
    }
    if (*upload_size) {
        *upload_size = 0; /* read and dropped; answered 413 at the end */
        *state = (void *)&req_with_body;
        return MHD_YES;
    }
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return send_error(h, c, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET and HEAD");
    if (*state == &req_with_body)
        return send_error(h, c, MHD_HTTP_CONTENT_TOO_LARGE, "requests take no body");
    return dispatch(h, c, url, strcmp(method, "HEAD") == 0);
}

/* ---- start and stop ------------------------------------------------------------- */

static bool parse_bind(const char *bind, struct sockaddr_storage *ss, bool *v6, char *err,
                       size_t errlen)
{
    char host[INET6_ADDRSTRLEN + 2];
    const char *colon = strrchr(bind, ':');
    size_t hl = colon ? (size_t)(colon - bind) : 0;
    char *end = NULL;
    long port = colon ? strtol(colon + 1, &end, 10) : -1;
    if (!colon || hl == 0 || hl >= sizeof host || !end || *end || end == colon + 1 || port < 0 ||
        port > 65535) {
        snprintf(err, errlen, "--bind '%s': expected ADDRESS:PORT (e.g. 127.0.0.1:8443)", bind);
        return false;
    }
    memcpy(host, bind, hl);
    host[hl] = '\0';
    *v6 = host[0] == '[';
    memset(ss, 0, sizeof *ss);
    if (*v6 && host[hl - 1] == ']') {
        host[hl - 1] = '\0';
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)port);
        if (inet_pton(AF_INET6, host + 1, &s6->sin6_addr) == 1)
            return true;
    } else if (!*v6) {
        struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)port);
        if (inet_pton(AF_INET, host, &s4->sin_addr) == 1)
            return true;
    }
    snprintf(err, errlen, "--bind '%s': not a numeric IPv4 or [IPv6] address", bind);
    return false;
}

/* secret: a private key, refused when its group or others may read it. */
static char *read_pem(const char *path, bool secret, char *err, size_t errlen)
{
    FILE *f = fopen(path, "re");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (secret && fstat(fileno(f), &st) == 0 && (st.st_mode & 077)) {
        snprintf(err, errlen,
                 "TLS private key %s is readable by group or others (mode %04o): run: chmod 600 %s",
                 path, (unsigned)(st.st_mode & 07777), path);
        fclose(f);
        return NULL;
    }
    char *buf = malloc(MAX_PEM + 1);
    size_t n = buf ? fread(buf, 1, MAX_PEM + 1, f) : 0;
    bool bad = ferror(f) || n == 0 || n > MAX_PEM;
    fclose(f);
    if (!buf || bad) {
        snprintf(err, errlen, "%s: empty, unreadable or over %d bytes", path, MAX_PEM);
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    return buf;
}

/* libmicrohttpd's own messages: debug only (they are about sockets and
 * TLS handshakes; kept out of the normal log in case one names a peer). */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    if (log_get_level() < LOG_LVL_DEBUG)
        return;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    msg[strcspn(msg, "\n")] = '\0';
    LOG_DEBUG("noc: microhttpd: %s", msg);
}

static void complete(void *cls, struct MHD_Connection *c, void **state,
                     enum MHD_RequestTerminationCode why)
{
    struct noc_http *h = cls;
    *state = NULL;
    conn_t *k = conn_of(c);
    if (!k)
        return;
    pthread_mutex_lock(&h->lock); /* a kept-alive connection: the next headers' clock */
    k->in_headers = true;
    k->since_ms = noc_db_now_ms();
    pthread_mutex_unlock(&h->lock);
}

static bool load_tls(struct noc_http *h, char *err, size_t errlen)
{
    if (!h->cfg.tls_cert && !h->cfg.tls_key)
        return true;
    if (!h->cfg.tls_cert || !h->cfg.tls_key) {
        snprintf(err, errlen, "TLS needs both --tls-cert and --tls-key");
        return false;
    }
    if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
        snprintf(err, errlen, "this libmicrohttpd was built without TLS");
        return false;
    }
    h->cert = read_pem(h->cfg.tls_cert, false, err, errlen);
    h->key = h->cert ? read_pem(h->cfg.tls_key, true, err, errlen) : NULL;
    return h->key != NULL;
}

static bool start(struct noc_http *h, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    bool v6 = false;
    if (!parse_bind(h->cfg.bind, &ss, &v6, err, errlen))
        return false;
    unsigned flags =
        MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG;
    if (v6)
        flags |= MHD_USE_IPv6;
    if (h->cert)
        flags |= MHD_USE_TLS;
    struct MHD_OptionItem tls[] = {
        {h->cert ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, h->cert},
        {MHD_OPTION_HTTPS_MEM_KEY, 0, h->key},
        {MHD_OPTION_END, 0, NULL},
    };
    h->d = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, h, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)CONN_LIMIT, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
        (unsigned)PER_IP_LIMIT, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CONN_TIMEOUT_S,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONN_MEMORY, MHD_OPTION_EXTERNAL_LOGGER,
        mhd_log, NULL, MHD_OPTION_NOTIFY_COMPLETED, complete, h, MHD_OPTION_NOTIFY_CONNECTION,
        on_connection, h, MHD_OPTION_ARRAY, tls, MHD_OPTION_END);
    if (!h->d) {
        snprintf(err, errlen,
                 "HTTP server on %s did not start (address in use, or bad TLS "
                 "certificate/key; -vv shows libmicrohttpd's reason)",
                 h->cfg.bind);
        return false;
    }
    return true;
}

static bool make_locks(struct noc_http *h, char *err, size_t errlen)
{
    for (size_t n = 0; n < CONN_LIMIT; n++)
        h->conns[n].fd = -1;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    bool ok = pthread_mutex_init(&h->lock, NULL) == 0;
    ok = ok && pthread_cond_init(&h->reader_free, &ca) == 0;
    ok = ok && pthread_cond_init(&h->reaper_wake, &ca) == 0;
    ok = ok && pthread_cond_init(&h->refresh_wake, &ca) == 0;
    ok = ok && pthread_cond_init(&h->answer_made, &ca) == 0;
    ok = ok && pthread_mutex_init(&h->health_lock, NULL) == 0;
    ok = ok && pthread_mutex_init(&h->metrics_lock, NULL) == 0;
    pthread_condattr_destroy(&ca);
    if (!ok) {
        snprintf(err, errlen, "cannot make the HTTP server's locks");
        return false;
    }
    h->locks_made = true;
    if (pthread_create(&h->reaper, NULL, reaper, h) != 0) {
        snprintf(err, errlen, "cannot start the HTTP server's header timer");
        return false;
    }
    h->reaper_started = true;
    if (pthread_create(&h->refresher, NULL, refresher, h) != 0) {
        snprintf(err, errlen, "cannot start the HTTP server's answer refresher");
        return false;
    }
    h->refresher_started = true;
    return true;
}

/* One read connection per concurrent API request, one for /healthz, all
 * on the store cfg.db has open; each with the statement time limit. */
static bool open_readers(struct noc_http *h, char *err, size_t errlen)
{
    if (!h->cfg.db)
        return true;
    noc_store_limit(h->cfg.db, &h->metrics_limit);
    const char *target = h->cfg.db_target;
    if (!target || !*target) {
        snprintf(err, errlen, "the store has no file name");
        return false;
    }
    for (size_t i = 0; i < DB_READERS; i++) {
        h->readers[i].store = noc_store_open(target, err, errlen);
        if (!h->readers[i].store)
            return false;
        noc_store_limit(h->readers[i].store, &h->readers[i].limit);
        /* the readers map the file: a page is then read without a
         * pread(2) each (most of /api/buildings' CPU was the kernel's
         * copies: 650 -> 450 ms on the month-sized store); SQLite caps
         * it at its build's limit (Debian's: 2 GB) */
        if (db_kind(h->readers[i].store) == DB_SQLITE)
            sqlite3_exec(db_sqlite(h->readers[i].store), "PRAGMA mmap_size = " READER_MMAP, NULL,
                         NULL, NULL);
    }
    h->health_db = noc_store_open(target, err, errlen);
    if (!h->health_db)
        return false;
    if (db_kind(h->health_db) == DB_SQLITE)
        sqlite3_busy_timeout(db_sqlite(h->health_db), HEALTH_MS);
    noc_store_limit(h->health_db, &h->health_limit);
    return true;
}

static bool given(const char *s)
{
    return s && *s;
}

/* The tokens (an investigator's, a viewer's, or both), the pseudonym key,
 * and the audit log when there is an investigator to audit. */
static bool load_roles(struct noc_http *h, char *err, size_t errlen)
{
    const noc_http_cfg_t *c = &h->cfg;
    if (!given(c->token_file) && !given(c->viewer_token_file)) {
        snprintf(err, errlen, "no token file: give the investigator's, the viewer's or both");
        return false;
    }
    if (given(c->token_file) &&
        !noc_auth_add(&h->auth, NOC_ROLE_INVESTIGATOR, c->token_file, err, errlen))
        return false;
    if (given(c->viewer_token_file) &&
        !noc_auth_add(&h->auth, NOC_ROLE_VIEWER, c->viewer_token_file, err, errlen))
        return false;
    if (!c->pii) {
        snprintf(err, errlen, "no organisation key: pseudonyms need one");
        return false;
    }
    h->privacy = noc_privacy_new(c->pii, err, errlen);
    if (!h->privacy)
        return false;
    if (!given(c->token_file))
        return true;
    if (!given(c->audit_log)) {
        snprintf(err, errlen, "an investigator token needs an audit log (--audit-log)");
        return false;
    }
    h->audit = noc_audit_new(c->audit_log, err, errlen);
    return h->audit != NULL;
}

noc_http_t *noc_http_new(const noc_http_cfg_t *cfg, char *err, size_t errlen)
{
    noc_http_t *h = calloc(1, sizeof *h);
    if (!h) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    h->cfg = *cfg;
    if (!make_locks(h, err, errlen) || !open_readers(h, err, errlen) ||
        !load_roles(h, err, errlen) || !load_tls(h, err, errlen)) {
        noc_http_free(&h);
        return NULL;
    }
    if (h->cfg.db)
        answer_warm(h); /* before the first request can come in */
    if (!start(h, err, errlen)) {
        noc_http_free(&h);
        return NULL;
    }
    h->cfg.bind = h->cfg.token_file = h->cfg.viewer_token_file = NULL; /* not kept */
    h->cfg.tls_cert = h->cfg.tls_key = h->cfg.audit_log = NULL;
    LOG_INFO("noc: serving %s on port %u", h->cert ? "HTTPS" : "HTTP", noc_http_port(h));
    return h;
}

unsigned noc_http_port(const noc_http_t *h)
{
    const union MHD_DaemonInfo *i = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
    return i ? i->port : 0;
}

void noc_http_free(noc_http_t **ph)
{
    if (!ph || !*ph)
        return;
    noc_http_t *h = *ph;
    if (h->reaper_started) {
        pthread_mutex_lock(&h->lock);
        h->stopping = true;
        pthread_cond_signal(&h->reaper_wake);
        pthread_mutex_unlock(&h->lock);
        pthread_join(h->reaper, NULL);
    }
    if (h->refresher_started) {
        pthread_mutex_lock(&h->lock);
        h->stopping = true;
        /* a refresh in progress ends at its next progress check (SQLite),
         * not REFRESH_MS later; requests still running end the same way */
        for (size_t i = 0; i < DB_READERS; i++)
            if (h->readers[i].busy)
                h->readers[i].limit.deadline_ms = 1;
        pthread_cond_signal(&h->refresh_wake);
        pthread_mutex_unlock(&h->lock);
        pthread_join(h->refresher, NULL);
    }
    if (h->warmer_started) {
        /* its statement cut short like the refresher's, also one it
         * started after the cut above */
        pthread_mutex_lock(&h->lock);
        while (!h->warmer_done) {
            for (size_t i = 0; i < DB_READERS; i++)
                if (h->readers[i].busy)
                    h->readers[i].limit.deadline_ms = 1;
            struct timespec t = timefmt_deadline(CLOCK_MONOTONIC, 50);
            pthread_cond_timedwait(&h->answer_made, &h->lock, &t);
        }
        pthread_mutex_unlock(&h->lock);
        pthread_join(h->warmer, NULL);
    }
    if (h->d)
        MHD_stop_daemon(h->d);
    for (size_t i = 0; i < DB_READERS; i++) {
        noc_store_close(&h->readers[i].store);
    }
    noc_store_close(&h->health_db);
    for (size_t i = 0; i < ANSWER_CACHE_N; i++)
        json_decref(h->answers[i].out);
    if (h->cfg.db && db_kind(h->cfg.db) == DB_SQLITE)
        sqlite3_progress_handler(db_sqlite(h->cfg.db), 0, NULL, NULL);
    if (h->locks_made) {
        pthread_mutex_destroy(&h->lock);
        pthread_cond_destroy(&h->reader_free);
        pthread_cond_destroy(&h->reaper_wake);
        pthread_cond_destroy(&h->refresh_wake);
        pthread_cond_destroy(&h->answer_made);
        pthread_mutex_destroy(&h->health_lock);
        pthread_mutex_destroy(&h->metrics_lock);
    }
    if (h->key)
        memset(h->key, 0, strlen(h->key));
    free(h->cert);
    free(h->key);
    noc_auth_clear(&h->auth);
    noc_privacy_free(&h->privacy);
    noc_audit_free(&h->audit);
    free(h);
    *ph = NULL;
}
