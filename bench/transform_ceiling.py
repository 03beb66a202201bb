"""Where a model's quality is capped: by quantization, or by its transforms?

    .venv/bin/python bench/transform_ceiling.py [--model jlic/assets/default.jlicm] \
        [--data ../shared/data/kodak] [--images 24] [--rates 1,4,8] [--decoder-steps 200]

For each image and each quality q = 1..8 (SCR), target 0.125 ... 2 bpp (AFB: the rate input B
= 2^-3 ... 2^1) or once (single-rate), the PSNR (dB, 8-bit
RGB) of two reconstructions through the same synthesis transform g_s:

    coded    y_hat = round((y - mean) / qv) * iqv + mean    what the file decodes to
    centroid y_hat = E[u | round(u) = k] * iqv + mean       the same symbols k, each decoded
             at the mean of its quantization bin under the model's own prior N(0, sigma^2) of
             u = (y - mean) / qv (sigma: the scale-table entry the file codes k with), instead
             of at the bin's centre: the decoder-side reconstruction offset, no bits changed
    ceiling  y_hat =       (y - mean) / qv  * iqv + mean    the same latents, no rounding

(unselected elements at the mean in both): the analysis transform's latents decoded as if the
quantizer were infinitely fine. With ``--decoder-steps K``, a third reconstruction:

    reach    y_hat = the ceiling's, then K Adam steps on MSE(x, clip(g_s(y_hat))) alone

which bounds what the synthesis transform can reproduce from some latent (no rate counted), so
ceiling < reach means the analysis transform's latents, not the decoder, cap the quality (the
amortization gap ``--refine`` closes per image). Prints the means over the images per rate
input and the gaps. A small coded-to-ceiling gap at the top qualities means the top is capped by
the transforms (training), not by the entropy model or the gain vectors.
"""

import argparse

import bootstrap  # bench/, the script's own directory

ROOT = bootstrap.start("codec")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402
from flax import nnx  # noqa: E402
from scipy.stats import norm  # noqa: E402

from jlic import DEFAULT_MODEL, codec  # noqa: E402
from jlic.entropy.gaussian import scale_table  # noqa: E402
from jlic.evaluate.metrics import psnr  # noqa: E402
from jlic.evaluate.run import list_images, read_rgb  # noqa: E402
from jlic.frozen import FrozenModel  # noqa: E402


def decoder_reach(model: FrozenModel, image: np.ndarray, y_hat: np.ndarray, rate,
                  steps: int) -> float:
    """PSNR (dB, 8-bit RGB) of g_s after ``steps`` Adam steps on y_hat (1, h, w, M) against the
    image's MSE (the padding excluded); step size 2% of y_hat's standard deviation."""
    h, w = image.shape[:2]
    x = jnp.asarray(image, jnp.float32)[None] / 255.0
    r = None if rate is None else jnp.full((1,), rate, jnp.float32)
    graphdef, state = nnx.split(model.model)

    def mse(u):
        x_hat = nnx.merge(graphdef, state).synthesis(u, r)[:, :h, :w]
        return jnp.mean((jnp.clip(x_hat, 0.0, 1.0) - x) ** 2)

    opt = optax.adam(0.02 * float(np.std(y_hat)))

    @jax.jit
    def step(u, opt_state):
        loss, g = jax.value_and_grad(mse)(u)
        updates, opt_state = opt.update(g, opt_state)
        return optax.apply_updates(u, updates), opt_state, loss

    u = jnp.asarray(y_hat)
    opt_state = opt.init(u)
    for _ in range(steps):
        u, opt_state, _ = step(u, opt_state)
    return psnr(image, model.synthesize(np.asarray(u), rate)[0, :h, :w])


def bin_centroid(k: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """E[u | k - 1/2 < u < k + 1/2] for u ~ N(0, sigma^2): float32 of k's shape (0 at k = 0;
    pulled from k towards 0 by up to 1/2 elsewhere; float64 upper-tail probabilities)."""
    a = (np.abs(k) - 0.5) / sigma
    b = (np.abs(k) + 0.5) / sigma
    mass = norm.sf(a) - norm.sf(b)
    with np.errstate(divide="ignore", invalid="ignore"):
        centre = sigma * (norm.pdf(a) - norm.pdf(b)) / mass
    # where the mass underflows (far in the tail) the bin's mean is its lower edge
    centre = np.clip(np.nan_to_num(centre, nan=0.0, posinf=0.0), np.abs(k) - 0.5, np.abs(k))
    return np.where(k == 0, 0.0, np.sign(k) * centre).astype(np.float32)


def ceiling_and_coded(enc: codec.Encoder, image: np.ndarray, rate,
                      decoder_steps: int = 0) -> tuple[float, ...]:
    """(bpp estimated by the integer tables, PSNR coded, PSNR centroid, PSNR ceiling[, PSNR
    reach]) of one uint8 RGB image (``enc`` its encoder); PSNR in dB of 8-bit RGB."""
    model = enc.model
    lat = enc.latents(rate)
    y, _ = enc.analysis(lat.rate)
    p = model.coding_params_from_symbols(lat.z_sym, lat.rate)
    y_cont = np.where(p["mask"], (y - p["mean"]) / p["qv"] * p["iqv"] + p["mean"], p["mean"])
    h, w = image.shape[:2]
    u_centroid = bin_centroid(lat.y_sym, scale_table()[lat.scale_index])
    y_centroid = np.where(p["mask"], u_centroid * p["iqv"] + p["mean"], p["mean"])
    coded = model.synthesize(lat.y_hat, lat.rate)[0, :h, :w]
    centroid = model.synthesize(y_centroid.astype(np.float32), lat.rate)[0, :h, :w]
    ceiling = model.synthesize(y_cont.astype(np.float32), lat.rate)[0, :h, :w]
    out = (lat.estimated_bits / (h * w), psnr(image, coded), psnr(image, centroid),
           psnr(image, ceiling))
    if decoder_steps:
        out += (decoder_reach(model, image, y_cont.astype(np.float32), lat.rate, decoder_steps),)
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=DEFAULT_MODEL)
    p.add_argument("--data", default=bootstrap.KODAK)
    p.add_argument("--images", type=int, default=24)
    p.add_argument("--rates", default="",
                   help="comma-separated rate inputs (default: as above)")
    p.add_argument("--decoder-steps", type=int, default=0,
                   help="Adam steps of the 'reach' column (0: none; ~1 s each for 768x512)")
    args = p.parse_args()
    model = FrozenModel.load(args.model)
    paths = list_images(args.data)[:args.images]
    rates = {"none": [None], "quality": [float(q) for q in range(1, 9)],
             "bpp": [2.0**k for k in range(-3, 2)]}[model.rate_spec.kind]
    if args.rates:
        rates = [float(r) for r in args.rates.split(",")]
    rows = {r: [] for r in rates}
    for path in paths:
        image = read_rgb(path)
        enc = codec.Encoder(model, image)
        for r in rates:
            rows[r].append(ceiling_and_coded(enc, image, r, args.decoder_steps))
    reach = args.decoder_steps > 0
    print(f"{model.label}, {len(paths)} images of {args.data}")
    print("| rate input | bpp (estimate) | coded (dB) | centroid - coded (dB) | ceiling (dB) "
          "| ceiling - coded (dB) |"
          + (f" reach, {args.decoder_steps} steps (dB) | reach - ceiling (dB) |" if reach else ""))
    print("|---|---|---|---|---|---|" + ("---|---|" if reach else ""))
    for r in rates:
        bpp, coded, centroid, ceiling, *more = np.mean(rows[r], axis=0)
        line = (f"| {'-' if r is None else f'{r:g}'} | {bpp:.3f} | {coded:.2f} "
                f"| {centroid - coded:+.2f} | {ceiling:.2f} | {ceiling - coded:+.2f} |")
        if reach:
            line += f" {more[0]:.2f} | {more[0] - ceiling:+.2f} |"
        print(line)


if __name__ == "__main__":
    main()
