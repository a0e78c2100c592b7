#include "graph_http.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <stdatomic.h>

struct graph_http {
    CURL *curl;
    char *ca_bundle;
    long timeout_ms;
    size_t max_body;
    const atomic_bool *abort; /* borrowed; NULL: never */
};

typedef struct {
    graph_http_resp_t *resp;
    size_t cap;
    size_t max;
    bool too_big;
} sink_t;

graph_http_t *graph_http_new(const char *ca_bundle, long timeout_ms, size_t max_body, char *err,
                             size_t errlen)
{
    graph_http_t *h = calloc(1, sizeof *h);
    if (!h || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        snprintf(err, errlen, "libcurl initialisation failed");
        free(h);
        return NULL;
    }
    h->curl = curl_easy_init();
    h->ca_bundle = ca_bundle ? strdup(ca_bundle) : NULL;
    h->timeout_ms = timeout_ms;
    h->max_body = max_body;
    if (!h->curl || (ca_bundle && !h->ca_bundle)) {
        snprintf(err, errlen, "libcurl initialisation failed");
        graph_http_free(&h);
        return NULL;
    }
    return h;
}

void graph_http_free(graph_http_t **h)
{
    if (!h || !*h)
        return;
    curl_easy_cleanup((*h)->curl);
    free((*h)->ca_bundle);
    free(*h);
    curl_global_cleanup();
    *h = NULL;
}

void graph_http_resp_clear(graph_http_resp_t *resp)
{
    free(resp->body);
    memset(resp, 0, sizeof *resp);
    resp->retry_after_s = -1;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *user)
{
    sink_t *s = user;
    size_t n = size * nmemb;
    graph_http_resp_t *r = s->resp;
    if (r->len + n > s->max) {
        s->too_big = true;
        return 0; /* aborts the transfer */
    }
    if (r->len + n + 1 > s->cap) {
        size_t cap = s->cap ? s->cap : 16384;
        while (cap < r->len + n + 1)
            cap *= 2;
        char *b = realloc(r->body, cap);
        if (!b)
            return 0;
        r->body = b;
        s->cap = cap;
    }
    memcpy(r->body + r->len, data, n);
    r->len += n;
    r->body[r->len] = '\0';
    return n;
}

double graph_http_retry_after(const char *v)
{
    while (*v == ' ' || *v == '\t')
        v++;
    if (isdigit((unsigned char)*v)) {
        char *end;
        errno = 0;
        double d = strtod(v, &end);
        while (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n')
            end++;
        if (*end != '\0' || isnan(d) || d < 0)
            return -1;
        if (errno == ERANGE) /* overflow (HUGE_VAL) or underflow (about 0) */
            return d >= 1 ? GRAPH_HTTP_RETRY_AFTER_MAX_S : 0;
        return d > GRAPH_HTTP_RETRY_AFTER_MAX_S ? GRAPH_HTTP_RETRY_AFTER_MAX_S : d;
    }
    time_t t = curl_getdate(v, NULL);
    if (t < 0)
        return -1;
    double d = difftime(t, time(NULL));
    return d < 0 ? 0 : d > GRAPH_HTTP_RETRY_AFTER_MAX_S ? GRAPH_HTTP_RETRY_AFTER_MAX_S : d;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *user)
{
    graph_http_resp_t *r = user;
    size_t n = size * nmemb;
    static const char name[] = "retry-after:";
    if (n > sizeof name - 1 && n < 256 && strncasecmp(data, name, sizeof name - 1) == 0) {
        char v[256];
        memcpy(v, data + sizeof name - 1, n - (sizeof name - 1));
        v[n - (sizeof name - 1)] = '\0';
        r->retry_after_s = graph_http_retry_after(v);
    } else if (n >= 5 && strncmp(data, "HTTP/", 5) == 0) {
        r->retry_after_s = -1; /* a new response (after 100 Continue) */
    }
    return n;
}

void graph_http_abort_on(graph_http_t *h, const atomic_bool *flag)
{
    h->abort = flag;
}

/* libcurl calls this about once a second even while nothing arrives. */
static int on_progress(void *user, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
    const graph_http_t *h = user;
    return h->abort && atomic_load(h->abort) ? 1 : 0;
}

static void perform(graph_http_t *h, const char *url, struct curl_slist *hdrs,
                    graph_http_resp_t *resp)
{
    CURL *c = h->curl;
    sink_t sink = {resp, 0, h->max_body, false};
    char errbuf[CURL_ERROR_SIZE] = "";
    memset(resp, 0, sizeof *resp);
    resp->retry_after_s = -1;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, h->timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, h->timeout_ms < 10000 ? h->timeout_ms : 10000);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    if (h->ca_bundle)
        curl_easy_setopt(c, CURLOPT_CAINFO, h->ca_bundle);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "callscope/" CALLSCOPE_VERSION);
    curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, resp);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, h->abort ? 0L : 1L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, h);
    CURLcode rc = curl_easy_perform(c);
    curl_off_t handshake_us = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
    curl_easy_getinfo(c, CURLINFO_APPCONNECT_TIME_T, &handshake_us);
    resp->curl_code = (int)rc;
    resp->connected = handshake_us > 0;
    if (rc == CURLE_OK) {
        resp->net = GRAPH_NET_OK;
    } else if (sink.too_big) {
        resp->net = GRAPH_NET_TOO_BIG;
        snprintf(resp->error, sizeof resp->error, "response larger than %zu bytes", h->max_body);
    } else {
        resp->net = rc == CURLE_OPERATION_TIMEDOUT ? GRAPH_NET_TIMEOUT
                    : (rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE)
                        ? GRAPH_NET_TLS
                        : GRAPH_NET_ERROR;
        snprintf(resp->error, sizeof resp->error, "%s",
                 errbuf[0] ? errbuf : curl_easy_strerror(rc));
    }
    if (!resp->body) {
        resp->body = calloc(1, 1);
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, NULL);
    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, NULL);
}

void graph_http_get(graph_http_t *h, const char *url, const char *bearer, graph_http_resp_t *resp)
{
    char auth[8192];
    struct curl_slist *hdrs = curl_slist_append(NULL, "Accept: application/json");
    if (bearer) { /* NULL: a public resource (the Microsoft 365 endpoints service) */
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", bearer);
        hdrs = curl_slist_append(hdrs, auth);
    }
    curl_easy_setopt(h->curl, CURLOPT_HTTPGET, 1L);
    perform(h, url, hdrs, resp);
    curl_slist_free_all(hdrs);
    memset(auth, 0, sizeof auth);
}

void graph_http_post_form(graph_http_t *h, const char *url, const char *form,
                          graph_http_resp_t *resp)
{
    struct curl_slist *hdrs = curl_slist_append(NULL, "Accept: application/json");
    hdrs = curl_slist_append(hdrs, "Content-Type: application/x-www-form-urlencoded");
    curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, form);
    perform(h, url, hdrs, resp);
    curl_slist_free_all(hdrs);
}

const char *graph_http_unreachable(const graph_http_resp_t *r)
{
    switch ((CURLcode)r->curl_code) {
    case CURLE_COULDNT_RESOLVE_HOST:
        return "the host name does not resolve (DNS)";
    case CURLE_COULDNT_RESOLVE_PROXY:
        return "the proxy's host name does not resolve (DNS)";
    case CURLE_COULDNT_CONNECT:
        return "no connection (refused, no route, or a firewall)";
    case CURLE_SSL_CONNECT_ERROR:
        return "the TLS handshake failed";
    case CURLE_OPERATION_TIMEDOUT:
        return r->connected ? NULL : "no connection within the timeout";
    default:
        return NULL;
    }
}

char *graph_http_escape(const char *s)
{
    char *e = curl_easy_escape(NULL, s, 0); /* a NULL handle is fine since curl 7.82 */
    char *out = e ? strdup(e) : NULL;
    curl_free(e);
    return out;
}
