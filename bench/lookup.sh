#!/usr/bin/env bash
# Reproduces the lookup figures of docs/performance.md: import time and index size for the whole
# KB archive, recall and batch latency on the dev queries, and the latency of one `kbguard lookup`
# process (index opening included). Needs ../shared (the archive and the eval set) and python3.
# usage: bench/lookup.sh [RUNS]   (default 5 imports, 30 single lookups)
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-5}"
shared="${SHARED:-../shared}"
cargo build --release --quiet
bin="$PWD/target/release/kbguard"
txt="$(bash "$shared/kbarchive/extract.sh" target/kbarchive)"
index="$(mktemp -d)"
trap 'rm -rf "$index"' EXIT

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -sr)"
echo "== import of $(find "$txt" -name 'Q*.TXT' | wc -l) articles ($(du -sm "$txt" | cut -f1) MB), $runs runs"
python3 - "$bin" "$txt" "$index" "$runs" <<'PY'
import subprocess, sys, time, statistics, os
bin, txt, index, runs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
times = []
for _ in range(runs):
    t = time.perf_counter()
    subprocess.run([bin, "kb", "import", txt, "--index", index], check=True, stdout=subprocess.DEVNULL)
    times.append(time.perf_counter() - t)
size = 0
gen = open(os.path.join(index, "CURRENT")).read().strip()
for root, _, files in os.walk(os.path.join(index, gen)):
    size += sum(os.path.getsize(os.path.join(root, f)) for f in files)
print(f"import: median {statistics.median(times):.2f} s (min {min(times):.2f}, max {max(times):.2f})")
print(f"index on disk: {size/1e6:.1f} MB")
PY

echo "== recall and batch latency: lookup-eval.sh on $(wc -l < "$shared/eval/lookup-dev.jsonl") dev queries"
bash "$shared/eval/lookup-eval.sh" "$shared/eval/lookup-dev.jsonl" "$bin" --index "$index"

echo "== one lookup per process (index opening included), 30 runs"
python3 - "$bin" "$index" <<'PY'
import subprocess, sys, time, statistics
bin, index = sys.argv[1], sys.argv[2]
queries = ["Reason: JET_errKeyDuplicate",
           "2026-11-25 03:12:44 ERROR the instruction at 0x77f6a6f9 referenced memory at 0x00000000",
           "Setup could not open the file C:\\WINNT\\system32\\msvcrt.dll"]
times = []
for i in range(30):
    t = time.perf_counter()
    subprocess.run([bin, "lookup", "--index", index, "--json", queries[i % 3]], check=True, stdout=subprocess.DEVNULL)
    times.append((time.perf_counter() - t) * 1000)
print(f"single lookup: median {statistics.median(times):.1f} ms (min {min(times):.1f}, max {max(times):.1f})")
PY

echo "== queries pasted other ways (bench/lookup_variants.py)"
python3 bench/lookup_variants.py "$bin" "$index" "$shared/eval/lookup-dev.jsonl"
