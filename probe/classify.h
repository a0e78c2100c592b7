/* classify.h - which application a flow belongs to, which side is the
 * client, and what kind of media a stream carries.
 *
 * nDPI 4.2 sees the first packets of each flow (then its state is freed);
 * its answer is a hint. Teams media is recognised by the probe's own rules
 * on top: Microsoft's Teams media prefixes (the same protocol file nDPI
 * loads, IPv6 included), Teams' client port ranges, and a bounded cache of
 * client endpoints (address, port) seen talking to a Teams relay, so the
 * peer-to-peer leg an ICE agent opens from the same port is Teams too.
 */
#ifndef CALLSCOPE_CLASSIFY_H
#define CALLSCOPE_CLASSIFY_H

#include <stdbool.h>
#include <stddef.h>

#include "decode.h"
#include "flow.h"

typedef struct classify classify_t;

/* One reading of the ranges file: the probe's Teams prefixes and an nDPI
 * module loaded with the same file. SIGHUP builds a new one aside
 * (classify_ranges_load, any thread) and the probe's own thread swaps it in
 * between packets (classify_ranges_swap). A flow keeps the module its nDPI
 * state began with until that state is freed (at most --ndpi-packets
 * packets, or the flow's end), so no flow changes module halfway; the old
 * module is freed when its last flow lets go. */
typedef struct classify_ranges classify_ranges_t;

typedef struct {
    const char *ranges_file;   /* nDPI protocol file with Teams ranges */
    unsigned ndpi_max_packets; /* packets per flow given to nDPI */
} classify_cfg_t;

typedef struct {
    uint64_t ndpi_flows, ndpi_packets, ndpi_giveups, ndpi_alloc_failures;
} classify_stats_t;

/* NULL with a message in err on failure (unreadable ranges file...). */
classify_t *classify_new(const classify_cfg_t *cfg, char *err, size_t errlen);
void classify_free(classify_t **c);

/* Reads the ranges file into a new, unused set. NULL with err (the file
 * cannot be read, a prefix does not parse, no Teams prefix, nDPI refuses
 * it): the caller keeps what it has. */
classify_ranges_t *classify_ranges_load(const char *path, char *err, size_t errlen);
/* Frees a set never swapped in. */
void classify_ranges_free(classify_ranges_t **r);
/* Makes r the set new flows and every address decision use, from now on
 * (the classifier's thread, between packets). Takes r. */
void classify_ranges_swap(classify_t *c, classify_ranges_t *r);
/* Teams prefixes in the current set (IPv4 and IPv6). */
size_t classify_ranges_count(const classify_t *c);

/* A new flow: decides the client side and notes Teams relays. */
void classify_flow_start(classify_t *c, flow_t *f, int dir);
/* Feeds nDPI while it still wants packets. */
void classify_packet(classify_t *c, flow_t *f, const pkt_t *p);
/* Before a flow is reported: gives nDPI up if undecided, frees its state,
 * settles app and media. Safe to call more than once. */
void classify_flow_end(classify_t *c, flow_t *f);
/* Releases nDPI state without deciding (flow table teardown). */
void classify_flow_release(flow_t *f);
/* The app the flow looks like now (cheap; used when streams are created). */
app_t classify_app_now(classify_t *c, const flow_t *f);

/* nDPI has recognised a protocol that never carries media (DNS, TLS...). */
bool classify_not_media(const flow_t *f);
bool classify_is_teams_addr(const classify_t *c, const netaddr_t *a);
media_t classify_media(const flow_t *f, uint8_t payload_type, uint32_t clock_rate,
                       uint32_t max_pkts_per_ts);
const char *classify_app_name(app_t a);
const char *classify_media_name(media_t m);
const classify_stats_t *classify_stats(const classify_t *c);

#endif
