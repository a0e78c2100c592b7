#!/usr/bin/env bash
# Soak: the probe captures live on a veth pair (far end in a namespace of
# this script's own) while tcpreplay sends generated Teams calls for
# DURATION seconds; between rounds the flows go idle past the probe's UDP
# timeout, so they expire and are made again (churn). Every SAMPLE seconds
# the probe's RSS, open descriptors and its progress line (packets, active
# flows, streams reported) are printed. At the end: RSS growth from the
# first sample after warm-up to the last, descriptors, kernel drops.
#
#   sudo bash bench/soak.sh [BUILD_DIR] [DURATION=1800] [SAMPLE=60]
set -uo pipefail
. "$(dirname "$0")/../tests/live/veth.sh"
build=${1:-build} dur=${2:-1800} sample=${3:-60}
probe=$build/probe/callscope-probe gen=$build/tests/pcapgen/callscope-pcapgen
[ "$(id -u)" -eq 0 ] || { echo "soak: needs root"; exit 1; }
ns=cssoak$$ a=cssa$$ b=cssb$$
work=$(mktemp -d /tmp/cs-soak-XXXXXX)
cleanup() {
  [ -n "${ppid:-}" ] && kill "$ppid" 2>/dev/null
  [ -n "${rpid:-}" ] && kill "$rpid" 2>/dev/null
  veth_down "$ns" "$a"
}
trap cleanup EXIT
"$gen" bench "$work/soak.pcap" --calls 200 --packets 200000 >/dev/null || exit 1
veth_up "$ns" "$a" "$b" || exit 1
"$probe" -i "$a" -f udp --snaplen 256 --udp-timeout 5 --interval 10 --progress "$sample" \
  --json "$work/out.jsonl" 2>"$work/probe.log" &
ppid=$!
sleep 1
# rounds: one pass of the capture at 20k packets/s, then 8 s of silence
( while true; do
    ip netns exec "$ns" tcpreplay -q --intf1="$b" --pps 20000 "$work/soak.pcap" >/dev/null 2>&1
    sleep 8
  done ) &
rpid=$!
start=$(date +%s)
printf "%8s %10s %6s  %s\n" "t_s" "rss_kB" "fds" "probe progress"
first_rss=
while [ $(( $(date +%s) - start )) -lt "$dur" ]; do
  sleep "$sample"
  t=$(( $(date +%s) - start ))
  rss=$(awk '/VmRSS/{print $2}' /proc/$ppid/status)
  fds=$(ls /proc/$ppid/fd | wc -l)
  prog=$(grep progress "$work/probe.log" | tail -1 | sed 's/.*progress: //')
  printf "%8d %10d %6d  %s\n" "$t" "$rss" "$fds" "$prog"
  # warm-up: the first sample after a minute
  [ -z "$first_rss" ] && [ "$t" -ge 60 ] && first_rss=$rss first_fds=$fds
done
kill "$rpid" 2>/dev/null; rpid=
last_rss=$(awk '/VmRSS/{print $2}' /proc/$ppid/status)
last_fds=$(ls /proc/$ppid/fd | wc -l)
kill -TERM "$ppid"; wait "$ppid"; ppid=
python3 - "$work/out.jsonl" "${first_rss:-$last_rss}" "$last_rss" "${first_fds:-$last_fds}" "$last_fds" <<'PY'
import json, sys
st = [json.loads(l) for l in open(sys.argv[1]) if '"type":"stats"' in l][-1]
f_rss, l_rss, f_fd, l_fd = map(int, sys.argv[2:6])
pc, fl = st["pcap"], st["flows"]
print("soak: %d packets, kernel dropped %d, flows created %d, expired %d, peak active %d" % (
    st["packets"], pc["kernel_dropped"], fl["created"], fl["expired"], fl["peak_active"]))
print("soak: RSS %d kB after warm-up -> %d kB at the end (%+.1f %%); descriptors %d -> %d" % (
    f_rss, l_rss, 100.0 * (l_rss - f_rss) / f_rss, f_fd, l_fd))
PY
