"""What encoder-side refinement buys in the objective it lowers, on photos outside Kodak.

    .venv/bin/python bench/refine_objective.py [--model jlic/assets/default.jlicm] \
        [--images 4] [--qualities 2,4.5,7] [--steps 40]

For the first ``--images`` CID22 validation photos (512x512) and each quality: a plain and a
refined file (``codec.compress``), decoded; the real J = lambda_q * MSE (0..255) + bpp of each.
Prints the ratio refined / plain per image and quality, the mean per quality and over all, and
the seconds per refined encode (the plain encode subtracted). This is how ``jlic/refine.py``'s
step size, gradient and step count were chosen (lower is better; 1 means no gain).
"""

import argparse
import os
import time

import bootstrap  # bench/, the script's own directory

ROOT = bootstrap.start("codec")

import numpy as np  # noqa: E402

from jlic import DEFAULT_MODEL, codec  # noqa: E402
from jlic.evaluate.run import read_rgb  # noqa: E402
from jlic.frozen import FrozenModel  # noqa: E402
from jlic.refine import REFINE_STEPS  # noqa: E402

PHOTOS = os.path.join(ROOT, "..", "shared", "data", "train", "cid22", "validation")


def _per_quality(qualities, values):
    return " ".join(f"q={q:g}: {v:.4f}" for q, v in zip(qualities, values, strict=True))


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=DEFAULT_MODEL)
    p.add_argument("--images", type=int, default=4)
    p.add_argument("--qualities", default="2,4.5,7")
    p.add_argument("--steps", type=int, default=REFINE_STEPS,
                   help="Adam steps (default: jlic compress --refine's)")
    args = p.parse_args()
    model = FrozenModel.load(args.model)
    qualities = [float(q) for q in args.qualities.split(",")]
    ratios, seconds = [], []
    for name in sorted(os.listdir(PHOTOS))[:args.images]:
        image = read_rgb(os.path.join(PHOTOS, name))
        row = []
        for q in qualities:
            codec.compress(model, image, q, refine_steps=args.steps)  # compile
            t0 = time.perf_counter()
            plain = codec.compress(model, image, q)
            t1 = time.perf_counter()
            refined = codec.compress(model, image, q, refine_steps=args.steps)
            t2 = time.perf_counter()
            seconds.append((t2 - t1) - (t1 - t0))
            row.append(codec.rd_objective(model, image, refined, q)
                       / codec.rd_objective(model, image, plain, q))
        ratios.append(row)
        print(name, _per_quality(qualities, row), flush=True)
    r = np.array(ratios)
    print("mean per quality:", _per_quality(qualities, r.mean(0)))
    print(f"refined / plain J, mean of {r.size}: {r.mean():.4f}; {args.steps} steps, "
          f"{np.mean(seconds):.2f} s per refinement")


if __name__ == "__main__":
    main()
