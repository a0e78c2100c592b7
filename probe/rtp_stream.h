/* rtp_stream.h - per-stream RTP quality metrics (one stream = 5-tuple +
 * direction + SSRC).
 *
 * Counts (packets, bytes, expected, lost, duplicates, late, bursts) follow
 * RFC 3550 A.1/A.3 through rtp_seq. Interarrival jitter follows RFC 3550
 * A.8 in milliseconds, with Wireshark's exclusions for its maxima (see
 * docs/metrics.md). Until the clock rate is known (static table, Teams
 * mapping, or inference from the first packets) samples are buffered and
 * replayed, so no packet is left out of the jitter. A one-byte header
 * extension behaving like abs-send-time is detected the same way and gives
 * network jitter on (arrival - send time).
 *
 * Memory: a pool (rtp_stream_pool_t) keeps every stream of a probe within a
 * budget of streams and bytes. A stream costs sizeof(rtp_stream_t) (824
 * bytes with the interval figures) plus its sample buffer, which is
 * allocated lazily and grows 4 -> 16 -> 64 samples (40 bytes each) only
 * while the clock is undecided, so a one-packet "stream" costs under 1 KB. A stream is confirmed by
 * its first in-order sequence number (RFC 3550's probation of two
 * sequential packets); when the budget is full the oldest unconfirmed
 * stream is evicted (crafted one-packet streams never confirm), and when
 * every stream is confirmed the new one is refused. Both are counted.
 */
#ifndef CALLSCOPE_RTP_STREAM_H
#define CALLSCOPE_RTP_STREAM_H

#include <stdbool.h>
#include <stdint.h>

#include "demux.h"
#include "flow.h"
#include "rtp.h"
#include "rtp_seq.h"
#include "timefmt.h"

#define RTP_PENDING_MAX 64
#define RTP_AST_CANDIDATES 4
#define RTP_SR_MEMORY 4

typedef struct {
    usec_t arrival;
    uint32_t ts;
    uint8_t marker, pt;
    uint32_t ext_val[RTP_AST_CANDIDATES];
    uint8_t ext_has; /* bit i: ext_val[i] present */
} rtp_sample_t;

/* RFC 3550 A.8 filter over (arrival - media time); ms. */
typedef struct {
    bool primed;
    double last_transit_ms, last_arrival_ms;
    double j, jmax, jsum;
    uint64_t n;
    double max_delta_ms;
} jitter_t;

/* The jitter filter's values over one interval. */
typedef struct {
    double max, sum;
    uint64_t n;
} jitter_win_t;

/* Counts at an interval snapshot. */
typedef struct {
    uint64_t packets, bytes, expected, lost, duplicates, late, frames;
} rtp_totals_t;

/* Figures that can be taken per interval (deltas between snapshots). */
typedef struct {
    uint64_t packets, bytes, expected, lost, duplicates, late, frames;
    double jitter_ms_max;
    jitter_win_t jit, netjit; /* filter values counted in the interval */
    uint32_t burst_max;       /* longest run of lost packets (rtp_seq_take_window) */
    uint32_t loss_runs;       /* runs of one or more lost packets */
} rtp_window_t;

struct rtp_stream_pool;

typedef struct rtp_stream {
    struct rtp_stream *next;          /* flow's list */
    struct rtp_stream_pool *pool;     /* NULL: not budgeted */
    struct flow *flow;                /* the flow whose list holds it (pooled) */
    struct rtp_stream *uprev, *unext; /* pool's unconfirmed list */
    bool confirmed;                   /* an in-order sequence number seen */
    bool in_unconfirmed;
    uint32_t ssrc;
    uint8_t dir; /* sending endpoint index of the flow key */
    uint8_t payload_type, first_pt;
    bool teams_hint;
    demux_encap_t encap;
    media_t media;
    usec_t first_seen, last_seen;
    uint64_t packets, bytes, payload_bytes;
    uint32_t pt_changes;
    rtp_seq_t seq;

    uint32_t clock_rate;
    bool clock_inferred;
    bool clock_decided;
    rtp_sample_t *pending; /* lazily grown up to RTP_PENDING_MAX until decided, then freed */
    uint32_t npending, pending_cap;

    jitter_t jit;
    uint32_t last_ts, first_ts;
    uint64_t wrong_ts; /* packets with a timestamp outside the window */
    double media_ms;   /* RTP time since the first packet, unwrapped */
    bool have_last_ts;
    uint8_t last_pt;
    bool last_was_cn;

    /* abs-send-time detection */
    uint8_t ast_cand_id[RTP_AST_CANDIDATES];
    uint8_t ast_ncand;
    int ast_id; /* -1 none / undecided */
    jitter_t netjit;
    uint64_t ast_send_unwrapped; /* 6.18 units, unwrapped */
    uint32_t ast_last_raw;
    bool ast_have_last;

    /* video */
    uint64_t frames; /* marker bits */
    uint32_t max_pkts_per_ts, cur_pkts_same_ts;
    uint32_t video_prev_ts;

    /* RTCP seen about this stream (report blocks whose source is us) */
    bool rtcp_seen;
    uint8_t rtcp_fraction_lost;
    int32_t rtcp_cumulative_lost;
    double rtcp_jitter_ms;
    double rtcp_rtt_ms;
    bool rtcp_rtt_valid;
    uint32_t sr_count;
    struct {
        uint32_t ntp_mid;
        usec_t seen;
    } sr_sent[RTP_SR_MEMORY];
    uint32_t sr_next;

    rtp_totals_t win_mark;            /* totals at the last interval snapshot */
    jitter_win_t win_jit, win_netjit; /* jitter filter values since then */
} rtp_stream_t;

/* The probe's stream budget. max_streams/max_bytes 0: no limit. */
typedef struct rtp_stream_pool rtp_stream_pool_t;
typedef struct {
    uint64_t max_streams, max_bytes;
    uint64_t active, peak_streams; /* streams alive now / at most */
    uint64_t bytes, peak_bytes;    /* their memory (structs + sample buffers) */
    uint64_t created, confirmed;
    uint64_t evicted;         /* unconfirmed streams dropped to make room */
    uint64_t refused;         /* new streams refused: budget full of confirmed ones */
    uint64_t buffers_refused; /* sample buffers not grown: clock decided early */
} rtp_stream_pool_stats_t;

rtp_stream_pool_t *rtp_stream_pool_new(uint64_t max_streams, uint64_t max_bytes);
/* Every stream of the pool must have been freed first. */
void rtp_stream_pool_free(rtp_stream_pool_t **pool);
const rtp_stream_pool_stats_t *rtp_stream_pool_stats(const rtp_stream_pool_t *pool);
/* A new stream for flow f within the budget, evicting the oldest unconfirmed
 * stream of any flow if needed (unlinked from its flow's list, freed, not
 * reported). NULL when refused (counted) or out of memory. The caller links
 * the stream at the head of f->streams. */
rtp_stream_t *rtp_stream_pool_new_stream(rtp_stream_pool_t *pool, struct flow *f, uint32_t ssrc,
                                         uint8_t dir, const rtp_hdr_t *h, demux_encap_t encap,
                                         bool teams_hint, usec_t now);

/* Returns NULL on allocation failure. clock_hint: 0 or a known clock. */
rtp_stream_t *rtp_stream_new(uint32_t ssrc, uint8_t dir, const rtp_hdr_t *h, demux_encap_t encap,
                             bool teams_hint, usec_t now);
/* Also gives a pooled stream's memory back to its pool. */
void rtp_stream_free(rtp_stream_t **s);
void rtp_stream_packet(rtp_stream_t *s, const rtp_hdr_t *h, usec_t arrival, uint32_t bytes);
/* Asks the CPU for the stream's memory ahead of rtp_stream_packet(). */
void rtp_stream_prefetch(const rtp_stream_t *s);
/* SR sent by this stream's source (used for RTT from later LSR/DLSR). */
void rtp_stream_rtcp_sr(rtp_stream_t *s, uint32_t ntp_mid, usec_t seen);
/* Report block about this stream, seen at time 'seen'. */
void rtp_stream_rtcp_rb(rtp_stream_t *s, uint8_t fraction, int32_t cumulative, uint32_t jitter_ts,
                        uint32_t lsr, uint32_t dlsr, usec_t seen);
/* Decides clock and extension on what has been seen; closes loss window. */
void rtp_stream_finish(rtp_stream_t *s);
/* Current totals; take_window() returns the change since the last take
 * (for jitter, network jitter and loss runs: the values in the interval). */
void rtp_stream_window(const rtp_stream_t *s, rtp_window_t *totals);
void rtp_stream_take_window(rtp_stream_t *s, rtp_window_t *delta);
double rtp_stream_loss_pct(const rtp_stream_t *s);

#endif
