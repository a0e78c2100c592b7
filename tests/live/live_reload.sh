#!/usr/bin/env bash
# SIGHUP under traffic: a probe captures live on a veth pair (far end in a
# network namespace made here) while tcpreplay sends generated calls, and is
# sent SIGHUP many times as packets flow, once with a broken ranges file and
# once with a setting that needs a restart. Checks:
#   - every stream is exact (the same packets, expected, lost, duplicates and
#     app as a file replay of the same capture without any SIGHUP), its
#     interval records add up to it, and nothing was dropped by the kernel;
#   - a prefix added to the ranges file takes effect: the SIP call between
#     192.168.5.10 and 192.168.5.20 (pcaps/non_teams_mix.pcap) is "other"
#     before the reload and "teams" when replayed after it;
#   - a bad ranges file keeps the old settings with a clear error, and the
#     changed restart-only setting is named in a log line.
# Usage: live_reload.sh PROBE PCAPDIR RANGES [WORKERS]   (exit 77 = skipped)
set -uo pipefail
. "$(dirname "$0")/veth.sh"
probe=$1 pcaps=$2 ranges_src=$3 workers=${4:-1}
[ "$(id -u)" -eq 0 ] || { echo "SKIP: live capture needs root (network namespaces, raw sockets)"; exit 77; }
command -v tcpreplay >/dev/null || { echo "SKIP: tcpreplay not installed"; exit 77; }
command -v ip >/dev/null || { echo "SKIP: iproute2 not installed"; exit 77; }
ns=cshup$$ a=csha$$ b=cshb$$
dir=$(mktemp -d)
cleanup() {
  [ -n "${ppid:-}" ] && kill "$ppid" 2>/dev/null
  [ -n "${hpid:-}" ] && kill "$hpid" 2>/dev/null
  veth_down "$ns" "$a"
  [ -n "${KEEP:-}" ] && echo "kept $dir" || rm -rf "$dir"
}
trap cleanup EXIT
veth_up "$ns" "$a" "$b" || exit 77

mix=$pcaps/non_teams_mix.pcap call=$pcaps/teams_audio_p2p_relay.pcap
cp "$ranges_src" "$dir/ranges.protos"
cat > "$dir/probe.conf" <<EOF
ranges = $dir/ranges.protos
interval = 1
udp-timeout = 2
snaplen = 256
EOF
"$probe" -i "$a" --config "$dir/probe.conf" --workers "$workers" --json "$dir/out.jsonl" -f udp \
  2>"$dir/log" &
ppid=$!
probe_ready "$dir/log" "$workers" "$ppid" || exit 1
send() { ip netns exec "$ns" tcpreplay -q --intf1="$b" --pps "$2" "$1" >/dev/null 2>&1; }

# 1. the SIP call before the new prefix
send "$mix" 2000 || { echo "tcpreplay failed"; exit 1; }
sleep 3.5 # its flows end (udp-timeout 2)

# 2. the new prefix, then SIGHUP again and again while a call flows (15 s of
#    packets at 200/s: 7.5 s), with a broken ranges file and a restart-only
#    setting in the middle
printf 'ip:192.168.5.0/24@Teams\n' >> "$dir/ranges.protos"
kill -HUP "$ppid"
sleep 0.5
send "$call" 200 &
tpid=$!
hups=1
for i in $(seq 1 12); do
  sleep 0.5
  case $i in
    4) cp "$dir/ranges.protos" "$dir/good.protos"
       printf 'ip:not-a-prefix@Teams\n' >> "$dir/ranges.protos" ;;
    5) cp "$dir/good.protos" "$dir/ranges.protos" ;;
    7) sed -i 's/^snaplen = 256/snaplen = 512/' "$dir/probe.conf" ;;
  esac
  kill -HUP "$ppid"
  hups=$((hups + 1))
done
wait "$tpid" || { echo "tcpreplay failed"; exit 1; }
sleep 3.5

# 3. the SIP call again, after the reloads
send "$mix" 2000 || { echo "tcpreplay failed"; exit 1; }
sleep 1
kill -TERM "$ppid"
wait "$ppid"
rc=$?
ppid=
[ $rc -eq 0 ] || { echo "probe exit $rc"; cat "$dir/log"; exit 1; }
cat "$dir"/out.jsonl* > "$dir/all.jsonl"
# the same captures from files, without any SIGHUP
"$probe" -q -r "$mix" --ranges "$ranges_src" --json "$dir/mix.jsonl" || exit 1
"$probe" -q -r "$call" --ranges "$ranges_src" --json "$dir/call.jsonl" || exit 1

python3 - "$dir" "$hups" "$workers" <<'PY'
import json, sys
d, hups, workers = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
recs = [json.loads(l) for l in open(d + "/all.jsonl")]
log = open(d + "/log").read()
ref = [json.loads(l) for l in open(d + "/call.jsonl")] + [json.loads(l) for l in open(d + "/mix.jsonl")]
bad = 0
def fail(m):
    global bad
    print("FAIL " + m)
    bad += 1
key = lambda r: (r["src_ip"], r["src_port"], r["dst_ip"], r["dst_port"], r["ssrc"])
want = {key(r): r for r in ref if r["type"] == "stream"}
got = {}
for r in recs:
    if r["type"] == "stream":
        got.setdefault(key(r), []).append(r)
ivals = {}
for r in recs:
    if r["type"] == "interval":
        ivals.setdefault(key(r), []).append(r)
sip = ("192.168.5.10", "192.168.5.20")
for k, w in want.items():
    runs = got.get(k, [])
    is_mix = k[0].startswith("192.168.") or k[0].startswith("142.")
    if len(runs) != (2 if is_mix else 1):
        fail("%s: %d stream records, want %d" % (k, len(runs), 2 if is_mix else 1))
        continue
    for i, s in enumerate(runs):
        for f in ["packets", "expected", "lost", "duplicates", "out_of_order", "max_burst_loss"]:
            if s[f] != w[f]:
                fail("%s run %d: %s = %r, without SIGHUP %r" % (k, i, f, s[f], w[f]))
        app = w["app"]
        if k[0] in sip and i == 1:
            app = "teams"  # the prefix added by the reload
        if s["app"] != app:
            fail("%s run %d: app %r, want %r" % (k, i, s["app"], app))
    n = sum(x["packets"] for x in ivals.get(k, []))
    if n != sum(s["packets"] for s in runs):
        fail("%s: interval records hold %d packets, streams %d" % (
            k, n, sum(s["packets"] for s in runs)))
for k in got:
    if k not in want:
        fail("unexpected stream %s" % (k,))
stats = [r for r in recs if r["type"] == "stats"]
if len(stats) != workers:
    fail("%d stats records for %d workers" % (len(stats), workers))
for st in stats:
    if st["pcap"]["kernel_dropped"] or st["pcap"]["iface_dropped"]:
        fail("drops in capture: %r" % st["pcap"])
applied = log.count("reloaded: ranges")
reads = log.count("SIGHUP: reading the settings again")
print("SIGHUP sent %d times; settings read %d times; reloads applied %d (workers %d)" % (
    hups, reads, applied, workers))
# Signals close together may merge into one reading (the flag is a flag);
# each good reading is posted to every worker, and a worker may skip one
# superseded before it took it, never apply more.
if reads < hups // 2:
    fail("only %d readings for %d SIGHUPs" % (reads, hups))
if applied < reads - 1 or applied > (reads - 1) * workers:
    fail("reloads applied %d for %d good readings x %d workers" % (applied, reads - 1, workers))
for k in range(workers if workers > 1 else 0):
    if ("worker %d: reloaded: ranges" % k) not in log:
        fail("worker %d never reloaded" % k)
if "(5 Teams prefixes)" not in log:  # the shipped four and the new one
    fail("the new prefix did not reach the probe:\n" + log)
if "'not-a-prefix' is not an IP prefix; keeping the previous settings" not in log:
    fail("no clear error for the bad ranges file:\n" + log)
if "--snaplen changed but take effect only at a restart" not in log:
    fail("the restart-only setting is not named:\n" + log)
print("\n".join(l for l in log.splitlines() if "reload" in l or "SIGHUP" in l)[:3000])
sys.exit(1 if bad else 0)
PY
