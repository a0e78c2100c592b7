/* correlate_input.h - what the correlation reads from the store: probe
 * streams (table streams) and Graph call records (graph_record,
 * graph_media_segment, graph_segment, graph_stream), as plain structs.
 *
 * Addresses stay hashed: the join compares lookup hashes (HMAC-SHA256 under
 * the organisation key, canonical IP text), which equal across the probe's
 * and Graph's columns. Relay addresses are Microsoft's and stored plain by
 * Graph; they are hashed here to compare with the probe's dst/src hashes.
 * Sealed client addresses are carried along (still sealed) so the verdict
 * tables can keep them for authorised viewers.
 */
#ifndef CALLSCOPE_CORRELATE_INPUT_H
#define CALLSCOPE_CORRELATE_INPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "pii.h"
#include "verdict.h"

#define CORRELATE_ID_MAX 160

typedef struct {
    int64_t id; /* streams.id */
    char probe[64], site[64], media[16];
    int64_t first_us, last_us;
    int client_port, src_port, dst_port; /* -1 unknown */
    int64_t ssrc;
    verdict_dir_t dir;
    bool has_client, has_src, has_dst;
    uint8_t client_h[PII_HASH_LEN], src_h[PII_HASH_LEN], dst_h[PII_HASH_LEN];
    uint8_t *client_enc; /* sealed, PII_AAD_STREAMS_CLIENT_IP */
    size_t client_enc_len;
    verdict_wire_t wire;
} correlate_stream_t;

typedef struct {
    correlate_stream_t *v;
    size_t n, cap;
    int64_t max_id; /* highest streams.id read, kept or not */
    size_t nread;   /* rows read, kept or not */
} correlate_streams_t;

/* One side (caller or callee) of a Graph media. */
typedef struct {
    bool participant; /* a client endpoint, not the conferencing service */
    bool has_ip, has_refl, has_relay, has_user;
    uint8_t ip_h[PII_HASH_LEN], refl_h[PII_HASH_LEN], relay_h[PII_HASH_LEN], user_h[PII_HASH_LEN];
    int port, relay_port; /* -1 unknown */
    uint8_t *ip_enc;      /* sealed, PII_AAD_GRAPH_CALLER_IP / _CALLEE_IP */
    size_t ip_enc_len;
    verdict_device_t dev;
    /* where the client sat: access point, subnet, link ("" unknown) */
    char bssid[32], subnet[64], connection[24];
} correlate_side_t;

typedef struct {
    int64_t rid;
    char media[16];           /* audio | video | screenshare | unknown, from the label */
    int64_t start_us, end_us; /* the segment's */
    correlate_side_t side[2]; /* 0 caller, 1 callee */
} correlate_media_t;

typedef struct {
    int64_t rid, media_rid;
    bool caller_to_callee;
    verdict_graph_t g;
} correlate_gstream_t;

typedef struct {
    char id[CORRELATE_ID_MAX];
    int64_t version, start_us, end_us; /* -1 unknown */
    bool failure;                      /* failureInfo on a session or segment */
    correlate_media_t *media;
    size_t nmedia;
    correlate_gstream_t *streams; /* ordered by media_rid, then rid */
    size_t nstreams;
} correlate_record_t;

typedef struct {
    char (*v)[CORRELATE_ID_MAX];
    size_t n, cap;
} correlate_ids_t;

typedef struct correlate_input correlate_input_t;

/* db and pii are borrowed. */
correlate_input_t *correlate_input_new(db_t *db, const pii_t *pii, char *err, size_t errlen);
void correlate_input_free(correlate_input_t **ci);
/* The last database error ("database: <message>"), kept until cleared;
 * "" when none. */
const char *correlate_input_error(const correlate_input_t *ci);
void correlate_input_clear_error(correlate_input_t *ci);

/* Probe streams with id > after_id stored at or after since_us, at most
 * max (oldest first). Appended to out. */
bool correlate_input_new_streams(correlate_input_t *ci, int64_t after_id, int64_t since_us,
                                 size_t max, correlate_streams_t *out);
/* PostgreSQL only: stream ids are handed out by the sequence streams_id_seq
 * when a writer inserts, and a writer holding a lower id may commit after
 * one holding a higher id. correlate_input_stream_seq() reads the highest
 * id handed out so far (0 when none); correlate_input_stream_writers() then
 * lists the transactions of other sessions that hold streams (or a
 * partition of it) open for writing now (pg_locks: RowExclusiveLock, which
 * a writer takes before its rows draw their ids and keeps to its commit or
 * rollback), as virtual transaction ids appended to out. Every id at or
 * below the sequence's value is final (committed and visible, or never to
 * come) once none of those transactions holds the lock any more.
 * correlate.c, docs/verdicts.md "Late and changing data". Both fail on
 * SQLite, where one writer at a time commits ids in order. */
bool correlate_input_stream_seq(correlate_input_t *ci, int64_t *last);
bool correlate_input_stream_writers(correlate_input_t *ci, correlate_ids_t *out);

/* A client's streams (client_ip_hmac = h) overlapping [from, to]. */
bool correlate_input_client_streams(correlate_input_t *ci, const uint8_t *h, int64_t from_us,
                                    int64_t to_us, correlate_streams_t *out);
/* Calls fn for every call record stored at or after from_us, oldest first. */
bool correlate_input_new_records(correlate_input_t *ci, int64_t from_us,
                                 bool (*fn)(void *ctx, const char *id, int64_t stored_at_us),
                                 void *ctx);
/* Records with a media whose caller or callee address (local or reflexive)
 * is the stream's client and whose segment overlaps it (± slack). */
bool correlate_input_records_near(correlate_input_t *ci, const correlate_stream_t *s,
                                  int64_t slack_us, correlate_ids_t *out);
/* The same for streams v[0..n): on PostgreSQL in one statement per 1,000
 * streams (ordered by the first stream each record is near), on SQLite
 * one per stream. */
bool correlate_input_records_near_all(correlate_input_t *ci, const correlate_stream_t *v, size_t n,
                                      int64_t slack_us, correlate_ids_t *out);
/* The whole record; *found false when it is not (any more) stored. */
bool correlate_input_record(correlate_input_t *ci, const char *id, correlate_record_t *out,
                            bool *found);

/* ---- a step's inputs as sets (PostgreSQL) ------------------------------------
 *
 * On PostgreSQL every statement is a round trip, so a correlation step
 * reads its calls' inputs for many calls at once and the per-call reads
 * above are then answered from memory: correlate_input_record() from the
 * records prefetched, correlate_input_client_streams() from the windows
 * prefetched when one covers the request (else from the store, as on
 * SQLite). The answers are the same rows in the same order as the
 * per-call statements give (the same predicates, compared as the same ISO
 * text). Both prefetches do nothing on SQLite, where a statement costs no
 * round trip; correlate_input_cache_drop() forgets both. */

/* Reads the records ids->v[from..) in three statements (record and
 * failure, media, Graph streams), stopping after CORRELATE_CHUNK_RECORDS
 * records or once their media reach CORRELATE_CHUNK_MEDIA (at least one
 * record), so a chunk of town halls stays bounded; *to is the end of the
 * chunk read. On SQLite *to = ids->n and nothing is read. */
#define CORRELATE_CHUNK_RECORDS 256
#define CORRELATE_CHUNK_MEDIA 20000
bool correlate_input_prefetch_records(correlate_input_t *ci, const correlate_ids_t *ids,
                                      size_t from, size_t *to);
/* The records prefetched (found ones only), for the caller to plan the
 * next prefetch; NULL past the end. */
const correlate_record_t *correlate_input_cached_record(const correlate_input_t *ci, size_t i);

/* A client's streams wanted over [from_us, to_us] (lookup hash h). */
typedef struct {
    uint8_t h[PII_HASH_LEN];
    int64_t from_us, to_us;
} correlate_window_t;

/* Reads the streams of the windows w[0..n) (one per hash after merging
 * each hash's windows into their span) in one statement per 1,000 hashes;
 * replaces the streams prefetched before. Nothing on SQLite. */
bool correlate_input_prefetch_clients(correlate_input_t *ci, const correlate_window_t *w, size_t n);
/* The ids of the streams prefetched (out may be NULL to count them). */
size_t correlate_input_cached_stream_ids(const correlate_input_t *ci, int64_t *out);
void correlate_input_cache_drop(correlate_input_t *ci);

/* Makes room for element n of the array *pv (elements of size bytes,
 * capacity *cap), doubling it; false when memory runs out. */
bool correlate_input_grow(void *pv, size_t *cap, size_t n, size_t size);

/* A PostgreSQL array literal ("{1,2}", "{\"a\",NULL}") built as text, so a
 * set of values travels in one bound TEXT parameter and one statement
 * (CAST(?1 AS BIGINT[]), unnest(...)) instead of one round trip per value.
 * Text is quoted and escaped, a blob is written "\\x<hex>", a double with 17
 * significant digits (it reads back exactly). bad is set when memory ran
 * out; correlate_arr_end() then returns NULL. */
typedef struct {
    char *s;
    size_t len, cap, n; /* n: elements */
    bool bad;
} correlate_arr_t;

void correlate_arr_reset(correlate_arr_t *a);
void correlate_arr_int(correlate_arr_t *a, int64_t v);
void correlate_arr_id(correlate_arr_t *a, int64_t v); /* v < 0: NULL */
void correlate_arr_real(correlate_arr_t *a, double v);
void correlate_arr_text(correlate_arr_t *a, const char *s);             /* NULL: NULL */
void correlate_arr_blob(correlate_arr_t *a, const void *p, size_t len); /* NULL: NULL */
const char *correlate_arr_end(correlate_arr_t *a);
void correlate_arr_free(correlate_arr_t *a);

void correlate_streams_free(correlate_streams_t *s);
void correlate_record_free(correlate_record_t *r);
bool correlate_ids_add(correlate_ids_t *ids, const char *id);
void correlate_ids_free(correlate_ids_t *ids);

#endif
