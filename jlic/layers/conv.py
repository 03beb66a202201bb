"""Strided convolutions that run fast on XLA CPU, with standard kernel layouts.

Both layers compute exactly the PyTorch/CompressAI functions

    Downsample(k, s)  ==  nn.Conv2d(cin, cout, k, stride=s, padding=k // 2)
    Upsample(k, s)    ==  nn.ConvTranspose2d(cin, cout, k, stride=s, padding=k // 2,
                                             output_padding=s - 1)

on NHWC arrays whose spatial size is a multiple of ``s``. XLA lowers the transposed direction
of a strided convolution (the transposed conv itself, and the input gradient of a strided conv)
to lhs-dilated convolutions that are up to 30x slower than PyTorch on CPU (see DESIGN.md).
jlic never runs those: the transposed direction is computed in polyphase form,

    stride-1 conv, T x T, cin -> s*s*cout  ->  depth-to-space(s)

with the small kernels gathered from the standard kernel inside the traced function, and
custom VJPs send every gradient to a fast primitive. Parameters keep the standard layouts, so
they convert one-to-one to CompressAI weights:

    Downsample.kernel[ky, kx, cin, cout] == torch_conv.weight[cout, cin, ky, kx]
    Upsample.kernel[ky, kx, cin, cout]   == torch_tconv.weight[cin, cout, ky, kx]
"""

from __future__ import annotations

import math
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

_DN = ("NHWC", "HWIO", "NHWC")


def _polyphase_taps(kernel_size: int, stride: int, padding: int):
    """Tap table of a transposed convolution split into ``stride`` phases.

    Returns ``(index, lo, hi)``: ``index[phase, j]`` is the kernel tap that multiplies
    input offset ``d = j - lo`` for that phase (``kernel_size`` means "no tap", a zero),
    and ``(lo, hi)`` is the padding of the equivalent stride-1 correlation:

        out[s*m + ph] = sum_i in[i] * w[k],  k = ph + p - s*(i - m)
    """
    taps = {}
    for phase in range(stride):
        for k in range(kernel_size):
            num = phase + padding - k
            if num % stride == 0:
                taps[(phase, num // stride)] = k
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


def depth_to_space(x: jax.Array, s: int) -> jax.Array:
    """(B, H, W, s*s*C) -> (B, s*H, s*W, C), channel order (sy, sx, c)."""
    b, h, w, c = x.shape
    c //= s * s
    x = x.reshape(b, h, w, s, s, c).transpose(0, 1, 3, 2, 4, 5)
    return x.reshape(b, h * s, w * s, c)


def _conv(x, w, lo, hi, stride=1):
    return jax.lax.conv_general_dilated(
        x, w.astype(x.dtype), (stride, stride), ((lo, hi), (lo, hi)), dimension_numbers=_DN)


def _strided_conv(x, w, s):
    """k x k conv, stride s, padding k // 2: XLA's own strided convolution (fast forward)."""
    k = w.shape[0]
    return _conv(x, w, k // 2, k // 2, s)


def _polyphase_transposed_conv(x, w, s):
    """Transposed conv (scatter form, padding k // 2, output_padding s - 1) as a stride-1 conv
    to s*s*cout channels followed by depth-to-space."""
    k = w.shape[0]
    index, lo, hi = _polyphase_taps(k, s, k // 2)
    sub = _gather_polyphase(w, index)  # (T, T, sy, sx, ci, co)
    t, ci, co = sub.shape[0], sub.shape[4], sub.shape[5]
    sub = sub.transpose(0, 1, 4, 2, 3, 5).reshape(t, t, ci, s * s * co)
    y = _conv(x, sub, lo, hi)
    return depth_to_space(y, s) if s > 1 else y


def _swap_io(w):
    return w.transpose(0, 1, 3, 2)


# The two functions below are each other's adjoint in x. Their custom VJPs route every
# direction to the fastest XLA CPU primitive: the forward strided conv, its weight gradient,
# and the polyphase form for the transposed direction (the lhs-dilated convolutions XLA
# would otherwise emit are the slow ones).
@partial(jax.custom_vjp, nondiff_argnums=(2,))
def strided_conv(x, w, s):
    return _strided_conv(x, w, s)


def _strided_conv_fwd(x, w, s):
    return _strided_conv(x, w, s), (x, w)


def _strided_conv_bwd(s, res, g):
    x, w = res
    dx = _polyphase_transposed_conv(g, _swap_io(w), s)
    (dw,) = jax.vjp(lambda w_: _strided_conv(x, w_, s), w)[1](g)
    return dx.astype(x.dtype), dw.astype(w.dtype)


strided_conv.defvjp(_strided_conv_fwd, _strided_conv_bwd)


@partial(jax.custom_vjp, nondiff_argnums=(2,))
def transposed_conv(x, w, s):
    return _polyphase_transposed_conv(x, w, s)


def _transposed_conv_fwd(x, w, s):
    return _polyphase_transposed_conv(x, w, s), (x, w)


def _transposed_conv_bwd(s, res, g):
    x, w = res
    dx = _strided_conv(g, _swap_io(w), s)
    (dv,) = jax.vjp(lambda v: _strided_conv(g, v, s), _swap_io(w))[1](x)
    return dx.astype(x.dtype), _swap_io(dv).astype(w.dtype)


transposed_conv.defvjp(_transposed_conv_fwd, _transposed_conv_bwd)


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

    def __call__(self, x: jax.Array) -> jax.Array:
        x = x.astype(self.dtype)
        w = self.kernel[...].astype(self.dtype)
        y = _strided_conv(x, w, 1) if self.stride == 1 else strided_conv(x, w, self.stride)
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

    def __call__(self, x: jax.Array) -> jax.Array:
        x = x.astype(self.dtype)
        y = transposed_conv(x, self.kernel[...].astype(self.dtype), self.stride)
        return y + self.bias[...].astype(y.dtype)
