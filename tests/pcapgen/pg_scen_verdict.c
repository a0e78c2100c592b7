/* The verdict scenarios: one Teams audio call each (15 s, raw RTP via the
 * relay 52.113.10.20:3478), a client address of its own (10.1.30.11-17)
 * and a start one minute after the previous scenario's, so that all of
 * them can be replayed into one collector. tests/e2e/gen_records.py writes
 * the matching Graph call records from the same table; impairments here
 * are only what the probe can see (loss before or after it). */
#include "pg_call.h"
#include "pg_scen.h"

#define VERDICT_SECS 15
#define DROP_EVERY 20 /* 5 % loss */

typedef enum { CLEAN, LOSS_OUT, LOSS_IN } verdict_impair;

static int verdict_call(pg_ctx *c, int n, verdict_impair what)
{
    static char ips[8][16];
    pg_call_par p = {"", 50010, 0, "52.113.10.20", 3478, PG_ENC_RAW, {{0, 0}}, 0};
    pg_call call;
    int rc;

    snprintf(ips[n], sizeof(ips[n]), "10.1.30.%d", 10 + n);
    p.client_ip = ips[n];
    p.mac = (uint8_t)(0x30 + n);
    rc = pg_call_teams(c, &call, &p, PG_T0_US + (uint64_t)(n - 1) * 60 * PG_SEC, VERDICT_SECS);
    if (rc == 0) {
        if (what != CLEAN) {
            pg_sched *s = &call.plan[what == LOSS_OUT ? 0 : 1];
            for (uint64_t i = 10; i < s->n; i += DROP_EVERY) {
                pg_sched_drop(s, i, i);
            }
        }
        pg_call_emit(c, &call, "audio");
    }
    pg_call_free(&call);
    return rc;
}

int pg_scen_verdict_healthy(pg_ctx *c)
{
    return verdict_call(c, 1, CLEAN);
}
int pg_scen_verdict_lan(pg_ctx *c)
{
    return verdict_call(c, 2, LOSS_OUT);
}
int pg_scen_verdict_wan(pg_ctx *c)
{
    return verdict_call(c, 3, LOSS_IN);
}
int pg_scen_verdict_wan_beyond(pg_ctx *c)
{
    return verdict_call(c, 4, CLEAN);
}
int pg_scen_verdict_endpoint(pg_ctx *c)
{
    return verdict_call(c, 5, CLEAN);
}
int pg_scen_verdict_cloud(pg_ctx *c)
{
    return verdict_call(c, 6, CLEAN);
}
int pg_scen_verdict_wire_only(pg_ctx *c)
{
    return verdict_call(c, 7, LOSS_OUT);
}
