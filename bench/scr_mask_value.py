"""What SCR's mask buys: a selective model against itself with every element coded, and against
its variant without selective compression.

    .venv/bin/python bench/scr_mask_value.py --model SCR.jlicm [--without-sc WOSC.jlicm] \
        [--data ../shared/data/kodak] [--images 24] [--gamma-scales 1]

For each quality q = 1..8 and each image (cropped from its top-left corner to multiples of 64),
the model's rate for rounded latents, as a file codes them (bpp: -log2 of the likelihoods of z
and of the coded elements of y over the pixels; a file adds its headers and codes with discrete
tables: within 1% of this on Kodak) and
the PSNR (dB, 8-bit RGB) of the decoded image, two ways:

- "masked": the model's mask m_adj > 1/2, what ``jlic compress`` codes;
- "open": the same gain vectors QV_q / IQV_q with every element of y coded.

Prints both curves (means over the images) and BD-rates in PSNR (negative: fewer bits at equal
quality): masked against open is what the mask itself buys over coding everything at another
quality of the same model; with ``--without-sc``, open against that model is what training with
the mask did to the transforms and the entropy model, and masked against it is the paper's
comparison (BENCHMARKS.md "What the mask buys").
"""

import argparse
import contextlib
import functools

import bootstrap  # bench/, the script's own directory

bootstrap.start("codec")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from jlic.evaluate.bdrate import bd_rate  # noqa: E402
from jlic.evaluate.run import list_images, read_rgb  # noqa: E402
from jlic.frozen import FrozenModel  # noqa: E402
from jlic.models.scr import LEVELS  # noqa: E402
from jlic.train.losses import bits  # noqa: E402


@contextlib.contextmanager
def mask_open(model, open_mask=True):
    """Within the block, the model's mask is switched off if ``open_mask``: every element of y
    is coded with the same gains (set outside any jit trace: nnx modules are not mutated
    inside one)."""
    selective = model.selective
    model.selective = selective and not open_mask
    try:
        yield model
    finally:
        model.selective = selective


def rate_and_psnr(model, x, q):
    """(bpp, PSNR in dB) of x (1, H, W, 3) in [0, 1] at quality q: the model's own rounded
    forward, ``model(x, q)``."""
    out = model(x, q)
    x_hat = jnp.round(jnp.clip(out["x_hat"], 0.0, 1.0) * 255.0)
    mse = jnp.mean((x_hat - x * 255.0) ** 2)
    return bits(out["likelihoods"])[0] / (x.shape[1] * x.shape[2]), \
        10.0 * jnp.log10(255.0**2 / mse)


def curve(model, images, open_mask):
    """-> (bpp, PSNR) per quality 1..LEVELS, means over the images."""
    rates, psnrs = [], []
    with mask_open(model, open_mask):
        fn = jax.jit(functools.partial(rate_and_psnr, model))
        for q in range(1, LEVELS + 1):
            r, p = zip(*[fn(x, jnp.full((1,), float(q))) for x in images], strict=True)
            rates.append(float(np.mean(r)))
            psnrs.append(float(np.mean(p)))
    return np.array(rates), np.array(psnrs)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", required=True, help="a selective SCR model file")
    p.add_argument("--without-sc", help="its variant without selective compression")
    p.add_argument("--data", default=bootstrap.KODAK)
    p.add_argument("--images", type=int, default=24, help="the first N images of --data")
    p.add_argument("--gamma-scales", default="1",
                   help="comma-separated factors on gamma for the masked curve (1: as trained)")
    args = p.parse_args()
    scales = [float(s) for s in args.gamma_scales.split(",")]
    if not all(np.isfinite(s) and s > 0 for s in scales):
        p.error(f"--gamma-scales must be positive factors (got {args.gamma_scales})")
    images = []
    for path in list_images(args.data)[: args.images]:
        a = read_rgb(path).astype(np.float32) / 255.0
        h, w = a.shape[0] // 64 * 64, a.shape[1] // 64 * 64
        images.append(jnp.asarray(a[None, :h, :w]))
    model = FrozenModel.load(args.model).model
    if not getattr(model, "selective", False):
        p.error(f"{args.model} has no selective compression (an SCR model with a mask)")
    curves = {"open": curve(model, images, True)}
    log_gamma = model.log_gamma.get_value()
    for s in scales:
        model.log_gamma.set_value(log_gamma + np.log(s))
        curves["masked" if s == 1 else f"masked, gamma x {s:g}"] = curve(model, images, False)
    model.log_gamma.set_value(log_gamma)
    if args.without_sc:
        curves["without SC"] = curve(FrozenModel.load(args.without_sc).model, images, True)
    print(f"{args.model}: {len(images)} images of {args.data}; bpp / PSNR (dB) per quality")
    print("| curve | " + " | ".join(f"q = {q}" for q in range(1, LEVELS + 1)) + " |")
    print("|---|" + "---|" * LEVELS)
    for name, (r, d) in curves.items():
        cells = [f"{a:.3f} / {b:.2f}" for a, b in zip(r, d, strict=True)]
        print(f"| {name} | " + " | ".join(cells) + " |")
    pairs = [(name, "open") for name in curves if name.startswith("masked")]
    if args.without_sc:
        pairs += [("open", "without SC")] + [(name, "without SC") for name, _ in pairs]
    for test, ref in pairs:
        d = bd_rate(*curves[ref], *curves[test])
        shown = f"{d:+.2f}%" if np.isfinite(d) else "n/a (their PSNRs do not overlap)"
        print(f"BD-rate (PSNR) of {test} against {ref}: {shown}")


if __name__ == "__main__":
    main()
