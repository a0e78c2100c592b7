/* export.h - ships the probe's records to a collector over ZeroMQ.
 *
 * Records are batched (interval records apart from final ones), each batch
 * goes to the on-disk spool first, then to the collector over a CURVE-
 * encrypted DEALER socket; a batch leaves the spool only when the collector
 * acknowledges it (stored or duplicate) or rejects it. Unacknowledged
 * batches are resent after a reconnect, an ack timeout, or a restart of the
 * probe. The socket, the spool and the timers live in a thread of their
 * own, so a slow or absent collector never stalls the capture; the capture
 * thread only queues records (counted when the queue is full).
 * docs/transport.md has the whole protocol.
 */
#ifndef CALLSCOPE_EXPORT_H
#define CALLSCOPE_EXPORT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "export_spool.h"

/* Collectors a probe may be given (--collector repeated). */
#define EXPORT_MAX_COLLECTORS 8

typedef struct {
    const char *endpoint;      /* tcp://host:port; NULL: no export (= endpoints[0] when set) */
    const char *key_file;      /* this probe's NAME.key */
    const char *collector_key; /* the collector's NAME.pub (= collector_keys[0] when set) */
    /* Several collectors (--collector repeated): the probe sends to one at a
     * time, in this order, and fails over to the next when the one in use
     * has not been connected for failover_ms or has let an ack timeout pass;
     * batches in flight are resent to the next (exactly once on a shared
     * PostgreSQL store: docs/transport.md). nendpoints 0: endpoint alone.
     * Keys: one (shared by the collectors of one store) or one per
     * endpoint, in the same order. */
    const char *endpoints[EXPORT_MAX_COLLECTORS];
    unsigned nendpoints;
    const char *collector_keys[EXPORT_MAX_COLLECTORS];
    unsigned ncollector_keys;
    unsigned failover_ms;
    const char *probe_id; /* default: the key's name */
    const char *site;     /* default "default" */
    const char *spool_dir;
    unsigned spool_max_mb;
    unsigned batch_records, batch_ms;
    unsigned window;         /* batches in flight unacknowledged */
    unsigned ack_timeout_ms; /* doubles per timeout in a row, up to 8x */
    unsigned reconnect_ms, reconnect_max_ms;
    unsigned heartbeat_s;
    unsigned drain_s; /* at exit: how long to wait for the last acks */
    bool spool_fsync;
} export_cfg_t;

typedef struct {
    uint64_t records_queued, queue_dropped;
    uint64_t records_dropped; /* could not be batched or read back from the spool */
    uint64_t batches_sealed, records_sealed;
    uint64_t batches_sent, batches_resent;
    uint64_t batches_acked, records_acked, batches_duplicate;
    uint64_t batches_rejected, records_rejected, collector_errors;
    uint64_t ack_timeouts, heartbeats_sent;
    uint64_t connects, disconnects, auth_failures;
    bool connected;
    uint64_t failovers;                   /* switches to another collector */
    unsigned collector_index, collectors; /* the one in use (0-based), of how many */
    char collector[256];                  /* its endpoint */
    export_spool_stats_t spool;
} export_stats_t;

typedef enum { EXPORT_INTERVAL = 'I', EXPORT_FINAL = 'F' } export_kind_t;

/* Which batch a record line goes to: its "type" is "interval" or not
 * (found without parsing; the collector checks every record anyway). */
export_kind_t export_kind_of(const char *line, size_t len);

typedef struct export export_t;

/* Checks keys (a secret key readable by others is refused), opens the spool
 * (finding batches a previous run left) and starts the exporter thread. */
export_t *export_new(const export_cfg_t *cfg, char *err, size_t errlen);
/* Queues one record (compact JSON, copied). block: wait for room instead
 * of counting a drop when the queue is full. */
void export_record(export_t *e, export_kind_t kind, const char *json, size_t len, bool block);
/* The probe's latest counters for the next heartbeat (steals). */
void export_health(export_t *e, json_t *health);
/* Seals the open batches, waits up to drain_s for acknowledgements, stops
 * the thread. Batches still unacknowledged stay in the spool for the next
 * run. Logs a one-line summary; final (may be NULL) gets the last stats. */
void export_close(export_t **e, export_stats_t *final);
void export_stats(export_t *e, export_stats_t *out);
/* The stats as a JSON object (new reference). */
json_t *export_stats_json(const export_stats_t *s);

#endif
