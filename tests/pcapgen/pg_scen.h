/* pg_scen: the scenario table. Each scenario fills a pg_ctx and returns
 * 0 or -1. */
#ifndef PG_SCEN_H
#define PG_SCEN_H

#include <stdio.h>

#include "pg_ctx.h"

typedef int (*pg_scen_fn)(pg_ctx *c);

typedef struct {
    const char *name;
    pg_scen_fn fn;
    int streaming; /* writes in time order as it goes (bench) */
    const char *desc;
} pg_scen;

const pg_scen *pg_scen_find(const char *name);
void pg_scen_list(FILE *out);

int pg_scen_teams_audio_p2p_relay(pg_ctx *c);
int pg_scen_teams_turn_channeldata(pg_ctx *c);
int pg_scen_teams_video_screenshare(pg_ctx *c);
int pg_scen_teams_vlan_qinq(pg_ctx *c);
int pg_scen_teams_ipv6(pg_ctx *c);
int pg_scen_teams_tcp_fallback(pg_ctx *c);
int pg_scen_non_teams_mix(pg_ctx *c);
int pg_scen_impair_loss_burst(pg_ctx *c);
int pg_scen_impair_dup_reorder(pg_ctx *c);
int pg_scen_impair_wrap(pg_ctx *c);
int pg_scen_impair_ssrc_change(pg_ctx *c);
int pg_scen_impair_seq_restart(pg_ctx *c);
int pg_scen_impair_jitter(pg_ctx *c);
int pg_scen_impair_static_pt(pg_ctx *c);
int pg_scen_rtcp_plain(pg_ctx *c);
int pg_scen_malformed(pg_ctx *c);
int pg_scen_bench(pg_ctx *c);
int pg_scen_verdict_healthy(pg_ctx *c);
int pg_scen_verdict_lan(pg_ctx *c);
int pg_scen_verdict_wan(pg_ctx *c);
int pg_scen_verdict_wan_beyond(pg_ctx *c);
int pg_scen_verdict_endpoint(pg_ctx *c);
int pg_scen_verdict_cloud(pg_ctx *c);
int pg_scen_verdict_wire_only(pg_ctx *c);
int pg_scen_live_site(pg_ctx *c);
int pg_scen_live_site_quick(pg_ctx *c);

#endif
