/* graph_http.h - one HTTPS request at a time over libcurl, bounded.
 *
 * Only https:// URLs are accepted (a bearer token never travels in clear);
 * redirects are not followed; bodies larger than the configured cap fail
 * the request. The Retry-After header is parsed as decimal seconds
 * ("2.128") or an HTTP date, and clamped to GRAPH_HTTP_RETRY_AFTER_MAX_S. Nothing here logs:
 * callers decide, and must never log a token, a secret or a body.
 */
#ifndef CALLSCOPE_GRAPH_HTTP_H
#define CALLSCOPE_GRAPH_HTTP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct graph_http graph_http_t;

typedef enum {
    GRAPH_NET_OK,      /* a response arrived (any status) */
    GRAPH_NET_TIMEOUT, /* no full response within the timeout */
    GRAPH_NET_TLS,     /* certificate not trusted: a configuration problem */
    GRAPH_NET_ERROR,   /* connection refused/reset, DNS, truncated transfer ... */
    GRAPH_NET_TOO_BIG, /* body over the cap */
} graph_net_t;

typedef struct {
    graph_net_t net;
    long status;          /* HTTP status, 0 without a response */
    double retry_after_s; /* < 0 when absent or unreadable */
    char *body;           /* owned, NUL-terminated (may be empty) */
    size_t len;
    char error[256]; /* transport error text (no secrets) */
    int curl_code;   /* libcurl's result (CURLcode), 0 when a response arrived */
    bool connected;  /* the TLS handshake with the host completed */
} graph_http_resp_t;

graph_http_t *graph_http_new(const char *ca_bundle, long timeout_ms, size_t max_body, char *err,
                             size_t errlen);
void graph_http_free(graph_http_t **h);
/* A request in progress ends within about a second (GRAPH_NET_ERROR) once
 * *flag is true; flag is borrowed and must outlive h. */
void graph_http_abort_on(graph_http_t *h, const atomic_bool *flag);

/* GET with "Authorization: Bearer <bearer>" (none when bearer is NULL).
 * Fills resp (clear it after). */
void graph_http_get(graph_http_t *h, const char *url, const char *bearer, graph_http_resp_t *resp);
/* POST application/x-www-form-urlencoded. */
void graph_http_post_form(graph_http_t *h, const char *url, const char *form,
                          graph_http_resp_t *resp);
void graph_http_resp_clear(graph_http_resp_t *resp);

/* Why the host could not be reached at all, or NULL when it was (or the
 * failure came later): the name did not resolve, the connection was
 * refused or found no route, the TLS handshake failed (not a certificate
 * refusal: that is GRAPH_NET_TLS), or the timeout ran out before the
 * handshake completed. A network, DNS, proxy or firewall problem rather
 * than one of the request: graph-poll gives it its own exit status. */
const char *graph_http_unreachable(const graph_http_resp_t *resp);

/* Percent-encodes s for a form or query (new string, free()). */
char *graph_http_escape(const char *s);
/* Graph throttles for seconds to minutes; a larger Retry-After ("99999999",
 * "1e300", a date years ahead) is taken as this, so a hostile or broken
 * answer cannot stall enrichment for years or overflow a conversion. */
#define GRAPH_HTTP_RETRY_AFTER_MAX_S 3600.0

/* Seconds from a Retry-After value (0 to GRAPH_HTTP_RETRY_AFTER_MAX_S), or -1. */
double graph_http_retry_after(const char *value);

#endif
