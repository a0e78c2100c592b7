/* test_rtp_seq.c - probe/rtp_seq.h: expected, lost, duplicates, late,
 * bursts, wrap, restart (RFC 3550 A.1 / A.3). */
#include <stdlib.h>

#include "check.h"
#include "rtp_seq.h"

static rtp_seq_t S;

static void feed_range(uint32_t from, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        (void)rtp_seq_update(&S, (uint16_t)(from + i));
}

static void test_in_order(void)
{
    memset(&S, 0, sizeof S);
    CHECK_EQ_UINT(rtp_seq_expected(&S), 0);
    CHECK_EQ_UINT(rtp_seq_lost(&S), 0);
    CHECK_EQ_INT(rtp_seq_update(&S, 1000), SEQ_FIRST);
    CHECK_EQ_INT(rtp_seq_update(&S, 1001), SEQ_IN_ORDER);
    feed_range(1002, 98);
    CHECK_EQ_UINT(rtp_seq_expected(&S), 100);
    CHECK_EQ_UINT(rtp_seq_lost(&S), 0);
    rtp_seq_finish(&S);
    CHECK_EQ_UINT(rtp_seq_expected(&S), 100);
    CHECK_EQ_UINT(rtp_seq_lost(&S), 0);
    CHECK_EQ_UINT(S.unique, 100);
    CHECK_EQ_UINT(S.duplicates, 0);
    CHECK_EQ_UINT(S.late, 0);
    CHECK_EQ_UINT(S.loss_runs, 0);
}

static void test_single_loss(void)
{
    memset(&S, 0, sizeof S);
    feed_range(0, 50);
    feed_range(51, 49); /* 50 missing */
    CHECK_EQ_UINT(rtp_seq_expected(&S), 100);
    CHECK_EQ_UINT(rtp_seq_lost(&S), 1);
    rtp_seq_finish(&S);
    CHECK_EQ_UINT(rtp_seq_lost(&S), 1);
    CHECK_EQ_UINT(S.loss_runs, 1);
    CHECK_EQ_UINT(S.bursts, 0);
    CHECK_EQ_UINT(S.max_burst, 1);
}

static void test_burst(void)
{
    memset(&S, 0, sizeof S);
    feed_range(0, 50);
    feed_range(55, 45); /* 50..54 missing */
    CHECK_EQ_UINT(rtp_seq_expected(&S), 100);
    CHECK_EQ_UINT(rtp_seq_lost(&S), 5);
    rtp_seq_finish(&S);
    CHECK_EQ_UINT(rtp_seq_lost(&S), 5);
    CHECK_EQ_UINT(S.max_burst, 5);
    CHECK_EQ_UINT(S.bursts, 1);
    CHECK_EQ_UINT(S.loss_runs, 1);

    /* a burst that slides out of the window during the stream */
    memset(&S, 0, sizeof S);
    feed_range(0, 10);
    feed_range(13, 3000); /* 10..12 missing, then far past the window */
    CHECK_EQ_UINT(S.lost_final, 3);
    CHECK_EQ_UINT(S.max_burst, 3);
    CHECK_EQ_UINT(rtp_seq_lost(&S), 3);
}

static void test_duplicate(void)
{
    memset(&S, 0, sizeof S);
    feed_range(0, 50);
    CHECK_EQ_INT(rtp_seq_update(&S, 49), SEQ_DUPLICATE); /* the highest again */
    CHECK_EQ_INT(rtp_seq_update(&S, 30), SEQ_DUPLICATE); /* an older one again */
    feed_range(50, 50);
    CHECK_EQ_UINT(S.duplicates, 2);
    CHECK_EQ_UINT(rtp_seq_expected(&S), 100);
    CHECK_EQ_UINT(rtp_seq_lost(&S), 0);
    rtp_seq_finish(&S);
    CHECK_EQ_UINT(rtp_seq_lost(&S), 0);
    CHECK_EQ_UINT(S.unique, 100);
}

static void test_reorder(void)
{
    memset(&S, 0, sizeof S);
    feed_range(0, 50);
    CHECK_EQ_INT(rtp_seq_update(&S, 51), SEQ_IN_ORDER);
    CHECK_EQ_UINT(rtp_seq_lost(&S), 1); /* 50 is a hole for now */
    CHECK_EQ_INT(rtp_seq_update(&S, 50), SEQ_LATE);
    feed_range(52, 48);
    CHECK_EQ_UINT(S.late, 1);
    CHECK_EQ_UINT(S.duplicates, 0);
    CHECK_EQ_UINT(rtp_seq_expected(&S), 100);
    CHECK_EQ_UINT(rtp_seq_lost(&S), 0);
    rtp_seq_finish(&S);
    CHECK_EQ_UINT(rtp_seq_lost(&S), 0);
    CHECK_EQ_UINT(S.loss_runs, 0);

    /* reordered at the very start: the second packet precedes the first */
    memset(&S, 0, sizeof S);
    CHECK_EQ_INT(rtp_seq_update(&S, 10), SEQ_FIRST);
    CHECK_EQ_INT(rtp_seq_update(&S, 9), SEQ_LATE);
    feed_range(11, 10);
    CHECK_EQ_UINT(rtp_seq_expected(&S), 12);
    CHECK_EQ_UINT(rtp_seq_lost(&S), 0);
}

static void test_wrap(void)
{
    memset(&S, 0, sizeof S);
    feed_range(65530, 16); /* 65530..65535, 0..9 */
    CHECK_EQ_UINT(rtp_seq_expected(&S), 16);
    CHECK_EQ_UINT(rtp_seq_lost(&S), 0);
    CHECK_EQ_UINT(S.cycles, 65536);
    /* a loss and a reorder across the wrap */
    memset(&S, 0, sizeof S);
    feed_range(65530, 5);        /* 65530..65534 */
    (void)rtp_seq_update(&S, 0); /* 65535 missing for now */
    (void)rtp_seq_update(&S, 2); /* 1 lost */
    CHECK_EQ_INT(rtp_seq_update(&S, 65535), SEQ_LATE);
    feed_range(3, 10);
    rtp_seq_finish(&S);
    CHECK_EQ_UINT(rtp_seq_expected(&S), 19); /* 65530..65535 and 0..12 */
    CHECK_EQ_UINT(rtp_seq_lost(&S), 1);
}

static void test_restart_and_stray(void)
{
    /* a one-off stray far packet is neither loss nor a restart */
    memset(&S, 0, sizeof S);
    feed_range(1000, 100);
    CHECK_EQ_INT(rtp_seq_update(&S, 40000), SEQ_JUMP);
    feed_range(1100, 100);
    rtp_seq_finish(&S);
    CHECK_EQ_UINT(rtp_seq_expected(&S), 200);
    CHECK_EQ_UINT(rtp_seq_lost(&S), 0);
    CHECK_EQ_UINT(S.restarts, 0);
    CHECK_EQ_UINT(S.stray, 1);

    /* a restart: the far sequence is confirmed by the next packet */
    memset(&S, 0, sizeof S);
    feed_range(1000, 100); /* epoch 1: 100 packets */
    CHECK_EQ_INT(rtp_seq_update(&S, 30000), SEQ_JUMP);
    CHECK_EQ_INT(rtp_seq_update(&S, 30001), SEQ_RESTART);
    feed_range(30002, 48); /* epoch 2: 30000..30049 = 50 packets */
    rtp_seq_finish(&S);
    CHECK_EQ_UINT(S.restarts, 1);
    CHECK_EQ_UINT(S.stray, 0);
    CHECK_EQ_UINT(rtp_seq_expected(&S), 150);
    CHECK_EQ_UINT(rtp_seq_lost(&S), 0);

    /* a restart after a lossy first epoch keeps that epoch's loss */
    memset(&S, 0, sizeof S);
    feed_range(0, 10);
    feed_range(12, 8); /* 10, 11 lost; epoch 1 is 0..19 */
    (void)rtp_seq_update(&S, 20000);
    (void)rtp_seq_update(&S, 20001);
    feed_range(20002, 8); /* epoch 2: 20000..20009 */
    rtp_seq_finish(&S);
    CHECK_EQ_UINT(rtp_seq_expected(&S), 30);
    CHECK_EQ_UINT(rtp_seq_lost(&S), 2);
    CHECK_EQ_UINT(S.max_burst, 2);
}

static void test_late_beyond_window(void)
{
    memset(&S, 0, sizeof S);
    feed_range(0, 2000);
    /* 500 is 1500 behind: older than the 1024 window; RFC 3550 calls it a
     * big jump. It must not count as received, lost or a restart. */
    seq_event_t e = rtp_seq_update(&S, 500);
    CHECK(e == SEQ_LATE || e == SEQ_JUMP);
    feed_range(2000, 100);
    rtp_seq_finish(&S);
    CHECK_EQ_UINT(rtp_seq_expected(&S), 2100);
    CHECK_EQ_UINT(rtp_seq_lost(&S), 0);
    CHECK_EQ_UINT(S.restarts, 0);
    CHECK_EQ_UINT(S.unique, 2100);

    /* late inside MAX_MISORDER but its slot already finalised as lost */
    memset(&S, 0, sizeof S);
    feed_range(0, 10);
    feed_range(11, 1100); /* 10 missing, and 10 has left the window */
    CHECK_EQ_UINT(S.lost_final, 1);
    (void)rtp_seq_update(&S, 10); /* back by 1101 > MAX_MISORDER: a jump */
    feed_range(1111, 10);
    rtp_seq_finish(&S);
    CHECK_EQ_UINT(rtp_seq_lost(&S), 1);
    CHECK(rtp_seq_lost(&S) <= rtp_seq_expected(&S));
}

/* Random local reordering, drops and duplicates against a ground truth:
 * expected = highest - lowest + 1, lost = expected - distinct received. */
static void test_random_vs_truth(void)
{
    srand(12345);
    for (int round = 0; round < 200; round++) {
        enum { N = 3000 };
        static uint16_t out[2 * N];
        static uint8_t got[N];
        size_t n = 0;
        uint32_t start = (uint32_t)rand() % 65536;
        memset(got, 0, sizeof got);
        int drop_pct = rand() % 30, dup_pct = rand() % 10;
        for (uint32_t i = 0; i < N; i++) {
            if (i != 0 && i != N - 1 && rand() % 100 < drop_pct)
                continue;
            out[n++] = (uint16_t)(start + i);
            got[i] = 1;
            if (rand() % 100 < dup_pct)
                out[n++] = (uint16_t)(start + i);
        }
        /* swap pairs within 10 places (far under MAX_MISORDER), each packet
         * moved at most once, never the first */
        static uint8_t moved[2 * N];
        memset(moved, 0, sizeof moved);
        for (size_t k = 1; k + 1 < n; k++) {
            if (!moved[k] && rand() % 100 < 10) {
                size_t j = k + 1 + (size_t)rand() % 10;
                if (j < n - 1 && !moved[j]) {
                    moved[k] = moved[j] = 1;
                    uint16_t t = out[k];
                    out[k] = out[j];
                    out[j] = t;
                }
            }
        }
        memset(&S, 0, sizeof S);
        for (size_t k = 0; k < n; k++)
            (void)rtp_seq_update(&S, out[k]);
        /* every slot older than the window is final: lost is a sum of the
         * final and the holes, and it never exceeds expected */
        uint64_t lost_mid = rtp_seq_lost(&S);
        CHECK(lost_mid <= rtp_seq_expected(&S));
        rtp_seq_finish(&S);
        /* RFC 3550: a packet 100 or more behind the highest is a stray
         * jump, not a late arrival; only the others count as received */
        static uint8_t seen[N];
        memset(seen, 0, sizeof seen);
        int64_t hi = -1;
        for (size_t k = 0; k < n; k++) {
            int64_t v = (int64_t)(uint16_t)(out[k] - start);
            if (v > hi)
                hi = v;
            if (hi - v < 100)
                seen[v] = 1;
        }
        uint64_t distinct = 0;
        for (int i = 0; i < N; i++)
            distinct += seen[i];
        CHECK_EQ_UINT(rtp_seq_expected(&S), N);
        CHECK_EQ_UINT(rtp_seq_lost(&S), N - distinct);
        CHECK_EQ_UINT(S.restarts, 0);
        if (check_failures)
            break;
    }
}

static void test_lost_never_negative(void)
{
    /* duplicates and late packets in heaps: lost stays 0, never wraps */
    memset(&S, 0, sizeof S);
    feed_range(100, 10);
    for (int k = 0; k < 50; k++) {
        (void)rtp_seq_update(&S, 105);
        (void)rtp_seq_update(&S, 109);
        (void)rtp_seq_update(&S, 100);
    }
    (void)rtp_seq_update(&S, 99); /* before the first: the epoch grows */
    CHECK_EQ_UINT(rtp_seq_lost(&S), 0);
    CHECK_EQ_UINT(rtp_seq_expected(&S), 11);
    rtp_seq_finish(&S);
    CHECK_EQ_UINT(rtp_seq_lost(&S), 0);
    CHECK(rtp_seq_lost(&S) < (uint64_t)1 << 62);
}

/* Loss runs per interval: a run belongs to the interval that added its
 * sequence numbers; holes still in the window count, final ones too (an
 * interval of more than 1024 packets), and a restart starts afresh. */
static void test_window_runs(void)
{
    uint32_t mx, runs;
    memset(&S, 0, sizeof S);
    feed_range(1, 99);   /* 1-99 */
    feed_range(101, 99); /* 100 lost: 101-199 */
    feed_range(205, 5);  /* 200-204 lost: 205-209 */
    rtp_seq_take_window(&S, &mx, &runs);
    CHECK_EQ_UINT(mx, 5);
    CHECK_EQ_UINT(runs, 2);
    rtp_seq_take_window(&S, &mx, &runs); /* nothing new */
    CHECK_EQ_UINT(mx, 0);
    CHECK_EQ_UINT(runs, 0);
    feed_range(210, 90);
    feed_range(310, 3); /* 300-309 lost, seen when 310 comes */
    rtp_seq_take_window(&S, &mx, &runs);
    CHECK_EQ_UINT(mx, 10);
    CHECK_EQ_UINT(runs, 1);
    /* a late packet fills a hole of an interval already taken: no run
     * is counted twice, and the next interval is clean */
    (void)rtp_seq_update(&S, 305);
    feed_range(313, 20);
    rtp_seq_take_window(&S, &mx, &runs);
    CHECK_EQ_UINT(mx, 0);
    CHECK_EQ_UINT(runs, 0);
    /* 3000 packets in one interval: runs that left the 1024 window (final)
     * and runs still in it both count */
    uint16_t q = 333;
    for (int i = 0; i < 3000; i++, q++)
        if (!(i == 10 || (i >= 100 && i < 107) || (i >= 2990 && i < 2993)))
            (void)rtp_seq_update(&S, q);
    (void)rtp_seq_update(&S, q);
    rtp_seq_take_window(&S, &mx, &runs);
    CHECK_EQ_UINT(mx, 7);
    CHECK_EQ_UINT(runs, 3);
    /* whole-stream figures unchanged by the interval accounting (the late
     * 305 split 300-309 into 5 + 4 there) */
    rtp_seq_finish(&S);
    CHECK_EQ_UINT(S.max_burst, 7);
    CHECK_EQ_UINT(S.loss_runs, 7);
    CHECK_EQ_UINT(rtp_seq_lost(&S), 1 + 5 + 9 + 1 + 7 + 3);
    /* the finish closed no run of the last interval twice */
    rtp_seq_take_window(&S, &mx, &runs);
    CHECK_EQ_UINT(mx, 0);
    CHECK_EQ_UINT(runs, 0);

    /* a restart: the new epoch's losses belong to the current interval */
    memset(&S, 0, sizeof S);
    feed_range(1000, 50);
    rtp_seq_take_window(&S, &mx, &runs);
    feed_range(30000, 2); /* jump, then the next: restart */
    feed_range(30004, 5); /* 30002-30003 lost */
    rtp_seq_take_window(&S, &mx, &runs);
    CHECK_EQ_UINT(mx, 2);
    CHECK_EQ_UINT(runs, 1);
    CHECK_EQ_UINT(S.restarts, 1);
}

int main(void)
{
    RUN(test_window_runs);
    RUN(test_in_order);
    RUN(test_single_loss);
    RUN(test_burst);
    RUN(test_duplicate);
    RUN(test_reorder);
    RUN(test_wrap);
    RUN(test_restart_and_stray);
    RUN(test_late_beyond_window);
    RUN(test_random_vs_truth);
    RUN(test_lost_never_negative);
    return check_finish("unit_rtp_seq");
}
