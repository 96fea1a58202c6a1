#!/usr/bin/env python3
"""Writes N generated rules (default 10,000) into DIR, 100 per file, for scale benchmarks.

usage: bench/gen_rules.py DIR [N]

Each rule has an intent on one of 50 invented programs, a product range, a condition over a
declared fact and an environment variable, symptoms, and a test case; all cite Q178311, whose
record ships with kbguard (load with the built-in rules).
"""
import os, sys

out, n = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 10_000
os.makedirs(out, exist_ok=True)
per_file = 100
for f in range(0, n, per_file):
    rules = []
    for i in range(f, min(n, f + per_file)):
        rules.append(f'''        Rule(
            id: "gen.rule-{i:05d}",
            revision: 1,
            kb: [(id: "Q178311", date: "2002-08-06")],
            title: "Generated rule {i}",
            severity: {"block" if i % 3 == 0 else "warn"},
            reviewed: "2026-11-25",
            applies: (products: [(name: "exchange", versions: ">=5.5, <6")], os: [windows]),
            intent: Intent(program: "tool{i % 50}", flags: ["-mode{i % 7}"]),
            when: All([FactEquals("cluster.node", true), EnvUnset("GEN_VAR_{i}")]),
            symptoms: [(message: "Generated failure {i} in module mod{i % 97}", codes: ["GEN{i}"], paraphrase: true)],
            workaround: (text: "Set GEN_VAR_{i} before running tool{i % 50}."),
            tests: [(name: "triggered", command: ["tool{i % 50}", "-mode{i % 7}"], facts: {{"os.family": "windows", "product.exchange.version": "5.5", "cluster.node": true}}, env: {{}}, expect: triggered)],
        ),''')
    with open(os.path.join(out, f"gen-{f // per_file:04d}.ron"), "w") as fh:
        fh.write("RuleFile(\n    schema: 1,\n    rules: [\n" + "\n".join(rules) + "\n    ],\n)\n")
