"""Residual blocks of the AFB paper's base. ``ResidualBlock``, jlic's residual variant of the
mean-scale transforms (placed after a GDN/IGDN)::

    x -> conv3x3 -> GDN -> PReLU -> conv3x3 -> GDN -> PReLU -> + x

``ResidualConvBlock``, the paper's RCB (Fig. 2; with ``inverse=True`` its decoder twin RTCB,
IGDN for GDN; a stride-1 transposed conv is a conv, so the layers are the same)::

    x -> conv3x3 -> GDN -> PReLU -> conv3x3 -> GDN -> PReLU -> + x -> PReLU

Shapes are preserved: (B, H, W, C) -> (B, H, W, C). PReLU slopes are per channel, initialised
at 0.25 (PyTorch's default). The paper does not state the RCB's kernel size: 3 here.
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


def _body(c, inverse, rngs, dtype):
    return nnx.Sequential(
        Conv(c, c, 3, 1, rngs=rngs, dtype=dtype), GDN(c, inverse=inverse, dtype=dtype), PReLU(c),
        Conv(c, c, 3, 1, rngs=rngs, dtype=dtype), GDN(c, inverse=inverse, dtype=dtype), PReLU(c))


class ResidualBlock(nnx.Module):
    def __init__(self, channels: int, *, rngs: nnx.Rngs, dtype=jnp.float32):
        self.body = _body(channels, False, rngs, dtype)

    def __call__(self, x):
        return x + self.body(x).astype(x.dtype)


class ResidualConvBlock(nnx.Module):
    def __init__(self, channels: int, *, inverse: bool = False, rngs: nnx.Rngs,
                 dtype=jnp.float32):
        self.body = _body(channels, inverse, rngs, dtype)
        self.out = PReLU(channels)

    def __call__(self, x):
        return self.out(x + self.body(x).astype(x.dtype))
