#!/usr/bin/env python3
"""The measurements behind bench/compare.sh; see docs/performance.md.

Commands being compared run alternately, round after round, so drift of the machine hits both
alike. Times are wall-clock per process; peak memory is each process's maximum resident set
(from wait4).
"""
import argparse, json, os, statistics, subprocess, sys, time

p = argparse.ArgumentParser()
p.add_argument("--kbguard", required=True)
p.add_argument("--fts5", required=True)
p.add_argument("--archive", required=True)
p.add_argument("--rules10k", required=True)
p.add_argument("--work", required=True)
p.add_argument("--eval", required=True)
p.add_argument("--rounds", type=int, default=3)
a = p.parse_args()
env = dict(os.environ, KBGUARD_CACHE_DIR=os.path.join(a.work, "cache"))
env.pop("KBGUARD_RULES", None)


def run(cmd, stdout=subprocess.DEVNULL, stdin=None):
    """Runs cmd; returns (seconds, peak RSS in MB, exit code)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=stdout, stderr=subprocess.DEVNULL, stdin=stdin, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    return elapsed, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status)


def summary(name, times_ms, unit="ms"):
    med = statistics.median(times_ms)
    print(f"  {name:38s} median {med:9.2f} {unit}  (min {min(times_ms):.2f}, max {max(times_ms):.2f}, n={len(times_ms)})")
    return med


def alternate(cmds, n):
    """Runs each command n times, alternating; returns per-command lists of (ms, MB)."""
    out = {k: [] for k in cmds}
    for _ in range(n):
        for name, cmd in cmds.items():
            t, mem, _ = run(cmd)
            out[name].append((t * 1000, mem))
    return out


print(f"machine: {os.cpu_count()} cores, {os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB, {' '.join(os.uname()[2:3])}")
facts = ["--set", "os.family=windows", "--set", "product.exchange.version=5.5.2653.23",
         "--set", "cluster.node=true", "--set", "cluster.network_name=EXCLUSTER"]
check = [a.kbguard, "check", *facts, "--", "isinteg", "-patch"]
check10k = [a.kbguard, "check", "--rules", a.rules10k, *facts, "--", "isinteg", "-patch"]

print("== preflight: kbguard check on Q178311's command, against /bin/true")
r = alternate({"check": check, "true": ["/bin/true"]}, 30 * a.rounds)
c = summary("kbguard check (embedded rules)", [t for t, _ in r["check"]])
t = summary("/bin/true", [t for t, _ in r["true"]])
print(f"  ratio check / true: {c / t:.1f}x   (targets: median <= 3 ms, <= 5x /bin/true)")
mem = {"check": max(m for _, m in r["check"])}

print("== preflight at scale: 10,000 generated rules from a directory")
run(check10k)  # warms the compiled rule cache
r = alternate({"cached": check10k, "fresh": [check10k[0], check10k[1], "--no-cache", *check10k[2:]]}, 10 * a.rounds)
summary("kbguard check, compiled rule cache", [t for t, _ in r["cached"]])
summary("kbguard check --no-cache (RON each time)", [t for t, _ in r["fresh"]])
print("  (target: <= 20 ms)")
mem["check, 10k rules cached"] = max(m for _, m in r["cached"])

print("== import of the whole archive: kbguard kb import against building the FTS5 index")
index, db = os.path.join(a.work, "index"), os.path.join(a.work, "fts5.db")
imp = {"kbguard": [], "fts5": []}
for _ in range(a.rounds):
    t, m, code = run([a.kbguard, "kb", "import", a.archive, "--index", index])
    assert code == 0, "kbguard import failed"
    imp["kbguard"].append((t, m))
    t, m, code = run([a.fts5, "build", a.archive, db])
    assert code == 0, "fts5 build failed"
    imp["fts5"].append((t, m))
ki = summary("kbguard kb import", [t for t, _ in imp["kbguard"]], "s")
fi = summary("FTS5 build (same parser, one writer)", [t for t, _ in imp["fts5"]], "s")
print(f"  ratio kbguard / FTS5: {ki / fi:.2f}   (target: <= 0.5)")
mem["kb import"] = max(m for _, m in imp["kbguard"])
mem["FTS5 build"] = max(m for _, m in imp["fts5"])
size = lambda path: sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path) for f in fs)
live = os.path.join(index, open(os.path.join(index, "CURRENT")).read().strip())
print(f"  on disk: kbguard {size(live) / 1e6:.1f} MB (live generation), FTS5 {os.path.getsize(db) / 1e6:.1f} MB")

print("== lookup: 1,000 dev queries (200 per kind: SYMPTOMS messages exact / line / noisy, messages quoted elsewhere, descriptions), batch, whole process")
queries = [json.loads(l) for l in open(os.path.join(a.eval, "lookup-dev.jsonl"))]
queries += [json.loads(l) for l in open(os.path.join(a.eval, "lookup-dev-described.jsonl"))]
KINDS = ("exact", "line", "noisy", "body", "described")
sample = []
for kind in KINDS:
    sample += [q for q in queries if q["kind"] == kind][:200]
qfile, sfile = os.path.join(a.work, "q1000.txt"), os.path.join(a.work, "q1000.jsonl")
with open(qfile, "w") as f:
    f.write("".join(" ".join(q["query"].split()) + "\n" for q in sample))
with open(sfile, "w") as f:
    f.write("".join(json.dumps(q) + "\n" for q in sample))
look = {"kbguard": [], "fts5": []}
for _ in range(a.rounds):
    for name, cmd in (("kbguard", [a.kbguard, "lookup", "--batch", qfile, "--json", "--limit", "5", "--index", index]),
                      ("fts5", [a.fts5, "query", db, qfile, "5"])):
        out = os.path.join(a.work, f"{name}.out")
        with open(out, "w") as fh:
            t, m, code = run(cmd, stdout=fh)
        assert code == 0, f"{name} lookup failed"
        look[name].append((t * 1000 / len(sample), m))


def recall(name, kind=None, k=1):
    hits = [json.loads(l)["hits"] for l in open(os.path.join(a.work, f"{name}.out"))]
    pairs = [(q, h) for q, h in zip(sample, hits) if kind is None or q["kind"] == kind]
    ok = sum(1 for q, h in pairs if any(x["id"] in q["relevant"] for x in h[:k]))
    return ok / max(1, len(pairs))


kq = summary("kbguard lookup, per query", [t for t, _ in look["kbguard"]])
fq = summary("FTS5 BM25 OR, per query", [t for t, _ in look["fts5"]])
for kind in KINDS:
    print(f"  {kind:10s} recall@1 kbguard {recall('kbguard', kind):.3f}  FTS5 {recall('fts5', kind):.3f}   "
          f"recall@5 kbguard {recall('kbguard', kind, 5):.3f}  FTS5 {recall('fts5', kind, 5):.3f}")
print(f"  all        recall@1 kbguard {recall('kbguard'):.3f}  FTS5 {recall('fts5'):.3f}; FTS5 / kbguard time per query: {fq / kq:.0f}x")

print("== one lookup process (open the index, one query), against FTS5 opening its database")
one = [a.kbguard, "lookup", "--json", "--limit", "5", "--index", index, "information store will not start after restoring from backup"]
r = alternate({"one": one}, 10 * a.rounds)
summary("kbguard lookup, one process", [t for t, _ in r["one"]])
print("  (target: <= 20 ms)")
mem["lookup batch"] = max(m for _, m in look["kbguard"])
mem["FTS5 query batch"] = max(m for _, m in look["fts5"])

print("== peak resident memory (MB)")
for name, m in mem.items():
    print(f"  {name:38s} {m:8.1f}")
