#!/usr/bin/env python3
"""Checks kbguard's sentence embeddings against an independent reference.

Usage: cargo run --release --example embed -- MODEL_DIR < texts.txt > kbguard.jsonl
       python3 bench/embed_reference.py MODEL_DIR < kbguard.jsonl

Needs numpy, tokenizers and safetensors (pip). For each line kbguard embedded, the word pieces
must equal Hugging Face's tokenizer's (from the model's tokenizer.json) and the vector the one a
plain numpy forward pass of the same BERT gives (float64, mean pooling, unit length). Prints
how many texts differ in pieces and the largest difference in any vector component; exits 1 if
any piece differs or a component differs by more than 1e-4.
"""
import json
import sys
from math import erf

import numpy as np
from safetensors.numpy import load_file
from tokenizers import Tokenizer

model_dir = sys.argv[1]
tok = Tokenizer.from_file(model_dir + "/tokenizer.json")
tok.no_padding()
tok.enable_truncation(256)
W = load_file(model_dir + "/model.safetensors")
config = json.load(open(model_dir + "/config.json"))
heads = config["num_attention_heads"]
verf = np.vectorize(erf)


def norm(x, p):
    m = x.mean(-1, keepdims=True)
    v = ((x - m) ** 2).mean(-1, keepdims=True)
    return (x - m) / np.sqrt(v + config["layer_norm_eps"]) * W[p + ".weight"] + W[p + ".bias"]


def linear(x, p):
    return x @ W[p + ".weight"].T + W[p + ".bias"]


def embed(text):
    ids = tok.encode(text).ids
    x = (W["embeddings.word_embeddings.weight"][ids]
         + W["embeddings.position_embeddings.weight"][: len(ids)]
         + W["embeddings.token_type_embeddings.weight"][0])
    x = norm(x.astype(np.float64), "embeddings.LayerNorm")
    d = x.shape[1] // heads
    for i in range(config["num_hidden_layers"]):
        p = f"encoder.layer.{i}"
        q, k, v = (linear(x, f"{p}.attention.self.{n}") for n in ("query", "key", "value"))
        ctx = np.zeros_like(x)
        for h in range(heads):
            c = slice(h * d, (h + 1) * d)
            s = q[:, c] @ k[:, c].T / np.sqrt(d)
            s = np.exp(s - s.max(-1, keepdims=True))
            s /= s.sum(-1, keepdims=True)
            ctx[:, c] = s @ v[:, c]
        a = norm(linear(ctx, f"{p}.attention.output.dense") + x, f"{p}.attention.output.LayerNorm")
        u = linear(a, f"{p}.intermediate.dense")
        u = 0.5 * u * (1 + verf(u / np.sqrt(2)))
        x = norm(linear(u, f"{p}.output.dense") + a, f"{p}.output.LayerNorm")
    m = x.mean(0)
    return ids, m / np.linalg.norm(m)


worst, differ, n = 0.0, 0, 0
for line in sys.stdin:
    row = json.loads(line)
    ids, ref = embed(row["text"])
    n += 1
    if ids != row["pieces"]:
        differ += 1
        print("pieces differ:", repr(row["text"]), ids, row["pieces"])
        continue
    worst = max(worst, float(np.abs(ref - np.array(row["v"])).max()))
print(f"{n} texts; pieces differ on {differ}; largest difference in a component {worst:.2e}")
sys.exit(1 if differ or worst > 1e-4 else 0)
