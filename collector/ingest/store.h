/* store.h - the collector's store: one SQLite file in WAL mode (the
 * default), or a PostgreSQL database (--db postgresql://...; ingest only so
 * far: probe batches, heartbeats, retention). docs/store.md.
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

/* Opens the database and brings its schema up to date: db is a file path
 * (SQLite, created when missing) or a postgresql:// URI. pii (the
 * organisation's keys, borrowed, must outlive the store) seals addresses
 * and MACs, in C, before a row is written: both backends hold the same
 * sealed bytes and lookup hashes. */
store_t *store_open(const char *db, bool sync_full, const pii_t *pii, char *err, size_t errlen);
void store_free(store_t **s);
/* true for a postgresql:// or postgres:// URI (a PostgreSQL store). */
bool store_is_uri(const char *db);
/* The SQLite connection, for the parts of the collector that read and
 * write it directly (correlation, buildings); NULL on PostgreSQL. */
sqlite3 *store_db(store_t *s);
/* "SQLite" or "PostgreSQL". */
const char *store_backend(const store_t *s);

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
/* Deletes what was stored more than days ago; returns the rows deleted,
 * -1 on error. PostgreSQL drops whole day partitions of streams, intervals
 * and flows (kept up to a day longer). */
int64_t store_retention(store_t *s, unsigned days, char *err, size_t errlen);

#endif
