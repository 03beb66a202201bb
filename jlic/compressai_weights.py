"""One-to-one conversion between jlic parameters and CompressAI state dicts (numpy arrays).

    to_compressai(model) -> {"g_a.0.weight": array, ...}
    from_compressai(model, state_dict) -> {"g_a/layers/0/kernel": array, ...}

for the hyperprior models (``bmshj2018-hyperprior`` = ScaleHyperprior, ``mbt2018-mean`` =
MeanScaleHyperprior). Kernel layouts: conv (k,k,ci,co) <-> (co,ci,k,k); transposed conv
(k,k,ci,co) <-> (ci,co,k,k). GDN beta/gamma and the entropy bottleneck use the same
reparameterisation on both sides and copy as they are (quantiles (C,3) <-> (C,1,3)).
"""

from __future__ import annotations

import numpy as np
from flax import nnx

from jlic.layers import GDN, Downsample, Upsample

_SEQUENCES = ("g_a", "g_s", "h_a", "h_s")


def _pairs(model):
    """Yields (jlic key, CompressAI key, to-torch transpose or None) for every array."""
    for seq in _SEQUENCES:
        for i, layer in enumerate(getattr(model, seq).layers):
            base_j, base_t = f"{seq}/layers/{i}", f"{seq}.{i}"
            if isinstance(layer, (Downsample, Upsample)):
                axes = (3, 2, 0, 1) if isinstance(layer, Downsample) else (2, 3, 0, 1)
                yield f"{base_j}/kernel", f"{base_t}.weight", axes
                yield f"{base_j}/bias", f"{base_t}.bias", None
            elif isinstance(layer, GDN):
                yield f"{base_j}/beta", f"{base_t}.beta", None
                yield f"{base_j}/gamma", f"{base_t}.gamma", None
    eb = model.entropy_bottleneck
    for name, count in (("matrices", len(eb.matrices)), ("biases", len(eb.biases)),
                        ("factors", len(eb.factors))):
        for i in range(count):
            yield (f"entropy_bottleneck/{name}/{i}", f"entropy_bottleneck.{name}.{i}", None)
    yield "entropy_bottleneck/quantiles", "entropy_bottleneck.quantiles", "quantiles"


def to_compressai(model: nnx.Module, params: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    out = {}
    for key_j, key_t, axes in _pairs(model):
        a = np.asarray(params[key_j])
        if axes == "quantiles":
            a = a[:, None, :]
        elif axes is not None:
            a = a.transpose(axes)
        out[key_t] = np.ascontiguousarray(a, np.float32)
    return out


def from_compressai(model: nnx.Module, state_dict) -> dict[str, np.ndarray]:
    out = {}
    for key_j, key_t, axes in _pairs(model):
        a = np.asarray(state_dict[key_t], np.float32)
        if axes == "quantiles":
            a = a[:, 0, :]
        elif axes is not None:
            a = a.transpose(np.argsort(axes))
        out[key_j] = np.ascontiguousarray(a)
    return out
