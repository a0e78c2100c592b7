/* output.h - where records go: JSON lines to a file or stdout, and the
 * human table printed at the end of a replay.
 */
#ifndef CALLSCOPE_OUTPUT_H
#define CALLSCOPE_OUTPUT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "rec.h"

typedef struct output output_t;

/* json_path: NULL (none), "-" (stdout) or a file. NULL with err on failure. */
output_t *output_new(const char *json_path, bool table, char *err, size_t errlen);
/* Closes the file; returns false if a write failed (err set). */
bool output_close(output_t **o, char *err, size_t errlen);
/* Begins a record: write its members into the rec_t (borrowed), then
 * output_commit() writes it out and keeps what the table needs. */
rec_t *output_record(output_t *o);
void output_commit(output_t *o);
/* The table of calls, streams and clients seen, for people. */
void output_print_table(output_t *o, FILE *to);

#endif
