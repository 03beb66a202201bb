"""Strided convolutions that run fast on XLA CPU, with standard kernel layouts.

Both layers compute exactly the PyTorch/CompressAI functions

    Downsample(k, s)  ==  nn.Conv2d(cin, cout, k, stride=s, padding=k // 2)
    Upsample(k, s)    ==  nn.ConvTranspose2d(cin, cout, k, stride=s, padding=k // 2,
                                             output_padding=s - 1)

on NHWC arrays whose spatial size is a multiple of ``s``, but never run a strided or
dilated XLA convolution: on XLA CPU the gradients of those are up to 30x slower than
PyTorch (see DESIGN.md). Instead

    Downsample:  space-to-depth(s)  ->  stride-1 conv, T x T, s*s*cin -> cout
    Upsample:    stride-1 conv, T x T, cin -> s*s*cout  ->  depth-to-space(s)

where the small "polyphase" kernels are gathered from the standard kernel inside the
forward pass, so gradients flow to the standard kernel and the stored parameters convert
one-to-one to CompressAI weights:

    Downsample.kernel[ky, kx, cin, cout] == torch_conv.weight[cout, cin, ky, kx]
    Upsample.kernel[ky, kx, cin, cout]   == torch_tconv.weight[cin, cout, ky, kx]
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

_DN = ("NHWC", "HWIO", "NHWC")


def _polyphase_taps(kernel_size: int, stride: int, padding: int, transposed: bool):
    """Tap table of a strided (transposed) convolution split into ``stride`` phases.

    Returns ``(index, lo, hi)``: ``index[phase, j]`` is the kernel tap that multiplies
    input offset ``d = j - lo`` for that phase (``kernel_size`` means "no tap", a zero),
    and ``(lo, hi)`` is the padding of the equivalent stride-1 correlation.

    Conv:       out[m]         = sum_k in[s*m + k - p] * w[k],   k = s*d + phase + p
    Transposed: out[s*m + ph]  = sum_i in[i] * w[k],  k = ph + p - s*(i - m)
    """
    taps = {}
    for phase in range(stride):
        for k in range(kernel_size):
            if transposed:
                num = phase + padding - k
                if num % stride:
                    continue
                d = num // stride
            else:
                if (k - padding - phase) % stride:
                    continue
                d = (k - padding - phase) // stride
            taps[(phase, d)] = k
    ds = [d for _, d in taps]
    lo, hi = -min(ds), max(ds)
    index = np.full((stride, lo + hi + 1), kernel_size, dtype=np.int32)
    for (phase, d), k in taps.items():
        index[phase, d + lo] = k
    return tuple(map(tuple, index.tolist())), lo, hi  # hashable: stays out of the state


def _gather_polyphase(kernel: jax.Array, index: tuple) -> jax.Array:
    """kernel (k, k, cin, cout) -> (T, T, s, s, cin, cout), zero where no tap."""
    index = np.asarray(index)
    padded = jnp.pad(kernel, ((0, 1), (0, 1), (0, 0), (0, 0)))
    sub = padded[index[:, :, None, None], index[None, None, :, :]]  # (s, T, s, T, ci, co)
    return sub.transpose(1, 3, 0, 2, 4, 5)  # (Ty, Tx, sy, sx, ci, co)


def space_to_depth(x: jax.Array, s: int) -> jax.Array:
    """(B, H, W, C) -> (B, H/s, W/s, s*s*C), channel order (sy, sx, c)."""
    b, h, w, c = x.shape
    x = x.reshape(b, h // s, s, w // s, s, c).transpose(0, 1, 3, 2, 4, 5)
    return x.reshape(b, h // s, w // s, s * s * c)


def depth_to_space(x: jax.Array, s: int) -> jax.Array:
    """(B, H, W, s*s*C) -> (B, s*H, s*W, C), channel order (sy, sx, c)."""
    b, h, w, c = x.shape
    c //= s * s
    x = x.reshape(b, h, w, s, s, c).transpose(0, 1, 3, 2, 4, 5)
    return x.reshape(b, h * s, w * s, c)


def _conv(x, w, lo, hi, precision=None):
    return jax.lax.conv_general_dilated(
        x, w.astype(x.dtype), (1, 1), ((lo, hi), (lo, hi)), dimension_numbers=_DN,
        precision=precision)


def _uniform_init(key, shape, fan_in, dtype):
    bound = 1.0 / math.sqrt(fan_in)
    return jax.random.uniform(key, shape, dtype, -bound, bound)


class Downsample(nnx.Module):
    """k x k convolution with stride s and padding k // 2 (CompressAI ``conv``).

    Input (B, H, W, cin) with H, W multiples of s; output (B, H/s, W/s, cout).
    """

    def __init__(self, cin: int, cout: int, kernel_size: int = 5, stride: int = 2, *,
                 rngs: nnx.Rngs, dtype=jnp.float32):
        fan_in = cin * kernel_size * kernel_size
        self.kernel = nnx.Param(_uniform_init(
            rngs.params(), (kernel_size, kernel_size, cin, cout), fan_in, jnp.float32))
        self.bias = nnx.Param(_uniform_init(rngs.params(), (cout,), fan_in, jnp.float32))
        self.stride = stride
        self.dtype = dtype
        self.index, self.lo, self.hi = _polyphase_taps(
            kernel_size, stride, kernel_size // 2, transposed=False)

    def __call__(self, x: jax.Array) -> jax.Array:
        s = self.stride
        x = x.astype(self.dtype)
        if s == 1:
            k = self.kernel.shape[0]
            y = _conv(x, self.kernel[...], k // 2, k // 2)
        else:
            sub = _gather_polyphase(self.kernel[...], self.index)  # (T, T, sy, sx, ci, co)
            t = sub.shape[0]
            sub = sub.reshape(t, t, s * s * sub.shape[4], sub.shape[5])
            y = _conv(space_to_depth(x, s), sub, self.lo, self.hi)
        return y + self.bias[...].astype(y.dtype)


class Upsample(nnx.Module):
    """k x k transposed convolution, stride s, padding k // 2, output_padding s - 1
    (CompressAI ``deconv``). Input (B, H, W, cin); output (B, s*H, s*W, cout)."""

    def __init__(self, cin: int, cout: int, kernel_size: int = 5, stride: int = 2, *,
                 rngs: nnx.Rngs, dtype=jnp.float32):
        # PyTorch computes the fan-in of a transposed conv from weight.shape[1] = cout.
        fan_in = cout * kernel_size * kernel_size
        self.kernel = nnx.Param(_uniform_init(
            rngs.params(), (kernel_size, kernel_size, cin, cout), fan_in, jnp.float32))
        self.bias = nnx.Param(_uniform_init(rngs.params(), (cout,), fan_in, jnp.float32))
        self.stride = stride
        self.dtype = dtype
        self.index, self.lo, self.hi = _polyphase_taps(
            kernel_size, stride, kernel_size // 2, transposed=True)

    def __call__(self, x: jax.Array) -> jax.Array:
        s = self.stride
        x = x.astype(self.dtype)
        sub = _gather_polyphase(self.kernel[...], self.index)  # (T, T, sy, sx, ci, co)
        t, ci, co = sub.shape[0], sub.shape[4], sub.shape[5]
        sub = sub.transpose(0, 1, 4, 2, 3, 5).reshape(t, t, ci, s * s * co)
        y = _conv(x, sub, self.lo, self.hi)
        if s > 1:
            y = depth_to_space(y, s)
        return y + self.bias[...].astype(y.dtype)
