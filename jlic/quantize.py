"""Quantization proxies shared by the models."""

import jax
import jax.numpy as jnp


def add_uniform_noise(x: jax.Array, rng: jax.Array) -> jax.Array:
    """x + U(-1/2, 1/2): the training proxy for rounding when estimating rates."""
    return x + jax.random.uniform(rng, x.shape, x.dtype, -0.5, 0.5)


def round_ste(x: jax.Array) -> jax.Array:
    """round(x) in the forward pass, identity gradient."""
    return x + jax.lax.stop_gradient(jnp.round(x) - x)
