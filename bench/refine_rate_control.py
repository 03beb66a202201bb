"""Rate control with encoder-side refinement: does ``--bpp --refine`` land, and what does it buy?

    .venv/bin/python bench/refine_rate_control.py [--model jlic/assets/default.jlicm] \
        [--data DIR] [--images kodim04,kodim12,kodim19 | N] [--targets 0.25,0.5,1.0] \
        [--steps 40]

For every image of ``--data`` (Kodak by default; ``--images``: file stems, or a count N: the
first N files by name) and target: ``compress_to_bpp`` plain and with ``--steps`` of refinement
(by default as ``jlic compress --refine``); prints both sizes, whether the refined search
landed with a refined file (else it returned the unrefined one), its probes and the PSNR gain
of the refined file over the plain one (real files, decoded). Last line: how many landed within
1%, how many were refined, the mean gain and the mean seconds of a search with refinement.
"""

import argparse
import os
import time

import bootstrap  # bench/, the script's own directory

ROOT = bootstrap.start("codec")

import numpy as np  # noqa: E402

from jlic import DEFAULT_MODEL, codec  # noqa: E402
from jlic.evaluate.metrics import psnr  # noqa: E402
from jlic.evaluate.run import read_rgb  # noqa: E402
from jlic.frozen import FrozenModel  # noqa: E402
from jlic.rate_control import TOLERANCE, compress_to_bpp  # noqa: E402
from jlic.refine import REFINE_STEPS  # noqa: E402


def _image_paths(data: str, images: str) -> list[str]:
    """``images``: a count (the first N files of ``data`` by name) or comma-separated stems."""
    if images.isdigit():
        return [os.path.join(data, f) for f in sorted(os.listdir(data))[:int(images)]]
    by_stem = {os.path.splitext(f)[0]: f for f in os.listdir(data)}
    return [os.path.join(data, by_stem[stem]) for stem in images.split(",")]


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=DEFAULT_MODEL)
    p.add_argument("--data", default=bootstrap.KODAK)
    p.add_argument("--images", default="kodim04,kodim12,kodim19")
    p.add_argument("--targets", default="0.25,0.5,1.0")
    p.add_argument("--steps", type=int, default=REFINE_STEPS,
                   help="Adam steps (default: jlic compress --refine's)")
    args = p.parse_args()
    model = FrozenModel.load(args.model)
    n = landed = refined = 0
    gains, seconds = [], []
    for path in _image_paths(args.data, args.images):
        name = os.path.splitext(os.path.basename(path))[0]
        image = read_rgb(path)
        for target in map(float, args.targets.split(",")):
            plain = compress_to_bpp(model, image, target)
            t0 = time.perf_counter()
            search = compress_to_bpp(model, image, target, refine_steps=args.steps)
            seconds.append(time.perf_counter() - t0)
            n += 1
            landed += abs(search.bpp - target) <= TOLERANCE * target
            refined += search.refined
            gains.append(psnr(image, codec.decompress(model, search.data))
                         - psnr(image, codec.decompress(model, plain.data)))
            print(f"{name} {target:g} bpp: plain {plain.bpp:.4f}, with refinement "
                  f"{search.bpp:.4f} ({'refined' if search.refined else 'unrefined'}, "
                  f"{search.probes} probes), {gains[-1]:+.2f} dB", flush=True)
    print(f"{landed}/{n} within 1%, {refined}/{n} refined, mean gain {np.mean(gains):+.2f} dB; "
          f"{args.steps} steps, {np.mean(seconds):.1f} s per search with refinement (the first "
          "compiles)")


if __name__ == "__main__":
    main()
