"""Rate-controllable codec with rate-conditioned channel attention (AFB; Xie et al., PMLR 2025).

The mean-scale hyperprior with ten ``RateAttention`` blocks that take the target rate B (bpp,
one value per image) and nothing else does::

    g_a:  conv GDN [A] conv GDN [A] conv GDN [A] conv          -> y
    h_a:  conv lrelu [A] conv lrelu [A] conv                    -> z
    h_s:  deconv lrelu [A] deconv lrelu [A] conv                -> scale, mean
    g_s:  deconv IGDN [A] deconv IGDN [A] deconv IGDN [A] deconv -> x_hat

([A] = an AFB: 3 in the encoder, 2 in the hyper-encoder, 2 in the hyper-decoder, 3 in the
decoder; with ``residual=True`` the encoder/decoder AFBs follow the residual block after each
GDN/IGDN, with ``fig2=True`` each RCB/RTCB.)

Bases (constructor flags):
  default        the mean-scale hyperprior's GDN transforms;
  residual=True  jlic's residual variant: conv-GDN-PReLU-conv-GDN-PReLU + skip after each
                 GDN/IGDN (not the paper's block);
  fig2=True      the paper's Fig. 2 transforms: [conv, RCB, AFB] x 3 then conv, RCB =
                 conv-GDN-PReLU-conv-GDN-PReLU, skip, then PReLU, no GDN outside the blocks;
                 the decoder [deconv, RTCB (IGDN), AFB] x 3 then deconv.

Against the paper (no code released): the AFB block (squeeze-excitation with B appended to the
pooled features, ten blocks placed as in Fig. 2), B entering nowhere else, the quadratic rate
loss in bits per latent feature and the two stages follow the paper; ``fig2=True`` builds
Fig. 2's analysis and synthesis transforms. What still differs: the entropy model is the
mean-scale hyperprior's (the paper adds a 5x5 masked-conv context model and a Gaussian mixture
with K = 3), and the RCB kernel size (not stated) is 3. The hidden width of the AFB MLP (not
stated: max(C/4, 16) here), the stage-2 lambda and the BPF-to-bpp conversion (bpp = BPF * M /
256, ``bpp_to_bpf``) are our choices; targets are clipped to ``rate_range`` unless
``afb.clip_targets=False`` (the paper does not clip; ``jlic.train.losses.afb_targets``).
The paper trains every parameter on the rate-aware loss (``afb.entropy_model_fit="afb_loss"``);
``"rate"`` trains the entropy model (``entropy_model_modules``: h_a, h_s, their AFBs, the
factorized prior) on bpp + lambda * D instead, so that a target can move the rate only through
y (``jlic.train.losses.afb_rate_loss``; measured in BENCHMARKS.md "AFB on the default model's
base"). The paper's stage-2 loss has one lambda for every target; ``afb.lambda_curve`` (not the
paper's) makes lambda follow the target along a base model's own rate curve and adds the linear
rate term, bpp + lambda(B) * D + w (BPF - BPF(B))^2, so that the distortion term no longer pulls
every target towards one lambda's rate. ``afb.rate_error="log"`` (not the paper's) replaces the
squared BPF difference with ln(R / B)^2, which pulls low targets as hard as high ones for the
same relative miss.

The base layers keep the mean-scale model's parameter paths,
so stage 2 starts from a stage-1 ``mean_scale`` run with ``init_from``; the AFBs start as the
identity.

Exact decoding: the hyper-decoder's two AFBs run in the fixed-point arithmetic of the rest of
the side-information path (``jlic.exact``: integer pooling and dense layers, the rate as an
integer, the gate 2 sigmoid(.) from a table stored in the model file), so files decode
bit-exactly on any machine as those of the other models do.

Rate unit: the API (``rate``, files, ``--bpp``) uses bits per pixel. The paper's loss is in bits
per latent feature (BPF); ``bpp_to_bpf`` converts, in one place.
"""

from __future__ import annotations

import jax.numpy as jnp
from flax import nnx

from jlic.layers import GDN, Conv, ResidualBlock, ResidualConvBlock, TransposedConv
from jlic.layers.attention import RateAttention
from jlic.models.hyperprior import MeanScaleHyperprior
from jlic.rate import BPP_TARGET


def bpp_to_bpf(bpp, M: int):
    """Bits per pixel -> bits per latent feature: y has M features per 16x16 pixels."""
    return bpp * 256.0 / M


def attention_points(layers) -> list[int]:
    """Indices of the layers (a list) that an AFB follows: each GDN or activation function,
    or the residual block right after it, or (Fig. 2 base) each RCB/RTCB."""

    def is_point(i):
        layer = layers[i]
        if isinstance(layer, (ResidualBlock, ResidualConvBlock)):
            return True
        follows = i + 1 < len(layers) and isinstance(layers[i + 1], ResidualBlock)
        return (isinstance(layer, GDN) or not isinstance(layer, nnx.Module)) and not follows

    return [i for i in range(len(layers)) if is_point(i)]


def _channels_at(seq, i) -> int:
    """Channels of the features at attention point i: the last conv's outputs."""
    while not isinstance(seq.layers[i], (Conv, TransposedConv)):
        i -= 1
    return seq.layers[i].kernel.shape[-1]


def _with_blocks(layers, blocks) -> list:
    """``layers`` with each AFB of ``blocks`` inserted after its attention point."""
    points, blocks = attention_points(layers), iter(blocks)
    out = []
    for i, layer in enumerate(layers):
        out.append(layer)
        if i in points:
            out.append(next(blocks))
    return out


def _run(layers, x, rate):
    """Runs a list from ``_with_blocks``: the AFBs take the rate, the other layers do not."""
    for layer in layers:
        x = layer(x, rate) if isinstance(layer, RateAttention) else layer(x)
    return x


class AFBMeanScale(MeanScaleHyperprior):
    rate_spec = BPP_TARGET
    entropy_model_modules = MeanScaleHyperprior.entropy_model_modules + ("afb_h_a", "afb_h_s")

    def __init__(self, N: int = 192, M: int = 192, *, hidden: int | None = None,
                 rate_range=(0.15, 1.35), eb_filters=(3, 3, 3, 3), residual: bool = False,
                 fig2: bool = False, analysis_blocks: int = 0, synthesis_blocks: int = 0,
                 rngs: nnx.Rngs, dtype=jnp.float32):
        if analysis_blocks or synthesis_blocks:
            raise ValueError("AFB models take no analysis_blocks or synthesis_blocks: their "
                             "transforms carry rate attention blocks at fixed points instead")
        super().__init__(N, M, eb_filters=eb_filters, residual=residual, fig2=fig2, rngs=rngs,
                         dtype=dtype)
        self.rate_range = tuple(float(r) for r in rate_range)  # trained targets, bpp

        def blocks(seq):
            return nnx.List([RateAttention(_channels_at(seq, i), hidden, rngs=rngs)
                             for i in attention_points(seq.layers)])

        self.afb_g_a = blocks(self.g_a)
        self.afb_h_a = blocks(self.h_a)
        self.afb_h_s = blocks(self.h_s)
        self.afb_g_s = blocks(self.g_s)

    def _rate(self, rate, batch):
        if rate is None:
            raise ValueError("AFB models need a target rate (bpp) per image")
        return jnp.broadcast_to(jnp.asarray(rate, jnp.float32).reshape(-1), (batch,))

    def analysis(self, x, rate=None):
        return _run(_with_blocks(self.g_a.layers, self.afb_g_a), x,
                    self._rate(rate, x.shape[0])).astype(jnp.float32)

    def hyper_analysis(self, y, rate=None):
        return _run(_with_blocks(self.h_a.layers, self.afb_h_a), y,
                    self._rate(rate, y.shape[0])).astype(jnp.float32)

    def hyper_trunk(self) -> list:
        """h_s's layers before the head with the hyper-decoder's AFBs where they act."""
        return _with_blocks(super().hyper_trunk(), self.afb_h_s)

    def hyper_features(self, z_hat, rate=None):
        return _run(self.hyper_trunk(), z_hat, self._rate(rate, z_hat.shape[0]))

    def synthesis(self, y_hat, rate=None):
        return _run(_with_blocks(self.g_s.layers, self.afb_g_s), y_hat,
                    self._rate(rate, y_hat.shape[0])).astype(jnp.float32)
