/* wire.h - the probe -> collector schema (docs/transport.md).
 *
 * Every ZeroMQ message starts with one frame of UTF-8 JSON with "schema" and
 * "kind":
 *   batch      probe -> collector: probe_id, site, epoch, seq, records (a
 *              count), then a second frame: the records as JSON lines (the
 *              probe's --json records, unchanged, one per line)
 *   heartbeat  probe -> collector: probe_id, site, version, health{}
 *   ack        collector -> probe: epoch, seq, status (stored | duplicate |
 *              rejected), stored, rejected, error
 *   error      collector -> probe: a frame it could not read, and why
 * A batch is identified by (probe_id, epoch, seq): epoch is the probe's
 * start time in microseconds (spooled batches keep theirs), seq counts
 * from 1 within an epoch. The collector stores a batch at most once.
 *
 * Encoded batches (schema 2, kind batch only): the records frame is LZ4
 * (one block, LZ4_compress_default) of the same lines; the header adds
 * "encoding":"lz4" and "body_bytes" (the decoded length). A collector that
 * reads them says so in every ack ("encodings":["lz4"]); a probe encodes
 * only while the last ack it got said so. An older collector answers a
 * schema 2 frame with an error and no ack, so the probe drops back to plain
 * batches and resends after its ack timeout: nothing is lost either way.
 * Why: CURVE decryption in ZeroMQ costs ~9 instructions per byte; the
 * records compress 5-35x (docs/store.md).
 */
#ifndef CALLSCOPE_WIRE_H
#define CALLSCOPE_WIRE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jscan.h"

#define WIRE_SCHEMA 1
#define WIRE_SCHEMA_ENCODED 2 /* a batch with an encoded records frame */

typedef enum { WIRE_BATCH, WIRE_HEARTBEAT, WIRE_ACK, WIRE_ERROR } wire_kind_t;

typedef enum { WIRE_STORED, WIRE_DUPLICATE, WIRE_REJECTED } wire_status_t;

typedef struct {
    wire_kind_t kind;
    const char *probe_id, *site, *version; /* borrowed from root */
    int64_t epoch, seq;
    int64_t records; /* batch: how many lines the second frame holds */
    json_t *health;  /* heartbeat: borrowed object */
    wire_status_t status;
    int64_t stored, rejected;
    const char *error;
    const char *encoding; /* batch: "lz4" or NULL (plain lines) */
    int64_t body_bytes;   /* batch with encoding: the decoded records frame's length */
    bool peer_lz4;        /* ack: the collector reads lz4 batches */
    json_t *root;         /* owned: json_decref when done */
} wire_msg_t;

/* Parses and checks one frame: JSON, schema, kind, the kind's fields.
 * false with err saying what is wrong (msg->root NULL). */
bool wire_parse(const char *data, size_t len, wire_msg_t *msg, char *err, size_t errlen);
void wire_msg_clear(wire_msg_t *msg);

/* What a record's key fields must be. */
typedef enum { WIRE_FIELD_TIME, WIRE_FIELD_COUNT, WIRE_FIELD_TEXT } wire_field_kind_t;
/* The required fields of a record type (NULL-terminated), NULL for a type
 * that is not known. */
const char *const *wire_record_fields(const char *type);
wire_field_kind_t wire_field_kind(const char *field);

/* Checks one record of a batch (one line, already through jscan_object()):
 * a known type and its key fields. *type: the record type (borrowed from
 * wire.c's table). */
bool wire_record_check(const jscan_t *js, const char **type, char *err, size_t errlen);
/* "2026-01-15T10:00:00.000000Z": the probe's time format. */
bool wire_iso_ok(const char *s);

/* The next line of a batch's second frame: *line and *len set (0 for an
 * empty line), *pos moved past its newline; false at the end. */
bool wire_next_line(const char *body, size_t body_len, size_t *pos, const char **line, size_t *len);
/* New strings (free()), NULL when out of memory. */
char *wire_batch_header(const char *probe_id, const char *site, int64_t epoch, int64_t seq,
                        int64_t records);
/* The header of the same batch with an lz4 records frame of body_bytes
 * decoded bytes (schema 2); NULL when head is not a batch header or out of
 * memory. */
char *wire_batch_header_lz4(const char *head, size_t head_len, size_t body_bytes);
/* LZ4 of in[0..n) into a new buffer (free()); false when out of memory or
 * when it would not be smaller than n (send it plain then). */
bool wire_lz4_encode(const char *in, size_t n, char **out, size_t *out_len);
/* Decodes in[0..n) into out, which holds exactly want bytes; false unless
 * the block is valid and decodes to exactly want bytes. */
bool wire_lz4_decode(const char *in, size_t n, char *out, size_t want);
char *wire_heartbeat(const char *probe_id, const char *site, json_t *health /* steals */);
/* Every ack says "encodings":["lz4"] (this side reads encoded batches). */
char *wire_ack(int64_t epoch, int64_t seq, wire_status_t st, int64_t stored, int64_t rejected,
               const char *error);
char *wire_error(const char *error);
const char *wire_status_name(wire_status_t st);

#endif
