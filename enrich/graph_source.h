/* graph_source.h - the file source: call-record JSON files as exported from
 * Graph, through the same parser and store as the poller.
 *
 * A file holds one callRecord (GET .../callRecords/{id}, with or without
 * $expand=sessions($expand=segments)) or a list page {"value": [records]}.
 * Other JSON (sessions lists, tokens, errors) is skipped and counted. A
 * directory is read in name order, *.json files only.
 */
#ifndef CALLSCOPE_GRAPH_SOURCE_H
#define CALLSCOPE_GRAPH_SOURCE_H

#include <stdint.h>

#include "graph_store.h"

#define GRAPH_SOURCE_MAX_FILE (64u << 20)

typedef struct {
    uint64_t files, records, inserted, updated, unchanged, not_records, bad_files;
} graph_source_stats_t;

/* 0 when every file was read, -1 when some could not be (logged, counted). */
int graph_source_import(graph_store_t *st, const char *path, graph_source_stats_t *stats);

#endif
