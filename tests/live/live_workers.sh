#!/usr/bin/env bash
# Live capture with two workers (PACKET_FANOUT) on a veth pair whose far
# end is in a namespace of this test's own, against one worker on the same
# traffic: the same streams with the same packet counts, each stream found
# once, each client's streams all on one worker, both workers busy.
# Usage: live_workers.sh PROBE CAPTURE   (exit 77 = skipped)
set -uo pipefail
. "$(dirname "$0")/veth.sh"
probe=$1 cap=$2
[ "$(id -u)" -eq 0 ] || { echo "SKIP: live capture needs root (network namespaces, raw sockets)"; exit 77; }
command -v tcpreplay >/dev/null || { echo "SKIP: tcpreplay not installed"; exit 77; }
ns=cswk$$ a=cswa$$ b=cswb$$
out=$(mktemp -d) log=$(mktemp)
cleanup() {
  [ -n "${ppid:-}" ] && kill "$ppid" 2>/dev/null
  veth_down "$ns" "$a"
  rm -rf "$out" "$log"
}
trap cleanup EXIT
veth_up "$ns" "$a" "$b" || exit 77
live() { # live WORKERS OUT
  "$probe" -i "$a" --workers "$1" --json "$2" -f udp --snaplen 256 2>>"$log" &
  ppid=$!
  probe_ready "$log" "$1" "$ppid" || exit 1
  ip netns exec "$ns" tcpreplay -q --intf1="$b" --pps 3000 "$cap" >/dev/null 2>&1 || {
    echo "tcpreplay failed"; exit 1; }
  sleep 1
  kill -TERM "$ppid"
  wait "$ppid"
  rc=$?
  ppid=
  [ $rc -eq 0 ] || { cat "$log"; echo "probe exit $rc"; exit 1; }
}
live 1 "$out/one.jsonl"
live 2 "$out/live.jsonl"
cat "$log"
"$probe" -q -r "$cap" --json "$out/file.jsonl" || { echo "file replay failed"; exit 1; }
python3 - "$out" "$log" "$a" <<'PY'
import json, re, sys
d, log, iface = sys.argv[1], open(sys.argv[2]).read(), sys.argv[3]
def streams(path):
    return [json.loads(l) for l in open(path) if '"type":"stream"' in l]
one = {(r["src_ip"], r["src_port"], r["ssrc"]): r["packets"] for r in streams(d + "/one.jsonl")}
two, clients_of = {}, {0: set(), 1: set()}
for k in (0, 1):
    for r in streams("%s/live.jsonl.w%d" % (d, k)):
        key = (r["src_ip"], r["src_port"], r["ssrc"])
        assert key not in two, "stream %s reported by both workers" % (key,)
        two[key] = r["packets"]
        clients_of[k].add(r["client_ip"])
both = clients_of[0] & clients_of[1]
print("one worker: %d streams; two workers: %d and %d clients, %d streams, %d clients on both" % (
    len(one), len(clients_of[0]), len(clients_of[1]), len(two), len(both)))
assert one, "no streams captured"
# live with a 256-byte snap length finds what file replay finds (TURN
# ChannelData video, whose length reaches beyond the snap length, included)
whole = {(r["src_ip"], r["src_port"], r["ssrc"]): r["packets"] for r in streams(d + "/file.jsonl")}
assert one == whole, "live and file replay differ: %s" % sorted(set(one.items()) ^ set(whole.items()))
assert two == one, "streams or packet counts differ: %s" % sorted(set(one.items()) ^ set(two.items()))
assert not both, "a client's streams were split between workers"
assert clients_of[0] and clients_of[1], "one worker got no clients"
# the first line names the workers once; each worker ends with its summary
assert len(re.findall(r"listening on %s, .*, 2 workers\n" % re.escape(iface), log)) == 1, \
    "one first line naming 2 workers"
for k in (0, 1):
    st = [json.loads(l) for l in open("%s/live.jsonl.w%d" % (d, k)) if '"type":"stats"' in l][0]
    m = re.search(r"%s worker %d/2: (\d+) packets captured, (\d+) received by filter"
                  % (re.escape(iface), k + 1), log)
    assert m and int(m.group(1)) == st["packets"] and int(m.group(2)) == st["pcap"]["received"], \
        "worker %d's end summary" % (k + 1)
print("first line and per-worker end summaries: ok")
PY
