#!/usr/bin/env bash
# The file source over ../shared/graph/examples: every call record in the
# published payloads is stored once, personal data sealed, nothing in the log.
# Skips (77) when ../shared is absent.
set -u
bin=$1 examples=$2 work=$3/import_examples
if [ ! -d "$examples" ]; then
  echo "graph_import_examples: $examples not found: skipped"
  exit 77
fi
rm -rf "$work" && mkdir -p "$work"
"$bin" orgkey --tenant dc368399-474c-4d40-900c-6265431fd81f --out "$work/org.key" 2>/dev/null || exit 1
"$bin" import -v --db "$work/db" --org-key "$work/org.key" "$examples" 2> "$work/log"
rc=$?
cat "$work/log"
fail=0
[ $rc -eq 0 ] || { echo "FAIL: import exit $rc"; fail=1; }
n=$(sqlite3 "$work/db" "SELECT COUNT(*) FROM graph_record")
[ "$n" -ge 3 ] || { echo "FAIL: $n records"; fail=1; }
dups=$(sqlite3 "$work/db" "SELECT COUNT(*) FROM (SELECT record_id FROM graph_record GROUP BY record_id HAVING COUNT(*) > 1)")
[ "$dups" -eq 0 ] || { echo "FAIL: duplicates"; fail=1; }
for pii in "Abbie Wilkins" "Owen Franklin" "John Doe" "john.doe@contoso.com" "10.150.0.2" "10.139.0.12" "JOHNDOE-PC"; do
  if grep -qF "$pii" "$work/log"; then echo "FAIL: '$pii' in the log"; fail=1; fi
  if grep -qaF "$pii" "$work/db" "$work/db-wal" 2>/dev/null; then echo "FAIL: '$pii' in clear in the store"; fail=1; fi
done
# participants: participants_v2 (Example 3, two participants) and, in the
# 2021 example, the retired participants property; each file alone
for f in callrecord-get-expand-participants_v2.json:2 callrecord-get-2021.json:2; do
  db="$work/db-${f%%.json*}"
  "$bin" import --db "$db" --org-key "$work/org.key" "$examples/${f%%:*}" 2>> "$work/log2" || { echo "FAIL: import ${f%%:*}"; fail=1; }
  n=$(sqlite3 "$db" "SELECT COUNT(*) FROM graph_participant WHERE user_id_hmac IS NOT NULL AND user_name_enc IS NOT NULL")
  [ "$n" = "${f##*:}" ] || { echo "FAIL: ${f%%:*}: $n participants stored, want ${f##*:}"; fail=1; }
  o=$(sqlite3 "$db" "SELECT COUNT(*) FROM graph_record WHERE organizer_id_hmac IS NOT NULL AND organizer_name_enc IS NOT NULL")
  [ "$o" = 1 ] || { echo "FAIL: ${f%%:*}: organizer not stored"; fail=1; }
done
if grep -qF "Owen Franklin" "$work/log2"; then echo "FAIL: a name in the log"; fail=1; fi
[ $fail -eq 0 ] && echo "graph_import_examples: ok"
exit $fail
