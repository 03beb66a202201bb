"""Selective compression of latents (SCR; Lee, Jeong, Kim, NeurIPS 2022) on a hyperprior base.

One model codes at every quality q in [1, 8] (``rate``, one value per image)::

    z_hat -> h_s trunk -> feature F --(h_s head)--> scale, mean        (as in the base model)
                          |
                          +-> 1x1 conv -> clip(. + 1/2, 0, 1) = m           importance map (B,h,w,M)
    q -> levels lo = floor(q), hi = lo + 1, t = q - lo:
         QV_q = QV_lo^(1-t) QV_hi^t, likewise IQV_q and gamma_q            (B, M)
    m_adj = clip(m, eps, 1) ** gamma_q
    mask  = m_adj > 1/2 (test)  |  Bernoulli(m_adj), straight-through (training)
    y: symbols round((y - mean) / QV_q) where mask, coded with scale / QV_q;
       y_hat = symbols * IQV_q + mean where mask, the mean elsewhere (0 for the scale hyperprior)

The mask depends on z_hat and q only, so the decoder recomputes it and it costs no bits.

Against the paper and the authors' released code (TensorFlow 1, hyperprior only):

- as both: L = 8 levels, lambda_q = 0.2 * 2^-(8 - q) (MSE on 0..255), gain units QV/IQV per
  level and channel, a 1x1 importance head on the penultimate h_s feature with
  clip(. + 1/2, 0, 1), adjustment exponents gamma (init 1), Bernoulli straight-through mask in
  training and threshold 1/2 at test, geometric interpolation for fractional q, unselected
  elements at the prior mean (mu for mean-scale), the 8-level loss;
- as the released code, selectable (``quantization`` of the training config): uniform noise
  for the latents fed to h_s and g_s ("noise"); jlic's earlier runs used "mixed";
- differs (documented, measured in BENCHMARKS.md): QV/IQV start at 2^((8 - q)/2), not 1; SCR's
  per-level vectors get a larger learning rate (``gain_lr_multiplier``); the loss may sample
  ``levels_per_step`` of the 8 levels per step; inputs in [0, 1] (the code: [-1, 1]); gradient
  clipping; stage 3 carries QV/IQV over from stage 2 (the released code restarts them at 1);
  the base can also be the mean-scale hyperprior (the paper's second base); the lambda ladder
  can be widened (``scr.lambda_min``/``lambda_max``: geometric between them; the bundled
  default model's phase C uses 0.0002 ... 0.25 to reach 0.1 bpp at q = 1).
QV, IQV and gamma are stored as logarithms: they stay positive, and geometric interpolation is
linear interpolation of the logarithms. gamma starts at 1 (as in the paper); QV and IQV start at
2^((8 - q) / 2), the step sizes high-rate theory gives for lambda_q (the paper starts them at 1,
which a CPU budget cannot train away from; see BENCHMARKS.md). ``selective=False`` gives the paper's
"without selective compression" variant (gain units only, every element coded).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from jlic.layers import Conv
from jlic.models.hyperprior import MeanScaleHyperprior, ScaleHyperprior
from jlic.rate import QUALITY, SCR_LEVELS

LEVELS = SCR_LEVELS
MASK_EPS = 1e-6


def interpolate_levels(log_table: jax.Array, q: jax.Array) -> jax.Array:
    """Geometric interpolation between levels: log_table (L, M), q (B,) in [1, L] -> (B, M)."""
    levels = log_table.shape[0]
    q = jnp.clip(jnp.asarray(q, jnp.float32), 1.0, float(levels))
    lo = jnp.clip(jnp.floor(q), 1.0, float(levels - 1))
    t = (q - lo)[:, None]
    i = lo.astype(jnp.int32) - 1
    return jnp.exp((1.0 - t) * log_table[i] + t * log_table[i + 1])


class SCRMixin:
    """Adds gain units, the importance head and adjustment curves to a hyperprior model."""

    rate_spec = QUALITY

    def _init_scr(self, feature_channels: int, selective: bool, rngs: nnx.Rngs, dtype):
        m = self.M
        self.selective = selective
        # High-rate quantization theory: MSE ~ step^2 / 12, so the best step for lambda_q =
        # 0.2 * 2^-(8-q) grows as lambda^-1/2: QV_q = IQV_q = 2^((8 - q) / 2) at init.
        init = (jnp.log(2.0) * (LEVELS - 1 - jnp.arange(LEVELS)) / 2.0)[:, None]
        self.log_qv = nnx.Param(jnp.broadcast_to(init, (LEVELS, m)))
        self.log_iqv = nnx.Param(jnp.broadcast_to(init, (LEVELS, m)))
        if selective:
            self.importance = Conv(feature_channels, m, 1, 1, rngs=rngs, dtype=dtype)
            self.log_gamma = nnx.Param(jnp.zeros((LEVELS, m)))

    def importance_map(self, features: jax.Array) -> jax.Array:
        """m = clip(conv1x1(F) + 1/2, 0, 1), (B,h,w,M) float32."""
        return jnp.clip(self.importance(features).astype(jnp.float32) + 0.5, 0.0, 1.0)

    def adjusted_importance(self, features: jax.Array, q: jax.Array) -> jax.Array:
        gamma = interpolate_levels(self.log_gamma[...], q)[:, None, None, :]
        m = jnp.clip(self.importance_map(features), MASK_EPS, 1.0)
        return jnp.exp(gamma * jnp.log(m))  # m ** gamma with finite gradients

    def coding_params(self, z_hat, rate=None, *, mask_rng=None) -> dict:
        if rate is None:
            raise ValueError("SCR models need a quality q in [1, 8] per image")
        q = jnp.broadcast_to(jnp.asarray(rate, jnp.float32).reshape(-1), (z_hat.shape[0],))
        features = self.hyper_features(z_hat, rate)
        scale, mean = self.scale_and_mean(features)
        qv = interpolate_levels(self.log_qv[...], q)[:, None, None, :]
        iqv = interpolate_levels(self.log_iqv[...], q)[:, None, None, :]
        mask = None
        if self.selective:
            m_adj = self.adjusted_importance(features, q)
            if mask_rng is None:
                mask = (m_adj > 0.5).astype(jnp.float32)
            else:
                u = jax.random.uniform(mask_rng, m_adj.shape)
                mask = m_adj + jax.lax.stop_gradient((u < m_adj).astype(jnp.float32) - m_adj)
        return {"scale": scale, "mean": mean, "qv": qv, "iqv": iqv, "mask": mask}


class SCRScaleHyperprior(SCRMixin, ScaleHyperprior):
    """SCR on the Balle 2018 scale hyperprior (the authors' released variant)."""

    def __init__(self, N: int = 192, M: int = 320, selective: bool = True, *,
                 eb_filters=(3, 3, 3, 3), residual: bool = False, fig2: bool = False,
                 analysis_blocks: int = 0, synthesis_blocks: int = 0, rngs: nnx.Rngs,
                 dtype=jnp.float32):
        ScaleHyperprior.__init__(self, N, M, eb_filters=eb_filters, residual=residual,
                                 fig2=fig2, analysis_blocks=analysis_blocks,
                                 synthesis_blocks=synthesis_blocks, rngs=rngs, dtype=dtype)
        self._init_scr(N, selective, rngs, dtype)


class SCRMeanScale(SCRMixin, MeanScaleHyperprior):
    """SCR on the Minnen 2018 mean-scale hyperprior (unselected elements decode to the mean)."""

    def __init__(self, N: int = 192, M: int = 320, selective: bool = True, *,
                 eb_filters=(3, 3, 3, 3), residual: bool = False, fig2: bool = False,
                 analysis_blocks: int = 0, synthesis_blocks: int = 0, rngs: nnx.Rngs,
                 dtype=jnp.float32):
        MeanScaleHyperprior.__init__(self, N, M, eb_filters=eb_filters, residual=residual,
                                     fig2=fig2, analysis_blocks=analysis_blocks,
                                     synthesis_blocks=synthesis_blocks, rngs=rngs, dtype=dtype)
        self._init_scr(M * 3 // 2, selective, rngs, dtype)
