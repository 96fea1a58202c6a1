#!/usr/bin/env bash
# Runs every fuzz target for SECONDS (default 600) each, JOBS at a time (default 2).
# New inputs go to target/fuzz-corpus/<target>; the committed seeds in fuzz/corpus/<target> are
# read, never written. Crashes land in fuzz/artifacts/<target>/.
# Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-600}"
jobs="${2:-2}"
targets=(rule_file article intent version lookup_query cmdline)
cargo +nightly fuzz build
run() {
  local t="$1"
  mkdir -p "target/fuzz-corpus/$t"
  cargo +nightly fuzz run "$t" "target/fuzz-corpus/$t" "fuzz/corpus/$t" -- \
    -max_total_time="$seconds" -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 > "target/fuzz-$t.log" 2>&1 \
    && echo "$t: ok ($(grep -o 'stat::number_of_executed_units: [0-9]*' "target/fuzz-$t.log" | tail -1))" \
    || { echo "$t: FAILED, see target/fuzz-$t.log and fuzz/artifacts/$t/"; return 1; }
}
export -f run
export seconds
printf '%s\n' "${targets[@]}" | xargs -P "$jobs" -I{} bash -c 'run {}'
