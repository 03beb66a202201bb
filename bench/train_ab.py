"""A/B runs for time to quality: what buys Kodak quality per CPU-second on this machine.

    .venv/bin/python bench/train_parity.py --sides jlic      # first: the base curve and the init
    .venv/bin/python bench/train_ab.py [--arms base crop256_batch2 ...]

Every arm is the parity recipe (configs/parity.py at lambda 0.013, seed 0, from the CompressAI
initialisation that bench/train_parity.py saved, the same batches) with one change (ARMS), trained
by train.py with nothing else running, exported, and evaluated on the 24 Kodak images with real
files. Arms that cost more per step get fewer steps, so that each sees about the base's compute
(``steps`` in ARMS). The base arm is that parity run itself. Printed per arm: training wall time
(start-up and compilation included), the median logged steps/s, Kodak bpp and PSNR, and
**dB over the base curve**: the arm's PSNR minus the PSNR of jlic's parity curve (four lambdas,
results/train_parity/jlic_noise.json, interpolated in log-bpp) at the arm's bpp, so arms that
land at different rates compare. Timings count only when nothing else ran beside the arm.

Each arm is a subprocess with its workdir under runs/train_ab/ (resumable; a finished arm's
result is kept). The table goes to --out as CSV.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import bootstrap  # bench/, the script's own directory
from bootstrap import KODAK, ROOT

bootstrap.start("codec")

LMBDA, SEED, STEPS = 0.013, 0, 3156
PARITY_RUN = os.path.join(ROOT, "runs", "train_parity", f"noise_s{STEPS}_l{LMBDA}_seed{SEED}")
BASE_CURVE = os.path.join(ROOT, "results", "train_parity", "jlic_noise.json")

# name -> overrides of configs/parity.py (``steps`` scaled so that each arm gets about the
# base's compute); "init": False trains from jlic's own initialisation (other shapes)
ARMS = {
    "base": {},  # the parity run itself (bench/train_parity.py, trained alone)
    "crop256_batch2": {"data.crop": 256, "data.batch_size": 2},
    "warmup_cosine": {"lr_schedule.warmup_steps": 300, "lr_schedule.decay": "cosine",
                      "lr_schedule.decay_factor": 0.05},
    "batch16_half_steps": {"data.batch_size": 16, "steps": STEPS // 2},
    "png_only": {"data.train_dir": "../shared/data/train/cid22"},
    "wide_N128_M192_third_steps": {"model.N": 128, "model.M": 192, "steps": STEPS // 3,
                                   "init": False},
    "lr_2e-3": {"learning_rate": 2e-3},
    "bfloat16": {"compute_dtype": "bfloat16"},
}


def run_arm(args, name):
    """Trains and evaluates one arm -> its result dict (also saved as result.json)."""
    from jlic.evaluate.run import evaluate_model, list_images
    from jlic.export import export_workdir
    from jlic.files import atomic_write

    overrides = dict(ARMS[name])
    own_init = not overrides.pop("init", True)
    overrides.setdefault("steps", STEPS)
    wd = os.path.join(args.runs, name)
    flags = [f"--config.lmbda={LMBDA}", f"--config.seed={SEED}"]
    flags += [f"--config.{k}={v}" for k, v in overrides.items()]
    if not own_init:
        flags.append(f"--config.init_from={os.path.join(PARITY_RUN, 'init.jlicm')}")
    t0 = time.perf_counter()
    subprocess.run([sys.executable, os.path.join(ROOT, "train.py"), "--config",
                    os.path.join(ROOT, "configs", "parity.py"), "--workdir",
                    os.path.join(wd, "train"), *flags], check=True, cwd=ROOT)
    train_s = time.perf_counter() - t0
    model = export_workdir(os.path.join(wd, "train"), os.path.join(wd, "model.jlicm"))
    records = evaluate_model(model, list_images(KODAK), [None], name, progress=False)
    n = len(records)
    result = {"arm": name, "overrides": ARMS[name], "steps": overrides["steps"],
              "train_s": train_s, "steps_per_s": median_speed(os.path.join(wd, "train")),
              "bpp": sum(r.bpp for r in records) / n, "psnr": sum(r.psnr for r in records) / n}
    atomic_write(os.path.join(wd, "result.json"), json.dumps(result, indent=1).encode())
    return result


def median_speed(train_workdir: str) -> float:
    """The median of a training run's logged steps/s (metrics.jsonl)."""
    with open(os.path.join(train_workdir, "metrics.jsonl")) as f:
        speeds = sorted(m["steps_per_s"] for m in map(json.loads, f) if "steps_per_s" in m)
    return speeds[len(speeds) // 2]


def base_from_parity():
    """The base arm is the parity run at LMBDA, SEED itself (trained alone): its result dict."""
    with open(os.path.join(PARITY_RUN, "jlic.json")) as f:
        run = json.load(f)
    n = len(run["bpp"])
    return {"arm": "base", "overrides": {}, "steps": STEPS, "train_s": run["train_s"],
            "steps_per_s": median_speed(os.path.join(PARITY_RUN, "jlic")),
            "bpp": sum(run["bpp"]) / n, "psnr": sum(run["psnr"]) / n}


def db_over_base(bpp: float, psnr: float, curve: dict) -> float:
    """``psnr`` minus the base curve's PSNR at ``bpp`` (piecewise linear in log bpp; NaN outside
    the curve's rate range)."""
    import numpy as np

    order = np.argsort(curve["bpp"])
    x = np.log(np.asarray(curve["bpp"])[order])
    y = np.asarray(curve["psnr-rgb"])[order]
    if not x[0] <= np.log(bpp) <= x[-1]:
        return float("nan")
    return psnr - float(np.interp(np.log(bpp), x, y))


def main():
    from jlic.files import atomic_write

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--arms", nargs="+", default=list(ARMS), choices=list(ARMS))
    p.add_argument("--runs", default=os.path.join(ROOT, "runs", "train_ab"))
    p.add_argument("--out", default=os.path.join(ROOT, "results", "train_ab", "arms.csv"))
    p.add_argument("--run", choices=list(ARMS), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.run:
        run_arm(args, args.run)
        return
    if not os.path.exists(os.path.join(PARITY_RUN, "jlic.json")):
        sys.exit(f"{PARITY_RUN}/jlic.json is missing: run bench/train_parity.py first")
    results = []
    for name in args.arms:
        path = os.path.join(args.runs, name, "result.json")
        if name == "base":
            results.append(base_from_parity())
            continue
        if not os.path.exists(path):
            print(f"training arm {name} ...", flush=True)
            subprocess.run([sys.executable, os.path.abspath(__file__), "--run", name,
                            "--runs", args.runs], check=True, cwd=ROOT)
        with open(path) as f:
            results.append(json.load(f))
    curve = None
    if os.path.exists(BASE_CURVE):
        with open(BASE_CURVE) as f:
            curve = json.load(f)["results"]
    header = ["arm", "steps", "train_s", "steps_per_s", "bpp", "psnr", "db_over_base"]
    rows = []
    for r in results:
        over = db_over_base(r["bpp"], r["psnr"], curve) if curve else float("nan")
        rows.append([r["arm"], str(r["steps"]), f"{r['train_s']:.0f}",
                     f"{r['steps_per_s']:.2f}", f"{r['bpp']:.4f}", f"{r['psnr']:.3f}",
                     f"{over:+.3f}"])
    print(" ".join(f"{h:>14}" for h in header))
    for row in rows:
        print(" ".join(f"{c:>14}" for c in row))
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    atomic_write(args.out, (",".join(header) + "\n"
                            + "".join(",".join(r) + "\n" for r in rows)).encode())


if __name__ == "__main__":
    main()
