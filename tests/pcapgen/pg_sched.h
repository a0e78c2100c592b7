/* pg_sched: the plan of one RTP stream, one entry per packet on the wire,
 * in arrival order. Impairments edit the plan before it is emitted. */
#ifndef PG_SCHED_H
#define PG_SCHED_H

#include <stddef.h>
#include <stdint.h>

#include "pg_rng.h"

typedef struct {
    uint64_t lidx; /* sender's gap-free index (0, 1, 2 ...) */
    uint16_t seq;
    uint32_t ts;
    uint32_t ssrc;
    uint64_t send_us; /* sender clock, carried in abs-send-time */
    uint64_t arr_us;  /* capture time */
    uint16_t plen;    /* RTP payload bytes (incl. SRTP tag) */
    uint8_t pt;
    uint8_t marker;
} pg_rtp_pkt;

typedef struct {
    pg_rtp_pkt *v;
    size_t n, cap;
} pg_sched;

typedef struct {
    uint32_t ssrc;
    uint8_t pt;
    uint16_t seq0;
    uint32_t ts0;
    uint32_t ts_step;   /* per packet (audio) or per frame (video) */
    uint64_t t0_us;     /* first send time */
    uint64_t period_us; /* per packet (audio) or per frame (video) */
    size_t count;       /* packets (audio) or frames (video) */
    uint64_t delay_us;  /* network delay sender -> capture point */
    uint16_t plen_min, plen_max;
    uint8_t pkts_min, pkts_max; /* video: packets per frame */
    uint64_t lidx0;             /* first logical index */
} pg_sched_par;

/* Both return 0 or -1 (allocation). */
int pg_sched_audio(pg_sched *s, pg_rng *r, const pg_sched_par *p);
int pg_sched_video(pg_sched *s, pg_rng *r, const pg_sched_par *p);
void pg_sched_free(pg_sched *s);

/* Impairments, addressed by logical index. */
void pg_sched_drop(pg_sched *s, uint64_t lo, uint64_t hi);
int pg_sched_dup(pg_sched *s, uint64_t lidx, uint64_t extra_us);
void pg_sched_swap_next(pg_sched *s, uint64_t lidx);
void pg_sched_move_later(pg_sched *s, uint64_t lidx, size_t k);
/* Extra network delay uniform [0, max_us], plus spike_us with probability
 * spike_p; FIFO: a packet never overtakes the previous one. */
void pg_sched_net_jitter(pg_sched *s, pg_rng *r, uint64_t max_us, double spike_p,
                         uint64_t spike_us);
/* Sender pacing jitter uniform [0, max_us] (send and arrival move). */
void pg_sched_pace_jitter(pg_sched *s, pg_rng *r, uint64_t max_us);
/* From logical index lidx on, sequence numbers restart at seq. */
void pg_sched_seq_restart(pg_sched *s, uint64_t lidx, uint16_t seq);

/* Rebase timestamps so that the first packet carries ts0. */
void pg_sched_ts_base(pg_sched *s, uint32_t ts0);

#endif
