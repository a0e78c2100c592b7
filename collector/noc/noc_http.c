#include "noc_http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "noc_api.h"
#include "noc_auth.h"
#include "noc_dashboard.h"
#include "noc_metrics.h"
#include "noc_query.h"
#include "timefmt.h"

#define MAX_PEM (1 << 20)
#define MAX_METRICS_BYTES (16u << 20)
#define CONN_LIMIT 64
#define PER_IP_LIMIT 16
#define CONN_TIMEOUT_S 30
#define CONN_MEMORY (64u << 10) /* request line + headers; longer gets 414/431 */
#define MAX_STATUS 600

#define CSP                                                                                        \
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self';"                 \
    " img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

typedef enum { R_API, R_METRICS, R_HEALTH } route_kind_t;

typedef struct {
    const char *path; /* exact, or a prefix ending in '/' followed by one name */
    bool has_arg;
    route_kind_t kind;
    unsigned params;
    noc_api_fn fn;
    const char *suffix; /* after the name (has_arg only), e.g. "/timeline"; NULL none */
} route_t;

#define FILTER_P (NOC_P_SINCE | NOC_P_UNTIL | NOC_P_SITE | NOC_P_VERDICT | NOC_P_CLIENT)

static const route_t routes[] = {
    {"/api/calls/", true, R_API, 0, noc_api_timeline, "/timeline"},
    {"/api/live", false, R_API, NOC_P_SITE, noc_api_live, NULL},
    {"/api/calls", false, R_API, FILTER_P | NOC_P_LIMIT | NOC_P_OFFSET, noc_api_calls, NULL},
    {"/api/calls/", true, R_API, 0, noc_api_call, NULL},
    {"/api/sites", false, R_API, FILTER_P & ~NOC_P_SITE, noc_api_sites, NULL},
    {"/api/sites/", true, R_API, (FILTER_P & ~NOC_P_SITE) | NOC_P_BUCKET | NOC_P_LIMIT,
     noc_api_site, NULL},
    {"/api/clients", false, R_API, FILTER_P | NOC_P_LIMIT, noc_api_clients, NULL},
    {"/metrics", false, R_METRICS, 0, NULL, NULL},
    {"/healthz", false, R_HEALTH, 0, NULL, NULL},
};

#define NROUTES (sizeof routes / sizeof routes[0])

struct noc_http {
    noc_http_cfg_t cfg;
    noc_auth_t auth;
    struct MHD_Daemon *d;
    char *cert, *key; /* PEM, kept while the daemon runs */
    /* Written and read by the HTTP thread only. */
    uint64_t by_status[MAX_STATUS], auth_failures;
};

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
        h->by_status[status]++;
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

static bool authorised(struct noc_http *h, struct MHD_Connection *c)
{
    const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    bool ok = noc_auth_check(&h->auth, v);
    if (!ok)
        h->auth_failures++;
    return ok;
}

static enum MHD_Result serve_api(struct noc_http *h, struct MHD_Connection *c, const route_t *rt,
                                 const char *arg)
{
    args_t a = {.n = 0};
    MHD_get_connection_values_n(c, MHD_GET_ARGUMENT_KIND, collect, &a);
    noc_params_t p;
    char err[256];
    if (!noc_query_parse(a.kv, a.n, rt->params, h->cfg.max_rows, h->cfg.pii, &p, err, sizeof err))
        return send_error(h, c, MHD_HTTP_BAD_REQUEST, err);
    if (rt->has_arg && !noc_query_name_ok(arg))
        return send_error(h, c, MHD_HTTP_BAD_REQUEST,
                          "the name in the path must be 1-256 printable characters");
    noc_api_req_t req = {h->cfg.db, h->cfg.pii, &p, arg};
    json_t *out = NULL;
    int status = rt->fn(&req, &out, err, sizeof err);
    if (status != MHD_HTTP_OK) {
        if (status >= 500)
            LOG_WARN("noc: %s: %s", rt->path, err);
        return send_error(h, c, (unsigned)status, err);
    }
    return send_json(h, c, MHD_HTTP_OK, out);
}

static void http_series(struct noc_http *h, dynbuf_t *out)
{
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
    noc_metrics_family(out, "callscope_noc_http_auth_failures_total", "counter",
                       "Requests refused for a missing or wrong bearer token");
    noc_metrics_sample(out, "callscope_noc_http_auth_failures_total", NULL,
                       (double)h->auth_failures);
}

static enum MHD_Result serve_metrics(struct noc_http *h, struct MHD_Connection *c)
{
    dynbuf_t b;
    dynbuf_init(&b, MAX_METRICS_BYTES);
    if (h->cfg.metrics)
        h->cfg.metrics(h->cfg.ctx, &b);
    http_series(h, &b);
    size_t len = 0;
    char *s = dynbuf_take(&b, &len);
    if (!s)
        return send_error(h, c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
    return respond(h, c, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", s, len,
                   MHD_RESPMEM_MUST_FREE);
}

static enum MHD_Result dispatch(struct noc_http *h, struct MHD_Connection *c, const char *url)
{
    const char *arg = NULL;
    char argbuf[NOC_QUERY_VALUE_MAX + 2]; /* one more: a longer name is refused, not cut */
    const route_t *rt = route_of(url, argbuf, sizeof argbuf, &arg);
    if (!rt) {
        const noc_dashboard_asset_t *as = noc_dashboard_find(url);
        if (as)
            return respond(h, c, MHD_HTTP_OK, as->mime, (void *)as->data, as->len,
                           MHD_RESPMEM_PERSISTENT);
        return send_error(h, c, MHD_HTTP_NOT_FOUND, "no such endpoint (see docs/noc.md)");
    }
    if (rt->kind == R_HEALTH)
        return send_json(h, c, MHD_HTTP_OK, json_pack("{s:s}", "status", "ok"));
    bool open = rt->kind == R_METRICS && h->cfg.metrics_open;
    if (!open && !authorised(h, c))
        return send_error(h, c, MHD_HTTP_UNAUTHORIZED,
                          "authentication required: Authorization: Bearer <token>");
    if (rt->kind == R_METRICS)
        return serve_metrics(h, c);
    return serve_api(h, c, rt, arg);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_size, void **state)
{
    struct noc_http *h = cls;
    if (!*state) {
        *state = (void *)&req_started;
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
    return dispatch(h, c, url);
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

static char *read_pem(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "re");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
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
    *state = NULL;
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
    h->cert = read_pem(h->cfg.tls_cert, err, errlen);
    h->key = h->cert ? read_pem(h->cfg.tls_key, err, errlen) : NULL;
    return h->key != NULL;
}

static bool start(struct noc_http *h, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    bool v6 = false;
    if (!parse_bind(h->cfg.bind, &ss, &v6, err, errlen))
        return false;
    unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
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
        mhd_log, NULL, MHD_OPTION_NOTIFY_COMPLETED, complete, NULL, MHD_OPTION_ARRAY, tls,
        MHD_OPTION_END);
    if (!h->d) {
        snprintf(err, errlen,
                 "HTTP server on %s did not start (address in use, or bad TLS "
                 "certificate/key; -vv shows libmicrohttpd's reason)",
                 h->cfg.bind);
        return false;
    }
    return true;
}

noc_http_t *noc_http_new(const noc_http_cfg_t *cfg, char *err, size_t errlen)
{
    noc_http_t *h = calloc(1, sizeof *h);
    if (!h) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    h->cfg = *cfg;
    if (!noc_auth_load(&h->auth, cfg->token_file, err, errlen) || !load_tls(h, err, errlen) ||
        !start(h, err, errlen)) {
        noc_http_free(&h);
        return NULL;
    }
    h->cfg.bind = h->cfg.token_file = h->cfg.tls_cert = h->cfg.tls_key = NULL; /* not kept */
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
    if (h->d)
        MHD_stop_daemon(h->d);
    if (h->key)
        memset(h->key, 0, strlen(h->key));
    free(h->cert);
    free(h->key);
    memset(&h->auth, 0, sizeof h->auth);
    free(h);
    *ph = NULL;
}
