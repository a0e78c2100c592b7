/* capture_workers.h - live capture on one interface with several workers, each a
 * thread with a probe of its own (capture socket in a PACKET_FANOUT group,
 * nDPI module, flow and client tables, output, export). probe/capture_fanout.h says
 * how packets are shared out: a client's flows stay on one worker.
 *
 * Outputs per worker: --json FILE becomes FILE.wK (stdout stays shared, a
 * line at a time); the export spools in SPOOL/wK and sends batches of its
 * own (same probe name, its own epoch), so delivery stays exactly once.
 */
#ifndef CALLSCOPE_WORKERS_H
#define CALLSCOPE_WORKERS_H

#include <signal.h>

#include "probe.h"

typedef struct workers capture_workers_t;

/* Opens n probes on cfg->cap.iface. NULL with err on failure. */
capture_workers_t *capture_workers_new(const probe_cfg_t *cfg, unsigned n, char *err,
                                       size_t errlen);
/* Runs them until the captures end or *stop, then finishes them (final
 * records). Returns 0, or 1 when a worker's capture failed. Meanwhile the
 * calling thread calls on_reload(ctx) whenever *reload is set (SIGHUP;
 * cleared first), within 100 ms: it builds each worker's new settings
 * aside and posts them (probe_reload_post), and each worker swaps them in
 * between two of its packets. reload may be NULL. */
int capture_workers_run(capture_workers_t *w, volatile sig_atomic_t *stop,
                        volatile sig_atomic_t *reload, void (*on_reload)(void *ctx), void *ctx);
unsigned capture_workers_count(const capture_workers_t *w);
probe_t *capture_workers_probe(capture_workers_t *w, unsigned k);
/* Frees the probes (draining their exports). */
void capture_workers_free(capture_workers_t **w);
/* Makes every worker's capture return soon; async-signal-safe. */
void capture_workers_break(capture_workers_t *w);

#endif
