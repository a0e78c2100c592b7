/* spool.h - the probe's on-disk queue of batches not yet acknowledged.
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

typedef enum { SPOOL_UNSENT, SPOOL_INFLIGHT } spool_state_t;

typedef struct {
    int64_t epoch, seq;
    size_t bytes;
    unsigned records;
    bool interval;
    spool_state_t state; /* the exporter's, kept here */
    int64_t sent_at;
} spool_entry_t;

typedef struct {
    uint64_t batches, bytes;                  /* now */
    uint64_t evicted_batches;                 /* pushed out by the bound */
    uint64_t evicted_interval, evicted_final; /* records in them */
    uint64_t write_failures, write_failed_records;
    uint64_t recovered_batches;               /* found at open */
} spool_stats_t;

typedef struct spool spool_t;

/* Creates dir (0700) if missing. NULL with err on failure. */
spool_t *spool_open(const char *dir, uint64_t max_bytes, bool fsync_each, char *err,
                    size_t errlen);
void spool_free(spool_t **s);
/* Stores one batch (evicting as needed). false with err when it cannot be
 * written; its records are then counted as lost. */
bool spool_put(spool_t *s, int64_t epoch, int64_t seq, bool interval, unsigned records,
               const char *data, size_t len, char *err, size_t errlen);
/* The batch's bytes (malloc'd; free()), NULL if it vanished. */
char *spool_read(spool_t *s, const spool_entry_t *e, size_t *len);
/* Forgets a batch (acknowledged or rejected). false if not spooled. */
bool spool_remove(spool_t *s, int64_t epoch, int64_t seq);
/* Batches oldest first; the pointer is valid until the next put/remove. */
size_t spool_count(const spool_t *s);
spool_entry_t *spool_at(spool_t *s, size_t i);
const spool_stats_t *spool_stats(const spool_t *s);

#endif
