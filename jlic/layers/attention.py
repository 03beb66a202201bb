"""Rate-conditioned channel attention (the AFB of Xie et al., PMLR 2025).

    s = mean over H, W of F                        (B, C)
    a = 2 * sigmoid(FC2(ReLU(FC1([s, rate]))))     (B, C)
    F_out = F * a

``rate`` is one value per image (B,). The paper writes sigmoid(.); jlic scales it by 2 and
zero-initialises FC2 so that a freshly inserted block is exactly the identity (a = 1): stage 2
starts from the stage-1 model's function instead of halving every feature map. The hidden width
is not stated in the paper; the default is max(C // 4, 16).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx


class RateAttention(nnx.Module):
    def __init__(self, channels: int, hidden: int | None = None, *, rngs: nnx.Rngs):
        hidden = hidden or max(channels // 4, 16)
        self.fc1 = nnx.Linear(channels + 1, hidden, rngs=rngs)
        self.fc2 = nnx.Linear(hidden, channels, kernel_init=nnx.initializers.zeros,
                              bias_init=nnx.initializers.zeros, rngs=rngs)

    def excitation(self, features: jax.Array, rate: jax.Array) -> jax.Array:
        """(B,H,W,C), (B,) -> attention weights (B, C) in (0, 2)."""
        s = jnp.mean(features.astype(jnp.float32), axis=(1, 2))
        rate = jnp.broadcast_to(jnp.asarray(rate, jnp.float32).reshape(-1), (s.shape[0],))
        h = jax.nn.relu(self.fc1(jnp.concatenate([s, rate[:, None]], axis=-1)))
        return 2.0 * jax.nn.sigmoid(self.fc2(h))

    def __call__(self, features: jax.Array, rate: jax.Array) -> jax.Array:
        a = self.excitation(features, rate)
        return features * a[:, None, None, :].astype(features.dtype)
