"""What ``jlic.cpu_flags.configure("codec")`` buys code that uses jlic from Python.

    .venv/bin/python bench/cpu_flags_effect.py [--runs 3]

Codes kodim23 (768x512) at quality 4 with the bundled model through ``jlic.codec`` in fresh
processes, alternating two setups: "configured" calls ``cpu_flags.configure("codec")`` before
numpy and JAX load (as the README's "From Python" block does, and the ``jlic`` command), "plain"
imports numpy first and sets nothing (XLA's default fusions, OpenBLAS's spinning threads). Each
process prints the medians of 9 encodes and 9 decodes after a warm-up; the script prints every
run and the median ratio plain / configured (above 1: the flags help). XLA_FLAGS and
OPENBLAS_THREAD_TIMEOUT are removed from the children's environment.
"""

import argparse
import json
import os
import subprocess
import sys

import bootstrap  # bench/, the script's own directory; no start(): the children set the flags
import numpy as np

CHILD = """
import json, sys, time
if sys.argv[1] == "configured":
    from jlic import cpu_flags
    cpu_flags.configure("codec")
import numpy as np
from PIL import Image
from jlic import DEFAULT_MODEL, codec
from jlic.frozen import FrozenModel
model = FrozenModel.load(DEFAULT_MODEL)
image = np.asarray(Image.open(sys.argv[2]).convert("RGB"))
data = codec.compress(model, image, rate=4.0)
codec.decompress(model, data)
enc, dec = [], []
for _ in range(9):
    t = time.perf_counter()
    codec.compress(model, image, rate=4.0)
    enc.append(time.perf_counter() - t)
    t = time.perf_counter()
    codec.decompress(model, data)
    dec.append(time.perf_counter() - t)
print(json.dumps({"encode_s": float(np.median(enc)), "decode_s": float(np.median(dec))}))
"""


def run(mode: str) -> dict:
    env = {k: v for k, v in os.environ.items()
           if k not in ("XLA_FLAGS", "OPENBLAS_THREAD_TIMEOUT")}
    env["PYTHONPATH"] = bootstrap.ROOT
    image = os.path.join(bootstrap.KODAK, "kodim23.png")
    out = subprocess.run([sys.executable, "-c", CHILD, mode, image], env=env, cwd=bootstrap.ROOT,
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=int, default=3, help="processes per setup, alternating")
    args = p.parse_args()
    results = {"plain": [], "configured": []}
    for i in range(args.runs):
        for mode in ("plain", "configured"):
            r = run(mode)
            results[mode].append(r)
            print(f"run {i + 1} {mode:10s} encode {r['encode_s']:.3f} s  "
                  f"decode {r['decode_s']:.3f} s", flush=True)
    for key in ("encode_s", "decode_s"):
        plain = np.median([r[key] for r in results["plain"]])
        configured = np.median([r[key] for r in results["configured"]])
        print(f"{key[:-2]}: plain {plain:.3f} s, configured {configured:.3f} s, "
              f"ratio plain / configured {plain / configured:.2f}")


if __name__ == "__main__":
    main()
