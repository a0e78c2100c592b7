/* graph_store.h - call records in the collector's store (SQLite or
 * PostgreSQL, through common/db.h: one piece of C for both).
 *
 * Tables (all prefixed graph_, schema version in migrations under
 * component 'graph'; docs/graph.md lists every column):
 *   graph_record   one row per call record id, with its version
 *   graph_session, graph_segment, graph_media, graph_stream
 *                  the tree below it; each row has rid (its own key),
 *                  record_id, parent_rid (the rid of the row above) and idx
 *   graph_pending  ids to fetch again (404 while fresh, failures)
 * Personal data columns hold sealed blobs (<col>_enc) and, for lookups,
 * keyed hashes (<col>_hmac); pii.h has the layout.
 *
 * A record is written in one transaction that replaces every row of that
 * id, so a record is never stored twice nor half; an older version never
 * replaces a newer one.
 */
#ifndef CALLSCOPE_GRAPH_STORE_H
#define CALLSCOPE_GRAPH_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "graph_model.h"
#include "pii.h"

typedef enum {
    GRAPH_PUT_ERROR = -1,
    GRAPH_PUT_INSERTED = 0,  /* first time this id was stored */
    GRAPH_PUT_UPDATED = 1,   /* replaced an older version */
    GRAPH_PUT_UNCHANGED = 2, /* same or newer version already stored */
} graph_put_t;

typedef struct graph_store graph_store_t;

/* Applies the graph migrations idempotently (components 'graph' and
 * 'graph_participant'; on PostgreSQL the same versions, BIGINT / DOUBLE
 * PRECISION / TEXT COLLATE "C" / BYTEA columns). A sqlite3 caller wraps its
 * handle with db_from_sqlite(). */
bool graph_store_migrate(db_t *db, char *err, size_t errlen);
/* Opens and migrates target: a store file (created 0600; WAL,
 * busy_timeout 5000 ms, foreign keys on) or a postgresql:// URI. Close
 * with db_close(). */
db_t *graph_store_open_db(const char *target, char *err, size_t errlen);

/* A writer over db (borrowed) with pii (borrowed): both must outlive it.
 * Rows stored before migration 2 get their name keys here (C: the
 * organisation key is needed). */
graph_store_t *graph_store_new(db_t *db, const pii_t *pii, char *err, size_t errlen);
void graph_store_free(graph_store_t **st);

/* Stores rec. complete = every sessions page was read. source names where
 * it came from ("graph", "file"). */
graph_put_t graph_store_put(graph_store_t *st, const graph_record_t *rec, const char *source,
                            bool complete, char *err, size_t errlen);

/* 1 and the stored version/lastModified (-1 when unknown) when id is
 * stored, 0 when not, -1 on a database error. */
int graph_store_known(graph_store_t *st, const char *id, int64_t *version,
                      int64_t *last_modified_us);

/* Pending ids: remember one to try again at next_try_us (first_seen kept
 * from the first call), list the due ones, forget one. */
bool graph_store_pending_add(graph_store_t *st, const char *id, int64_t now_us, int64_t next_try_us,
                             int http_status);
/* Calls fn for up to max ids due at now_us, oldest first; returns the count
 * or -1. first_seen_us lets the caller give up on ids too old to appear. */
int graph_store_pending_due(graph_store_t *st, int64_t now_us, int max,
                            void (*fn)(void *ctx, const char *id, int64_t first_seen_us,
                                       int attempts),
                            void *ctx);
bool graph_store_pending_done(graph_store_t *st, const char *id);

#endif
