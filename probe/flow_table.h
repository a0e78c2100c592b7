/* flow_table.h - bounded bidirectional flow table.
 *
 * Keyed by 5-tuple + VLANs, hashed with SipHash under a random key, so a
 * hostile mirror port cannot aim at one bucket. Flows sit on one LRU list
 * per timeout class (UDP, TCP, TCP after FIN/RST), ordered by last packet
 * time: idle expiry takes heads while they are idle, and when the table is
 * full the least recently seen flow is evicted (and counted) to make room. The release callback
 * sees every flow exactly once before it is freed: expired, evicted or flushed. Nothing is dropped
 * silently.
 */
#ifndef CALLSCOPE_FLOW_TABLE_H
#define CALLSCOPE_FLOW_TABLE_H

#include <stdint.h>

#include "decode.h"
#include "flow.h"

#define FLOW_RECENT_SLOTS 8192 /* power of two */

typedef enum { FLOW_END_IDLE, FLOW_END_EVICTED, FLOW_END_FLUSH } flow_end_t;

const char *flow_end_name(flow_end_t why);

typedef void (*flow_release_fn)(void *ctx, flow_t *f, flow_end_t why);

typedef struct {
    uint32_t max_flows;
    usec_t udp_timeout;
    usec_t tcp_timeout;
    usec_t tcp_closed_timeout;
} flow_table_cfg_t;

typedef struct {
    uint64_t created, expired, evicted, flushed;
    uint32_t active, peak;
} flow_table_stats_t;

typedef struct flow_table flow_table_t;

/* Returns NULL on allocation failure. The callback is called for every flow
 * before it is freed; it must release what it attached to the flow. */
flow_table_t *flow_table_new(const flow_table_cfg_t *cfg, flow_release_fn release, void *ctx);
void flow_table_free(flow_table_t **ft); /* flushes first */

/* Fills key from a decoded packet; *dir is the sender's endpoint index. */
void flow_key_from_pkt(const pkt_t *p, flow_key_t *key, int *dir);

/* Finds or creates the packet's flow and moves it to the LRU tail. *created
 * tells which. Returns NULL only when memory runs out (counted by caller). */
flow_t *flow_table_get(flow_table_t *ft, const flow_key_t *key, usec_t now, bool *created);

/* A FIN or RST was seen: the flow moves to the short TCP timeout. */
void flow_table_mark_closed(flow_table_t *ft, flow_t *f);
/* Releases flows idle for longer than their timeout at time now. */
void flow_table_expire(flow_table_t *ft, usec_t now);
/* Releases every flow, oldest activity first. */
void flow_table_flush(flow_table_t *ft);
/* Visits every live flow, oldest activity first (must not add or remove). */
void flow_table_each(flow_table_t *ft, void (*fn)(void *ctx, flow_t *f), void *ctx);
const flow_table_stats_t *flow_table_stats(const flow_table_t *ft);

#endif
