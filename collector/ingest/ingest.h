/* ingest.h - the collector's ZeroMQ side: a CURVE server ROUTER socket that
 * takes batches and heartbeats from authorised probes, stores each batch
 * (collector/store.h) and acknowledges it only once committed. Frames that
 * cannot be read (not JSON, wrong schema, missing fields, oversized, a
 * probe claiming another's name) are answered with an error and counted;
 * the other probes' connections are not disturbed.
 */
#ifndef CALLSCOPE_INGEST_H
#define CALLSCOPE_INGEST_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

typedef struct {
    const char *bind;     /* tcp://0.0.0.0:7600 */
    const char *key_file; /* the collector's NAME.key */
    const char *keys_dir; /* authorised probe keys */
    unsigned max_frame_mb;
} ingest_cfg_t;

typedef struct {
    uint64_t frames, batches_stored, batches_duplicate;
    uint64_t records_stored, records_rejected, heartbeats;
    uint64_t malformed, oversized, identity_mismatch, db_errors;
} ingest_stats_t;

typedef struct ingest ingest_t;

ingest_t *ingest_new(const ingest_cfg_t *cfg, store_t *store, char *err, size_t errlen);
void ingest_free(ingest_t **in);
/* Waits up to timeout_ms for traffic and handles all of it. */
void ingest_poll(ingest_t *in, long timeout_ms);
/* Re-reads the authorised keys (SIGHUP). */
void ingest_reload_keys(ingest_t *in);
/* All counters, ZAP's included, as JSON (new reference). */
json_t *ingest_stats_json(const ingest_t *in);

#endif
