/* export_resend.h - sends the records of a saved --json file to a collector, as
 * the probe would have sent them live (recovery after an outage, load
 * tests). Lines that do not look like a JSON object are counted and
 * skipped; the collector checks every record and counts what it rejects.
 */
#ifndef CALLSCOPE_RESEND_H
#define CALLSCOPE_RESEND_H

#include <signal.h>

#include "probe.h"

/* 0 when every line was queued and the export drained; 1 when lines were
 * skipped or records remain unacknowledged; 2 when it could not start. */
int export_resend_jsonl(const probe_cfg_t *cfg, volatile sig_atomic_t *stop);

#endif
