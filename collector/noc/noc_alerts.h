/* noc_alerts.h - a site's share of 'lan' or 'wan' verdicts over a window.
 *
 * Every check: per site and kind (lan, wan), share = calls of that verdict
 * / all calls at the site that ended within the window, counted only with
 * at least min_calls calls. Going from below to at-or-above the threshold
 * is a crossing: it fires (webhook POST and syslog line) unless the same
 * site and kind fired less than interval_s ago (then it is suppressed and
 * counted). Staying above does not fire again; falling below re-arms.
 * Counters are kept under a lock: noc_alerts_metrics() may run in another
 * thread than noc_alerts_tick().
 */
#ifndef CALLSCOPE_NOC_ALERTS_H
#define CALLSCOPE_NOC_ALERTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dynbuf.h"
#include "noc.h"

typedef struct noc_alerts noc_alerts_t;

noc_alerts_t *noc_alerts_new(const noc_cfg_t *cfg, char *err, size_t errlen);
void noc_alerts_free(noc_alerts_t **a);
/* Evaluates when check_s passed since the last evaluation. */
void noc_alerts_tick(noc_alerts_t *a, int64_t now_us);
/* callscope_alerts_* series. */
void noc_alerts_metrics(noc_alerts_t *a, dynbuf_t *out);

#endif
