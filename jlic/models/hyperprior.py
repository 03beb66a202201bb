"""Hyperprior codecs: Balle 2018 scale hyperprior and Minnen 2018 mean-scale hyperprior.

The architectures are CompressAI's ``bmshj2018-hyperprior`` and ``mbt2018-mean`` exactly, with
NHWC arrays (CompressAI weights convert one-to-one, see ``jlic.layers.conv``)::

    x (B,H,W,3) in [0,1]
      -> g_a -> y (B,H/16,W/16,M) -> h_a -> z (B,H/64,W/64,N)
                                               |  factorized prior, z_hat = round(z - med) + med
                                               v
                 y_hat <- quantize(y, mean) <- h_s(z_hat) -> (scale, mean)   [mean = 0: ScaleHyperprior]
      -> g_s(y_hat) -> x_hat

In training (``training=True``) rates use y + U(-1/2, 1/2) and z + U(-1/2, 1/2) and the
reconstruction uses straight-through rounding; at inference every quantity is rounded, so the
returned likelihoods are the model's estimate of the coded size.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from jlic.entropy.factorized import FactorizedPrior
from jlic.entropy.gaussian import gaussian_likelihood
from jlic.layers import GDN, Downsample, Upsample
from jlic.quantize import add_uniform_noise, round_ste


def _analysis(n, m, rngs, dtype):
    return nnx.Sequential(
        Downsample(3, n, rngs=rngs, dtype=dtype), GDN(n, dtype=dtype),
        Downsample(n, n, rngs=rngs, dtype=dtype), GDN(n, dtype=dtype),
        Downsample(n, n, rngs=rngs, dtype=dtype), GDN(n, dtype=dtype),
        Downsample(n, m, rngs=rngs, dtype=dtype))


def _synthesis(n, m, rngs, dtype):
    return nnx.Sequential(
        Upsample(m, n, rngs=rngs, dtype=dtype), GDN(n, inverse=True, dtype=dtype),
        Upsample(n, n, rngs=rngs, dtype=dtype), GDN(n, inverse=True, dtype=dtype),
        Upsample(n, n, rngs=rngs, dtype=dtype), GDN(n, inverse=True, dtype=dtype),
        Upsample(n, 3, rngs=rngs, dtype=dtype))


class ScaleHyperprior(nnx.Module):
    """Balle et al. 2018 ("bmshj2018-hyperprior"): y ~ N(0, sigma(z_hat)^2)."""

    downsampling = 64  # input sides are padded to a multiple of this

    def __init__(self, N: int = 128, M: int = 192, *, rngs: nnx.Rngs, dtype=jnp.float32):
        self.N, self.M = N, M
        self.g_a = _analysis(N, M, rngs, dtype)
        self.g_s = _synthesis(N, M, rngs, dtype)
        self.h_a = nnx.Sequential(
            Downsample(M, N, 3, 1, rngs=rngs, dtype=dtype), jax.nn.relu,
            Downsample(N, N, rngs=rngs, dtype=dtype), jax.nn.relu,
            Downsample(N, N, rngs=rngs, dtype=dtype))
        self.h_s = nnx.Sequential(
            Upsample(N, N, rngs=rngs, dtype=dtype), jax.nn.relu,
            Upsample(N, N, rngs=rngs, dtype=dtype), jax.nn.relu,
            Downsample(N, M, 3, 1, rngs=rngs, dtype=dtype), jax.nn.relu)
        self.entropy_bottleneck = FactorizedPrior(N, rngs=rngs)

    # The four transforms, each usable on its own by the codec.
    def analysis(self, x):
        return self.g_a(x).astype(jnp.float32)

    def hyper_analysis(self, y):
        return self.h_a(jnp.abs(y)).astype(jnp.float32)

    def hyper_synthesis(self, z_hat):
        """z_hat (B,h,w,N) -> (scale, mean), each (B,4h,4w,M) float32."""
        scale = self.h_s(z_hat).astype(jnp.float32)
        return scale, jnp.zeros_like(scale)

    def synthesis(self, y_hat):
        return self.g_s(y_hat).astype(jnp.float32)

    def __call__(self, x: jax.Array, *, rng: jax.Array | None = None,
                 training: bool = False) -> dict:
        """x (B,H,W,3) in [0,1], H and W multiples of 16 (64 for exact coding shapes).

        Returns {"x_hat": (B,H,W,3), "likelihoods": {"y": (B,H/16,W/16,M), "z": ...}}.
        """
        y = self.analysis(x)
        z = self.hyper_analysis(y)
        eb = self.entropy_bottleneck
        z_hat = eb.quantize(z)
        if training:
            rng_z, rng_y = jax.random.split(rng)
            z_lik = eb.likelihood(add_uniform_noise(z, rng_z))
        else:
            z_lik = eb.likelihood(z_hat)
        scale, mean = self.hyper_synthesis(z_hat)
        y_hat = round_ste(y - mean) + mean
        y_for_rate = add_uniform_noise(y, rng_y) if training else y_hat
        y_lik = gaussian_likelihood(y_for_rate, scale, mean)
        return {"x_hat": self.synthesis(y_hat), "likelihoods": {"y": y_lik, "z": z_lik}}


class MeanScaleHyperprior(ScaleHyperprior):
    """Minnen et al. 2018 without context ("mbt2018-mean"): y ~ N(mu(z_hat), sigma(z_hat)^2)."""

    def __init__(self, N: int = 128, M: int = 192, *, rngs: nnx.Rngs, dtype=jnp.float32):
        super().__init__(N, M, rngs=rngs, dtype=dtype)
        lrelu = jax.nn.leaky_relu
        self.h_a = nnx.Sequential(
            Downsample(M, N, 3, 1, rngs=rngs, dtype=dtype), lrelu,
            Downsample(N, N, rngs=rngs, dtype=dtype), lrelu,
            Downsample(N, N, rngs=rngs, dtype=dtype))
        self.h_s = nnx.Sequential(
            Upsample(N, M, rngs=rngs, dtype=dtype), lrelu,
            Upsample(M, M * 3 // 2, rngs=rngs, dtype=dtype), lrelu,
            Downsample(M * 3 // 2, M * 2, 3, 1, rngs=rngs, dtype=dtype))

    def hyper_analysis(self, y):
        return self.h_a(y).astype(jnp.float32)

    def hyper_synthesis(self, z_hat):
        params = self.h_s(z_hat).astype(jnp.float32)
        return params[..., : self.M], params[..., self.M:]
