"""Quantization proxies shared by the models, and the training quantization modes.

In training, rounding is replaced by a differentiable proxy; ``QUANTIZATION_MODES`` names the
three choices (for both latents, y and z)::

    "noise"  rate and decoders see x + U(-1/2, 1/2)            (CompressAI, both papers' code)
    "ste"    rate and decoders see round(x), identity gradient
    "mixed"  rate sees x + U(-1/2, 1/2), decoders see round(x) with identity gradient

At inference every latent is rounded.
"""

import jax
import jax.numpy as jnp

QUANTIZATION_MODES = ("noise", "ste", "mixed")


def check_quantization(mode: str) -> str:
    if mode not in QUANTIZATION_MODES:
        raise ValueError(f"unknown quantization mode {mode!r}; known: "
                         f"{', '.join(QUANTIZATION_MODES)}")
    return mode


def add_uniform_noise(x: jax.Array, rng: jax.Array) -> jax.Array:
    """x + U(-1/2, 1/2): the training proxy for rounding when estimating rates."""
    return x + jax.random.uniform(rng, x.shape, x.dtype, -0.5, 0.5)


def round_ste(x: jax.Array) -> jax.Array:
    """round(x) in the forward pass, identity gradient."""
    return x + jax.lax.stop_gradient(jnp.round(x) - x)


def training_proxies(x: jax.Array, x_hat: jax.Array, rng: jax.Array, mode: str):
    """-> (values for the rate, values for the decoder) of a latent in training.

    ``x_hat`` is x rounded (on the latent's own grid) with a straight-through gradient."""
    if mode == "ste":
        return x_hat, x_hat
    noisy = add_uniform_noise(x, rng)
    return noisy, (noisy if mode == "noise" else x_hat)
