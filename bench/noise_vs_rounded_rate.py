"""How far the noisy rate estimate of training lies from what rounding codes.

    .venv/bin/python bench/noise_vs_rounded_rate.py [--model jlic/assets/default.jlicm] \
        [--data ../shared/data/kodak] [--images 8] [--rates 2,4,6,8] [--seeds 1]

For each image (cropped from its top-left corner to multiples of the model's downsampling, 64) and
each rate input (SCR quality, or AFB target in bpp), the model's estimated rate in bpp (-log2 of the
likelihoods of y and z over the pixels) two ways: with training's additive uniform noise
(``quantization = "noise"``, mean over ``--seeds`` draws) and rounded, as a file codes the latents
(inference; the file adds its headers and the coder's < 1%). Prints the means over the images and
their ratio. A loss that lands the noisy rate on a target writes files below it where the ratio is
above 1 (BENCHMARKS.md "The rate term on the rounded latents").
"""

import argparse

import bootstrap  # bench/, the script's own directory

ROOT = bootstrap.start("codec")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from jlic import DEFAULT_MODEL  # noqa: E402
from jlic.evaluate.run import list_images, read_rgb  # noqa: E402
from jlic.frozen import FrozenModel  # noqa: E402
from jlic.train.losses import bits  # noqa: E402


def estimated_bpp(model, x, rate, quantization=None, seed=0) -> float:
    """bpp of the model's likelihoods for x (1, H, W, 3) in [0, 1]; rounded if quantization is
    None, else training's proxy of that name."""
    r = None if rate is None else jnp.full((1,), rate, jnp.float32)
    if quantization is None:
        out = model(x, r)
    else:
        out = model(x, r, rng=jax.random.key(seed), training=True, quantization=quantization)
    return float(bits(out["likelihoods"])[0]) / (x.shape[1] * x.shape[2])


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", default=DEFAULT_MODEL)
    p.add_argument("--data", default=bootstrap.KODAK)
    p.add_argument("--images", type=int, default=8, help="the first N images of --data")
    p.add_argument("--rates", default="2,4,6,8",
                   help="comma-separated rate inputs (SCR qualities or AFB targets in bpp)")
    p.add_argument("--seeds", type=int, default=1, help="noise draws per image and rate")
    args = p.parse_args()
    model = FrozenModel.load(args.model).model
    rates = [None] if model.rate_spec.kind == "none" else [float(r) for r in args.rates.split(",")]
    images, d = [], model.downsampling
    for path in list_images(args.data)[: args.images]:
        a = read_rgb(path).astype(np.float32) / 255.0
        h, w = a.shape[0] // d * d, a.shape[1] // d * d
        images.append(jnp.asarray(a[None, :h, :w]))
    print(f"{args.model}: {len(images)} images of {args.data}")
    print("| rate input | noise (bpp) | rounded (bpp) | noise / rounded |")
    print("|---|---|---|---|")
    for rate in rates:
        noisy = np.mean([estimated_bpp(model, x, rate, "noise", s)
                         for x in images for s in range(args.seeds)])
        rounded = np.mean([estimated_bpp(model, x, rate) for x in images])
        print(f"| {rate} | {noisy:.4f} | {rounded:.4f} | {noisy / rounded:.3f} |", flush=True)


if __name__ == "__main__":
    main()
