#!/usr/bin/env bash
# Whole-process comparison in one run: preflight against /bin/true, preflight over 10,000 rules,
# lookup and import against SQLite FTS5 over the same archive, and peak memory of each.
# usage: bench/compare.sh [ROUNDS]    (needs ../shared and python3; docs/performance.md)
set -euo pipefail
cd "$(dirname "$0")/.."
shared="${SHARED:-../shared}"
cargo build --release --quiet
cargo build --release --quiet --manifest-path bench/fts5/Cargo.toml
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
txt="$(bash "$shared/kbarchive/extract.sh" target/kbarchive)"
python3 bench/gen_rules.py "$work/rules10k" 10000
python3 bench/compare.py \
  --kbguard target/release/kbguard \
  --fts5 bench/fts5/target/release/kbguard-fts5-peer \
  --archive "$txt" --rules10k "$work/rules10k" --work "$work" \
  --eval "$shared/eval" --rounds "${1:-3}"
