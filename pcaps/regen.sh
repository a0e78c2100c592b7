#!/bin/sh
# Regenerates every synthetic capture in pcaps/ and its truth file.
# Builds nothing: $1 is the generator binary
# (default build/tests/pcapgen/callscope-pcapgen). Output is deterministic.
set -eu
gen=${1:-build/tests/pcapgen/callscope-pcapgen}
dir=$(cd "$(dirname "$0")" && pwd)
if [ ! -x "$gen" ]; then
    echo "regen.sh: generator not found: $gen" >&2
    exit 1
fi
for s in teams_audio_p2p_relay teams_turn_channeldata teams_video_screenshare \
         teams_vlan_qinq teams_ipv6 teams_tcp_fallback non_teams_mix \
         impair_loss_burst impair_dup_reorder impair_wrap impair_ssrc_change \
         impair_seq_restart impair_jitter impair_static_pt rtcp_plain \
         malformed; do
    "$gen" "$s" "$dir/$s.pcap"
done
# Other link types, same content as teams_audio_p2p_relay
"$gen" teams_audio_p2p_relay "$dir/linktype_sll.pcap" --linktype sll
"$gen" teams_audio_p2p_relay "$dir/linktype_sll2.pcap" --linktype sll2
"$gen" teams_audio_p2p_relay "$dir/linktype_raw.pcap" --linktype raw
"$gen" teams_audio_p2p_relay "$dir/linktype_null.pcap" --linktype null
# Verdict scenarios (tests/e2e); their Graph call records are written by
# tests/e2e/gen_records.py from the same table.
for s in verdict_healthy verdict_lan verdict_wan verdict_wan_beyond \
         verdict_endpoint verdict_cloud verdict_wire_only; do
    "$gen" "$s" "$dir/$s.pcap"
done
# A small bench capture (with truth); large ones are made at test time.
"$gen" bench "$dir/bench_small.pcap" --calls 8 --packets 600
