/* output.h - where records go: JSON lines to a file or stdout, and the
 * human table printed at the end of a replay.
 */
#ifndef CALLSCOPE_OUTPUT_H
#define CALLSCOPE_OUTPUT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

typedef struct output output_t;

/* json_path: NULL (none), "-" (stdout) or a file. NULL with err on failure. */
output_t *output_new(const char *json_path, bool table, char *err, size_t errlen);
/* Closes the file; returns false if a write failed (err set). */
bool output_close(output_t **o, char *err, size_t errlen);
/* Writes one record and drops the reference (steals it). */
void output_emit(output_t *o, json_t *rec);
/* The table of calls, streams and clients seen, for people. */
void output_print_table(output_t *o, FILE *to);

#endif
