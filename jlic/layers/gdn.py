"""Generalized divisive normalization (Balle et al. 2016), as in CompressAI.

    GDN:   y_i = x_i / sqrt(beta_i + sum_j gamma_ij x_j^2)
    IGDN:  y_i = x_i * sqrt(beta_i + sum_j gamma_ij x_j^2)

beta and gamma are stored reparameterised (``p = sqrt(max(v + pedestal, pedestal))``) and
lower-bounded (beta >= 1e-6, gamma >= 0) with a gradient-preserving bound, so they stay
valid under any optimizer. Arrays are NHWC; gamma[i, j] is CompressAI's gamma[i, j].
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

_PEDESTAL = (2.0**-18) ** 2


@jax.custom_vjp
def lower_bound(x: jax.Array, bound: float) -> jax.Array:
    """max(x, bound), but passes gradients that would push x back above the bound."""
    return jnp.maximum(x, bound)


def _lower_bound_fwd(x, bound):
    return jnp.maximum(x, bound), (x, bound)


def _lower_bound_bwd(res, g):
    x, bound = res
    pass_through = (x >= bound) | (g < 0)
    return (jnp.where(pass_through, g, 0.0).astype(g.dtype), None)


lower_bound.defvjp(_lower_bound_fwd, _lower_bound_bwd)


def _encode_nonneg(v):
    return jnp.sqrt(jnp.maximum(v + _PEDESTAL, _PEDESTAL))


def _decode_nonneg(p, minimum):
    bound = (minimum + _PEDESTAL) ** 0.5
    return lower_bound(p, bound) ** 2 - _PEDESTAL


class GDN(nnx.Module):
    """GDN over the channel axis of (B, H, W, C); ``inverse=True`` gives IGDN."""

    def __init__(self, channels: int, *, inverse: bool = False, beta_min: float = 1e-6,
                 gamma_init: float = 0.1, dtype=jnp.float32):
        self.beta = nnx.Param(_encode_nonneg(jnp.ones((channels,))))
        self.gamma = nnx.Param(_encode_nonneg(gamma_init * jnp.eye(channels)))
        self.beta_min = beta_min
        self.inverse = inverse
        self.dtype = dtype

    def __call__(self, x: jax.Array) -> jax.Array:
        beta = _decode_nonneg(self.beta[...], self.beta_min)
        gamma = _decode_nonneg(self.gamma[...], 0.0)
        x = x.astype(self.dtype)
        norm = jnp.einsum("bhwj,ij->bhwi", x * x, gamma.astype(x.dtype)) + beta.astype(x.dtype)
        return x * jnp.sqrt(norm) if self.inverse else x * jax.lax.rsqrt(norm)
