/* output.h - where records go: JSON lines to a file or stdout, and the
 * human table printed at the end of a replay.
 */
#ifndef CALLSCOPE_OUTPUT_H
#define CALLSCOPE_OUTPUT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "export.h"
#include "rec.h"

typedef struct output output_t;

/* json_path: NULL (none), "-" (stdout) or a file. exp: a collector to send
 * the records to as well (exp->endpoint NULL: none). NULL with err on
 * failure. */
output_t *output_new(const char *json_path, bool table, const export_cfg_t *exp, char *err,
                     size_t errlen);
/* Closes the file and drains the export; returns false if a write failed
 * (err set). */
bool output_close(output_t **o, char *err, size_t errlen);
/* Begins a record: write its members into the rec_t (borrowed), then
 * output_commit() writes it out and keeps what the table needs. */
rec_t *output_record(output_t *o);
void output_commit(output_t *o);
/* Counters for the collector's next heartbeat (steals); no-op without one. */
void output_health(output_t *o, json_t *health);
/* The export's counters as JSON (new reference), NULL without one. */
json_t *output_export_stats(output_t *o);
/* Sends one record line to the collector only, waiting for queue room. */
void output_send_line(output_t *o, export_kind_t kind, const char *line, size_t len);
/* Drains and stops the export now; *final: its last stats (new reference,
 * NULL without an export). */
void output_close_export(output_t *o, json_t **final);
/* The table for people: each client's streams (grouped by client and app,
 * overlapping in time), the flows of apps that gave no RTP stream and
 * why, the clients. To stderr instead when the JSON goes to stdout. */
void output_print_table(output_t *o, FILE *to);

#endif
