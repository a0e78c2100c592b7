/* noc_http.h - the NOC's HTTP(S) server (libmicrohttpd, a thread per
 * connection): routing, bearer-token authentication, query validation,
 * JSON errors, and the limits of docs/noc.md (connections, header time,
 * statement time, database readers). API requests read the store through a
 * pool of read connections opened on cfg.db_target (a SQLite file or a
 * postgresql:// URI); /healthz has one of its own; cfg.db itself is used
 * only by cfg.metrics, one call at a time. /api/buildings' answers are
 * kept (30 s fresh, then refreshed by a thread of its own, up to 5 min;
 * voided by a building import): docs/noc.md "Kept answers".
 */
#ifndef CALLSCOPE_NOC_HTTP_H
#define CALLSCOPE_NOC_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "db.h"
#include "dynbuf.h"
#include "noc_buildings.h"
#include "pii.h"

typedef struct {
    const char *bind;               /* ADDR:PORT, [V6ADDR]:PORT */
    const char *token_file;         /* the investigator's; NULL or "": none */
    const char *viewer_token_file;  /* the viewer's; NULL or "": none (docs/noc.md "Roles") */
    const char *audit_log;          /* needed with an investigator token */
    const char *tls_cert, *tls_key; /* PEM; NULL: plain HTTP */
    bool metrics_open;
    unsigned max_rows;
    const pii_t *pii;      /* borrowed */
    db_t *db;              /* borrowed; used only under the metrics lock */
    const char *db_target; /* the store the readers open: a file or a URI */
    /* Appends the caller's series to a /metrics answer (one at a time). */
    void (*metrics)(void *ctx, dynbuf_t *out);
    void *ctx;
    noc_buildings_t *buildings; /* borrowed: the building map, shared */
    unsigned live_hold_s;       /* /api/live's hold (noc_api_req_t.live_hold_s) */
} noc_http_cfg_t;

typedef struct noc_http noc_http_t;

noc_http_t *noc_http_new(const noc_http_cfg_t *cfg, char *err, size_t errlen);
unsigned noc_http_port(const noc_http_t *h);
/* Stops the thread (waits for the request at hand) and frees. */
void noc_http_free(noc_http_t **h);

#endif
