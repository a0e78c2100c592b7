/* rtp_seq.h - RTP sequence accounting: extended sequence numbers, expected,
 * lost, duplicates, late arrivals and loss bursts (RFC 3550 A.1, A.3).
 *
 * A 1024-slot window of "seen" bits follows the highest extended sequence
 * number. A slot leaving the window is final: an unseen one is a lost
 * packet, and runs of them are bursts. So reordering inside the window is
 * not loss, a duplicate is recognised, and lost can never go negative.
 * A jump of more than MAX_DROPOUT is a restart only when the next packet
 * follows it (RFC 3550's bad_seq rule); the old epoch is closed first.
 */
#ifndef CALLSCOPE_RTP_SEQ_H
#define CALLSCOPE_RTP_SEQ_H

#include <stdbool.h>
#include <stdint.h>

#define RTP_SEQ_WINDOW 1024

typedef enum {
    SEQ_IN_ORDER,
    SEQ_LATE,
    SEQ_DUPLICATE,
    SEQ_JUMP,
    SEQ_RESTART,
    SEQ_FIRST
} seq_event_t;

typedef struct {
    bool started;
    uint16_t max_seq;
    uint32_t cycles;    /* count of wraps, <<16 */
    uint32_t bad_seq;   /* RFC 3550: 65536+1 = none pending */
    uint64_t base_ext;  /* first ext seq of the epoch */
    uint64_t high_ext;  /* highest ext seq of the epoch */
    uint64_t win_start; /* ext seq of bit 0 */
    uint64_t bits[RTP_SEQ_WINDOW / 64];

    uint64_t expected_closed; /* from finished epochs */
    uint64_t lost_final;      /* slots that left the window unseen */
    uint64_t duplicates, late, jumps, restarts, stray;
    uint64_t unique; /* distinct sequence numbers received */
    uint32_t run;    /* current run of lost slots being finalised */
    uint32_t max_burst;
    uint32_t loss_runs; /* runs of one or more lost packets */
    uint32_t bursts;    /* runs of two or more */

    /* The current interval's share of the loss runs: only slots at or
     * above wcut (the first sequence number the interval added) count, so
     * a run across an interval boundary is split between the two. */
    uint64_t wcut;
    uint32_t wrun, wmax, wruns;
} rtp_seq_t;

seq_event_t rtp_seq_update(rtp_seq_t *s, uint16_t seq);
uint64_t rtp_seq_expected(const rtp_seq_t *s);
/* Unseen sequence numbers so far (final ones plus holes in the window). */
uint64_t rtp_seq_lost(const rtp_seq_t *s);
/* Closes the window: every hole becomes final (call at stream end). */
void rtp_seq_finish(rtp_seq_t *s);
/* The loss runs among the sequence numbers added since the last call
 * (holes still in the window count as lost, as rtp_seq_lost() does): the
 * longest and how many; then starts the next interval there. */
void rtp_seq_take_window(rtp_seq_t *s, uint32_t *max_run, uint32_t *runs);

#endif
