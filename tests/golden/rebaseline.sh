#!/usr/bin/env bash
# Rewrites pcaps/*.expected.jsonl (and the tables of people, *.expected.table,
# where one exists) from the current probe. Review `git diff` before
# committing: every changed line is a changed output.
set -euo pipefail
cd "$(dirname "$0")/../.."
cmake -S . -B build-golden -DCALLSCOPE_UNIT_TESTS=OFF > /dev/null
cmake --build build-golden -j"$(nproc)" > /dev/null
for cap in pcaps/*.pcap; do
  TZ=UTC build-golden/probe/callscope-probe -q -r "$cap" --json "${cap%.pcap}.expected.jsonl" --interval 5
  echo "rebaselined ${cap%.pcap}.expected.jsonl"
  if [ -f "${cap%.pcap}.expected.table" ]; then
    TZ=UTC build-golden/probe/callscope-probe -q -r "$cap" --interval 5 > "${cap%.pcap}.expected.table"
    echo "rebaselined ${cap%.pcap}.expected.table"
  fi
done
