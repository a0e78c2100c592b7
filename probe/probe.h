/* probe.h - the probe's run: capture -> decode -> flow table -> classify ->
 * demux -> RTP metrics -> records. One probe_t per capture source; no
 * globals, so tests and fuzzers make as many as they like.
 */
#ifndef CALLSCOPE_PROBE_H
#define CALLSCOPE_PROBE_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "capture.h"
#include "decode.h"
#include "demux.h"
#include "export.h"

typedef struct {
    capture_cfg_t cap;
    const char *json_path; /* NULL: none; "-": stdout */
    bool table;            /* human table on stdout at the end */
    const char *ranges_file;
    unsigned max_flows;
    unsigned max_streams;      /* stream budget (rtp_stream_pool_t) */
    unsigned stream_memory_mb; /* and its memory */
    unsigned udp_timeout_s, tcp_timeout_s;
    unsigned ndpi_max_packets;
    unsigned interval_s; /* 0: no interval records */
    unsigned min_stream_packets;
    unsigned progress_s;      /* 0: no progress lines */
    export_cfg_t exp;         /* exp.endpoint NULL: no collector */
    const char *from_jsonl;   /* send a saved --json file instead of capturing */
    unsigned from_jsonl_rate; /* records per second, 0: as fast as accepted */
    unsigned workers;         /* live capture threads on the interface (1: none) */
} probe_cfg_t;

/* Counters the probe keeps itself (libpcap's are in capture_stats_t). */
typedef struct {
    uint64_t packets, bytes;
    uint64_t decoded;
    uint64_t reason[DECODE_REASON_COUNT];
    uint64_t snap_truncated;
    uint64_t flow_alloc_failures;
    uint64_t demux_kind[DEMUX_KIND_COUNT];
    uint64_t demux_malformed, rtp_malformed, rtcp_plain, srtcp;
    uint64_t rtp_packets;
    uint64_t stream_alloc_failures;
    uint64_t streams_reported, streams_below_min;
    uint64_t flows_reported, intervals_reported, clients_reported;
    uint64_t tcp_frames, tcp_resyncs;
    uint64_t files_failed;
} probe_counters_t;

/* Defaults: options_defaults() (probe/options.h), from the option table. */

typedef struct probe probe_t;

/* NULL with err set when the capture, classifier or output cannot open. */
probe_t *probe_new(const probe_cfg_t *cfg, char *err, size_t errlen);
void probe_free(probe_t **p);
/* Runs until the capture ends or *stop becomes non-zero. Returns 0, or 1
 * when some input could not be read (the rest was still processed). */
int probe_run(probe_t *p, volatile sig_atomic_t *stop);
/* Feeds one frame directly (tests and fuzzers). */
void probe_feed(probe_t *p, int dlt, const uint8_t *data, uint32_t caplen, uint32_t wirelen,
                int64_t ts_us);
/* Makes probe_run() return soon; async-signal-safe (pcap_breakloop). */
void probe_break(probe_t *p);
/* Lets time pass without a packet (idle live link): expiry, intervals. */
void probe_feed_idle(probe_t *p, int64_t now_us);
/* Ends every flow and writes the remaining records and the stats. */
void probe_finish(probe_t *p);
const probe_counters_t *probe_counters(const probe_t *p);

/* ---- SIGHUP: new settings without a restart (docs/teams-ranges.md) ----
 * What a running probe takes: the Teams ranges (re-read from the file even
 * when its name is unchanged), interval_s, progress_s, min_stream_packets.
 * Nothing of the flows, streams or records is lost: the new state is built
 * aside, in any thread, and the probe's own thread swaps it in between two
 * packets. */
typedef struct probe_reload probe_reload_t;

/* Reads cfg->ranges_file and keeps the settings above. NULL with err when
 * the file is bad: the probe keeps all its settings. */
probe_reload_t *probe_reload_new(const probe_cfg_t *cfg, char *err, size_t errlen);
void probe_reload_free(probe_reload_t **r);
/* Hands r to p (p takes it; an earlier one not yet applied is dropped).
 * Any thread; p applies it between packets in probe_run(). */
void probe_reload_post(probe_t *p, probe_reload_t *r);
/* Applies a posted reload now, in p's thread (probe_run() does this between
 * packets). True when one was applied. */
bool probe_reload_apply(probe_t *p);

#endif
