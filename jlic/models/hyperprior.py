"""Hyperprior codecs: Balle 2018 scale hyperprior and Minnen 2018 mean-scale hyperprior.

The architectures are CompressAI's ``bmshj2018-hyperprior`` and ``mbt2018-mean`` exactly, with
NHWC arrays (CompressAI weights convert one-to-one, see ``jlic.compressai_weights``); the
factorized prior has CompressAI's four hidden layers of 3 unless ``eb_filters`` says otherwise.
``residual=True`` adds a residual block (``jlic.layers.ResidualBlock``) after each GDN/IGDN of
g_a and g_s, the base of the AFB paper (not a CompressAI architecture). ``analysis_blocks=k``
deepens the encoder alone: k residual blocks after g_a's third GDN (1/8 resolution), kept apart
in ``g_a_blocks`` so a model without them initialises every other parameter, and starting as the
identity (their last convolution is zero); the decoder and the file format are unchanged.
``synthesis_blocks=k`` does the same for the decoder: k blocks after g_s's first IGDN (1/8
resolution), in ``g_s_blocks``; the file records the count, the bitstream is unchanged. Both
are fields of every config (``python train.py --config configs/default.py
--config.model.synthesis_blocks=2 ...``); AFB models and the residual bases refuse them::

    x (B,H,W,3) in [0,1]
      -> g_a -> y (B,H/16,W/16,M) -> h_a -> z (B,H/64,W/64,N)
                                               |  factorized prior, z_hat = round(z - med) + med
                                               v
                 y_hat <- quantize(y, mean) <- h_s(z_hat) -> (scale, mean)
                                                    (mean = 0: ScaleHyperprior)
      -> g_s(y_hat) -> x_hat

In training (``training=True``) rounding is replaced by the proxy that ``quantization`` names
(``jlic.quantize``: "noise", "ste" or "mixed"); at inference every quantity is rounded, so the
returned likelihoods are the model's estimate of the coded size.

Variable-rate models (SCR, AFB) subclass these and take a per-image ``rate`` array; the
methods below all accept it so one codec path serves every model.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from jlic.entropy.factorized import FactorizedPrior
from jlic.entropy.gaussian import gaussian_likelihood
from jlic.layers import GDN, Conv, ResidualBlock, ResidualConvBlock, TransposedConv
from jlic.quantize import check_quantization, round_ste, training_proxies
from jlic.rate import NONE


def _check_base(residual, fig2):
    if residual and fig2:
        raise ValueError("residual and fig2 are two different bases: choose one")


def _analysis(n, m, rngs, dtype, residual=False, fig2=False):
    """conv GDN [res] conv GDN [res] conv GDN [res] conv, or with ``fig2`` (AFB's Fig. 2)
    conv RCB conv RCB conv RCB conv: (B,H,W,3) -> (B,H/16,W/16,m)."""
    layers = []
    for cin in (3, n, n):
        layers.append(Conv(cin, n, rngs=rngs, dtype=dtype))
        if fig2:
            layers.append(ResidualConvBlock(n, rngs=rngs, dtype=dtype))
            continue
        layers.append(GDN(n, dtype=dtype))
        if residual:
            layers.append(ResidualBlock(n, rngs=rngs, dtype=dtype))
    return nnx.Sequential(*layers, Conv(n, m, rngs=rngs, dtype=dtype))


ANALYSIS_BLOCKS_AFTER = 6  # g_a's layers before its extra blocks: conv GDN conv GDN conv GDN
SYNTHESIS_BLOCKS_AFTER = 2  # g_s's layers before its extra blocks: deconv IGDN


def _check_blocks(name, count, residual, fig2):
    if int(count) != count or count < 0:
        raise ValueError(f"{name} must be a count >= 0, not {count!r}")
    if count and (residual or fig2):
        raise ValueError(f"{name} deepens the plain GDN transforms only")


def _run_with_blocks(sequential, after, blocks, x):
    """``sequential``'s layers with ``blocks`` (none: the model has no extra blocks) inserted
    after its first ``after`` layers."""
    layers = list(sequential.layers)
    for layer in (*layers[:after], *blocks, *layers[after:]):
        x = layer(x)
    return x


def _identity_blocks(count, n, rngs, dtype):
    """``count`` residual blocks (n channels) that start as the identity: the last convolution
    of each body is zero, so the body's GDN and PReLU output 0 and the skip passes x."""
    blocks = []
    for _ in range(count):
        block = ResidualBlock(n, rngs=rngs, dtype=dtype)
        last = block.body.layers[3]
        last.kernel.set_value(jnp.zeros_like(last.kernel.get_value()))
        last.bias.set_value(jnp.zeros_like(last.bias.get_value()))
        blocks.append(block)
    return nnx.List(blocks)


def _synthesis(n, m, rngs, dtype, residual=False, fig2=False):
    """deconv IGDN [res] deconv IGDN [res] deconv IGDN [res] deconv, or with ``fig2``
    deconv RTCB deconv RTCB deconv RTCB deconv: (B,h,w,m) -> (B,16h,16w,3)."""
    layers = []
    for cin in (m, n, n):
        layers.append(TransposedConv(cin, n, rngs=rngs, dtype=dtype))
        if fig2:
            layers.append(ResidualConvBlock(n, inverse=True, rngs=rngs, dtype=dtype))
            continue
        layers.append(GDN(n, inverse=True, dtype=dtype))
        if residual:
            layers.append(ResidualBlock(n, rngs=rngs, dtype=dtype))
    return nnx.Sequential(*layers, TransposedConv(n, 3, rngs=rngs, dtype=dtype))


class ScaleHyperprior(nnx.Module):
    """Balle et al. 2018 ("bmshj2018-hyperprior"): y ~ N(0, sigma(z_hat)^2).

    Args:
      N: channels of the transforms' hidden layers and of z.
      M: channels of y.
      eb_filters: hidden widths of the factorized prior's density network (CompressAI: 3 x 3).
      residual: a residual block after each GDN/IGDN of g_a / g_s (jlic's residual variant).
      fig2: g_a / g_s as the AFB paper's Fig. 2 (conv + RCB per stage, no GDN outside the
        blocks; transposed conv + RTCB in g_s); h_a, h_s and the entropy models stay the
        mean-scale hyperprior's.
      analysis_blocks: residual blocks after g_a's third GDN (encoder only; 0: none).
      synthesis_blocks: residual blocks after g_s's first IGDN (decoder only; 0: none).
      rngs: initialisation keys; dtype: the compute dtype of the convolutions.

    Images (B, H, W, 3) in [0, 1], H and W multiples of ``downsampling``; y (B, H/16, W/16, M),
    z (B, H/64, W/64, N). ``__call__`` returns x_hat and the likelihoods of y and z (bits =
    -log2 of them).
    """

    downsampling = 64  # input sides are padded to a multiple of this
    rate_spec = NONE  # single-rate model: no rate input
    predicts_mean = False  # h_s predicts scales only (y ~ N(0, sigma^2))
    # the entropy model: the submodules that predict y's distribution and code z (not g_a, g_s)
    entropy_model_modules = ("h_a", "h_s", "entropy_bottleneck")

    def __init__(self, N: int = 128, M: int = 192, *, eb_filters=(3, 3, 3, 3),
                 residual: bool = False, fig2: bool = False, analysis_blocks: int = 0,
                 synthesis_blocks: int = 0, rngs: nnx.Rngs, dtype=jnp.float32):
        _check_base(residual, fig2)
        _check_blocks("analysis_blocks", analysis_blocks, residual, fig2)
        _check_blocks("synthesis_blocks", synthesis_blocks, residual, fig2)
        self.N, self.M = N, M
        self.g_a = _analysis(N, M, rngs, dtype, residual, fig2)
        if analysis_blocks:
            self.g_a_blocks = _identity_blocks(int(analysis_blocks), N, rngs, dtype)
        self.g_s = _synthesis(N, M, rngs, dtype, residual, fig2)
        if synthesis_blocks:
            self.g_s_blocks = _identity_blocks(int(synthesis_blocks), N, rngs, dtype)
        self.h_a = nnx.Sequential(
            Conv(M, N, 3, 1, rngs=rngs, dtype=dtype), jax.nn.relu,
            Conv(N, N, rngs=rngs, dtype=dtype), jax.nn.relu,
            Conv(N, N, rngs=rngs, dtype=dtype))
        self.h_s = nnx.Sequential(
            TransposedConv(N, N, rngs=rngs, dtype=dtype), jax.nn.relu,
            TransposedConv(N, N, rngs=rngs, dtype=dtype), jax.nn.relu,
            Conv(N, M, 3, 1, rngs=rngs, dtype=dtype), jax.nn.relu)
        self.entropy_bottleneck = FactorizedPrior(N, filters=tuple(eb_filters), rngs=rngs)

    head_layers = 2  # trailing h_s layers after the "penultimate feature" (conv, ReLU)

    # ---- transforms, each usable on its own by the codec --------------------------------
    def analysis(self, x, rate=None):
        return _run_with_blocks(self.g_a, ANALYSIS_BLOCKS_AFTER, getattr(self, "g_a_blocks", ()),
                                x).astype(jnp.float32)

    def hyper_analysis(self, y, rate=None):
        return self.h_a(jnp.abs(y)).astype(jnp.float32)

    def hyper_trunk(self) -> list:
        """h_s's layers before its head, in the order ``hyper_features`` runs them (what the
        exact path converts, ``jlic.exact``)."""
        return list(self.h_s.layers[: -self.head_layers])

    def hyper_features(self, z_hat, rate=None):
        """The penultimate h_s feature map, (B,4h,4w,C)."""
        f = z_hat
        for layer in self.hyper_trunk():
            f = layer(f)
        return f

    def scale_and_mean(self, features):
        """Penultimate features -> (scale, mean), each (B,4h,4w,M) float32."""
        f = features
        for layer in self.h_s.layers[-self.head_layers:]:
            f = layer(f)
        scale = f.astype(jnp.float32)
        return scale, jnp.zeros_like(scale)

    def synthesis(self, y_hat, rate=None):
        return _run_with_blocks(self.g_s, SYNTHESIS_BLOCKS_AFTER,
                                getattr(self, "g_s_blocks", ()), y_hat).astype(jnp.float32)

    def coding_params(self, z_hat, rate=None, *, mask_rng=None) -> dict:
        """Everything that decides how y is coded, computed from z_hat (and the rate input):

            scale, mean  (B,4h,4w,M)  of the Gaussian of y
            qv, iqv      (B,1,1,M)    gain vectors: symbols round((y - mean) / qv),
                                      reconstruction symbols * iqv + mean
            mask         (B,4h,4w,M) or None: which elements are coded (None: all)

        With ``mask_rng`` the mask is a straight-through Bernoulli sample (training).
        """
        scale, mean = self.scale_and_mean(self.hyper_features(z_hat, rate))
        one = jnp.ones((scale.shape[0], 1, 1, scale.shape[-1]), jnp.float32)
        return {"scale": scale, "mean": mean, "qv": one, "iqv": one, "mask": None}

    # ---- training / estimation forward -----------------------------------------------------
    def forward_hyper(self, x, rate=None, *, rng=None, training=False, quantization="noise"):
        """x -> (y, z_hat, z_likelihoods); z_hat is what h_s sees (see ``jlic.quantize``)."""
        y = self.analysis(x, rate)
        z = self.hyper_analysis(y, rate)
        eb = self.entropy_bottleneck
        z_hat = eb.quantize(z)
        if not training:
            return y, z_hat, eb.likelihood(z_hat)
        z_for_rate, z_hat = training_proxies(z, z_hat, rng, check_quantization(quantization))
        return y, z_hat, eb.likelihood(z_for_rate)

    def forward_y(self, y, z_hat, rate=None, *, rng=None, training=False,
                  quantization="noise"):
        """(y, z_hat) -> (x_hat, y_likelihoods); masked-out elements have likelihood 1."""
        if training:
            rng_noise, rng_mask = jax.random.split(rng)
        p = self.coding_params(z_hat, rate, mask_rng=rng_mask if training else None)
        v = (y - p["mean"]) / p["qv"]
        v_hat = round_ste(v)
        v_for_rate = v_hat
        if training:
            v_for_rate, v_hat = training_proxies(v, v_hat, rng_noise,
                                                 check_quantization(quantization))
        lik = gaussian_likelihood(v_for_rate, p["scale"] / p["qv"])
        mask = p["mask"]
        if mask is not None:
            lik = jnp.exp(mask * jnp.log(lik))  # rate counts only the coded elements
            v_hat = mask * v_hat
        y_hat = v_hat * p["iqv"] + p["mean"]
        return self.synthesis(y_hat, rate), lik

    def __call__(self, x: jax.Array, rate=None, *, rng: jax.Array | None = None,
                 training: bool = False, quantization: str = "noise") -> dict:
        """x (B,H,W,3) in [0,1], H and W multiples of 64; ``rate`` the model's rate input
        (None for single-rate models), one value per image.

        Returns {"x_hat": (B,H,W,3), "likelihoods": {"y": (B,H/16,W/16,M), "z": ...}}.
        """
        rng_z, rng_y = jax.random.split(rng) if training else (None, None)
        y, z_hat, z_lik = self.forward_hyper(x, rate, rng=rng_z, training=training,
                                             quantization=quantization)
        x_hat, y_lik = self.forward_y(y, z_hat, rate, rng=rng_y, training=training,
                                      quantization=quantization)
        return {"x_hat": x_hat, "likelihoods": {"y": y_lik, "z": z_lik}}


class MeanScaleHyperprior(ScaleHyperprior):
    """Minnen et al. 2018 without context ("mbt2018-mean"): y ~ N(mu(z_hat), sigma(z_hat)^2)."""

    predicts_mean = True

    def __init__(self, N: int = 128, M: int = 192, *, eb_filters=(3, 3, 3, 3),
                 residual: bool = False, fig2: bool = False, analysis_blocks: int = 0,
                 synthesis_blocks: int = 0, rngs: nnx.Rngs, dtype=jnp.float32):
        super().__init__(N, M, eb_filters=eb_filters, residual=residual, fig2=fig2,
                         analysis_blocks=analysis_blocks, synthesis_blocks=synthesis_blocks,
                         rngs=rngs, dtype=dtype)
        lrelu = jax.nn.leaky_relu
        self.h_a = nnx.Sequential(
            Conv(M, N, 3, 1, rngs=rngs, dtype=dtype), lrelu,
            Conv(N, N, rngs=rngs, dtype=dtype), lrelu,
            Conv(N, N, rngs=rngs, dtype=dtype))
        self.h_s = nnx.Sequential(
            TransposedConv(N, M, rngs=rngs, dtype=dtype), lrelu,
            TransposedConv(M, M * 3 // 2, rngs=rngs, dtype=dtype), lrelu,
            Conv(M * 3 // 2, M * 2, 3, 1, rngs=rngs, dtype=dtype))

    head_layers = 1  # trailing h_s layers after the penultimate feature (conv)

    def hyper_analysis(self, y, rate=None):
        return self.h_a(y).astype(jnp.float32)

    def scale_and_mean(self, features):
        params = self.h_s.layers[-1](features).astype(jnp.float32)
        return params[..., : self.M], params[..., self.M:]
