"""Training losses. Images are in [0, 1]; rates in bits per pixel (bpp); MSE on [0, 1].

Every loss has the signature ``loss_fn(model, x, rng) -> metrics`` with a scalar
``metrics["loss"]``; ``make_loss(config)`` picks one from ``config.loss``:

    "rd"   lmbda * 255^2 * MSE + bpp                  (single-rate models; CompressAI's form)
    "scr"  sum over levels q of lambda_q * 255^2 * MSE_q + bpp_y,q + bpp_z,
           lambda_q geometric from lambda_min (q = 1) to lambda_max (q = L)
           (SCR's ladder: 0.2 * 2^-(8 - q); vmapped over the levels)
    "afb"  w * mean_i (R_i - B_i)^2 + lmbda * 255^2 * MSE, R and B in bits per latent feature
           (AFB; per-image targets B_i: a staircase over the batch plus uniform noise); with
           entropy_model_fit="rate" the entropy model trains on bpp + lmbda * 255^2 * MSE instead;
           with lambda_curve, bpp_i + lambda(B_i) * 255^2 * MSE_i + w (R_i - B_i)^2;
           with rate_error="log", w * mean_i ln(R_i / B_i)^2 in place of the squared difference
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jlic.models.afb import bpp_to_bpf
from jlic.rate import SCR_LEVELS, scr_lambdas


def bits(likelihoods) -> jnp.ndarray:
    """Total bits of a pytree of likelihood arrays, per image: (B,)."""
    return sum(jnp.sum(-jnp.log2(l), axis=tuple(range(1, l.ndim)))
               for l in jax.tree.leaves(likelihoods))


def psnr_from_mse(mse):
    """PSNR in dB of an MSE on [0, 1] images (peak 1)."""
    return -10.0 * jnp.log10(jnp.maximum(mse, 1e-10))


def _mse(a, b, axis=None):
    return jnp.mean(jnp.square(a.astype(jnp.float32) - b.astype(jnp.float32)), axis=axis)


def rate_distortion_loss(lmbda: float, quantization: str = "noise"):
    def loss_fn(model, x, rng):
        out = model(x, rng=rng, training=True, quantization=quantization)
        num_pixels = x.shape[0] * x.shape[1] * x.shape[2]
        bpp = jnp.sum(bits(out["likelihoods"])) / num_pixels
        mse = _mse(out["x_hat"], x)
        return {"loss": lmbda * 255.0**2 * mse + bpp, "bpp": bpp, "mse": mse,
                "psnr": psnr_from_mse(mse)}

    return loss_fn


def scr_multilevel_loss(lambda_max: float = 0.2, levels: int = SCR_LEVELS,
                        levels_per_step: int = 0,
                        quantization: str = "noise", lambda_min: float | None = None):
    """The SCR loss over quality levels 1..L, lambda_q from ``scr_lambdas`` (lambda_min None:
    SCR's ladder). With ``levels_per_step = k`` (0 < k < L), each step uses k levels drawn
    uniformly without replacement (an unbiased estimate of the full sum up to the factor k / L,
    which the loss corrects); 0 uses all L, the paper's setting."""
    k = levels if levels_per_step in (0, levels) else levels_per_step
    if lambda_min is None:
        lambda_min = lambda_max * 2.0 ** -(levels - 1)

    def loss_fn(model, x, rng):
        rng_z, rng_levels, rng_pick = jax.random.split(rng, 3)
        num_pixels = x.shape[0] * x.shape[1] * x.shape[2]
        y, z_hat, z_lik = model.forward_hyper(x, rng=rng_z, training=True,
                                              quantization=quantization)
        bpp_z = jnp.sum(bits(z_lik)) / num_pixels
        qs = jnp.arange(1, levels + 1, dtype=jnp.float32)
        if k < levels:
            qs = jax.random.choice(rng_pick, qs, (k,), replace=False)

        def at_level(q, rng_q):
            rate = jnp.full((x.shape[0],), q)
            x_hat, y_lik = model.forward_y(y, z_hat, rate, rng=rng_q, training=True,
                                           quantization=quantization)
            return _mse(x_hat, x), jnp.sum(bits(y_lik)) / num_pixels

        mse, bpp_y = jax.vmap(at_level)(qs, jax.random.split(rng_levels, k))
        lambdas = scr_lambdas(qs, lambda_min, lambda_max, levels)
        per_level = lambdas * 255.0**2 * mse + bpp_y + bpp_z
        loss = jnp.sum(per_level) * (levels / k)
        return {"loss": loss, "bpp": jnp.mean(bpp_y) + bpp_z, "mse": jnp.mean(mse),
                "psnr": jnp.mean(psnr_from_mse(mse)), "bpp_z": bpp_z}

    return loss_fn


def afb_target_step(n: int, rate_range) -> float:
    """The step d (bpp) of ``afb_targets``' staircase over a batch of n images."""
    lo, hi = rate_range
    return (hi - lo) / max(n - 1, 1)


def afb_targets(rng: jax.Array, n: int, rate_range, clip: bool = True) -> jax.Array:
    """AFB's per-image training targets (n,), bpp: the staircase lo, lo + d, ..., hi
    (d = ``afb_target_step``) plus U(-d/2, d/2); the paper does not clip (targets reach d/2
    past both ends), jlic's default clips them to ``rate_range``."""
    lo, hi = rate_range
    d = afb_target_step(n, rate_range)
    targets = lo + d * jnp.arange(n) + jax.random.uniform(rng, (n,), minval=-d / 2,
                                                          maxval=d / 2)
    return jnp.clip(targets, lo, hi) if clip else targets


ENTROPY_MODEL_FITS = ("afb_loss", "rate")
RATE_ERRORS = ("bpf_squared", "log")


def lambda_for_targets(targets: jax.Array, curve) -> jax.Array:
    """lambda (MSE on 0..255) per target (bpp): log-log interpolation of ``curve``, pairs
    (bpp, lambda) with increasing bpp (a base model's own rate at its lambdas); held constant
    past both ends."""
    bpp, lam = (jnp.log(jnp.asarray(v, jnp.float32)) for v in zip(*curve, strict=True))
    return jnp.exp(jnp.interp(jnp.log(targets), bpp, lam))


def afb_rate_loss(lmbda: float, rate_weight: float, rate_range, M: int,
                  quantization: str = "noise", clip_targets: bool = True,
                  entropy_model_fit: str = "afb_loss", lambda_curve=(),
                  rate_error: str = "bpf_squared"):
    """The AFB loss (rate_weight * (BPF - target BPF)^2 + lmbda * 255^2 * MSE) with per-image
    targets from ``afb_targets`` (the paper's 0.2 ... 1.775 BPF for c = 192 is 0.15 ... 1.33
    bpp).

    entropy_model_fit: "afb_loss" (the paper) trains every parameter on that loss. There a
    target above the coded rate pulls the entropy model (h_a, h_s, their AFBs, the factorized
    prior) towards *worse* predictions: mis-predicting y's distribution raises the estimated
    rate without changing y, so the rate lands and the quality does not follow. "rate" keeps the
    entropy model a model of y: it trains on bpp + lmbda * 255^2 * MSE (the ordinary
    rate-distortion loss, which it minimizes by predicting y well) and only the transforms g_a,
    g_s and their AFBs see the rate-aware loss, so the rate can move only by changing y
    (``jlic.train.step`` routes the two gradients).

    lambda_curve: () is the paper's loss (one ``lmbda`` for every target). Pairs (bpp, lambda)
    make the loss jlic's target-matched form: per image i with target B_i,

        bpp_i + lambda(B_i) * 255^2 * MSE_i + rate_weight * (BPF_i - BPF(B_i))^2

    with lambda(B) interpolated on a base model's own curve (``lambda_for_targets``): a model on
    that curve minimizes the first two terms at R = B, where the third is zero, so the rate term
    corrects the landing instead of fighting the distortion term (with one lambda, a target
    far from lambda's own rate is reached by trading quality away). The entropy model, with
    "rate", trains on the first two terms.

    rate_error: "bpf_squared" (the paper) is (BPF_i - BPF(B_i))^2; "log" (not the paper's) is
    ln(R_i / B_i)^2, the same for bpp and BPF. The distortion term pulls the rate up with a
    slope dD/dR that grows steeply as the rate falls, so a squared difference with one weight
    settles a fixed pull's worth above low targets (w = 10, lmbda = 0.013: ~0.2 bpp at 0.1 bpp)
    while it lands high ones; the log error's slope 2 w ln(R/B) / R grows as 1/B^2 for a given
    miss, so one weight lands both ends (w = 18 matches the paper's form with w = 10 and
    M = 192 at 1 bpp).
    """
    if entropy_model_fit not in ENTROPY_MODEL_FITS:
        raise ValueError(f"afb.entropy_model_fit must be one of {ENTROPY_MODEL_FITS}, "
                         f"not {entropy_model_fit!r}")
    if rate_error not in RATE_ERRORS:
        raise ValueError(f"afb.rate_error must be one of {RATE_ERRORS}, not {rate_error!r}")

    def loss_fn(model, x, rng):
        rng_t, rng_m = jax.random.split(rng)
        targets = afb_targets(rng_t, x.shape[0], rate_range, clip_targets)
        out = model(x, targets, rng=rng_m, training=True, quantization=quantization)
        bpp_i = bits(out["likelihoods"]) / (x.shape[1] * x.shape[2])
        if rate_error == "log":
            rate_err = jnp.mean(jnp.square(jnp.log(bpp_i / targets)))
        else:
            rate_err = jnp.mean(jnp.square(bpp_to_bpf(bpp_i, M) - bpp_to_bpf(targets, M)))
        mse_i = _mse(out["x_hat"], x, axis=(1, 2, 3))
        mse = jnp.mean(mse_i)
        if lambda_curve:
            rd = jnp.mean(bpp_i + lambda_for_targets(targets, lambda_curve) * 255.0**2 * mse_i)
            loss = rd + rate_weight * rate_err
        else:
            rd = jnp.mean(bpp_i) + lmbda * 255.0**2 * mse
            loss = rate_weight * rate_err + lmbda * 255.0**2 * mse
        metrics = {"loss": loss, "bpp": jnp.mean(bpp_i), "mse": mse, "psnr": psnr_from_mse(mse),
                   "rate_mae_bpp": jnp.mean(jnp.abs(bpp_i - targets))}
        if entropy_model_fit == "rate":
            metrics["entropy_model_loss"] = rd
        return metrics

    return loss_fn


def make_loss(config):
    kind = config.loss
    quantization = config.quantization
    if kind == "rd":
        return rate_distortion_loss(config.lmbda, quantization)
    if kind == "scr":
        return scr_multilevel_loss(config.scr.lambda_max, SCR_LEVELS, config.scr.levels_per_step,
                                   quantization, config.scr.lambda_min)
    if kind == "afb":
        return afb_rate_loss(config.afb.lmbda, config.afb.rate_weight,
                             tuple(config.model.rate_range), config.model.M, quantization,
                             config.afb.clip_targets, config.afb.entropy_model_fit,
                             tuple(tuple(p) for p in config.afb.lambda_curve),
                             config.afb.rate_error)
    raise ValueError(f"unknown loss {kind!r}; known: rd, scr, afb")
