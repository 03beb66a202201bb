"""Strided convolutions that run fast on XLA CPU, with standard kernel layouts.

Both layers compute exactly the PyTorch/CompressAI functions

    Conv(k, s)            ==  nn.Conv2d(cin, cout, k, stride=s, padding=k // 2)
    TransposedConv(k, s)  ==  nn.ConvTranspose2d(cin, cout, k, stride=s, padding=k // 2,
                                                 output_padding=s - 1)

on NHWC arrays whose spatial size is a multiple of ``s``. XLA lowers the transposed direction
of a strided convolution (the transposed conv itself, and the input gradient of a strided conv)
to lhs-dilated convolutions that are up to 30x slower than PyTorch on CPU (see DESIGN.md).
jlic never runs those: the transposed direction is computed in polyphase form,

    stride-1 conv, T x T, cin -> s*s*cout  ->  depth-to-space(s)

with the small kernels cut from the standard kernel inside the traced function, and
custom VJPs send every gradient to a fast primitive. Parameters keep the standard layouts, so
they convert one-to-one to CompressAI weights:

    Conv.kernel[ky, kx, cin, cout]            == torch_conv.weight[cout, cin, ky, kx]
    TransposedConv.kernel[ky, kx, cin, cout]  == torch_tconv.weight[cin, cout, ky, kx]
"""

from __future__ import annotations

import math
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

_DN = ("NHWC", "HWIO", "NHWC")


def _polyphase_padding(kernel_size: int, stride: int, padding: int) -> tuple[int, int]:
    """Padding ``(lo, hi)`` of the stride-1 correlation equivalent to one phase of a transposed
    convolution: ``out[s*m + ph] = sum_d in[m + d] * w[ph + p - s*d]`` over the offsets ``d``
    in ``[-lo, hi]`` at which some phase has a kernel tap."""
    ds = [(ph + padding - k) // stride for ph in range(stride) for k in range(kernel_size)
          if (ph + padding - k) % stride == 0]
    return -min(ds), max(ds)


def polyphase_kernel(kernel, stride: int):
    """Kernel (k, k, cin, cout) of a transposed conv (padding k // 2, output_padding s - 1) ->
    ``(sub, lo, hi)``: its polyphase form ``sub`` (T, T, sy, sx, cin, cout) and the padding of
    the equivalent stride-1 correlation. Works on jax and numpy arrays.

    Only flips, zero padding and reshapes (no gather): per axis, the taps of phase ``ph`` at
    offset ``j`` are ``flip(w)`` padded by ``f`` in front, read at ``s*j + s-1-ph``.
    """
    k, s = kernel.shape[0], stride
    lo, hi = _polyphase_padding(k, s, k // 2)
    t = lo + hi + 1
    front = s - k + k // 2 + s * lo
    back = t * s - k - front
    assert front >= 0 and back >= 0, (k, s)
    xp = np if isinstance(kernel, np.ndarray) else jnp
    w = xp.pad(kernel[::-1, ::-1], ((front, back), (front, back), (0, 0), (0, 0)))
    w = w.reshape(t, s, t, s, *kernel.shape[2:])[:, ::-1, :, ::-1]
    return w.transpose(0, 2, 1, 3, 4, 5), lo, hi


def depth_to_space(x: jax.Array, s: int) -> jax.Array:
    """(B, H, W, s*s*C) -> (B, s*H, s*W, C), channel order (sy, sx, c)."""
    b, h, w, c = x.shape
    c //= s * s
    x = x.reshape(b, h, w, s, s, c).transpose(0, 1, 3, 2, 4, 5)
    return x.reshape(b, h * s, w * s, c)


# Convolutions with at most this many output pixels per image run as one matrix product over
# explicit patches: XLA CPU lowers them (e.g. on the 2x2 z maps of 128x128 crops) to a
# transposed-layout convolution about 10x slower than the same product.
_DOT_MAX_PIXELS = 16


def _conv(x, w, lo, hi, stride=1):
    k = w.shape[0]
    ho = (x.shape[1] + lo + hi - k) // stride + 1
    wo = (x.shape[2] + lo + hi - k) // stride + 1
    w = w.astype(x.dtype)
    if ho * wo > _DOT_MAX_PIXELS:
        return jax.lax.conv_general_dilated(
            x, w, (stride, stride), ((lo, hi), (lo, hi)), dimension_numbers=_DN)
    xp = jnp.pad(x, ((0, 0), (lo, hi), (lo, hi), (0, 0)))
    patches = jnp.concatenate(
        [xp[:, dy: dy + stride * (ho - 1) + 1: stride, dx: dx + stride * (wo - 1) + 1: stride]
         for dy in range(k) for dx in range(w.shape[1])], axis=-1)  # (B, ho, wo, k*k*cin)
    return jnp.dot(patches, w.reshape(-1, w.shape[-1]))


def _strided_conv(x, w, s):
    """k x k conv, stride s, padding k // 2: XLA's own strided convolution (fast forward)."""
    k = w.shape[0]
    return _conv(x, w, k // 2, k // 2, s)


def _polyphase_transposed_conv(x, w, s):
    """Transposed conv (scatter form, padding k // 2, output_padding s - 1) as a stride-1 conv
    to s*s*cout channels followed by depth-to-space."""
    sub, lo, hi = polyphase_kernel(w, s)  # (T, T, sy, sx, ci, co)
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


class Conv(nnx.Module):
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


class TransposedConv(nnx.Module):
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
