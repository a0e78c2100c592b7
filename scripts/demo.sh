#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine, offline: install what is
# needed, build, then run the whole pipeline on the verdict scenario
# captures (synthetic Teams calls with known faults, pcaps/verdict_*.pcap):
#   keys -> collector in the background -> probe replays into it over
#   ZeroMQ (CURVE) -> Microsoft Graph call records from files (graph-import)
#   -> correlation -> the verdict report, one block per call.
# Everything lives in a temporary directory that is removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCALLSCOPE_UNIT_TESTS=OFF > /dev/null
cmake --build build -j"$(nproc)" > /dev/null

C=build/collector/callscope-collector
P=build/probe/callscope-probe
work=$(mktemp -d /tmp/callscope-demo.XXXXXX)
collector_pid=
cleanup() {
    if [ -n "$collector_pid" ] && kill -0 "$collector_pid" 2> /dev/null; then
        kill "$collector_pid"
        wait "$collector_pid" 2> /dev/null || true
    fi
    rm -rf "$work"
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
"$P" -q --collector "$endpoint" --key "$work/keys/probe-hq.key" \
    --collector-key "$work/keys/collector.pub" --spool-dir "$work/spool" --site hq "${args[@]}"
kill "$collector_pid"
wait "$collector_pid" 2> /dev/null || true
collector_pid=

echo "== Microsoft Graph call records from files (no record for the wire-only call)"
"$C" graph-import -q --db "$work/store.db" --org-key "$work/keys/org.key" pcaps/verdict_*.graph.json

echo "== correlation"
"$C" correlate --db "$work/store.db" --org-key "$work/keys/org.key" --since 1h
echo
# The captures are dated 2026-01-15: look far enough back to include them.
"$C" report --db "$work/store.db" --org-key "$work/keys/org.key" --since 520w --format table
echo
echo "Verdicts: lan = between client and probe (Wi-Fi/LAN), wan = between probe and Microsoft,"
echo "endpoint = the device, cloud = service or a far participant (docs/verdicts.md)."
