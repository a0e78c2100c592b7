/* store.h - the collector's store: one SQLite file in WAL mode.
 *
 * Tables (docs/store.md): probes, batches (one row per batch stored, the
 * duplicate check), streams, intervals, flows, clients, probe_stats. Each
 * record keeps the columns the queries need (time, site, client, the
 * headline figures) and the whole record as JSON. Schema versions are in
 * migrations(component, version); other components (Graph enrichment) add
 * their own tables and rows there.
 */
#ifndef CALLSCOPE_STORE_H
#define CALLSCOPE_STORE_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pii.h"
#include "wire.h"

typedef struct store store_t;

typedef struct {
    int64_t stored, rejected;
    char first_error[160]; /* why the first record was rejected */
} store_result_t;

/* Opens (creating) the database and brings its schema up to date. pii (the
 * organisation's keys, borrowed, must outlive the store) seals addresses
 * and MACs. */
store_t *store_open(const char *path, bool sync_full, const pii_t *pii, char *err, size_t errlen);
void store_free(store_t **s);
sqlite3 *store_db(store_t *s);

/* Stores a batch from probe `probe` (header m, record lines body) in one
 * transaction, unless (probe, epoch, seq) is already stored. Records that
 * fail wire_record_check are counted in r and skipped; a body whose line
 * count is not the header's is WIRE_REJECTED whole (r->first_error says
 * why). false (err set, nothing stored) on a database error: the batch
 * must not be acknowledged. */
bool store_batch(store_t *s, const char *probe, const wire_msg_t *m, const char *body,
                 size_t body_len, wire_status_t *status, store_result_t *r, char *err,
                 size_t errlen);
/* Group commit: between store_begin() and store_commit() every
 * store_batch() and store_heartbeat() joins one transaction (acknowledge
 * the batches only after the commit succeeds). After a failed store_batch
 * inside a group the whole group is rolled back. Without store_begin()
 * each batch is its own transaction. */
bool store_begin(store_t *s, char *err, size_t errlen);
bool store_commit(store_t *s, char *err, size_t errlen);
void store_rollback(store_t *s);

/* Notes a probe's heartbeat (its health kept as JSON). */
bool store_heartbeat(store_t *s, const char *probe, const wire_msg_t *m, char *err, size_t errlen);
/* Deletes what is older than days; returns the rows deleted, -1 on error. */
int64_t store_retention(store_t *s, unsigned days, char *err, size_t errlen);

#endif
