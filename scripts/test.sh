#!/usr/bin/env bash
# The whole test suite: installs dependencies if missing, then builds twice
# (normal, and ASan+UBSan) and runs every ctest case in both builds. The C
# sources are checked against .clang-format first (scripts/check-format.sh).
#   bash scripts/test.sh            everything
#   bash scripts/test.sh -L unit    pass ctest options (labels: unit golden
#                                   truth public parity badinput live fuzz
#                                   transport sqlite pg ...)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
# The PostgreSQL tests (label pg) fail instead of skipping when no server can
# run: install-deps.sh has just installed it (CALLSCOPE_PG_REQUIRED=0 to allow
# skipping). Under ctest they share one server per build (tests/pg/fixture).
export CALLSCOPE_PG_REQUIRED=${CALLSCOPE_PG_REQUIRED:-1}
echo "=== style ==="
bash scripts/check-format.sh
jobs=$(nproc)
status=0
for variant in normal asan; do
  dir=build-test-$variant
  flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo)
  [ "$variant" = asan ] && flags+=(-DCALLSCOPE_SANITIZE=ON)
  echo "=== build ($variant) ==="
  mkdir -p "$dir"
  cmake -S . -B "$dir" "${flags[@]}" > "$dir/configure.log" 2>&1 || { cat "$dir/configure.log"; exit 1; }
  cmake --build "$dir" -j"$jobs" 2>&1 | grep -Ev '^\[|^Consolidate|^Scanning' || true
  [ "${PIPESTATUS[0]}" -eq 0 ] || exit 1
  echo "=== tests ($variant) ==="
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir "$dir" --output-on-failure -j"$jobs" "$@" || status=1
done
exit $status
