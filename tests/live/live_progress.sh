#!/usr/bin/env bash
# --progress on an idle live port: a veth pair (far end in a network
# namespace made here) with no traffic the filter lets through; the probe
# must still print a progress line every second, with zero rates.
# Usage: live_progress.sh PROBE   (exit 77 = skipped)
set -uo pipefail
. "$(dirname "$0")/veth.sh"
probe=$1
[ "$(id -u)" -eq 0 ] || { echo "SKIP: live capture needs root (network namespaces, raw sockets)"; exit 77; }
command -v ip >/dev/null || { echo "SKIP: iproute2 not installed"; exit 77; }
ns=csprog$$ a=cspa$$ b=cspb$$
log=$(mktemp)
cleanup() {
  [ -n "${ppid:-}" ] && kill "$ppid" 2>/dev/null
  veth_down "$ns" "$a"
  rm -f "$log"
}
trap cleanup EXIT
veth_up "$ns" "$a" "$b" || exit 77
"$probe" -i "$a" -f 'udp port 9' --json /dev/null --progress 1 2>"$log" &
ppid=$!
probe_ready "$log" 1 "$ppid" || exit 1
sleep 4.5
kill -TERM "$ppid"
wait "$ppid"
rc=$?
ppid=
[ $rc -eq 0 ] || { echo "probe exit $rc"; cat "$log"; exit 1; }
cat "$log"
n=$(grep -c 'progress: 0 packets (0 pkt/s, 0.0 Mbit/s), 0 decoded, 0 active flows, 0 streams reported, 0 kernel drops' "$log")
echo "idle progress lines in 4.5 s: $n"
[ "$n" -ge 3 ] || { echo "FAIL: want a line a second on an idle port"; exit 1; }
