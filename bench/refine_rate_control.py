"""Rate control with encoder-side refinement: does ``--bpp --refine`` land, and what does it buy?

    .venv/bin/python bench/refine_rate_control.py [--model jlic/assets/default.jlicm] \
        [--images kodim04,kodim12,kodim19] [--targets 0.25,0.5,1.0] [--steps 20]

For every Kodak image and target: ``compress_to_bpp`` plain and with ``refine_steps``; prints
both sizes, whether the refined search landed with a refined file (else it returned the
unrefined one), its probes and the PSNR gain of the refined file over the plain one (real
files, decoded). Last line: how many landed within 1%, how many were refined, the mean gain.
"""

import argparse
import os

import bootstrap  # bench/, the script's own directory

ROOT = bootstrap.start("codec")

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from jlic import DEFAULT_MODEL, codec  # noqa: E402
from jlic.evaluate.metrics import psnr  # noqa: E402
from jlic.frozen import FrozenModel  # noqa: E402
from jlic.rate_control import TOLERANCE, compress_to_bpp  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=DEFAULT_MODEL)
    p.add_argument("--images", default="kodim04,kodim12,kodim19")
    p.add_argument("--targets", default="0.25,0.5,1.0")
    p.add_argument("--steps", type=int, default=20)
    args = p.parse_args()
    model = FrozenModel.load(args.model)
    n = landed = refined = 0
    gains = []
    for name in args.images.split(","):
        image = np.asarray(Image.open(os.path.join(bootstrap.KODAK, f"{name}.png"))
                           .convert("RGB"))
        for target in map(float, args.targets.split(",")):
            plain = compress_to_bpp(model, image, target)
            search = compress_to_bpp(model, image, target, refine_steps=args.steps)
            n += 1
            landed += abs(search.bpp - target) <= TOLERANCE * target
            refined += search.refined
            gains.append(psnr(image, codec.decompress(model, search.data))
                         - psnr(image, codec.decompress(model, plain.data)))
            print(f"{name} {target:g} bpp: plain {plain.bpp:.4f}, with refinement "
                  f"{search.bpp:.4f} ({'refined' if search.refined else 'unrefined'}, "
                  f"{search.probes} probes), {gains[-1]:+.2f} dB", flush=True)
    print(f"{landed}/{n} within 1%, {refined}/{n} refined, mean gain {np.mean(gains):+.2f} dB")


if __name__ == "__main__":
    main()
