#!/usr/bin/env bash
# Live capture: a veth pair whose far end sits in a network namespace made
# by this test; tcpreplay sends a generated Teams call into it and the probe
# captures on the near end. Only this test's own namespace is reached.
# Usage: live_capture.sh PROBE CAPTURE   (exit 77 = skipped)
set -uo pipefail
. "$(dirname "$0")/veth.sh"
probe=$1 cap=$2
[ "$(id -u)" -eq 0 ] || { echo "SKIP: live capture needs root (network namespaces, raw sockets)"; exit 77; }
command -v tcpreplay >/dev/null || { echo "SKIP: tcpreplay not installed"; exit 77; }
command -v ip >/dev/null || { echo "SKIP: iproute2 not installed"; exit 77; }
ns=cslive$$ a=csa$$ b=csb$$
out=$(mktemp) log=$(mktemp)
cleanup() {
  [ -n "${ppid:-}" ] && kill "$ppid" 2>/dev/null
  veth_down "$ns" "$a"
  rm -f "$out" "$log"
}
trap cleanup EXIT
veth_up "$ns" "$a" "$b" || exit 77
"$probe" -i "$a" --json "$out" -f udp --snaplen 256 2>"$log" &
ppid=$!
probe_ready "$log" 1 "$ppid" || exit 1
ip netns exec "$ns" tcpreplay -q --intf1="$b" --pps 3000 "$cap" >/dev/null 2>&1 || {
  echo "tcpreplay failed"; exit 1; }
sleep 1
kill -TERM "$ppid"
wait "$ppid"
rc=$?
ppid=
[ $rc -eq 0 ] || { echo "probe exit $rc"; cat "$log"; exit 1; }
python3 - "$out" "$cap.truth.json" "$log" "$a" <<'PY'
import json, re, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
truth = json.load(open(sys.argv[2]))
log, iface = open(sys.argv[3]).read(), sys.argv[4]
st = [r for r in recs if r["type"] == "stats"][0]
got = {(r["src_port"], r["ssrc"]): r for r in recs if r["type"] == "stream"}
bad = 0
for t in truth:
    s = got.get((t["src_port"], t["ssrc"]))
    if not s or s["packets"] != t["packets"] or s["app"] != "teams":
        print("stream %s: got %s, want %d packets app teams" % (
            (t["src_port"], t["ssrc"]), s and (s["packets"], s["app"]), t["packets"]))
        bad += 1
pc = st["pcap"]
print("live: %d packets captured, pcap received %d, kernel dropped %d, iface dropped %d, "
      "%d streams matched" % (st["packets"], pc["received"], pc["kernel_dropped"],
                              pc["iface_dropped"], len(truth) - bad))
assert pc["available"], "libpcap counters missing in live mode"
# live capture says what it does: tcpdump's first line, and an end summary
# whose figures are the stats record's
first = "listening on %s, link-type EN10MB (Ethernet), snapshot length 256 bytes, " \
        "filter 'udp', promiscuous, buffer 64 MiB, 1 worker" % iface
print([l for l in log.splitlines() if "listening on" in l])
if first not in log:
    print("FAIL: no first line like %r in the log:\n%s" % (first, log))
    bad += 1
m = re.search(r"%s: (\d+) packets captured, (\d+) received by filter, (\d+) dropped by kernel, "
              r"(\d+) dropped by interface, (\d+) decode drops" % re.escape(iface), log)
print(m and m.group(0))
if not m or [int(x) for x in m.groups()] != [st["packets"], pc["received"], pc["kernel_dropped"],
                                             pc["iface_dropped"], st["dropped"]]:
    print("FAIL: end summary missing or not the stats record's figures:\n%s" % log)
    bad += 1
sys.exit(1 if bad else 0)
PY
