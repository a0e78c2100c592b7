/* The live scenario (tests/e2e/live_replay_test.py): three minutes of one
 * site's Teams audio calls, replayed in real time into a probe. Four calls
 * overlap from 20 s to 125 s; call 1 (10.1.40.11) loses every tenth
 * inbound packet (10 %) for 40 s, 58-98 s after its media starts (60-100 s
 * into the capture), and is clean outside that burst. The test finds the
 * burst on the wall clock from the inbound stream's first packet: its
 * first media packet is the one of logical index 0, and the burst is
 * logical indexes LIVE_BURST_FROM to LIVE_BURST_TO - 1 (20 ms each). */
#include "pg_call.h"
#include "pg_scen.h"

#define LIVE_CALLS 4
#define LIVE_BURST_FROM (58u * 50u) /* 58 s of 20 ms packets */
#define LIVE_BURST_TO (98u * 50u)
#define LIVE_BURST_EVERY 10u

typedef struct {
    uint32_t start_s; /* into the capture */
    uint32_t secs;    /* of media */
} live_call;

/* Call 1 (the burst) ends first, so that its timeline can be read while the
 * others still run; calls 2-4 end between 150 s and 178 s. */
static const live_call live_calls[LIVE_CALLS] = {{2, 123}, {1, 177}, {3, 147}, {20, 158}};

int pg_scen_live_site(pg_ctx *c)
{
    static char ips[LIVE_CALLS][16];
    int rc = 0;

    for (int n = 0; n < LIVE_CALLS && rc == 0; n++) {
        pg_call_par p = {"", 50010, 0, "52.113.10.20", 3478, PG_ENC_RAW, {{0, 0}}, 0};
        pg_call call;

        snprintf(ips[n], sizeof(ips[n]), "10.1.40.%d", 11 + n);
        p.client_ip = ips[n];
        p.mac = (uint8_t)(0x40 + n);
        rc = pg_call_teams(c, &call, &p, PG_T0_US + live_calls[n].start_s * PG_SEC,
                           live_calls[n].secs);
        if (rc == 0) {
            if (n == 0) {
                for (uint64_t i = LIVE_BURST_FROM; i < LIVE_BURST_TO; i += LIVE_BURST_EVERY) {
                    pg_sched_drop(&call.plan[1], i, i);
                }
            }
            pg_call_emit(c, &call, "audio");
        }
        pg_call_free(&call);
    }
    return rc;
}
