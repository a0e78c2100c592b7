/* noc_alerts.h - site alerts, three families:
 *
 *   lan, wan (verdicts of ended calls): per site, share = calls of that
 *     verdict / all calls at the site that ended within alert_window_s,
 *     counted only with at least alert_min_calls calls; above at or over
 *     alert_threshold_pct.
 *   live_lan, live_wan (calls in progress, from interval records): per site,
 *     the calls (client addresses) whose outbound (LAN) or inbound (WAN)
 *     loss over the last alert_live_window_s is above alert_live_loss_pct
 *     or jitter above alert_live_jitter_ms; above with at least
 *     alert_live_calls such calls (0: off). Works without verdict tables.
 *   endpoint, cloud (surges, verdicts of ended calls): per site, of the
 *     calls that ended within alert_surge_window_s, those judged endpoint
 *     (or cloud); above with at least alert_surge_calls such calls that
 *     are also at least alert_surge_pct of the site's calls (calls 0: off).
 *
 * Going from below to above is a crossing: it fires (webhook POST, syslog
 * and stderr line) unless the same site and kind fired less than
 * interval_s ago (then it is suppressed and counted). Staying above does
 * not fire again; falling below re-arms, and a fired alert sends a
 * "resolved" message. The webhook body is callscope's own or Prometheus
 * Alertmanager's (alert_format). Counters are kept under a lock:
 * noc_alerts_metrics() may run in another thread than noc_alerts_tick().
 */
#ifndef CALLSCOPE_NOC_ALERTS_H
#define CALLSCOPE_NOC_ALERTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dynbuf.h"
#include "noc.h"
#include "noc_buildings.h"

typedef struct noc_alerts noc_alerts_t;

noc_alerts_t *noc_alerts_new(const noc_cfg_t *cfg, char *err, size_t errlen);
void noc_alerts_free(noc_alerts_t **a);
/* Per-building alerts too: the lan/wan share and the endpoint/cloud surge
 * families per building of the CQD building file (a call counts for each
 * building it had a participant in, under the worst verdict of its
 * participants there), with the same thresholds as the sites'; payloads
 * carry "building" and "region" (buildings are not personal data). pii and
 * b are borrowed and must outlive a. */
void noc_alerts_buildings(noc_alerts_t *a, const pii_t *pii, noc_buildings_t *b);
/* Evaluates when check_s passed since the last evaluation. */
void noc_alerts_tick(noc_alerts_t *a, int64_t now_us);
/* callscope_alerts_* series. */
void noc_alerts_metrics(noc_alerts_t *a, dynbuf_t *out);

#endif
