/* records.h - the probe's output records (docs/output.md is the contract:
 * key names never change; new keys may be added).
 *
 * Each function writes the members of one record into r, which the caller
 * has begun (rec_begin) and ends (rec_end).
 */
#ifndef CALLSCOPE_RECORDS_H
#define CALLSCOPE_RECORDS_H

#include "client_table.h"
#include "flow.h"
#include "rec.h"
#include "rtp_stream.h"

#define RECORDS_SCHEMA_VERSION 1

void records_stream(rec_t *r, const flow_t *f, const rtp_stream_t *s, const char *end_reason);
void records_interval(rec_t *r, const flow_t *f, const rtp_stream_t *s, const rtp_window_t *d,
                      usec_t start, usec_t end);
void records_flow(rec_t *r, const flow_t *f, const char *end_reason);
void records_client(rec_t *r, const client_t *c);
/* The stats record's "stream_budget" object (docs/output.md). */
void records_stream_budget(rec_t *r, const rtp_stream_pool_stats_t *st);

/* Helpers shared with the stats record. */
void records_put_time(rec_t *r, const char *key, usec_t t);
void records_put_ms(rec_t *r, const char *key, double ms); /* rounded to the microsecond */

#endif
