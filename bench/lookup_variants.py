#!/usr/bin/env python3
"""Recall on queries pasted in ways the dev set does not use.

usage: bench/lookup_variants.py KBGUARD INDEX [DEV_JSONL]

Takes 1,500 of the dev set's `exact` queries (fixed seed) and pastes each five ways: behind a
syslog prefix, with trailing words, quoted inside a sentence, only its first 60% of words, and
lowercased without punctuation. Prints recall@1 and recall@5 per way.
"""
import collections, json, random, re, subprocess, sys, tempfile

kbguard, index = sys.argv[1], sys.argv[2]
dev = sys.argv[3] if len(sys.argv) > 3 else "../shared/eval/lookup-dev.jsonl"
random.seed(7)
queries = [q for q in map(json.loads, open(dev)) if q["kind"] == "exact"]
queries = random.sample(queries, min(1500, len(queries)))

def paste(text, way):
    if way == "syslog":
        return f"Nov 25 03:12:44 srv-{random.randint(1, 99):02d} app[{random.randint(100, 9999)}]: {text}"
    if way == "trailing":
        return f"{text} (this started after we installed the service pack yesterday)"
    if way == "sentence":
        return f'users keep getting "{text}" when they log on'
    if way == "first-60%":
        words = text.split()
        return " ".join(words[: max(3, int(len(words) * 0.6))])
    return re.sub(r"[^\w\s]", " ", text).lower()

ways = ["syslog", "trailing", "sentence", "first-60%", "no-punctuation"]
rows = [(q, w, paste(" ".join(q["query"].split()), w)) for q in queries for w in ways]
with tempfile.NamedTemporaryFile("w", suffix=".txt") as f:
    f.write("".join(r[2] + "\n" for r in rows))
    f.flush()
    out = subprocess.run([kbguard, "lookup", "--batch", f.name, "--json", "--limit", "5", "--index", index],
                         capture_output=True, text=True, check=True).stdout.splitlines()
score = collections.defaultdict(lambda: [0, 0, 0])
for (q, way, _), line in zip(rows, out):
    hits = [h["id"] for h in json.loads(line)["hits"]]
    s = score[way]
    s[2] += 1
    s[0] += bool(hits) and hits[0] in q["relevant"]
    s[1] += any(h in q["relevant"] for h in hits[:5])
for way in ways:
    r1, r5, n = score[way]
    print(f"{way:15s} n={n} recall@1={r1 / n:.3f} recall@5={r5 / n:.3f}")
