/* Teams scenarios without impairments. */
#include <string.h>

#include "pg_call.h"
#include "pg_rtp.h"
#include "pg_scen.h"

static const pg_call_par default_call = {"10.1.20.15", 50010,      0x15,     "52.113.10.20",
                                         3478,         PG_ENC_RAW, {{0, 0}}, 0};

static int one_call(pg_ctx *c, const pg_call_par *p, uint64_t t0, uint32_t secs)
{
    pg_call call;
    int rc = pg_call_teams(c, &call, p, t0, secs);

    if (rc == 0) {
        pg_call_emit(c, &call, "audio");
    }
    pg_call_free(&call);
    return rc;
}

int pg_scen_teams_audio_p2p_relay(pg_ctx *c)
{
    return one_call(c, &default_call, PG_T0_US, 15);
}

int pg_scen_teams_turn_channeldata(pg_ctx *c)
{
    pg_call_par p = default_call;
    pg_call_par q = default_call;

    p.encap = PG_ENC_CHDATA;
    q.client_port = 50012;
    q.relay_ip = "52.113.10.21";
    q.relay_port = 3479;
    q.encap = PG_ENC_STUN_IND;
    if (one_call(c, &p, PG_T0_US, 10) != 0) {
        return -1;
    }
    return one_call(c, &q, PG_T0_US + 500 * PG_MS, 6);
}

static int video_flow(pg_ctx *c, uint16_t port, uint16_t rport, uint8_t pt, uint32_t fps,
                      size_t frames, const char *media)
{
    pg_call_par p = default_call;
    pg_flow f;
    pg_sched s[2];
    uint64_t t;
    int rc = 0;

    p.client_port = port;
    p.relay_ip = "52.112.40.10";
    p.relay_port = rport;
    memset(s, 0, sizeof(s));
    if (pg_call_flow(c, &f, &p) != 0) {
        return -1;
    }
    t = pg_call_setup(c, &f, PG_T0_US + 400 * PG_MS);
    for (int d = 0; d < 2 && rc == 0; d++) {
        rc = pg_call_video_plan(c, &s[d], d, t, frames, pt, fps);
        if (rc == 0) {
            pg_rtp_stream(c, &f, d, &s[d], 90000, media, "teams", 1);
        }
    }
    pg_sched_free(&s[0]);
    pg_sched_free(&s[1]);
    return rc;
}

int pg_scen_teams_video_screenshare(pg_ctx *c)
{
    pg_call_par p = default_call;

    p.client_port = 50005;
    p.relay_ip = "52.112.40.10";
    if (one_call(c, &p, PG_T0_US, 6) != 0 ||
        video_flow(c, 50025, 3479, PG_TEAMS_PT_H264UC, 30, 30, "video") != 0) {
        return -1;
    }
    /* screen share: 5 fps for 2 s */
    return video_flow(c, 50045, 3480, 127, 5, 10, "screenshare");
}

int pg_scen_teams_vlan_qinq(pg_ctx *c)
{
    pg_call_par p = default_call;
    pg_call_par q = default_call;

    p.client_ip = "10.1.20.16";
    p.client_port = 50003;
    p.mac = 0x16;
    p.relay_ip = "52.112.20.30";
    p.vlan[0].tpid = 0x8100;
    p.vlan[0].id = 120;
    p.nvlan = 1;
    q.client_ip = "10.1.20.17";
    q.client_port = 50004;
    q.mac = 0x17;
    q.relay_ip = "52.112.20.31";
    q.relay_port = 3479;
    q.vlan[0].tpid = 0x88a8;
    q.vlan[0].id = 300;
    q.vlan[1].tpid = 0x8100;
    q.vlan[1].id = 120;
    q.nvlan = 2;
    if (one_call(c, &p, PG_T0_US, 8) != 0) {
        return -1;
    }
    return one_call(c, &q, PG_T0_US + 300 * PG_MS, 8);
}

int pg_scen_teams_ipv6(pg_ctx *c)
{
    pg_call_par p = default_call;

    p.client_ip = "2001:db8:10::15";
    p.relay_ip = "2603:1063:1::20";
    return one_call(c, &p, PG_T0_US, 12);
}

int pg_scen_teams_tcp_fallback(pg_ctx *c)
{
    pg_call_par p = default_call;

    p.client_port = 54321; /* ephemeral: TCP does not use the QoS ranges */
    p.relay_ip = "52.114.5.10";
    p.relay_port = 443;
    p.encap = PG_ENC_TCP4571;
    return one_call(c, &p, PG_T0_US, 12);
}
