"""A residual block in the style of the AFB paper's base (not its exact RCB, which ends with a
PReLU after the skip)::

    x -> conv3x3 -> GDN -> PReLU -> conv3x3 -> GDN -> PReLU -> + x

Shapes are preserved: (B, H, W, C) -> (B, H, W, C). PReLU slopes are per channel, initialised
at 0.25 (PyTorch's default).
"""

from __future__ import annotations

import jax.numpy as jnp
from flax import nnx

from jlic.layers.conv import Conv
from jlic.layers.gdn import GDN


class PReLU(nnx.Module):
    def __init__(self, channels: int):
        self.alpha = nnx.Param(jnp.full((channels,), 0.25, jnp.float32))

    def __call__(self, x):
        return jnp.where(x >= 0, x, self.alpha[...].astype(x.dtype) * x)


class ResidualBlock(nnx.Module):
    def __init__(self, channels: int, *, rngs: nnx.Rngs, dtype=jnp.float32):
        c = channels
        self.body = nnx.Sequential(
            Conv(c, c, 3, 1, rngs=rngs, dtype=dtype), GDN(c, dtype=dtype), PReLU(c),
            Conv(c, c, 3, 1, rngs=rngs, dtype=dtype), GDN(c, dtype=dtype), PReLU(c))

    def __call__(self, x):
        return x + self.body(x).astype(x.dtype)
