#!/usr/bin/env bash
# The file source over ../shared/graph/examples: every call record in the
# published payloads is stored once, personal data sealed, nothing in the log.
# Skips (77) when ../shared is absent.
#   import_examples.sh CALLSCOPE_GRAPH EXAMPLES WORKDIR [pg]
# With "pg" the store is a throw-away PostgreSQL 15 (tests/pg/pgserver.py;
# 77 when its binaries are missing), each import in a schema of its own.
set -u
bin=$1 examples=$2 work=$3/import_examples pg=${4:-}
if [ ! -d "$examples" ]; then
  echo "graph_import_examples: $examples not found: skipped"
  exit 77
fi
[ -n "$pg" ] && work=${work}_pg
rm -rf "$work" && mkdir -p "$work"
srv=
if [ -n "$pg" ]; then
  python3 "$(dirname "$0")/../pg/pgserver.py" 900 > "$work/pg.out" 2>&1 &
  srv=$!
  trap 'kill -TERM $srv 2>/dev/null; wait $srv' EXIT
  for _ in $(seq 600); do
    grep -q '^postgresql://\|^SKIP' "$work/pg.out" && break
    kill -0 $srv 2>/dev/null || break
    sleep 0.2
  done
  if grep -q '^SKIP' "$work/pg.out"; then cat "$work/pg.out"; trap - EXIT; exit 77; fi
  uri=$(grep -m1 '^postgresql://' "$work/pg.out")
  [ -n "$uri" ] || { echo "FAIL: no PostgreSQL server"; cat "$work/pg.out"; exit 1; }
  export PGPASSWORD=callscope-test-pw
  pgbase=$(sed 's/.*host=\([^&]*\).*/\1/' <<< "$uri")
fi
# store NAME: the --db of one store (a file, or the server's URI with a schema)
store() {
  if [ -n "$pg" ]; then
    psql -X -q "$uri" -c "CREATE SCHEMA IF NOT EXISTS $1" >/dev/null
    echo "${uri}&options=-csearch_path%3D$1"
  else
    echo "$work/$1"
  fi
}
q() { # q STORE SQL
  if [ -n "$pg" ]; then psql -X -At "$1" -c "$2"; else sqlite3 "$1" "$2"; fi
}
"$bin" orgkey --tenant dc368399-474c-4d40-900c-6265431fd81f --out "$work/org.key" 2>/dev/null || exit 1
main=$(store db)
"$bin" import -v --db "$main" --org-key "$work/org.key" "$examples" 2> "$work/log"
rc=$?
cat "$work/log"
fail=0
[ $rc -eq 0 ] || { echo "FAIL: import exit $rc"; fail=1; }
n=$(q "$main" "SELECT COUNT(*) FROM graph_record")
[ "$n" -ge 3 ] || { echo "FAIL: $n records"; fail=1; }
dups=$(q "$main" "SELECT COUNT(*) FROM (SELECT record_id FROM graph_record GROUP BY record_id HAVING COUNT(*) > 1) d")
[ "$dups" -eq 0 ] || { echo "FAIL: duplicates"; fail=1; }
# where the stored bytes lie: the file and its WAL, or the cluster's
# database directories, WAL and log (after a checkpoint)
if [ -n "$pg" ]; then
  psql -X -q "${uri/callscope:callscope-test-pw@/postgres:callscope-test-pw@}" -c CHECKPOINT >/dev/null ||
    { echo "FAIL: checkpoint"; fail=1; }
  stored=("$pgbase/data/base" "$pgbase/data/pg_wal" "$pgbase/postgres.log")
  # the search must see the rows: a record id is stored in clear
  id=$(q "$main" "SELECT record_id FROM graph_record LIMIT 1")
  grep -rqaF "$id" "${stored[@]}" || { echo "FAIL: the search does not see the stored rows"; fail=1; }
else
  stored=("$work/db" "$work/db-wal")
fi
for pii in "Abbie Wilkins" "Owen Franklin" "John Doe" "john.doe@contoso.com" "10.150.0.2" "10.139.0.12" "JOHNDOE-PC"; do
  if grep -qF "$pii" "$work/log"; then echo "FAIL: '$pii' in the log"; fail=1; fi
  if grep -rqaF "$pii" "${stored[@]}" 2>/dev/null; then echo "FAIL: '$pii' in clear in the store"; fail=1; fi
done
# participants: participants_v2 (Example 3, two participants) and, in the
# 2021 example, the retired participants property; each file alone
for f in callrecord-get-expand-participants_v2.json:2 callrecord-get-2021.json:2; do
  name=${f%%.json*}
  db=$(store "db_${name//[-.]/_}")
  "$bin" import --db "$db" --org-key "$work/org.key" "$examples/${f%%:*}" 2>> "$work/log2" || { echo "FAIL: import ${f%%:*}"; fail=1; }
  n=$(q "$db" "SELECT COUNT(*) FROM graph_participant WHERE user_id_hmac IS NOT NULL AND user_name_enc IS NOT NULL")
  [ "$n" = "${f##*:}" ] || { echo "FAIL: ${f%%:*}: $n participants stored, want ${f##*:}"; fail=1; }
  o=$(q "$db" "SELECT COUNT(*) FROM graph_record WHERE organizer_id_hmac IS NOT NULL AND organizer_name_enc IS NOT NULL")
  [ "$o" = 1 ] || { echo "FAIL: ${f%%:*}: organizer not stored"; fail=1; }
done
if grep -qF "Owen Franklin" "$work/log2"; then echo "FAIL: a name in the log"; fail=1; fi
[ $fail -eq 0 ] && echo "graph_import_examples${pg:+ (PostgreSQL)}: ok"
exit $fail
