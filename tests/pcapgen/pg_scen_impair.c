/* Teams audio calls with impairments known by construction. The inbound
 * stream (relay -> client, dir 1) is impaired unless stated otherwise.
 * Logical index lidx = packet number from 0; dropping "seq 100" below
 * means lidx 99 because these plans are rebased to start at seq 1. */
#include "pg_call.h"
#include "pg_rtp.h"
#include "pg_scen.h"

static const pg_call_par impair_call = {"10.1.20.15", 50010,      0x15,     "52.113.10.20",
                                        3478,         PG_ENC_RAW, {{0, 0}}, 0};

typedef void (*impair_fn)(pg_ctx *c, pg_call *call);

static int impaired_call(pg_ctx *c, uint32_t secs, impair_fn fn)
{
    pg_call call;
    int rc = pg_call_teams(c, &call, &impair_call, PG_T0_US, secs);

    if (rc == 0) {
        fn(c, &call);
        pg_call_emit(c, &call, "audio");
    }
    pg_call_free(&call);
    return rc;
}

static void loss_burst(pg_ctx *c, pg_call *call)
{
    pg_sched *s = &call->plan[1];

    (void)c;
    pg_sched_seq_restart(s, 0, 1); /* seq = lidx + 1 */
    pg_sched_drop(s, 99, 99);      /* seq 100 */
    pg_sched_drop(s, 199, 203);    /* seq 200-204 */
    pg_sched_drop(s, 299, 308);    /* seq 300-309 */
}

int pg_scen_impair_loss_burst(pg_ctx *c)
{
    return impaired_call(c, 15, loss_burst);
}

static void dup_reorder(pg_ctx *c, pg_call *call)
{
    pg_sched *s = &call->plan[1];

    (void)c;
    pg_sched_seq_restart(s, 0, 1);
    pg_sched_dup(s, 49, 300);       /* seq 50 twice, 0.3 ms apart */
    pg_sched_dup(s, 149, 5000);     /* seq 150 again 5 ms later */
    pg_sched_swap_next(s, 299);     /* 301 before 300 */
    pg_sched_swap_next(s, 399);     /* 401 before 400 */
    pg_sched_move_later(s, 499, 5); /* 500 after 505 */
}

int pg_scen_impair_dup_reorder(pg_ctx *c)
{
    return impaired_call(c, 15, dup_reorder);
}

static void wrap(pg_ctx *c, pg_call *call)
{
    (void)c;
    pg_sched_seq_restart(&call->plan[1], 0, 65000);
    pg_sched_ts_base(&call->plan[1], 0xFFFFFFFFu - 320u * 100u + 1u);
    pg_sched_seq_restart(&call->plan[0], 0, 65500);
    pg_sched_ts_base(&call->plan[0], 0xFFFFFFFFu - 5000u);
}

int pg_scen_impair_wrap(pg_ctx *c)
{
    return impaired_call(c, 15, wrap);
}

int pg_scen_impair_ssrc_change(pg_ctx *c)
{
    pg_call call;
    pg_sched second = {0};
    int rc = pg_call_teams(c, &call, &impair_call, PG_T0_US, 15);

    /* First SSRC for 7 s (lidx 0-349), then a new SSRC with new seq and
     * timestamp bases on the same 5-tuple for the remaining 8 s. */
    if (rc == 0) {
        pg_sched_drop(&call.plan[1], 350, UINT64_MAX);
        rc = pg_call_audio_plan(c, &second, 1, call.t_media + 7 * PG_SEC, 400);
    }
    if (rc == 0) {
        pg_call_emit(c, &call, "audio");
        pg_rtp_stream(c, &call.flow, 1, &second, 16000, "audio", "teams", 1);
    }
    pg_sched_free(&second);
    pg_call_free(&call);
    return rc;
}

static void seq_restart(pg_ctx *c, pg_call *call)
{
    pg_sched *s = &call->plan[1];
    uint16_t jump = (uint16_t)pg_rng_range(&c->rng, 10000, 50000);

    /* From lidx 350 on, seq jumps by 10000-50000 (beyond MAX_DROPOUT);
     * timestamps continue. One loss before and one after the jump. */
    pg_sched_seq_restart(s, 350, (uint16_t)(s->v[350].seq + jump));
    pg_sched_drop(s, 100, 100);
    pg_sched_drop(s, 500, 500);
}

int pg_scen_impair_seq_restart(pg_ctx *c)
{
    pg_call call;
    int rc = pg_call_teams(c, &call, &impair_call, PG_T0_US, 15);

    if (rc == 0) {
        seq_restart(c, &call);
        pg_call_emit(c, &call, "audio");
        c->truth.v[call.sid[1]].info.seq_restarts = 1;
    }
    pg_call_free(&call);
    return rc;
}

static void jitter(pg_ctx *c, pg_call *call)
{
    /* Inbound: network delay 25 ms + uniform 0-40 ms + 80 ms spikes (2 %),
     * FIFO (no overtaking); abs-send-time = true send time. */
    pg_sched_net_jitter(&call->plan[1], &c->rng, 40 * PG_MS, 0.02, 80 * PG_MS);
    /* Outbound: sender paces 0-15 ms late, network constant, so
     * arrival - abs-send-time is constant: network jitter ~ 0. */
    pg_sched_pace_jitter(&call->plan[0], &c->rng, 15 * PG_MS);
}

int pg_scen_impair_jitter(pg_ctx *c)
{
    return impaired_call(c, 15, jitter);
}
