/* graph_token.h - OAuth 2.0 client-credentials tokens (Microsoft identity
 * platform v2.0), cached until shortly before expires_in.
 *
 *   POST {authority}/{tenant}/oauth2/v2.0/token
 *   client_id, client_secret, scope={graph origin}/.default,
 *   grant_type=client_credentials
 *
 * The secret is read from a file (or a systemd credential) by the caller
 * and copied here; it is wiped when the handle is freed and never logged.
 */
#ifndef CALLSCOPE_GRAPH_TOKEN_H
#define CALLSCOPE_GRAPH_TOKEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "graph_http.h"

typedef enum {
    GRAPH_TOKEN_OK,
    GRAPH_TOKEN_RETRY, /* transient: throttled, 5xx, timeout, unreadable reply */
    GRAPH_TOKEN_FATAL, /* configuration: wrong secret, tenant, client id, scope */
} graph_token_result_t;

typedef struct graph_token graph_token_t;

/* Strings are copied. token_url is the full token endpoint. */
graph_token_t *graph_token_new(const char *token_url, const char *client_id, const char *secret,
                               const char *scope, char *err, size_t errlen);
void graph_token_free(graph_token_t **t);

/* The cached bearer token when still fresh at now_us, else NULL (borrowed). */
const char *graph_token_current(const graph_token_t *t, int64_t now_us);
/* Forget the cached token (after a 401 from Graph). */
void graph_token_invalidate(graph_token_t *t);

/* Requests a new token. resp receives the HTTP outcome (for Retry-After);
 * err an actionable message. */
graph_token_result_t graph_token_fetch(graph_token_t *t, graph_http_t *http, int64_t now_us,
                                       graph_http_resp_t *resp, char *err, size_t errlen);
/* Seconds the current token stays in use (for logs and tests). */
int64_t graph_token_lifetime_s(const graph_token_t *t);

/* Reads a secret from a file: the first line, at most 1 KiB, no NUL. A
 * group- or world-readable file is used with a warning. New string. */
char *graph_token_read_secret(const char *path, char *err, size_t errlen);

#endif
