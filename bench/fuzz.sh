#!/usr/bin/env bash
# Builds the libFuzzer harnesses (clang, -DCALLSCOPE_FUZZ=ON) in their own
# build directory and runs each one in turn for a while, then prints per
# harness: executions, exec/s, coverage (cov/ft from libFuzzer's last line)
# and crashes. See docs/fuzzing.md.
#
#   bash bench/fuzz.sh                  every harness, 600 s each
#   bash bench/fuzz.sh -t 120 rtp demux some harnesses, 120 s each
#   bash bench/fuzz.sh --merge          minimise tests/fuzz/corpus/ with what
#                                       the runs found (inputs up to
#                                       FUZZ_MERGE_MAX_BYTES, 1024), then commit
#
# Environment: FUZZ_SECONDS (as -t), FUZZ_BUILD (build-fuzz), FUZZ_JOBS
# (build jobs, 2), CALLSCOPE_FUZZ_PROBE (fuzz_probe's mode, default
# persistent here; fresh makes a new probe per input: 7-20 exec/s).
# The runs are niced; new inputs go to $FUZZ_BUILD/fuzz-corpus/<harness>,
# crash/timeout/leak files to $FUZZ_BUILD/fuzz-artifacts/<harness>, logs to
# $FUZZ_BUILD/fuzz-logs/<harness>.log. The committed corpus is only read.
set -euo pipefail
cd "$(dirname "$0")/.."

ALL=(decode demux rtp tcp_frame probe wire graph config)
seconds=${FUZZ_SECONDS:-600}
build=${FUZZ_BUILD:-build-fuzz}
merge=0
max_bytes=${FUZZ_MERGE_MAX_BYTES:-1024}
harnesses=()
while [ $# -gt 0 ]; do
  case "$1" in
    -t) seconds=$2; shift 2 ;;
    --merge) merge=1; shift ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    -*) echo "fuzz.sh: unknown option $1" >&2; exit 2 ;;
    *) harnesses+=("$1"); shift ;;
  esac
done
[ ${#harnesses[@]} -gt 0 ] || harnesses=("${ALL[@]}")
export CALLSCOPE_FUZZ_PROBE=${CALLSCOPE_FUZZ_PROBE:-persistent}

mkdir -p "$build"
CC=clang cmake -S . -B "$build" -DCALLSCOPE_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  > "$build/configure.log" 2>&1 || { cat "$build/configure.log"; exit 1; }
targets=()
for h in "${harnesses[@]}"; do targets+=(--target "fuzz_$h"); done
nice -n 19 cmake --build "$build" -j"${FUZZ_JOBS:-2}" "${targets[@]}" > "$build/build.log" 2>&1 \
  || { tail -40 "$build/build.log"; exit 1; }
bin=$build/tests/fuzz

if [ $merge = 1 ]; then
  for h in "${harnesses[@]}"; do
    src=tests/fuzz/corpus/$h
    tmp=$build/fuzz-merge/$h
    small=$build/fuzz-merge/$h.small
    rm -rf "$tmp" "$small"; mkdir -p "$tmp" "$small" "$src" "$build/fuzz-corpus/$h"
    # only the run's small finds, so the committed corpus stays small
    find "$build/fuzz-corpus/$h" -type f -size -$((max_bytes + 1))c -exec cp {} "$small/" \;
    nice -n 19 "$bin/fuzz_$h" -merge=1 "$tmp" "$src" "$small" 2>&1 | grep 'MERGE-OUTER: [0-9]* new' || true
    rm -f "$src"/*; cp "$tmp"/* "$src"/ 2>/dev/null || true
    echo "$h: $(ls "$src" | wc -l) files, $(du -sk --apparent-size "$src" | cut -f1) KB"
  done
  exit 0
fi

printf '%-10s %8s %12s %8s %6s %7s %8s\n' harness seconds executions exec/s cov ft crashes > "$build/fuzz-summary.txt"
for h in "${harnesses[@]}"; do
  work=$build/fuzz-corpus/$h
  art=$build/fuzz-artifacts/$h
  log=$build/fuzz-logs/$h.log
  mkdir -p "$work" "$art" "$(dirname "$log")"
  seeds=()
  for d in tests/fuzz/corpus/$h tests/fuzz/regressions/$h; do [ -d "$d" ] && seeds+=("$d"); done
  echo "=== fuzz_$h for ${seconds}s ==="
  start=$(date +%s)
  touch "$art/.start"
  nice -n 19 "$bin/fuzz_$h" -max_total_time="$seconds" -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$art/" "$work" "${seeds[@]}" > "$log" 2>&1 || true
  took=$(( $(date +%s) - start ))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  last=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -1 || true)
  cov=$(sed -n 's/.*cov: \([0-9]*\).*/\1/p' <<< "$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<< "$last")
  crashes=$(find "$art" -type f -newer "$art/.start" \( -name 'crash-*' -o -name 'leak-*' \
    -o -name 'timeout-*' -o -name 'oom-*' \) | wc -l)
  grep -E '^==[0-9]+==ERROR|^SUMMARY|runtime error|fuzz invariant' "$log" | head -5 || true
  printf '%-10s %8s %12s %8s %6s %7s %8s\n' "$h" "$took" "${execs:-?}" "${rate:-?}" \
    "${cov:-?}" "${ft:-?}" "$crashes" | tee -a "$build/fuzz-summary.txt"
done
echo
cat "$build/fuzz-summary.txt"
