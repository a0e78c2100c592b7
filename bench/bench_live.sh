#!/usr/bin/env bash
# Live capture rate: a veth pair (far end in a namespace of this script's
# own), tcpreplay sends a generated capture (default 200,000 packets, 200
# calls) at increasing packet rates, then --topspeed, into the probe with 1
# and with 2 workers (PACKET_FANOUT). For each run: the rate tcpreplay
# reached, packets the probe saw, kernel drops (libpcap's ps_drop, summed
# over workers). Prints the highest rate with no kernel drop per worker
# count. tcpreplay runs on the same 2 cores, so it competes with the probe.
#
#   bash bench/bench_live.sh [BUILD_DIR] [PACKETS]   (as root; as a sudoer: sudo bash ...)
set -uo pipefail
. "$(dirname "$0")/../tests/live/veth.sh"
build=${1:-build} packets=${2:-200000}
probe=$build/probe/callscope-probe gen=$build/tests/pcapgen/callscope-pcapgen
[ "$(id -u)" -eq 0 ] || { echo "bench_live: needs root"; exit 1; }
ns=csbl$$ a=csba$$ b=csbb$$
work=$(mktemp -d /tmp/cs-benchlive-XXXXXX)
cleanup() {
  [ -n "${ppid:-}" ] && kill "$ppid" 2>/dev/null
  veth_down "$ns" "$a"
  rm -rf "$work"
}
trap cleanup EXIT
"$gen" bench "$work/live.pcap" --calls 200 --packets "$packets" >/dev/null || exit 1
veth_up "$ns" "$a" "$b" || exit 1

run() { # run WORKERS RATE -> prints "sent_pps seen dropped"
  local w=$1 rate=$2 flag
  rm -f "$work"/out.jsonl*
  "$probe" -i "$a" --workers "$w" --json "$work/out.jsonl" --snaplen 256 --buffer-mb 64 \
    2>"$work/probe.log" &
  ppid=$!
  sleep 2
  [ "$rate" = top ] && flag=--topspeed || flag="--pps=$rate"
  local sent
  sent=$(ip netns exec "$ns" tcpreplay --intf1="$b" $flag "$work/live.pcap" 2>&1 |
    sed -n 's/.*Rated: [0-9.]* Bps, [0-9.]* Mbps, \([0-9.]*\) pps.*/\1/p')
  sleep 1
  kill -TERM "$ppid"; wait "$ppid"; ppid=
  python3 - "$work" "${sent:-0}" <<'PY'
import glob, json, sys
seen = dropped = 0
for f in glob.glob(sys.argv[1] + "/out.jsonl*"):
    for l in open(f):
        if '"type":"stats"' in l:
            r = json.loads(l)
            seen += r["packets"]
            dropped += r["pcap"]["kernel_dropped"] + r["pcap"]["iface_dropped"]
print("%.0f %d %d" % (float(sys.argv[2]), seen, dropped))
PY
}

printf "%8s %10s %12s %10s %10s\n" workers asked_pps sent_pps seen dropped
for w in 1 2; do
  best=0
  for rate in 25000 50000 100000 200000 400000 top; do
    read -r sent seen dropped < <(run "$w" "$rate")
    printf "%8s %10s %12s %10s %10s\n" "$w" "$rate" "$sent" "$seen" "$dropped"
    [ "$dropped" -eq 0 ] && [ "$seen" -ge "$packets" ] && best=$sent
  done
  echo "workers=$w: highest rate with no drop: $best pps"
done
