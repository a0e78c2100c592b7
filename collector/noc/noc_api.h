/* noc_api.h - the JSON API's handlers (docs/noc.md). Each reads the store
 * through the HTTP thread's read-only connection and returns an HTTP status
 * with a body: 200 and the result, or 4xx/5xx and *out NULL with err set.
 * Client addresses are opened (pii_open) for the response only;
 * every caller of these handlers has been authenticated.
 */
#ifndef CALLSCOPE_NOC_API_H
#define CALLSCOPE_NOC_API_H

#include <jansson.h>
#include <sqlite3.h>
#include <stddef.h>

#include "pii.h"
#include "noc_query.h"

typedef struct {
    sqlite3 *db;
    const pii_t *pii;
    const noc_params_t *p;
    const char *arg; /* from the path: a call id or a site; NULL for lists */
} noc_api_req_t;

typedef int (*noc_api_fn)(const noc_api_req_t *r, json_t **out, char *err, size_t errlen);

int noc_api_calls(const noc_api_req_t *r, json_t **out, char *err, size_t errlen);
int noc_api_call(const noc_api_req_t *r, json_t **out, char *err, size_t errlen);
int noc_api_sites(const noc_api_req_t *r, json_t **out, char *err, size_t errlen);
int noc_api_site(const noc_api_req_t *r, json_t **out, char *err, size_t errlen);
int noc_api_clients(const noc_api_req_t *r, json_t **out, char *err, size_t errlen);

#endif
