#!/usr/bin/env python3
"""Whole-process `check` with and without an imported archive (its advisories), per command.

usage: bench/check_archive.py INDEX [path/to/kbguard] [ROUNDS]   (docs/advisories.md)
"""
import os, statistics, subprocess, sys, tempfile, time

index = sys.argv[1]
kbguard = sys.argv[2] if len(sys.argv) > 2 else "target/release/kbguard"
rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 30
cache = tempfile.mkdtemp()
node = ["--set", "os.family=windows", "--set", "product.exchange.version=5.5.2653.23",
        "--set", "cluster.node=true"]
cases = [
    ("no archive, isinteg -patch", ["--index", os.path.join(cache, "none")], node, ["isinteg", "-patch"]),
    ("archive, isinteg -patch", ["--index", index], node, ["isinteg", "-patch"]),
    ("archive, xcopy /s", ["--index", index], [], ["xcopy", "/s", "a", "b"]),
    ("archive, convert d: /fs:ntfs", ["--index", index], [], ["convert", "d:", "/fs:ntfs"]),
    ("archive, setup.exe (794 articles)", ["--index", index], [], ["setup.exe"]),
]
env = dict(os.environ, KBGUARD_CACHE_DIR=cache)
for name, where, facts, command in cases:
    argv = [kbguard, "check", *where, *facts, "--", *command]
    subprocess.run(argv, env=env, capture_output=True)
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        subprocess.run(argv, env=env, capture_output=True)
        times.append((time.perf_counter() - start) * 1000)
    print(f"{name:36} median {statistics.median(times):6.2f} ms (n={rounds})")
