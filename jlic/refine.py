"""Encoder-side latent refinement: more encode time for a smaller file at the same quality.

The analysis transform is amortized: one pass maps any image to latents that are good on
average over the training images, not the best ones for this image (the amortization gap).
Refinement closes part of the gap per image (Campos et al., "Content adaptive optimization for
neural image compression", 2019; Yang et al., NeurIPS 2020): starting from the analysis output
(y, z), ``steps`` Adam steps lower the image's own rate-distortion objective

    J(y, z) = lambda * 255^2 * MSE(x, clip(g_s(y_hat))) + bits(y_sym, z_sym) / (H * W)

in which bits are the model's estimate (-log2 of the likelihoods), the MSE is over the image's
own H x W pixels (the padding is free) and lambda is the training objective's
(``FrozenModel.rd_lambda``: lambda_q of the SCR ladder at the requested quality, or the
single-rate model's lambda). z is quantized on its medians with a straight-through gradient; y's
gradient comes from stochastic Gumbel annealing (SGA, Yang et al. 2020: a relaxed sample of the
lower or upper grid point of round((y - mean) / qv), the nearer one likelier, with the
temperature falling tenfold over the steps from a start that grows with lambda,
``sga_temperature``: 0.5 up to q = 4.5, 1.0 from q = 7), and every iterate is scored
by its exact J, with y and z quantized as the encoder codes them (unselected elements at the
mean). y moves in units of its quantization step (qv); Adam's peak step grows with lambda
(``refine_lr``: 0.0086 at q = 2 of the bundled model, 0.094 at q = 7), and decays to 0 on a
cosine. The iterate of lowest exact J is returned, so the
result never has a higher J than the unrefined latents. The returned y and z sit at the centres
of the bins J was evaluated in (gradient steps leave values on bin edges, where the encoder's
integer means would round some of them elsewhere: file sizes then missed the estimate by up to
2.5%; on four CID22 photos at q = 2, 4.5 and 7 the real J was the same, 0.9307 of the plain
files', either way).

For a file of a given size (``jlic.rate_control``), a rate band [lo, hi] in bits per pixel adds
RATE_PENALTY * (relu(bpp - hi) + relu(lo - bpp)) to J (gradients and the choice of the best
iterate alike), with the model's estimate calibrated to file sizes by the unrefined latents'
own file: the latents then move along the band instead of trading rate for distortion, and
where the unrefined file lies in the band the returned latents do too (the start has no
penalty), at a lower distortion. Within a band the gradient is straight-through (that of the
exact J) at a fixed peak step of BAND_REFINE_LR: SGA's relaxed rate is not the coded one, and
against a band of +-0.5% its iterates never beat the start (measured on kodim04 and kodim12 at
0.25 and 0.5 bpp: +0.00 dB where straight-through at 0.01 gains +0.28 to +0.57 dB; the larger
step of ``refine_lr`` fails the same way). The step is 0.005 since phase P (whose decoder
trained on rounded latents wants smaller steps, as ``refine_lr``'s law does at low rates):
+0.30 dB over the plain file on kodim04, 12 and 19 at 0.25 / 0.5 / 1 bpp, where 0.01 gave +0.23.

Refinement changes only the encoder: the latents are coded as any others and decode bit-exactly
(the symbols are quantized by the exact path as always). The refined file then also carries a
post-filter fitted to its decoded image where that lowers J further (``codec.Encoder``,
``jlic.postfilter``; format 4, read by jlic since that format).
Measured on phase I, the model bundled before phase P (BENCHMARKS.md "Encoder-side
refinement"): the real J of refined over plain files on four CID22 validation photos (512x512,
q = 2, 4.5, 7; ``bench/refine_objective.py``), 20 steps: straight-through gradients at a fixed
step of 0.01 0.931, with the step growing with lambda 0.914, SGA with it 0.904 (0.898 with the
temperature growing with lambda; on 8 photos 0.916 -> 0.910, q = 7 0.859 -> 0.842). An SGA step
costs about 1.5 straight-through ones (the second pass scores the exact J); 27 straight-through
steps (the same time) gave 0.911. On Kodak, 20 steps made phase I's files 12.3% smaller at equal
PSNR (BD-rate; straight-through at 0.01: 10.1%), about 18 s for a 768x512 image on 2 CPU cores
(plain: 0.6 s). On phase P, whose decoder trained on rounded latents, the step that phase I
liked (0.06 * (lambda / 0.3)^0.125) gave J x 0.990 / 0.943 / 0.825 at q = 2 / 4.5 / 7; the
steeper law of ``refine_lr`` gives 0.983 / 0.933 / 0.814 (BENCHMARKS.md "Refinement's step
retuned for phase P"). Refinement at the top is far from converged after 20 steps: on 8
CID22 photos 40 steps give 0.941 / 0.811 / 0.761 at q = 4.5 / 7 / 8 against 0.952 / 0.856 /
0.810, and on Kodak files 3.2% smaller at equal PSNR than 20 steps (22 s for a 768x512 image on
2 cores), so REFINE_STEPS is 40 (BENCHMARKS.md "Forty refinement steps"). Eighty steps at the
top (q >= 7; 57 at q = 6) lower J further (0.777 / 0.726 at q = 7 / 8) but make files only
0.7% smaller at equal PSNR on Kodak and on five other photos, for 2.4 times the encode time
there (53 s against 22 s for a 768x512 image): measured and not adopted (BENCHMARKS.md
"Eighty steps at the top"); ``--refine 80`` is there for whoever wants them."""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from jlic.bitstream import within_image
from jlic.entropy.gaussian import gaussian_likelihood
from jlic.quantize import round_ste

REFINE_STEPS = 40  # the CLI's --refine without a value (phase P, Kodak: -3.2% BD-rate against 20)
REFINE_LR = 0.083  # Adam's peak step at lambda = REFINE_LR_LAMBDA, in quantization steps of y
REFINE_LR_LAMBDA = 0.3  # (and of z, whose step is 1); it scales as lambda^REFINE_LR_POWER
REFINE_LR_POWER = 0.375  # (the bundled model, phase P: 0.0086 at lambda_2 = 0.00072, 0.029 at
# lambda_4.5 = 0.017, 0.094 at lambda_7 = 0.42; chosen on four CID22 photos: its decoder, trained
# on rounded latents, wants smaller steps at low rates than phase I's, which had 0.125; on four
# more photos the larger step at q = 7 did not hold up, BENCHMARKS.md)
SGA_TAU = 0.5  # SGA's first temperature up to lambda = SGA_TAU_LAMBDA (lambda_4.5 of the ladder),
SGA_TAU_LAMBDA = 0.0141  # then growing as lambda^SGA_TAU_POWER to SGA_TAU_MAX (from lambda_7 =
SGA_TAU_POWER = 0.228  # 0.296 on); the last step's is SGA_TAU_DECAY times the first (geometric
SGA_TAU_MAX = 1.0  # in between). Measured on 8 CID22 photos: 0.5 best at q = 2 and 4.5, 1.0 at 7
SGA_TAU_DECAY = 0.1
BAND_REFINE_LR = 0.005  # Adam's peak step within a rate band (straight-through gradients; on
# phase P with 40 steps, 4 CID22 photos at 0.25 / 0.5 / 1 bpp: 0.0025 +0.25 dB, 0.005 +0.35,
# 0.01 +0.25, 0.02 +0.18 over the plain file; BENCHMARKS.md "The rate band's step for phase P")
MAX_REFINE_STEPS = 10_000
RATE_PENALTY = 10.0  # J's slope outside a rate band, per bpp (inside, one bpp costs 1)
REFINE_MEMORY_FACTOR = 3  # refinement's memory over ``codec.coding_bytes`` (gradients of g_s;
# measured 1.8 GB peak for a 1536x1024 image, under the 2.6 GB this allows)


def refine_lr(lmbda):
    """Adam's peak step (in quantization steps of y) for a model trained at ``lmbda``."""
    return REFINE_LR * (lmbda / REFINE_LR_LAMBDA) ** REFINE_LR_POWER


def sga_temperature(lmbda):
    """SGA's temperature at the first step for a model trained at ``lmbda`` (the last step's is
    SGA_TAU_DECAY times it)."""
    return jnp.clip(SGA_TAU * (lmbda / SGA_TAU_LAMBDA) ** SGA_TAU_POWER, SGA_TAU, SGA_TAU_MAX)


def sga_round(v: jax.Array, rng: jax.Array, tau) -> jax.Array:
    """Stochastic Gumbel annealing of round(v) (Yang et al. 2020): floor(v) + w, where w in
    (0, 1) is the upper grid point's weight in a relaxed (Gumbel-softmax, temperature tau)
    sample of floor(v) or ceil(v) with logits -atanh(distance) / tau; differentiable in v, and
    round(v) as tau -> 0."""
    lower = jnp.floor(v)
    distance = jnp.stack([v - lower, lower + 1.0 - v], axis=-1)
    logits = -jnp.arctanh(jnp.clip(distance, 0.0, 1.0 - 1e-5)) / tau
    w = jax.nn.softmax((logits + jax.random.gumbel(rng, logits.shape)) / tau, axis=-1)
    return lower + w[..., 1]


def objective(model, latents, x, height: int, width: int, rate, lmbda, rounding=round_ste):
    """J of ``latents`` = (u = y / qv, z) for image x (1, H', W', 3) in [0, 1] whose first
    ``height`` x ``width`` pixels are the image: -> (J, (bpp, mse)), bpp in bits per image
    pixel, mse on [0, 1]. ``rounding`` maps y's offsets from the means, in quantization steps,
    to the values coded (straight-through rounding: the exact J)."""
    u, z = latents
    eb = model.entropy_bottleneck
    z_hat = eb.quantize(z)
    z_bits = jnp.sum(-jnp.log2(eb.likelihood(z_hat)))
    p = model.coding_params(z_hat, rate)
    mask = jnp.asarray(within_image(u.shape, height, width), jnp.float32)  # not the padding
    if p["mask"] is not None:
        mask = mask * p["mask"]
    v_hat = rounding((u * p["qv"] - p["mean"]) / p["qv"])
    y_bits = jnp.sum(mask * -jnp.log2(gaussian_likelihood(v_hat, p["scale"] / p["qv"])))
    x_hat = jnp.clip(model.synthesis(mask * v_hat * p["iqv"] + p["mean"], rate), 0.0, 1.0)
    mse = jnp.mean(jnp.square(x_hat[:, :height, :width] - x[:, :height, :width]))
    bpp = (z_bits + y_bits) / (height * width)
    return lmbda * 255.0**2 * mse + bpp, (bpp, mse)


@partial(jax.jit, static_argnums=(0, 4, 5, 6))
def _refine(graphdef, state, y, z, height, width, steps, x, rate, lmbda, band):
    """``band``: None, or (lo, hi, unrefined file bpp) as float32 (a new trace either way)."""
    model = nnx.merge(graphdef, state)
    qv = model.coding_params(model.entropy_bottleneck.quantize(z), rate)["qv"]
    banded = band is not None
    peak = BAND_REFINE_LR if banded else refine_lr(lmbda)
    tau0 = sga_temperature(lmbda)
    opt = optax.adam(optax.cosine_decay_schedule(peak, steps))
    lat = (y / qv, z)
    if banded:
        lo, hi, unrefined_file_bpp = band
        # the estimate's bpp per file bpp, from the unrefined latents
        _, (bpp0, _) = objective(model, lat, x, height, width, rate, lmbda)
        k = bpp0 / unrefined_file_bpp

    def penalized(lat, rounding=round_ste):
        j, (bpp, _) = objective(model, lat, x, height, width, rate, lmbda, rounding)
        if not banded:
            return j
        return j + RATE_PENALTY * (jax.nn.relu(bpp - k * hi) + jax.nn.relu(k * lo - bpp))

    def score_and_gradient(lat, i):
        """-> (exact J of lat, the gradient to step along)."""
        if banded:  # straight-through: the gradient of the exact J
            return jax.value_and_grad(penalized)(lat)
        tau = tau0 * SGA_TAU_DECAY ** (i / max(steps - 1, 1))
        rng = jax.random.fold_in(jax.random.key(0), i)  # the same file for the same input
        return penalized(lat), jax.grad(penalized)(lat, lambda v: sga_round(v, rng, tau))

    def body(i, carry):
        lat, opt_state, best, best_j, first_j = carry
        j, g = score_and_gradient(lat, i)
        better = j < best_j
        best = jax.tree.map(lambda a, b: jnp.where(better, a, b), lat, best)
        updates, opt_state = opt.update(g, opt_state, lat)
        return (optax.apply_updates(lat, updates), opt_state, best,
                jnp.minimum(j, best_j), jnp.where(i == 0, j, first_j))

    init = (lat, opt.init(lat), lat, jnp.inf, jnp.inf)
    _, _, (u, z), best_j, first_j = jax.lax.fori_loop(0, steps, body, init)
    # to the centres of the bins J was evaluated in: gradient steps leave values on or near
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
    band = None if bpp_band is None else jnp.asarray(bpp_band, jnp.float32)
    y, z, j0, j1 = _refine(frozen._graphdef, frozen._state, jnp.asarray(y), jnp.asarray(z),
                           height, width, int(steps), jnp.asarray(x), r, jnp.float32(lmbda),
                           band)
    return np.asarray(y), np.asarray(z), float(j0), float(j1)
