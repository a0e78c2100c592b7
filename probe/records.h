/* records.h - the probe's output records as JSON objects (docs/output.md
 * is the contract: key names never change; new keys may be added).
 *
 * Every function returns a new reference the caller owns.
 */
#ifndef CALLSCOPE_RECORDS_H
#define CALLSCOPE_RECORDS_H

#include <jansson.h>

#include "client_table.h"
#include "flow.h"
#include "rtp_stream.h"

#define RECORDS_SCHEMA_VERSION 1

json_t *records_stream(const flow_t *f, const rtp_stream_t *s, const char *end_reason);
json_t *records_interval(const flow_t *f, const rtp_stream_t *s, const rtp_window_t *d,
                         usec_t start, usec_t end);
json_t *records_flow(const flow_t *f, const char *end_reason);
json_t *records_client(const client_t *c);

/* Helpers shared with the stats record. */
json_t *records_time(usec_t t);
json_t *records_ms(double ms); /* rounded to the microsecond */

#endif
