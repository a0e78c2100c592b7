#!/usr/bin/env bash
# Golden replay: the probe's JSON for pcaps/CASE.pcap must equal
# pcaps/CASE.expected.jsonl byte for byte. Where pcaps/CASE.expected.table
# exists, the table for people (-r CASE.pcap --interval 5, no --json) must
# equal it too, and with --json - -t the table must go to stderr, leaving
# stdout the JSON lines alone. Re-baseline with tests/golden/rebaseline.sh
# and review the diff.
set -euo pipefail
probe=$1 cap=$2
exp=${cap%.pcap}.expected.jsonl
table=${cap%.pcap}.expected.table
[ -f "$exp" ] || { echo "no expected output $exp (run tests/golden/rebaseline.sh)"; exit 1; }
out=$(mktemp)
trap 'rm -f "$out" "$out.diff" "$out.table" "$out.err"' EXIT
same() { # same EXPECTED ACTUAL WHAT
  if ! diff -u "$1" "$2" > "$out.diff"; then
    head -40 "$out.diff"
    echo "golden mismatch for $cap: $3 ($(grep -c '^[-+][^-+]' "$out.diff") lines differ)"
    exit 1
  fi
}
TZ=UTC "$probe" -q -r "$cap" --json "$out" --interval 5
same "$exp" "$out" "JSON"
echo "golden ok: $cap ($(wc -l < "$exp") records)"
[ -f "$table" ] || exit 0
TZ=UTC "$probe" -q -r "$cap" --interval 5 > "$out.table"
same "$table" "$out.table" "table"
echo "golden ok: $table ($(wc -l < "$table") lines)"
# --json - with -t: stdout is the JSON alone, the table goes to stderr
TZ=UTC "$probe" -q -r "$cap" --interval 5 --json - -t > "$out" 2> "$out.err"
same "$exp" "$out" "JSON on stdout with -t"
# the same table; only its last line differs (the interval records were written)
same <(head -n -1 "$table") <(head -n -1 "$out.err") "table on stderr with --json -"
grep -q "are in the JSON records only\.$" "$out.err" || { echo "no interval note"; exit 1; }
echo "golden ok: --json - -t keeps stdout JSON, the table on stderr"
