"""Encoder-side latent refinement: more encode time for a smaller file at the same quality.

The analysis transform is amortized: one pass maps any image to latents that are good on
average over the training images, not the best ones for this image (the amortization gap).
Refinement closes part of the gap per image (Campos et al., "Content adaptive optimization for
neural image compression", 2019; Yang et al., NeurIPS 2020): starting from the analysis output
(y, z), ``steps`` Adam steps lower the image's own rate-distortion objective

    J(y, z) = lambda * 255^2 * MSE(x, clip(g_s(y_hat))) + bits(y_sym, z_sym) / (H * W)

in which y_hat and z_hat are quantized exactly as the encoder codes them (z on its medians; y
on the gain-unit grid, round((y - mean) / qv), unselected elements at the mean) with
straight-through gradients, bits are the model's estimate (-log2 of the likelihoods) and the
MSE is over the image's own H x W pixels (the padding is free). lambda is the training
objective's (``FrozenModel.rd_lambda``: lambda_q of the SCR ladder at the requested quality,
or the single-rate model's lambda). y moves in units of its quantization step (qv), so one
learning rate fits every quality; the rate decays to 0 on a cosine. Every iterate's J is
evaluated and the best is returned, so the result never has a higher J than the unrefined
latents. The returned y and z sit at the centres of the bins J was evaluated in
(straight-through steps leave values on bin edges, where the encoder's integer means would
round some of them elsewhere: file sizes then missed the estimate by up to 2.5%; on four CID22
photos at q = 2, 4.5 and 7 the real J was the same, 0.9307 of the plain files', either way).

For a file of a given size (``jlic.rate_control``), a rate band [lo, hi] in bits per pixel adds
RATE_PENALTY * (relu(bpp - hi) + relu(lo - bpp)) to J (gradients and the choice of the best
iterate alike), with the model's estimate calibrated to file sizes by the unrefined latents'
own file: the latents then move along the band instead of trading rate for distortion, and
where the unrefined file lies in the band the returned latents do too (the start has no
penalty), at a lower distortion.

Only the encoder changes: the file format and the decoder are the same, refined files decode
with any jlic and stay bit-exact (the symbols are quantized by the exact path as always).
Measured on the bundled model (BENCHMARKS.md "Encoder-side refinement"): 20 steps take about
12 s for a 768x512 image on 2 CPU cores (plain encoding: 0.5 s) and make Kodak's files 10.2%
smaller at equal PSNR (BD-rate). The step size (0.005, 0.01, 0.02) and count (20, 40) were
compared on four training photos (CID22, 512x512, q = 2, 4.5, 7) after a first look at three
Kodak images.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from jlic.entropy.gaussian import gaussian_likelihood
from jlic.quantize import round_ste

REFINE_STEPS = 20  # the CLI's --refine without a value
REFINE_LR = 0.01  # Adam's peak step, in quantization steps of y (and of z, whose step is 1)
MAX_REFINE_STEPS = 10_000
RATE_PENALTY = 10.0  # J's slope outside a rate band, per bpp (inside, one bpp costs 1)
REFINE_MEMORY_FACTOR = 3  # refinement's memory over ``codec.coding_bytes`` (gradients of g_s;
# measured 1.8 GB peak for a 1536x1024 image, under the 2.6 GB this allows)


def objective(model, latents, x, height: int, width: int, rate, lmbda):
    """J of ``latents`` = (u = y / qv, z) for image x (1, H', W', 3) in [0, 1] whose first
    ``height`` x ``width`` pixels are the image: -> (J, (bpp, mse)), bpp in bits per image
    pixel, mse on [0, 1]."""
    u, z = latents
    eb = model.entropy_bottleneck
    z_hat = eb.quantize(z)
    z_bits = jnp.sum(-jnp.log2(eb.likelihood(z_hat)))
    p = model.coding_params(z_hat, rate)
    mask = 1.0 if p["mask"] is None else p["mask"]
    v_hat = round_ste((u * p["qv"] - p["mean"]) / p["qv"])
    y_bits = jnp.sum(mask * -jnp.log2(gaussian_likelihood(v_hat, p["scale"] / p["qv"])))
    x_hat = jnp.clip(model.synthesis(mask * v_hat * p["iqv"] + p["mean"], rate), 0.0, 1.0)
    mse = jnp.mean(jnp.square(x_hat[:, :height, :width] - x[:, :height, :width]))
    bpp = (z_bits + y_bits) / (height * width)
    return lmbda * 255.0**2 * mse + bpp, (bpp, mse)


@partial(jax.jit, static_argnums=(0, 4, 5, 6))
def _refine(graphdef, state, y, z, height, width, steps, x, rate, lmbda, band):
    model = nnx.merge(graphdef, state)
    qv = model.coding_params(model.entropy_bottleneck.quantize(z), rate)["qv"]
    opt = optax.adam(optax.cosine_decay_schedule(REFINE_LR, steps))
    lat = (y / qv, z)
    lo, hi, unrefined_file_bpp = band
    # the estimate's bpp per file bpp, from the unrefined latents (1 without a band)
    _, (bpp0, _) = objective(model, lat, x, height, width, rate, lmbda)
    k = jnp.where(jnp.isfinite(unrefined_file_bpp), bpp0 / unrefined_file_bpp, 1.0)

    def penalized(lat):
        j, (bpp, mse) = objective(model, lat, x, height, width, rate, lmbda)
        outside = jax.nn.relu(bpp - k * hi) + jax.nn.relu(k * lo - bpp)
        return j + RATE_PENALTY * outside, (bpp, mse)

    grad = jax.value_and_grad(penalized, has_aux=True)

    def body(i, carry):
        lat, opt_state, best, best_j, first_j = carry
        (j, _), g = grad(lat)
        better = j < best_j
        best = jax.tree.map(lambda a, b: jnp.where(better, a, b), lat, best)
        updates, opt_state = opt.update(g, opt_state, lat)
        return (optax.apply_updates(lat, updates), opt_state, best,
                jnp.minimum(j, best_j), jnp.where(i == 0, j, first_j))

    init = (lat, opt.init(lat), lat, jnp.inf, jnp.inf)
    _, _, (u, z), best_j, first_j = jax.lax.fori_loop(0, steps, body, init)
    # to the centres of the bins J was evaluated in: straight-through steps leave values on
    # bin edges, where the encoder's integer means (``jlic.exact``) would round them elsewhere
    # (qv depends on the rate only; the mean on the refined z)
    z_hat = model.entropy_bottleneck.quantize(z)
    mean = model.coding_params(z_hat, rate)["mean"]
    y = jnp.round((u * qv - mean) / qv) * qv + mean
    return y, z_hat, first_j, best_j


def refine_latents(frozen, x, y, z, height: int, width: int, rate, steps: int,
                   bpp_band: tuple[float, float, float] | None = None):
    """Refines the analysis output of one image.

    Args:
      frozen: the ``FrozenModel``; it must record its training lambda (``rd_lambda``).
      x: the padded image, float32 (1, H', W', 3) in [0, 1]; the image is its first
        ``height`` x ``width`` pixels.
      y, z: the analysis output for x, (1, H'/16, W'/16, M) and (1, H'/64, W'/64, N).
      rate: the rate input (None for single-rate models, the SCR quality).
      steps: Adam steps (>= 1).
      bpp_band: None, or (lo, hi, unrefined): keep the file between lo and hi bits per pixel,
        where ``unrefined`` is the bpp of the unrefined latents' file at this rate (it
        calibrates the model's estimate to file sizes).

    Returns:
      (y, z, J before, J after): refined latents as float32 numpy arrays and the objective
      (lambda * 255^2 * MSE + bpp, plus the band's penalty) of the unrefined and the returned
      latents.
    """
    lmbda = frozen.rd_lambda(rate)
    r = None if rate is None else jnp.asarray(np.float32(rate)).reshape(1)
    band = jnp.asarray((0.0, np.inf, np.inf) if bpp_band is None else bpp_band, jnp.float32)
    y, z, j0, j1 = _refine(frozen._graphdef, frozen._state, jnp.asarray(y), jnp.asarray(z),
                           height, width, int(steps), jnp.asarray(x), r, jnp.float32(lmbda),
                           band)
    return np.asarray(y), np.asarray(z), float(j0), float(j1)
