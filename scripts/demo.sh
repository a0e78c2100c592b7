#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine, offline: install what is
# needed, build, then run the whole pipeline on the verdict scenario
# captures (synthetic Teams calls with known faults, pcaps/verdict_*.pcap):
#   keys -> collector in the background -> probe replays into it over
#   ZeroMQ (CURVE) -> Microsoft Graph call records from files (graph-import)
#   -> correlation -> the verdict report, one block per call
#   -> the command that serves the dashboard on it (localhost, with a token).
# The captures are dated 2026-01-15; the store's call, stream and interval
# times are shifted so the calls ended within the last hour and show in the
# dashboard's default window (--keep-times: leave them as captured).
# Everything lives in a temporary directory, kept for the dashboard
# (--clean: removed at the end instead).
#
#   sudo bash scripts/demo.sh [--keep-times] [--clean]
set -euo pipefail
cd "$(dirname "$0")/.."
keep_times=0 clean=0
for a in "$@"; do
    case "$a" in
        --keep-times) keep_times=1 ;;
        --clean) clean=1 ;;
        *) echo "usage: $0 [--keep-times] [--clean]" >&2; exit 2 ;;
    esac
done
build=${CALLSCOPE_DEMO_BUILD:-build} # another build directory, already built: skips install and build
if [ "$build" = build ]; then
    bash scripts/install-deps.sh
    cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCALLSCOPE_UNIT_TESTS=OFF > /dev/null
    cmake --build build -j"$(nproc)" > /dev/null
fi

C=$build/collector/callscope-collector
P=$build/probe/callscope-probe
work=$(mktemp -d /tmp/callscope-demo.XXXXXX)
collector_pid=
cleanup() {
    if [ -n "$collector_pid" ] && kill -0 "$collector_pid" 2> /dev/null; then
        kill "$collector_pid"
        wait "$collector_pid" 2> /dev/null || true
    fi
    if [ "$clean" = 1 ]; then rm -rf "$work"; fi
}
trap cleanup EXIT

echo "== keys (CURVE for collector and probe, organisation key for personal data)"
mkdir -p "$work/keys" "$work/probes.d"
"$C" keygen collector --dir "$work/keys" > /dev/null
"$C" keygen probe-hq --dir "$work/keys" > /dev/null
cp "$work/keys/probe-hq.pub" "$work/probes.d/"
"$C" org-keygen --tenant contoso.example --out "$work/keys/org.key" 2> /dev/null

echo "== collector in the background"
endpoint="ipc://$work/collector.sock"
"$C" run -q --bind "$endpoint" --key "$work/keys/collector.key" \
    --authorized-keys "$work/probes.d" --db "$work/store.db" \
    --org-key "$work/keys/org.key" --stats 0 --correlate-interval 0 &
collector_pid=$!
for _ in $(seq 50); do [ -S "$work/collector.sock" ] && break; sleep 0.1; done

echo "== probe replays the scenario captures into it"
caps=(pcaps/verdict_healthy.pcap pcaps/verdict_lan.pcap pcaps/verdict_wan.pcap
      pcaps/verdict_wan_beyond.pcap pcaps/verdict_endpoint.pcap pcaps/verdict_cloud.pcap
      pcaps/verdict_wire_only.pcap)
args=()
for c in "${caps[@]}"; do args+=(-r "$c"); done
"$P" -q --collector "$endpoint" --key "$work/keys/probe-hq.key" --interval 5 \
    --collector-key "$work/keys/collector.pub" --spool-dir "$work/spool" --site hq "${args[@]}"
kill "$collector_pid"
wait "$collector_pid" 2> /dev/null || true
collector_pid=

echo "== Microsoft Graph call records from files (no record for the wire-only call)"
"$C" graph-import -q --db "$work/store.db" --org-key "$work/keys/org.key" pcaps/verdict_*.graph.json

echo "== correlation"
"$C" correlate --db "$work/store.db" --org-key "$work/keys/org.key" --since 1h
if [ "$keep_times" = 0 ]; then
    # Whole seconds added to every call, stream and interval time (the text
    # keeps its fixed width: the fraction and the Z are carried over).
    sqlite3 "$work/store.db" <<'SQL'
CREATE TEMP TABLE shift AS SELECT
  CAST(strftime('%s', 'now') - strftime('%s', max("end")) - 300 AS INTEGER) AS s
  FROM verdict_calls;
CREATE TEMP TABLE cols(tbl, col);
INSERT INTO cols VALUES ('verdict_calls', 'start'), ('verdict_calls', 'end'),
  ('streams', 'first_seen'), ('streams', 'last_seen'), ('intervals', 'start'),
  ('intervals', 'end');
UPDATE verdict_calls SET start = strftime('%Y-%m-%dT%H:%M:%S', start,
    (SELECT s FROM shift) || ' seconds') || substr(start, 20),
  "end" = strftime('%Y-%m-%dT%H:%M:%S', "end", (SELECT s FROM shift) || ' seconds')
    || substr("end", 20);
UPDATE streams SET first_seen = strftime('%Y-%m-%dT%H:%M:%S', first_seen,
    (SELECT s FROM shift) || ' seconds') || substr(first_seen, 20),
  last_seen = strftime('%Y-%m-%dT%H:%M:%S', last_seen, (SELECT s FROM shift) || ' seconds')
    || substr(last_seen, 20);
UPDATE intervals SET start = strftime('%Y-%m-%dT%H:%M:%S', start,
    (SELECT s FROM shift) || ' seconds') || substr(start, 20),
  "end" = strftime('%Y-%m-%dT%H:%M:%S', "end", (SELECT s FROM shift) || ' seconds')
    || substr("end", 20);
SQL
    echo "== times shifted: the calls ended within the last hour (--keep-times: as captured)"
fi
echo
# --keep-times leaves them at 2026-01-15: look far enough back to include them.
"$C" report --db "$work/store.db" --org-key "$work/keys/org.key" --since 520w --format table
echo
echo "Verdicts: lan = between client and probe (Wi-Fi/LAN), wan = between probe and Microsoft,"
echo "endpoint = the device, cloud = service or a far participant (docs/verdicts.md)."

if [ "$clean" = 0 ]; then
    # A token only the caller can read (serve refuses a group- or world-readable one).
    (umask 077 && openssl rand -hex 24 > "$work/noc.token")
    token=$(cat "$work/noc.token")
    echo
    echo "== the dashboard: serve this store on localhost (Ctrl-C to stop), then open the address"
    echo "  $C serve --db $work/store.db \\"
    echo "      --org-key $work/keys/org.key --token-file $work/noc.token --bind 127.0.0.1:8443"
    echo "  http://127.0.0.1:8443/#token=$token"
    echo "(the token leaves the address bar once the page has read it; docs/noc.md."
    echo " Remove the demo's files with: rm -rf $work)"
fi
