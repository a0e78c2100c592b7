#include "rtp_seq.h"

#include <string.h>

#define MAX_DROPOUT 3000
#define MAX_MISORDER 100
#define NO_BAD_SEQ (65536u + 1u)

static bool bit_get(const rtp_seq_t *s, uint64_t ext)
{
    uint64_t i = ext % RTP_SEQ_WINDOW;
    return (s->bits[i / 64] >> (i % 64)) & 1u;
}

static void bit_put(rtp_seq_t *s, uint64_t ext, bool v)
{
    uint64_t i = ext % RTP_SEQ_WINDOW;
    if (v)
        s->bits[i / 64] |= (uint64_t)1 << (i % 64);
    else
        s->bits[i / 64] &= ~((uint64_t)1 << (i % 64));
}

static void end_wrun(rtp_seq_t *s)
{
    if (s->wrun > 0) {
        s->wruns++;
        if (s->wrun > s->wmax)
            s->wmax = s->wrun;
        s->wrun = 0;
    }
}

static void end_run(rtp_seq_t *s)
{
    end_wrun(s);
    if (s->run > 0) {
        s->loss_runs++;
        if (s->run >= 2)
            s->bursts++;
        if (s->run > s->max_burst)
            s->max_burst = s->run;
        s->run = 0;
    }
}

/* Finalise slots [win_start, upto). Slots below base_ext were never
 * expected; slots above high_ext are not expected yet. */
static void finalise_to(rtp_seq_t *s, uint64_t upto)
{
    for (; s->win_start < upto; s->win_start++) {
        uint64_t e = s->win_start;
        bool expected = e >= s->base_ext && e <= s->high_ext;
        if (expected && !bit_get(s, e)) {
            s->lost_final++;
            s->run++;
            if (e >= s->wcut)
                s->wrun++;
        } else if (expected) {
            end_run(s);
        }
        bit_put(s, e, false);
    }
}

static void start_epoch(rtp_seq_t *s, uint16_t seq)
{
    s->max_seq = seq;
    s->cycles = 0;
    s->bad_seq = NO_BAD_SEQ;
    s->base_ext = (uint64_t)65536 + seq; /* room below for early reorders */
    s->high_ext = s->base_ext;
    s->win_start = s->base_ext - RTP_SEQ_WINDOW / 2;
    memset(s->bits, 0, sizeof s->bits);
    s->wcut = 0; /* a new epoch's numbers all belong to the current interval */
    bit_put(s, s->base_ext, true);
    s->unique++;
}

static void close_epoch(rtp_seq_t *s)
{
    finalise_to(s, s->high_ext + 1);
    end_run(s);
    s->expected_closed += s->high_ext - s->base_ext + 1;
}

/* Record ext in the window; returns true if it was already seen. */
static bool mark(rtp_seq_t *s, uint64_t ext)
{
    if (ext >= s->win_start + RTP_SEQ_WINDOW)
        finalise_to(s, ext - RTP_SEQ_WINDOW + 1);
    if (ext < s->win_start) { /* later than the window can tell */
        s->late++;
        return false;
    }
    if (bit_get(s, ext))
        return true;
    bit_put(s, ext, true);
    s->unique++;
    return false;
}

static seq_event_t behind(rtp_seq_t *s, uint16_t seq)
{
    /* Duplicate or reordered: place it relative to the highest. */
    uint16_t back = (uint16_t)(s->max_seq - seq);
    uint64_t cur = (uint64_t)s->cycles + s->max_seq + 65536;
    if (back > cur - s->win_start) {
        s->late++;
        return SEQ_LATE;
    }
    uint64_t ext = cur - back;
    if (ext < s->base_ext) {
        /* arrived before the first one we saw: the epoch starts earlier */
        if (s->win_start > ext)
            return SEQ_LATE;
        s->base_ext = ext;
    }
    if (mark(s, ext)) {
        s->duplicates++;
        return SEQ_DUPLICATE;
    }
    s->late++;
    return SEQ_LATE;
}

seq_event_t rtp_seq_update(rtp_seq_t *s, uint16_t seq)
{
    if (!s->started) {
        s->started = true;
        start_epoch(s, seq);
        return SEQ_FIRST;
    }
    uint16_t udelta = (uint16_t)(seq - s->max_seq);
    if (udelta == 0) {
        s->duplicates++;
        return SEQ_DUPLICATE;
    }
    if (udelta < MAX_DROPOUT) {
        if (seq < s->max_seq)
            s->cycles += 65536;
        s->max_seq = seq;
        uint64_t ext = (uint64_t)s->cycles + seq + 65536;
        s->high_ext = ext;
        s->bad_seq = NO_BAD_SEQ;
        (void)mark(s, ext);
        return SEQ_IN_ORDER;
    }
    if (udelta <= 65536 - MAX_MISORDER) {
        if (seq == s->bad_seq) {
            /* Two in a row after a big jump: the source restarted. Close
             * the old epoch and start a new one at the jump packet, which
             * stops being a stray. */
            close_epoch(s);
            s->restarts++;
            s->stray--;
            start_epoch(s, (uint16_t)(seq - 1));
            (void)rtp_seq_update(s, seq);
            return SEQ_RESTART;
        }
        s->bad_seq = (uint32_t)((seq + 1) & 0xFFFF);
        s->jumps++;
        s->stray++;
        return SEQ_JUMP;
    }
    return behind(s, seq);
}

uint64_t rtp_seq_expected(const rtp_seq_t *s)
{
    if (!s->started)
        return 0;
    return s->expected_closed + (s->high_ext - s->base_ext + 1);
}

uint64_t rtp_seq_lost(const rtp_seq_t *s)
{
    if (!s->started)
        return 0;
    uint64_t holes = 0;
    uint64_t from = s->win_start > s->base_ext ? s->win_start : s->base_ext;
    for (uint64_t e = from; e <= s->high_ext; e++)
        holes += !bit_get(s, e);
    return s->lost_final + holes;
}

void rtp_seq_finish(rtp_seq_t *s)
{
    if (!s->started)
        return;
    finalise_to(s, s->high_ext + 1);
    end_run(s);
}

void rtp_seq_take_window(rtp_seq_t *s, uint32_t *max_run, uint32_t *runs)
{
    if (s->started) {
        uint64_t from = s->win_start > s->base_ext ? s->win_start : s->base_ext;
        if (s->wcut > from)
            from = s->wcut;
        for (uint64_t e = from; e <= s->high_ext; e++) {
            if (!bit_get(s, e))
                s->wrun++;
            else
                end_wrun(s);
        }
        end_wrun(s);
        s->wcut = s->high_ext + 1;
    }
    *max_run = s->wmax;
    *runs = s->wruns;
    s->wmax = s->wruns = 0;
}
