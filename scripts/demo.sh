#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine, offline: install what is
# needed, build, and replay the demo captures (synthetic Teams calls with
# known impairments) through callscope-probe; prints the calls, streams and
# clients it found, and leaves the JSON records in out/demo.jsonl.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCALLSCOPE_UNIT_TESTS=OFF > /dev/null
cmake --build build -j"$(nproc)" > /dev/null
mkdir -p out
caps=(pcaps/teams_video_screenshare.pcap pcaps/impair_loss_burst.pcap
      pcaps/teams_vlan_qinq.pcap pcaps/teams_ipv6.pcap pcaps/non_teams_mix.pcap)
args=()
for c in "${caps[@]}"; do args+=(-r "$c"); done
build/probe/callscope-probe "${args[@]}" --json out/demo.jsonl --table
echo
echo "JSON records: out/demo.jsonl ($(wc -l < out/demo.jsonl) lines; docs/output.md explains them)"
