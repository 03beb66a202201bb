"""How many bits would a spatial context model save on a frozen model's coded latents?

    .venv/bin/python bench/context_headroom.py [--model jlic/assets/default.jlicm] \
        [--train ../shared/data/train/cid22/training] [--train-images 200] [--steps 1500] \
        [--data ../shared/data/kodak,runs/data/skimage_photos] [--rates 2,4,6,8]

The question is whether a checkerboard context model (He et al. 2021) fitted to an already
trained model, with its transforms, gains and hyperprior frozen, is a lever for rate: the decoded
image stays bit-identical (the symbols do not change), only their code lengths would.

    symbols k = round((y - mean) / qv) at the coded elements, sigma = the scale-table entry the
    file codes k with (symbol units); anchors: (i + j) even, coded as today
    non-anchors: k ~ N(delta, (sigma exp(s))^2) discretized, with
        (delta, s) = MLP(concat(masked 5x5 conv of the anchors' k / 4, ln sigma))
                     (conv M -> 192; MLP 192 + M -> 384 -> 384 -> 2M, leaky ReLU; the conv
                     sees anchors only)

The context model is fitted (Adam 3e-4, cosine decay, batches of 16 crops of 16x16 latents) to
the symbols of ``--train-images`` training photos at the rate inputs ``--rates`` (one model for
all of them), then evaluated on whole images of each ``--data`` folder. It prints, per folder and
rate input, the non-anchor symbols' bits under the frozen model and under the context model
(continuous likelihoods; a coder would also round delta onto its tables) and the saving as a
share of all the file's bits (z and y, the integer tables' estimate). SCR models and single-rate
models only (their analysis does not depend on the rate input).
"""

import argparse
import os
import time

import bootstrap  # bench/, the script's own directory

ROOT = bootstrap.start("train")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402
from flax import nnx  # noqa: E402

from jlic import DEFAULT_MODEL, codec  # noqa: E402
from jlic.entropy.gaussian import SCALE_BOUND, scale_table  # noqa: E402
from jlic.evaluate.run import list_images, read_rgb  # noqa: E402
from jlic.frozen import FrozenModel  # noqa: E402

CROP, BATCH, HIDDEN = 16, 16, 192


def coded_symbols(model: FrozenModel, paths: list[str], rates: list) -> list[tuple]:
    """Per image and rate input: (k (h, w, M) float32 symbols, sigma (h, w, M) float32 scale in
    symbol units, mask (h, w, M) float32 coded elements, rate, all bits of the file (estimate));
    images cropped to a multiple of 64 pixels (no padding in the statistics)."""
    table = scale_table().astype(np.float32)
    out = []
    for path in paths:
        image = read_rgb(path)
        h, w = image.shape[0] // 64 * 64, image.shape[1] // 64 * 64
        enc = codec.Encoder(model, image[:h, :w])
        for r in rates:
            lat = enc.latents(r)
            out.append((lat.y_sym[0].astype(np.float32), table[lat.scale_index[0]],
                        lat.mask[0].astype(np.float32), r, lat.estimated_bits))
    return out


def non_anchors(h: int, w: int) -> jax.Array:
    """(1, h, w, 1) float32: 1 where (i + j) is odd (decoded second, with context)."""
    i, j = jnp.meshgrid(jnp.arange(h), jnp.arange(w), indexing="ij")
    return ((i + j) % 2 == 1).astype(jnp.float32)[None, :, :, None]


class CheckerboardContext(nnx.Module):
    """(k, sigma) (B, h, w, M) -> (delta, s) (B, h, w, M) for the non-anchor elements."""

    def __init__(self, channels: int, rngs: nnx.Rngs):
        taps = np.indices((5, 5)).sum(0) % 2 == 1  # the anchors around a non-anchor
        mask = np.broadcast_to(taps[:, :, None, None], (5, 5, channels, HIDDEN))
        self.context = nnx.Conv(channels, HIDDEN, (5, 5), mask=jnp.asarray(mask, jnp.float32),
                                rngs=rngs)
        self.hidden = nnx.List([nnx.Linear(HIDDEN + channels, 384, rngs=rngs),
                                nnx.Linear(384, 384, rngs=rngs)])
        self.out = nnx.Linear(384, 2 * channels, kernel_init=nnx.initializers.zeros, rngs=rngs)

    def __call__(self, k, sigma):
        anchors = k * (1.0 - non_anchors(k.shape[1], k.shape[2]))
        h = jnp.concatenate([self.context(anchors / 4.0), jnp.log(sigma)], -1)
        for layer in self.hidden:
            h = jax.nn.leaky_relu(layer(h))
        delta, s = jnp.split(self.out(h), 2, -1)
        return delta, s


def symbol_bits(k, delta, sigma):
    """Bits of integer symbols k under N(delta, sigma^2) convolved with U(-1/2, 1/2)."""
    sigma = jnp.maximum(sigma, SCALE_BOUND)
    cdf = jax.scipy.stats.norm.cdf
    lik = cdf((k - delta + 0.5) / sigma) - cdf((k - delta - 0.5) / sigma)
    return -jnp.log2(jnp.maximum(lik, 1e-9))


def non_anchor_bits(ctx: CheckerboardContext, k, sigma, mask):
    """(bits with the context, bits of the frozen model) summed over the coded non-anchors."""
    delta, s = ctx(k, sigma)
    sel = mask * non_anchors(k.shape[1], k.shape[2])
    return ((symbol_bits(k, delta, sigma * jnp.exp(s)) * sel).sum(),
            (symbol_bits(k, 0.0, sigma) * sel).sum())


def fit(ctx: CheckerboardContext, data: list[tuple], steps: int, seed: int = 0):
    """Adam on the mean non-anchor bits of random 16x16 crops (even offsets keep the parity;
    smaller crops when a training image's latents are smaller)."""
    opt = nnx.Optimizer(ctx, optax.adam(optax.warmup_cosine_decay_schedule(
        0.0, 3e-4, min(50, steps // 2), steps, 1e-5)), wrt=nnx.Param)

    @nnx.jit
    def step(ctx, opt, k, sigma, mask):
        def loss(ctx):
            new, base = non_anchor_bits(ctx, k, sigma, mask)
            return new / base
        value, grads = nnx.value_and_grad(loss)(ctx)
        opt.update(ctx, grads)
        return value

    crop = min(CROP, min(min(d[0].shape[:2]) for d in data) // 2 * 2)
    rng = np.random.default_rng(seed)
    start = time.time()
    for i in range(steps):
        crops = []
        for _ in range(BATCH):
            arrays = data[rng.integers(len(data))][:3]
            h, w = arrays[0].shape[:2]
            a = 2 * rng.integers((h - crop) // 2 + 1)
            b = 2 * rng.integers((w - crop) // 2 + 1)
            crops.append([x[a:a + crop, b:b + crop] for x in arrays])
        ratio = step(ctx, opt, *(jnp.asarray(np.stack(c)) for c in zip(*crops, strict=True)))
        if i % 250 == 0 or i == steps - 1:
            print(f"step {i}: non-anchor bits {float(ratio):.3f} of the frozen model's "
                  f"({time.time() - start:.0f} s)", flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=DEFAULT_MODEL)
    p.add_argument("--train", default=os.path.join(ROOT, "..", "shared", "data", "train",
                                                   "cid22", "training"))
    p.add_argument("--train-images", type=int, default=200)
    p.add_argument("--steps", type=int, default=1500)
    p.add_argument("--data", default=f"{bootstrap.KODAK},"
                   f"{os.path.join(ROOT, 'runs', 'data', 'skimage_photos')}")
    p.add_argument("--rates", default="2,4,6,8")
    args = p.parse_args()
    model = FrozenModel.load(args.model)
    if model.rate_spec.analysis_depends_on_rate:
        raise SystemExit("an AFB model: its symbols change with the rate input; not measured")
    rates = [None] if model.rate_spec.kind == "none" else \
        [float(r) for r in args.rates.split(",")]
    rng = np.random.default_rng(0)
    train_paths = list_images(args.train)
    train_paths = list(rng.permutation(train_paths)[:args.train_images])
    start = time.time()
    train = coded_symbols(model, train_paths, rates)
    print(f"{model.label}: symbols of {len(train_paths)} training photos at rates {rates} "
          f"({time.time() - start:.0f} s)", flush=True)
    ctx = CheckerboardContext(train[0][0].shape[-1], nnx.Rngs(0))
    fit(ctx, train, args.steps)
    evaluate = nnx.jit(non_anchor_bits)
    print("| images | rate input | non-anchor bits, frozen | with context "
          "| saving, % of all bits |")
    print("|---|---|---|---|---|")
    for folder in filter(os.path.isdir, args.data.split(",")):
        data = coded_symbols(model, list_images(folder), rates)
        for r in rates:
            rows = [d for d in data if d[3] == r]
            sums = np.array([[float(b) for b in evaluate(ctx, *(jnp.asarray(x[None])
                                                                for x in d[:3]))]
                             for d in rows]).sum(0)
            total = sum(d[4] for d in rows)
            print(f"| {os.path.basename(os.path.normpath(folder))} ({len(rows)}) | "
                  f"{'-' if r is None else f'{r:g}'} | {sums[1]:.0f} | {sums[0]:.0f} | "
                  f"{100 * (sums[1] - sums[0]) / total:.2f} |", flush=True)


if __name__ == "__main__":
    main()
