#!/usr/bin/env python3
"""What the shell hook adds to a line: the one process it runs per Enter, against the line alone.

usage: bench/hook.py [path/to/kbguard] [ROUNDS]   (docs/performance.md)

Each round times, alternating so drift hits both alike: `sh -c ls` (the line) and the hook's
check of it, `timeout 5 kbguard check --no-advisories --line ls --shell bash` (the process each
hook runs before the shell runs the line; the shell's own function call is negligible beside a
process). Prints the medians and the difference.
"""
import os, statistics, subprocess, sys, tempfile, time

kbguard = sys.argv[1] if len(sys.argv) > 1 else "target/release/kbguard"
rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 100
env = dict(os.environ, KBGUARD_CACHE_DIR=tempfile.mkdtemp())
line = ["sh", "-c", "ls >/dev/null"]
hook = ["timeout", "5", kbguard, "check", "--no-advisories", "--line", "ls", "--shell", "bash"]


def once(cmd):
    start = time.perf_counter()
    subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return (time.perf_counter() - start) * 1000


once(hook)  # warm the rule cache
a, b = [], []
for _ in range(rounds):
    a.append(once(line))
    b.append(once(hook))
la, lb = statistics.median(a), statistics.median(b)
print(f"ls alone           median {la:6.2f} ms (n={rounds})")
print(f"hook's check of ls median {lb:6.2f} ms (n={rounds})")
print(f"added by the hook:        {lb:6.2f} ms per line (target <= 5 ms)")
