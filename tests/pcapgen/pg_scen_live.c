/* The live scenarios (tests/e2e/live_replay_test.py): one site's Teams
 * audio calls, replayed in real time into a probe. Four calls overlap;
 * call 1 (10.1.40.11) loses every tenth inbound packet (10 %) for a burst
 * and is clean outside it, and ends first, so that its timeline can be read
 * while the others still play. The test finds the burst on the wall clock
 * from the inbound stream's first packet: its first media packet is the one
 * of logical index 0, and the burst is logical indexes burst_from_s * 50 to
 * burst_to_s * 50 - 1 (20 ms each).
 *
 * live_site: three minutes; calls from 20 s to 125 s, the burst 58-98 s
 * after call 1's media starts (60-100 s into the capture), call 1 ends at
 * 125 s, the others at 150-178 s.
 * live_site_quick: the same story in 110 s (what the ctest plays: the
 * three-minute one made e2e_live_replay the suite's longest test, run
 * alone for 181 s): four calls from 5 s, a 25 s burst 20-45 s after call
 * 1's media starts (22-47 s into the capture: more than the 15 s window of
 * the wire rule and of the live alert), call 1 ends at 62 s, the others at
 * 107-110 s. /api/live keeps a call 30 s after its last interval record, so
 * call 1 leaves the panel about 93 s in, 14 s before another call ends
 * (with others ending at 87 s, it left at 96.8 s of a 97 s replay). */
#include "pg_call.h"
#include "pg_scen.h"

#define LIVE_CALLS 4
#define LIVE_BURST_EVERY 10u

typedef struct {
    uint32_t start_s; /* into the capture */
    uint32_t secs;    /* of media */
} live_call;

typedef struct {
    live_call calls[LIVE_CALLS];
    uint32_t burst_from_s; /* after call 1's media starts */
    uint32_t burst_to_s;
} live_plan;

static const live_plan live_full = {{{2, 123}, {1, 177}, {3, 147}, {20, 158}}, 58, 98};
static const live_plan live_quick = {{{2, 60}, {1, 109}, {3, 104}, {5, 102}}, 20, 45};

static int live_emit(pg_ctx *c, const live_plan *plan)
{
    static char ips[LIVE_CALLS][16];
    int rc = 0;

    for (int n = 0; n < LIVE_CALLS && rc == 0; n++) {
        pg_call_par p = {"", 50010, 0, "52.113.10.20", 3478, PG_ENC_RAW, {{0, 0}}, 0};
        pg_call call;

        snprintf(ips[n], sizeof(ips[n]), "10.1.40.%d", 11 + n);
        p.client_ip = ips[n];
        p.mac = (uint8_t)(0x40 + n);
        rc = pg_call_teams(c, &call, &p, PG_T0_US + plan->calls[n].start_s * PG_SEC,
                           plan->calls[n].secs);
        if (rc == 0) {
            if (n == 0) {
                uint64_t from = (uint64_t)plan->burst_from_s * 50u; /* 20 ms packets */
                uint64_t to = (uint64_t)plan->burst_to_s * 50u;
                for (uint64_t i = from; i < to; i += LIVE_BURST_EVERY) {
                    pg_sched_drop(&call.plan[1], i, i);
                }
            }
            pg_call_emit(c, &call, "audio");
        }
        pg_call_free(&call);
    }
    return rc;
}

int pg_scen_live_site(pg_ctx *c)
{
    return live_emit(c, &live_full);
}

int pg_scen_live_site_quick(pg_ctx *c)
{
    return live_emit(c, &live_quick);
}
