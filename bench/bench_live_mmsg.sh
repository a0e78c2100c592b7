#!/usr/bin/env bash
# Live drop point with a sender that outruns tcpreplay: replay_mmsg.c
# (sendmmsg on an AF_PACKET socket, qdisc bypassed, capture pre-loaded,
# looped with RTP sequence numbers and timestamps shifted per loop) sends a
# generated capture (200 calls) into a veth pair whose far end is in a
# namespace of this script's own. For 1 and 2 probe workers and rising
# rates: packets the sender got out, packets the probe saw, kernel drops
# (libpcap's ps_drop + ps_ifdrop, summed over workers), the sender's and
# the probe's CPU time per packet (the probe's from /proc/PID/stat over the
# send and one second after it) and the 1-minute load average when the row
# ended. Prints the highest rate with zero kernel drops per worker count.
# Sender and probe share the machine's cores (2 here), so the sender's own
# CPU is part of the figure. With PERF=1, the probe is profiled again at
# that rate (perf record -e cpu-clock: this machine has no hardware
# counters) and the top symbols printed.
#
#   bash bench/bench_live_mmsg.sh [BUILD_DIR] [SECONDS] [RATES...]   (as root)
#   PROBE_OPTS="--no-immediate": more options for the probe
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

cpu_ticks() { # user + system clock ticks of a process and its threads
  awk '{print $14 + $15}' "/proc/$1/stat"
}

run() { # run WORKERS RATE [perf] -> "sent_pps sent seen dropped sender_us probe_us"
  local w=$1 rate=$2 perf=${3:-}
  rm -f "$work"/out.jsonl*
  "$probe" -i "$a" --workers "$w" --json "$work/out.jsonl" --snaplen 256 --buffer-mb 64 \
    ${PROBE_OPTS:-} 2>"$work/probe.log" &
  ppid=$!
  sleep 2
  local line c0 c1 perfpid=
  if [ -n "$perf" ]; then
    perf record -q -e cpu-clock -g -p "$ppid" -o "$work/perf.data" >/dev/null 2>&1 &
    perfpid=$!
  fi
  c0=$(cpu_ticks "$ppid")
  line=$(ip netns exec "$ns" "$work/replay_mmsg" "$b" "$work/live.pcap" "$rate" "$secs")
  sleep 1
  c1=$(cpu_ticks "$ppid")
  [ -n "$perfpid" ] && { kill -INT "$perfpid"; wait "$perfpid"; }
  kill -TERM "$ppid"; wait "$ppid"; ppid=
  python3 - "$work" "$line" "$((c1 - c0))" "$(getconf CLK_TCK)" <<'PY'
import glob, json, re, sys
m = re.match(r"sent (\d+) packets in ([0-9.]+) s: (\d+) pps.*cpu [0-9.]+ s, ([0-9.]+) us/packet", sys.argv[2])
seen = dropped = 0
for f in glob.glob(sys.argv[1] + "/out.jsonl*"):
    for l in open(f):
        if '"type":"stats"' in l:
            r = json.loads(l)
            seen += r["packets"]
            dropped += r["pcap"]["kernel_dropped"] + r["pcap"]["iface_dropped"]
probe_us = int(sys.argv[3]) / int(sys.argv[4]) * 1e6 / seen if seen else 0
print("%s %s %d %d %s %.2f" % (m.group(3), m.group(1), seen, dropped, m.group(4), probe_us))
PY
}

echo "probe options: --snaplen 256 --buffer-mb 64 ${PROBE_OPTS:-}; $secs s per rate"
printf "%7s %9s %9s %9s %9s %7s %9s %9s %5s\n" workers asked_pps sent_pps sent seen dropped \
  sender_us probe_us load
for w in 1 2; do
  best=0 bestrate=
  for rate in $rates; do
    read -r spps sent seen dropped sus pus < <(run "$w" "$rate")
    printf "%7s %9s %9s %9s %9s %7s %9s %9s %5s\n" "$w" "${rate/#0/top}" "$spps" "$sent" "$seen" \
      "$dropped" "$sus" "$pus" "$(cut -d' ' -f1 /proc/loadavg)"
    [ "$dropped" -eq 0 ] && [ "$seen" -ge "$sent" ] && [ "$spps" -gt "$best" ] &&
      best=$spps bestrate=$rate
  done
  echo "workers $w: highest rate with zero kernel drops: $best packets/s"
  if [ "${PERF:-0}" = 1 ] && [ -n "$bestrate" ] && command -v perf >/dev/null; then
    read -r spps sent seen dropped sus pus < <(run "$w" "$bestrate" perf)
    echo "workers $w: probe profile at ${bestrate/#0/top} ($spps pkt/s sent, $dropped dropped," \
      "probe $pus us CPU/packet, load $(cut -d' ' -f1 /proc/loadavg)), top symbols:"
    perf report -i "$work/perf.data" --no-children --sort dso,symbol --stdio -g none 2>/dev/null |
      grep '%' | head -15
  fi
done
