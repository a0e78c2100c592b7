#!/bin/sh
# Whole tshark parity table: every public capture and the project's own
# (except malformed/bench). Usage: tests/parity/report.sh [PROBE]
# PROBE defaults to build/probe/callscope-probe. Exit 1 if any capture fails.
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
probe=${1:-$root/build/probe/callscope-probe}
[ -x "$probe" ] || { echo "probe not found: $probe (pass it as the first argument)" >&2; exit 2; }
out=$(mktemp) || exit 2
trap 'rm -f "$out"' EXIT
fail=0
for f in "$root"/../shared/pcaps/public/* "$root"/pcaps/*.pcap; do
    [ -f "$f" ] || continue
    case "$f" in *.txt|*.md|*.csv|*/malformed*|*/bench*) continue ;; esac
    python3 "$here/tshark_parity.py" "$probe" "$f" >>"$out" 2>&1
    rc=$?
    [ $rc -ne 0 ] && [ $rc -ne 77 ] && fail=1
done
printf '%-44s %9s %7s %7s %7s %9s %4s %s\n' capture tshark/pr matched pkts_eq loss_eq jit_w/c exc result
awk '/^PARITY /{
    split($3,s,"=");  split($4,m,"="); split($5,p,"="); split($6,l,"=");
    split($7,j,"=");  split($8,e,"=");
    printf "%-44s %9s %7s %7s %7s %9s %4s %s\n", $2, s[2], m[2], p[2], l[2], j[2], e[2], $9
    n++; if ($9 == "ok") ok++ }
  /^SKIP /{ print; skip++ }
  END { printf "\n%d captures: %d ok, %d fail, %d skipped\n", n, ok, n-ok, skip }' "$out"
echo
echo "Exceptions (known, documented differences) and mismatches:"
grep -E '^(EXCUSED|MISMATCH) ' "$out" | sort | uniq
grep -vE '^(PARITY|EXCUSED|MISMATCH|SKIP) ' "$out"
exit $fail
