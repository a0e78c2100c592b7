/* graph_worker.h - a graph_poller in a thread of its own, for a process
 * whose main loop must never wait for Microsoft Graph (the collector's
 * 'run': a Graph request may take up to --graph-timeout, 30 s by default,
 * while probes resend a batch not acknowledged within 10 s).
 *
 * The worker owns a connection of its own to the store (SQLite: WAL, busy
 * timeout 5 s: a write of either connection waits for the other's short
 * transaction, never for an HTTP request, since the poller commits each
 * record on its own; PostgreSQL: a connection of its own). Threads:
 *   - the worker thread runs graph_poller_step() and sleeps until the
 *     poller's next wake-up;
 *   - any one other thread may call graph_worker_stats() and
 *     graph_worker_cycles() while it runs.
 */
#ifndef CALLSCOPE_GRAPH_WORKER_H
#define CALLSCOPE_GRAPH_WORKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "graph_poller.h"

typedef struct graph_worker graph_worker_t;

/* Opens db_target (a store file or a postgresql:// URI), builds the poller from cfg (strings
 * copied, the secret handed to the token module) and starts the thread. NULL with err on a
 * configuration, store or thread error. */
graph_worker_t *graph_worker_new(const graph_cfg_t *cfg, const char *db_target, char *err,
                                 size_t errlen);
/* The poller's counters as of its last step; false once polling stopped
 * on a fatal error (the reason is logged by the worker). */
bool graph_worker_stats(graph_worker_t *w, graph_poller_stats_t *out);
/* Poll cycles finished so far (a caller compares it with the last value
 * it saw to learn that new call records are in the store). */
uint64_t graph_worker_cycles(graph_worker_t *w);
/* Stops the thread (a request in progress ends within about a second),
 * frees everything and NULLs *w. */
void graph_worker_free(graph_worker_t **w);

#endif
