#!/usr/bin/env bash
# Live drop point with a sender that outruns tcpreplay: replay_mmsg.c
# (sendmmsg on an AF_PACKET socket, qdisc bypassed, capture pre-loaded,
# looped with RTP sequence numbers and timestamps shifted per loop) sends a
# generated capture (200 calls) into a veth pair whose far end is in a
# namespace of this script's own. For 1 and 2 probe workers and rising
# rates: packets the sender got out, packets the probe saw, kernel drops
# (libpcap's ps_drop + ps_ifdrop, summed over workers). Prints the highest
# rate with zero kernel drops per worker count. Sender and probe share the
# machine's cores (2 here), so the sender's own CPU is part of the figure.
#
#   bash bench/bench_live_mmsg.sh [BUILD_DIR] [SECONDS] [RATES...]   (as root)
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../tests/live/veth.sh"
build=${1:-build} secs=${2:-5}
shift 2 2>/dev/null
rates=${*:-"100000 200000 300000 400000 600000 0"}
probe=$build/probe/callscope-probe gen=$build/tests/pcapgen/callscope-pcapgen
[ "$(id -u)" -eq 0 ] || { echo "bench_live_mmsg: needs root"; exit 1; }
ns=csbm$$ a=csma$$ b=csmb$$
work=$(mktemp -d /tmp/cs-benchmmsg-XXXXXX)
cleanup() {
  [ -n "${ppid:-}" ] && kill "$ppid" 2>/dev/null
  veth_down "$ns" "$a"
  rm -rf "$work"
}
trap cleanup EXIT
cc -O2 -Wall -Wextra -o "$work/replay_mmsg" "$here/replay_mmsg.c" || exit 1
"$gen" bench "$work/live.pcap" --calls 200 --packets 100000 >/dev/null || exit 1
veth_up "$ns" "$a" "$b" || exit 1

run() { # run WORKERS RATE -> "sent_pps sent seen dropped"
  local w=$1 rate=$2
  rm -f "$work"/out.jsonl*
  "$probe" -i "$a" --workers "$w" --json "$work/out.jsonl" --snaplen 256 --buffer-mb 64 \
    2>"$work/probe.log" &
  ppid=$!
  sleep 2
  local line
  line=$(ip netns exec "$ns" "$work/replay_mmsg" "$b" "$work/live.pcap" "$rate" "$secs")
  sleep 1
  kill -TERM "$ppid"; wait "$ppid"; ppid=
  python3 - "$work" "$line" <<'PY'
import glob, json, re, sys
m = re.match(r"sent (\d+) packets in ([0-9.]+) s: (\d+) pps", sys.argv[2])
seen = dropped = 0
for f in glob.glob(sys.argv[1] + "/out.jsonl*"):
    for l in open(f):
        if '"type":"stats"' in l:
            r = json.loads(l)
            seen += r["packets"]
            dropped += r["pcap"]["kernel_dropped"] + r["pcap"]["iface_dropped"]
print("%s %s %d %d" % (m.group(3), m.group(1), seen, dropped))
PY
}

printf "%8s %10s %10s %10s %10s %10s\n" workers asked_pps sent_pps sent seen dropped
for w in 1 2; do
  best=0
  for rate in $rates; do
    read -r spps sent seen dropped < <(run "$w" "$rate")
    printf "%8s %10s %10s %10s %10s %10s\n" "$w" "${rate/#0/top}" "$spps" "$sent" "$seen" "$dropped"
    [ "$dropped" -eq 0 ] && [ "$seen" -ge "$sent" ] && [ "$spps" -gt "$best" ] && best=$spps
  done
  echo "workers $w: highest rate with zero kernel drops: $best packets/s"
done
