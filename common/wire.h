/* wire.h - the probe -> collector schema (docs/transport.md).
 *
 * Every ZeroMQ message is one frame of UTF-8 JSON with "schema" and "kind":
 *   batch      probe -> collector: probe_id, site, epoch, seq, records[]
 *              (records are the probe's --json records, unchanged)
 *   heartbeat  probe -> collector: probe_id, site, version, health{}
 *   ack        collector -> probe: epoch, seq, status (stored | duplicate |
 *              rejected), stored, rejected, error
 *   error      collector -> probe: a frame it could not read, and why
 * A batch is identified by (probe_id, epoch, seq): epoch is the probe's
 * start time in microseconds (spooled batches keep theirs), seq counts
 * from 1 within an epoch. The collector stores a batch at most once.
 */
#ifndef CALLSCOPE_WIRE_H
#define CALLSCOPE_WIRE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dynbuf.h"

#define WIRE_SCHEMA 1

typedef enum { WIRE_BATCH, WIRE_HEARTBEAT, WIRE_ACK, WIRE_ERROR } wire_kind_t;

typedef enum { WIRE_STORED, WIRE_DUPLICATE, WIRE_REJECTED } wire_status_t;

typedef struct {
    wire_kind_t kind;
    const char *probe_id, *site, *version; /* borrowed from root */
    int64_t epoch, seq;
    json_t *records; /* batch: borrowed array */
    json_t *health;  /* heartbeat: borrowed object */
    wire_status_t status;
    int64_t stored, rejected;
    const char *error;
    json_t *root; /* owned: json_decref when done */
} wire_msg_t;

/* Parses and checks one frame: JSON, schema, kind, the kind's fields.
 * false with err saying what is wrong (msg->root NULL). */
bool wire_parse(const char *data, size_t len, wire_msg_t *msg, char *err, size_t errlen);
void wire_msg_clear(wire_msg_t *msg);

/* Checks one record of a batch: a known type and its key fields. */
bool wire_record_check(json_t *rec, char *err, size_t errlen);
/* "2026-01-15T10:00:00.000000Z": the probe's time format. */
bool wire_iso_ok(const char *s);

/* Builders; false when the buffer's maximum is reached. */
bool wire_batch_open(dynbuf_t *b, const char *probe_id, const char *site, int64_t epoch,
                     int64_t seq);
/* rec: one record's compact JSON. first: no comma before it. */
bool wire_batch_add(dynbuf_t *b, const char *rec, size_t len, bool first);
bool wire_batch_close(dynbuf_t *b);
/* New strings (free()), NULL when out of memory. */
char *wire_heartbeat(const char *probe_id, const char *site, json_t *health /* steals */);
char *wire_ack(int64_t epoch, int64_t seq, wire_status_t st, int64_t stored, int64_t rejected,
               const char *error);
char *wire_error(const char *error);
const char *wire_status_name(wire_status_t st);

#endif
