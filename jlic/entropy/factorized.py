"""Factorized prior ("entropy bottleneck", Balle et al. 2018, appendix 6.1), as in CompressAI.

Each of the C channels has its own learned, non-parametric cumulative density

    c(x) = sigmoid(f_K(... f_1(x))),  f_k(x) = h_k(softplus(H_k) x + b_k),
    h_k(x) = x + tanh(a_k) * tanh(x)

and the probability of an integer-spaced value v is c(v + 1/2) - c(v - 1/2). The tails of each
density are tracked by learned quantiles (``Quantiles`` variables: lower tail, median, upper
tail), fitted by ``aux_loss`` with their own optimizer; the median is the quantization offset
(``z_hat = round(z - median) + median``) and the tails bound the coding tables.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from flax import nnx

from jlic.layers import lower_bound

LIKELIHOOD_BOUND = 1e-9


class Quantiles(nnx.Variable):
    """Auxiliary parameters trained only by the quantile loss, never by the RD loss."""


class FactorizedPrior(nnx.Module):
    """Per-channel learned density over z of shape (B, h, w, C)."""

    def __init__(self, channels: int, *, filters=(3, 3, 3, 3), init_scale: float = 10.0,
                 tail_mass: float = 1e-9, rngs: nnx.Rngs):
        self.channels = channels
        self.tail_mass = tail_mass
        dims = (1, *filters, 1)
        scale = init_scale ** (1.0 / (len(filters) + 1))
        matrices, biases, factors = [], [], []
        for i in range(len(filters) + 1):
            init = math.log(math.expm1(1.0 / scale / dims[i + 1]))
            matrices.append(nnx.Param(jnp.full((channels, dims[i + 1], dims[i]), init)))
            biases.append(nnx.Param(jax.random.uniform(
                rngs.params(), (channels, dims[i + 1], 1), minval=-0.5, maxval=0.5)))
            if i < len(filters):
                factors.append(nnx.Param(jnp.zeros((channels, dims[i + 1], 1))))
        self.matrices = nnx.List(matrices)
        self.biases = nnx.List(biases)
        self.factors = nnx.List(factors)
        self.quantiles = Quantiles(
            jnp.tile(jnp.array([-init_scale, 0.0, init_scale]), (channels, 1)))

    def logits_cumulative(self, x: jax.Array, stop_gradient: bool = False) -> jax.Array:
        """x (C, 1, n) -> logits of the CDF, (C, 1, n)."""
        sg = jax.lax.stop_gradient if stop_gradient else (lambda v: v)
        logits = x
        for i, (matrix, bias) in enumerate(zip(self.matrices, self.biases, strict=True)):
            logits = jnp.matmul(jax.nn.softplus(sg(matrix[...])), logits) + sg(bias[...])
            if i < len(self.factors):
                logits = logits + jnp.tanh(sg(self.factors[i][...])) * jnp.tanh(logits)
        return logits

    @property
    def medians(self) -> jax.Array:
        """(C,) quantization offsets."""
        return jax.lax.stop_gradient(self.quantiles[...][:, 1])

    def likelihood(self, z: jax.Array) -> jax.Array:
        """Probability mass of the unit interval centred on each value of z (B, h, w, C)."""
        b, h, w, c = z.shape
        v = z.astype(jnp.float32).transpose(3, 0, 1, 2).reshape(c, 1, -1)
        lower = self.logits_cumulative(v - 0.5)
        upper = self.logits_cumulative(v + 0.5)
        sign = -jnp.sign(lower + upper)  # evaluate in the tail where sigmoid is accurate
        lik = jnp.abs(jax.nn.sigmoid(sign * upper) - jax.nn.sigmoid(sign * lower))
        lik = lower_bound(lik, LIKELIHOOD_BOUND)
        return lik.reshape(c, b, h, w).transpose(1, 2, 3, 0)

    def quantize(self, z: jax.Array) -> jax.Array:
        """round(z - median) + median with a straight-through gradient."""
        med = self.medians
        return z + jax.lax.stop_gradient(jnp.round(z - med) + med - z)

    def aux_loss(self) -> jax.Array:
        """Fits the quantiles to the tail_mass/2, 1/2, 1 - tail_mass/2 points of each CDF."""
        target = math.log(2.0 / self.tail_mass - 1.0)
        logits = self.logits_cumulative(self.quantiles[...][:, None, :], stop_gradient=True)
        return jnp.sum(jnp.abs(logits[:, 0, :] - jnp.array([-target, 0.0, target])))
