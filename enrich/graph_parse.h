/* graph_parse.h - Graph callRecord JSON (jansson) into graph_model.
 *
 * Accepts a callRecord as returned by
 *   GET /communications/callRecords/{id}?$expand=sessions($expand=segments)
 * (or exported from it). Unknown members are ignored; missing, null, "" and
 * sentinel values stay unknown. The only hard requirement is a non-empty
 * string "id". Returns a new record (free with graph_record_free) or NULL
 * with a reason in err that names no personal data.
 */
#ifndef CALLSCOPE_GRAPH_PARSE_H
#define CALLSCOPE_GRAPH_PARSE_H

#include <jansson.h>
#include <stddef.h>

#include "graph_model.h"

/* How Graph JSON is loaded everywhere (jansson flags): a "\u0000" inside a
 * string (names and feedback text are user-controlled) must not make a
 * whole call record unreadable. Such a NUL is stored as U+FFFD. */
#define GRAPH_PARSE_JSON_FLAGS JSON_ALLOW_NUL

/* Most children kept per node; more are counted as dropped in the log. */
#define GRAPH_PARSE_MAX_KIDS 10000

graph_record_t *graph_parse_record(const json_t *root, char *err, size_t errlen);
/* Parses text (not NUL-terminated; len bytes). */
graph_record_t *graph_parse_text(const char *buf, size_t len, char *err, size_t errlen);

#endif
