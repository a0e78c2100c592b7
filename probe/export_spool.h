/* export_spool.h - the probe's on-disk queue of batches not yet acknowledged.
 *
 * One file per batch in the spool directory, named
 * EPOCH-SEQ-KIND-RECORDS.batch (KIND 'i' for interval records, 'f' for
 * final ones), written to a temporary name and renamed, so a batch is
 * either whole or absent after a crash. The spool survives a restart: open
 * finds the batches left behind. It is bounded in bytes: when a new batch
 * would pass the bound, the oldest interval batches go first, then the
 * oldest of any kind; every record lost that way is counted.
 */
#ifndef CALLSCOPE_SPOOL_H
#define CALLSCOPE_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum { EXPORT_SPOOL_UNSENT, EXPORT_SPOOL_INFLIGHT } export_spool_state_t;

typedef struct {
    int64_t epoch, seq;
    size_t bytes;
    unsigned records;
    bool interval;
    export_spool_state_t state; /* the exporter's, kept here */
    int64_t sent_at;
} export_spool_entry_t;

typedef struct {
    uint64_t batches, bytes;                  /* now */
    uint64_t evicted_batches;                 /* pushed out by the bound */
    uint64_t evicted_interval, evicted_final; /* records in them */
    uint64_t write_failures, write_failed_records;
    uint64_t recovered_batches; /* found at open */
} export_spool_stats_t;

typedef struct spool export_spool_t;

/* Creates dir (0700) if missing. NULL with err on failure. */
export_spool_t *export_spool_open(const char *dir, uint64_t max_bytes, bool fsync_each, char *err,
                                  size_t errlen);
void export_spool_free(export_spool_t **s);
/* Stores one batch (evicting as needed). false with err when it cannot be
 * written; its records are then counted as lost. */
bool export_spool_put(export_spool_t *s, int64_t epoch, int64_t seq, bool interval,
                      unsigned records, const char *data, size_t len, char *err, size_t errlen);
/* The batch's bytes (malloc'd; free()), NULL if it vanished. */
char *export_spool_read(export_spool_t *s, const export_spool_entry_t *e, size_t *len);
/* Forgets a batch (acknowledged or rejected). false if not spooled. */
bool export_spool_remove(export_spool_t *s, int64_t epoch, int64_t seq);
/* Batches oldest first; the pointer is valid until the next put/remove. */
size_t export_spool_count(const export_spool_t *s);
export_spool_entry_t *export_spool_at(export_spool_t *s, size_t i);
const export_spool_stats_t *export_spool_stats(const export_spool_t *s);

#endif
