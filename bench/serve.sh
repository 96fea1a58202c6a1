#!/usr/bin/env bash
# Load on `kbguard serve` (loopback only, bounded in time): 32 concurrent clients ask /api/lookup
# for 1,000 dev queries in turn; throughput, p50/p99, and the server's resident memory sampled
# every 10 s while at least 100,000 requests go through; then the same queries through
# `lookup --batch`, side by side.   usage: bench/serve.sh INDEX [SECONDS]   (needs wrk, python3)
set -euo pipefail
cd "$(dirname "$0")/.."
index="$1"
seconds="${2:-220}"
shared="${SHARED:-../shared}"
cargo build --release --quiet
work="$(mktemp -d)"
trap 'kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
python3 - "$shared/eval" "$work" <<'PY'
import json, random, sys, urllib.parse
ev, work = sys.argv[1], sys.argv[2]
rows = [json.loads(l) for f in ("lookup-dev.jsonl", "lookup-dev-described.jsonl") for l in open(f"{ev}/{f}")]
random.seed(7)
qs = [r["query"].replace("\n", " ") for r in random.sample(rows, 1000)]
open(f"{work}/queries.txt", "w").write("\n".join(qs) + "\n")
with open(f"{work}/queries.lua", "w") as f:
    f.write("paths = {}\n")
    for q in qs:
        f.write('paths[#paths+1] = "/api/lookup?limit=5&q=%s"\n' % urllib.parse.quote(q[:2000], safe=""))
    f.write("i = 0\nrequest = function()\n  i = i + 1\n  return wrk.format(\"GET\", paths[(i % #paths) + 1])\nend\n")
PY
port=18178
target/release/kbguard serve --index "$index" --listen "127.0.0.1:$port" 2>/dev/null &
server=$!
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/api/health" >/dev/null && break; sleep 0.2; done
# Resident memory, and how much of it is the heap (anonymous) and how much the index's mapped
# files (which the kernel can drop, and which grow as more of the index is touched).
rss() { awk '/^VmRSS|^RssAnon|^RssFile/ {v[$1]=$2} END {printf "%.0f MB (heap %.0f MB, mapped files %.0f MB)", v["VmRSS:"]/1024, v["RssAnon:"]/1024, v["RssFile:"]/1024}' "/proc/$server/status"; }
echo "server started: $(rss) resident"
( for t in $(seq 10 10 "$seconds"); do sleep 10; echo "  after ${t}s: $(rss) resident"; done ) &
sampler=$!
wrk -t2 -c32 -d"${seconds}s" --latency -s "$work/queries.lua" "http://127.0.0.1:$port" | grep -E "requests in|Requests/sec|50%|99%"
kill "$sampler" 2>/dev/null || true
echo "after the run: $(rss) resident"
start=$(date +%s.%N)
target/release/kbguard lookup --batch "$work/queries.txt" --json --limit 5 --index "$index" >/dev/null
end=$(date +%s.%N)
python3 -c "print(f'lookup --batch, same 1,000 queries: {($end-$start)*1000/1000:.2f} ms per query, one process')"
