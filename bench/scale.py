#!/usr/bin/env python3
"""How preflight and import scale: check over 10 → 10,000 generated rules (cached and fresh),
and import of 1,000 → all articles. usage: bench/scale.py KBGUARD ARCHIVE_TXT [RUNS]"""
import os, statistics, subprocess, sys, tempfile, time

kbguard, archive = sys.argv[1], sys.argv[2]
runs = int(sys.argv[3]) if len(sys.argv) > 3 else 5
here = os.path.dirname(os.path.abspath(__file__))
work = tempfile.mkdtemp()
env = dict(os.environ, KBGUARD_CACHE_DIR=os.path.join(work, "cache"))
env.pop("KBGUARD_RULES", None)


def median_ms(cmd, n):
    times = []
    for _ in range(n):
        start = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


facts = ["--set", "os.family=windows", "--set", "product.exchange.version=5.5", "--set", "cluster.node=true"]
print("rules   check, cached (ms)   check, --no-cache (ms)")
for n in (10, 100, 1000, 10000):
    rules = os.path.join(work, f"rules{n}")
    subprocess.run([sys.executable, os.path.join(here, "gen_rules.py"), rules, str(n)], check=True)
    cmd = [kbguard, "check", "--rules", rules, *facts, "--", "isinteg", "-patch"]
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    cached = median_ms(cmd, runs * 4)
    fresh = median_ms([kbguard, "check", "--no-cache", *cmd[2:]], runs)
    print(f"{n:6d}   {cached:18.1f}   {fresh:22.1f}")

files = sorted(os.path.join(d, f) for d, _, fs in os.walk(archive) for f in fs if f.upper().endswith(".TXT"))
print("articles   import (s)")
for n in (1000, 10000, len(files)):
    subset = os.path.join(work, f"arch{n}")
    os.makedirs(subset)
    for path in files[:n]:
        os.symlink(path, os.path.join(subset, os.path.basename(path)))
    index = os.path.join(work, f"index{n}")
    times = []
    for _ in range(max(1, runs // 2)):
        start = time.perf_counter()
        subprocess.run([kbguard, "kb", "import", subset, "--index", index], check=True, stdout=subprocess.DEVNULL, env=env)
        times.append(time.perf_counter() - start)
    print(f"{n:8d}   {statistics.median(times):10.2f}")
