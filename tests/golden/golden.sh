#!/usr/bin/env bash
# Golden replay: the probe's JSON for pcaps/CASE.pcap must equal
# pcaps/CASE.expected.jsonl byte for byte. Re-baseline with
# tests/golden/rebaseline.sh and review the diff.
set -euo pipefail
probe=$1 cap=$2
exp=${cap%.pcap}.expected.jsonl
[ -f "$exp" ] || { echo "no expected output $exp (run tests/golden/rebaseline.sh)"; exit 1; }
out=$(mktemp)
trap 'rm -f "$out"' EXIT
TZ=UTC "$probe" -q -r "$cap" --json "$out" --interval 5
if ! diff -u "$exp" "$out" > "$out.diff"; then
  head -40 "$out.diff"
  echo "golden mismatch for $cap ($(grep -c '^[-+][^-+]' "$out.diff") lines differ)"
  rm -f "$out.diff"
  exit 1
fi
rm -f "$out.diff"
echo "golden ok: $cap ($(wc -l < "$exp") records)"
