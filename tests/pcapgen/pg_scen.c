/* pg_scen: name -> scenario dispatch table. */
#include "pg_scen.h"

#include <string.h>

static const pg_scen table[] = {
    {"teams_audio_p2p_relay", pg_scen_teams_audio_p2p_relay, 0,
     "Teams audio via relay 52.113.10.20:3478, raw RTP, SRTCP; clean"},
    {"teams_turn_channeldata", pg_scen_teams_turn_channeldata, 0,
     "Teams audio in TURN ChannelData + a call in STUN Send/Data indications"},
    {"teams_video_screenshare", pg_scen_teams_video_screenshare, 0,
     "Teams audio 50005, video 50025 (PT 122), screen share 50045 (PT 127)"},
    {"teams_vlan_qinq", pg_scen_teams_vlan_qinq, 0,
     "two Teams calls: 802.1Q VLAN 120 and QinQ 300/120"},
    {"teams_ipv6", pg_scen_teams_ipv6, 0,
     "Teams audio over IPv6 to 2603:1063:1::20:3478, STUN first"},
    {"teams_tcp_fallback", pg_scen_teams_tcp_fallback, 0,
     "Teams audio over TCP 443 with RFC 4571 framing to 52.114.5.10"},
    {"non_teams_mix", pg_scen_non_teams_mix, 0,
     "Zoom-like 8801, Meet-like Opus, SIP G.711, DNS, TLS 443; no Teams"},
    {"impair_loss_burst", pg_scen_impair_loss_burst, 0, "inbound drops seq 100, 200-204, 300-309"},
    {"impair_dup_reorder", pg_scen_impair_dup_reorder, 0,
     "inbound duplicates, adjacent swaps, one packet 5 late"},
    {"impair_wrap", pg_scen_impair_wrap, 0, "sequence and timestamp wrap-around"},
    {"impair_ssrc_change", pg_scen_impair_ssrc_change, 0,
     "inbound SSRC changes mid-flow on the same 5-tuple"},
    {"impair_seq_restart", pg_scen_impair_seq_restart, 0,
     "inbound sequence restarts at a random value, same SSRC"},
    {"impair_jitter", pg_scen_impair_jitter, 0,
     "inbound network jitter; outbound sender pacing jitter"},
    {"impair_static_pt", pg_scen_impair_static_pt, 0,
     "G.711 PCMU and G.722 with loss and jitter (tshark-checkable)"},
    {"rtcp_plain", pg_scen_rtcp_plain, 0,
     "G.711 call with plain RTCP SR/RR/SDES every 5 s both ways"},
    {"malformed", pg_scen_malformed, 0,
     "hostile frames for decoders; truth is an object of counts"},
    {"bench", pg_scen_bench, 1, "N concurrent Teams calls + 5% background (--calls N --packets M)"},
    {"verdict_healthy", pg_scen_verdict_healthy, 0,
     "verdict e2e: 10.1.30.11, clean call (Graph clean)"},
    {"verdict_lan", pg_scen_verdict_lan, 0,
     "verdict e2e: 10.1.30.12, 5% loss on the outbound stream at the probe"},
    {"verdict_wan", pg_scen_verdict_wan, 0,
     "verdict e2e: 10.1.30.13, 5% loss on the inbound stream at the probe"},
    {"verdict_wan_beyond", pg_scen_verdict_wan_beyond, 0,
     "verdict e2e: 10.1.30.14, clean at the probe (Graph: outbound loss)"},
    {"verdict_endpoint", pg_scen_verdict_endpoint, 0,
     "verdict e2e: 10.1.30.15, clean at the probe (Graph: device events)"},
    {"verdict_cloud", pg_scen_verdict_cloud, 0,
     "verdict e2e: 10.1.30.16, clean (Graph: a far participant's leg bad)"},
    {"verdict_wire_only", pg_scen_verdict_wire_only, 0,
     "verdict e2e: 10.1.30.17, 5% outbound loss, no Graph record"},
    {"live_site", pg_scen_live_site, 0,
     "live e2e: 4 Teams calls at one site over 3 min; 10.1.40.11 10% inbound loss 60-100 s"},
    {"live_site_quick", pg_scen_live_site_quick, 0,
     "live e2e: 4 Teams calls at one site over 110 s; 10.1.40.11 10% inbound loss 22-47 s"},
};

const pg_scen *pg_scen_find(const char *name)
{
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        if (strcmp(table[i].name, name) == 0) {
            return &table[i];
        }
    }
    return NULL;
}

void pg_scen_list(FILE *out)
{
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        fprintf(out, "%-24s %s\n", table[i].name, table[i].desc);
    }
}
