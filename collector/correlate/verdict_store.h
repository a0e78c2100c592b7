/* verdict_store.h - the verdict tables (a contract with the HTTP API and
 * dashboard; docs/verdicts.md):
 *
 *   verdict_calls(call_id PK, source, site, start, end, verdict, confidence,
 *                 graph_record_id, graph_version, evaluated, evidence)
 *   verdict_participants(call_id, participant, site, client_ip_hmac,
 *                 client_ip_enc, verdict, confidence, evidence, bssid, subnet)
 *                 bssid, subnet: evidence.graph.bssid/.subnet, kept by
 *                 triggers (schema 3; on PostgreSQL a PL/pgSQL BEFORE
 *                 trigger); never written directly
 *   verdict_streams(id PK, call_id, participant, stream_id, graph_stream_rid,
 *                 direction, media, verdict, confidence, evidence)
 *
 *   verdict_history(id PK, call_id, at, verdict, confidence, source,
 *                 provisional, rule): a row each time a call's verdict or
 *                 source changed; provisional = 1 while wire-only (Graph's
 *                 record not in yet). A wire-only call superseded by the
 *                 joined one (verdict_store_drop_wire_*) hands its rows to
 *                 the next call written.
 *
 * Schema version in migrations(component 'verdict'), the same steps on
 * both backends (common/db.h: a SQLite file or PostgreSQL, where the types
 * are BIGINT, DOUBLE PRECISION, BYTEA and the times TEXT COLLATE "C").
 * Internal, beside
 * them: verdict_claims(stream_id PK, call_id), every probe stream a call used. A call is always
 * written whole: verdict_store_put_call() first deletes every row of that
 * call_id, so re-evaluation replaces. Times are ISO 8601 UTC text like the
 * probe's; evidence is JSON text. The caller brackets writes in
 * verdict_store_begin()/commit().
 */
#ifndef CALLSCOPE_VERDICT_STORE_H
#define CALLSCOPE_VERDICT_STORE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "verdict.h"

typedef struct verdict_store verdict_store_t;

/* Creates the tables when missing (idempotent, one transaction). */
bool verdict_store_migrate(db_t *db, char *err, size_t errlen);

/* Migrates and prepares; db is borrowed. */
verdict_store_t *verdict_store_new(db_t *db, char *err, size_t errlen);
void verdict_store_free(verdict_store_t **vs);

typedef struct {
    const char *call_id, *source, *site; /* site NULL for cloud-only */
    int64_t start_us, end_us;
    const verdict_t *v;
    const char *graph_record_id; /* NULL when wire-only */
    int64_t graph_version;       /* -1: NULL */
    json_t *evidence;            /* borrowed */
} verdict_call_row_t;

typedef struct {
    const char *call_id, *participant, *site;
    const uint8_t *ip_hmac; /* 32 bytes or NULL */
    const uint8_t *ip_enc;  /* sealed, aad "verdict_participants.client_ip", or NULL */
    size_t ip_enc_len;
    const verdict_t *v;
    json_t *evidence;
} verdict_participant_row_t;

typedef struct {
    const char *call_id, *participant;
    int64_t stream_id, graph_stream_rid; /* -1: NULL */
    const char *direction, *media;
    const verdict_t *v;
    json_t *evidence;
} verdict_stream_row_t;

bool verdict_store_begin(verdict_store_t *vs);
bool verdict_store_commit(verdict_store_t *vs);
void verdict_store_rollback(verdict_store_t *vs);

/* Deletes the call's rows, then writes its verdict_calls row. */
bool verdict_store_put_call(verdict_store_t *vs, const verdict_call_row_t *r, int64_t now_us);
bool verdict_store_put_participant(verdict_store_t *vs, const verdict_participant_row_t *r);
bool verdict_store_put_stream(verdict_store_t *vs, const verdict_stream_row_t *r);
bool verdict_store_delete_call(verdict_store_t *vs, const char *call_id);
/* Notes that the call used probe stream stream_id (table verdict_claims,
 * not part of the contract: it also names the duplicates from other probes
 * and the other SSRCs that verdict_streams.stream_id does not). */
bool verdict_store_put_claim(verdict_store_t *vs, const char *call_id, int64_t stream_id);

/* Wire-only calls superseded: those that used probe stream stream_id, and
 * those of the client ip_hmac overlapping [start, end]. Return the number
 * of calls deleted, -1 on error. */
int verdict_store_drop_wire_using(verdict_store_t *vs, int64_t stream_id);
int verdict_store_drop_wire_overlapping(verdict_store_t *vs, const uint8_t *ip_hmac,
                                        int64_t start_us, int64_t end_us);
/* 1 when probe stream stream_id belongs to a joined call, 0 not, -1 error. */
int verdict_store_stream_joined(verdict_store_t *vs, int64_t stream_id);

/* The same for a set of streams, in one statement on PostgreSQL (one per
 * stream on SQLite, where a statement costs no round trip):
 * verdict_store_drop_wire_using() of each id (count or -1), and joined[i]
 * = stream ids[i] belongs to a joined call (0, or -1 on error). */
int verdict_store_drop_wire_using_any(verdict_store_t *vs, const int64_t *ids, size_t n);
int verdict_store_streams_joined(verdict_store_t *vs, const int64_t *ids, size_t n, bool *joined);

/* On PostgreSQL put_call/put_participant/put_stream/put_claim and
 * delete_call keep the rows of many calls and write them with one
 * statement per table (deletes, calls, history moves, history rows,
 * participants, streams, claims, in that order; a call deleted again
 * after its rows were put is written first, so the result is that of the
 * rows written one after the other): by this flush, by
 * verdict_store_commit(), past 4 MiB of rows, and before every read of
 * the verdict tables of this module. On SQLite rows are written at once
 * and this does nothing. false with the error set. */
bool verdict_store_flush(verdict_store_t *vs);

/* PostgreSQL: what a chunk of calls would read from the verdict tables,
 * read before its writes in one statement each (rows pending are flushed
 * first), so the chunk's calls are judged without a round trip each:
 *   load_wire_claims(ids)  the wire-only calls claiming streams ids[0..n):
 *                          then drop_wire_using_any() of those ids;
 *   load_wire_clients(h)   the wire-only calls of the clients h[0..n):
 *                          then drop_wire_overlapping() of those clients;
 *   load_joined(ids)       which of ids[0..n) belong to a joined call:
 *                          then streams_joined() of those ids.
 * A call dropped (deleted as superseded) leaves what was loaded, so the
 * answers are those of the statements run one call after the other, as
 * long as the chunk writes no wire-only call that a later call of the
 * same chunk would find (correlate.c: the wire-only calls of one client
 * are written by one chunk, and groups do not overlap) and no claim of a
 * joined call in the wire phase. Requests outside what was loaded are
 * asked of the store. Nothing on SQLite; verdict_store_unload() (and
 * rollback) forget it. */
bool verdict_store_load_wire_claims(verdict_store_t *vs, const int64_t *ids, size_t n);
bool verdict_store_load_wire_clients(verdict_store_t *vs, const uint8_t (*h)[32], size_t n);
bool verdict_store_load_joined(verdict_store_t *vs, const int64_t *ids, size_t n);
void verdict_store_unload(verdict_store_t *vs);

/* The last database error ("database: <message>"), kept until cleared;
 * "" when none. */
const char *verdict_store_error(const verdict_store_t *vs);
void verdict_store_clear_error(verdict_store_t *vs);

#endif
