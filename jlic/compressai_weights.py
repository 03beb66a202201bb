"""One-to-one conversion between jlic parameters and CompressAI state dicts (numpy arrays).

    to_compressai(model) -> {"g_a.0.weight": array, ...}
    from_compressai(model, state_dict) -> {"g_a/layers/0/kernel": array, ...}

for the hyperprior models (``bmshj2018-hyperprior`` = ScaleHyperprior, ``mbt2018-mean`` =
MeanScaleHyperprior). Kernel layouts: conv (k,k,ci,co) <-> (co,ci,k,k); transposed conv
(k,k,ci,co) <-> (ci,co,k,k). GDN beta/gamma and the entropy bottleneck use the same
reparameterisation on both sides and copy as they are (quantiles (C,3) <-> (C,1,3)).
"""

from __future__ import annotations

import os

import numpy as np
from flax import nnx

from jlic.frozen import flat_variables, freeze
from jlic.layers import GDN, Conv, TransposedConv
from jlic.models import build_model
from jlic.torch_checkpoint import CheckpointError, read_state_dict

_SEQUENCES = ("g_a", "g_s", "h_a", "h_s")


def _pairs(model):
    """Yields (jlic key, CompressAI key, to-torch transpose or None) for every array."""
    for seq in _SEQUENCES:
        for i, layer in enumerate(getattr(model, seq).layers):
            base_j, base_t = f"{seq}/layers/{i}", f"{seq}.{i}"
            if isinstance(layer, (Conv, TransposedConv)):
                axes = (3, 2, 0, 1) if isinstance(layer, Conv) else (2, 3, 0, 1)
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


# ---- checkpoint files ------------------------------------------------------------------------
ARCHITECTURES = {"bmshj2018-hyperprior": "scale_hyperprior", "mbt2018-mean": "mean_scale"}
# the lambdas of CompressAI's pretrained MSE models, by quality 1..8 (its docs, "Image
# compression" zoo; the loss is lambda * 255^2 * MSE + bpp with MSE on [0, 1])
COMPRESSAI_LAMBDAS = (0.0018, 0.0035, 0.0067, 0.0130, 0.0250, 0.0483, 0.0932, 0.1800)
_VBR_KEYS = ("Gain", "QuantABCD", "gayn2zqstep")


def _rename_legacy_keys(sd: dict) -> dict:
    """CompressAI < 1.1 named the factorized prior's arrays ``_matrix0``, ``_bias0``, ...
    (compressai.zoo.pretrained.load_pretrained renames them the same way)."""
    out = {}
    for k, v in sd.items():
        for old, new in (("_matrix", "matrices."), ("_bias", "biases."), ("_factor", "factors.")):
            if k.startswith("entropy_bottleneck." + old):
                k = k.replace("entropy_bottleneck." + old, "entropy_bottleneck." + new)
        out[k] = v
    return out


def infer_architecture(sd: dict) -> tuple[str, dict]:
    """-> (CompressAI architecture name, jlic model config) from the keys and shapes of a
    CompressAI state dict. Raises ``CheckpointError`` for what jlic cannot represent."""
    vbr = [k for k in sd if k.split(".")[0] in _VBR_KEYS]
    if vbr:
        raise CheckpointError(
            "this is a CompressAI variable-rate (vbr) model; its quantization-reconstruction "
            "offsets (QuantABCD) and, where present, its rate-dependent z step (gayn2zqstep) "
            "have no counterpart in jlic's rate inputs, so it cannot be imported")
    need = ("g_a.0.weight", "g_a.6.weight", "h_s.4.weight")
    if any(k not in sd for k in need) or "context_prediction.weight" in sd:
        raise CheckpointError("not a bmshj2018-hyperprior or mbt2018-mean state dict (expected "
                              "keys g_a.0-6, h_a, h_s.0-4, entropy_bottleneck; no context model)")
    N, M = int(sd["g_a.0.weight"].shape[0]), int(sd["g_a.6.weight"].shape[0])
    head_out = int(sd["h_s.4.weight"].shape[0])
    arch = "mbt2018-mean" if head_out == 2 * M else "bmshj2018-hyperprior"
    matrices = sorted(int(k.rsplit(".", 1)[1]) for k in sd
                      if k.startswith("entropy_bottleneck.matrices."))
    filters = tuple(int(sd[f"entropy_bottleneck.matrices.{i}"].shape[1]) for i in matrices[:-1])
    return arch, {"name": ARCHITECTURES[arch], "N": N, "M": M, "eb_filters": filters}


def import_checkpoint(path: str, arch: str | None = None, label: str = "",
                      lmbda: float | None = None):
    """A CompressAI checkpoint file (``torch.save`` of a state dict, read without PyTorch) ->
    a jlic ``FrozenModel`` with integer tables and the exact side-information path.

    ``arch`` ("bmshj2018-hyperprior" or "mbt2018-mean") overrides the architecture inferred
    from the keys and shapes; sizes always come from the shapes. ``lmbda``: the lambda the
    checkpoint was trained with (its loss lambda * 255^2 * MSE + bpp, MSE on [0, 1]; CompressAI's
    zoo: ``COMPRESSAI_LAMBDAS``), recorded as the model's objective so that encoder-side
    refinement (``jlic.refine``) can use it; a checkpoint does not say it."""
    from jax import numpy as jnp

    if lmbda is not None and not (isinstance(lmbda, (int, float)) and not isinstance(lmbda, bool)
                                  and np.isfinite(lmbda) and lmbda > 0):
        raise CheckpointError(f"lambda must be a positive number, got {lmbda!r}")

    sd = _rename_legacy_keys(read_state_dict(path))
    inferred, config = infer_architecture(sd)
    if arch is not None:
        if arch not in ARCHITECTURES:
            raise CheckpointError(f"unknown architecture {arch!r}; known: "
                                  f"{', '.join(ARCHITECTURES)}")
        config["name"] = ARCHITECTURES[arch]
    name = config["name"]
    kwargs = {k: v for k, v in config.items() if k != "name"}
    model = build_model(name, nnx.Rngs(0), **kwargs)
    try:
        flat = from_compressai(model, sd)
    except KeyError as e:
        raise CheckpointError(f"{path!r} lacks the array {e.args[0]!r} of a {name} "
                              f"model") from None
    except ValueError:  # an array of the wrong rank for its layout transpose
        raise CheckpointError(f"{path!r}: an array has the wrong number of dimensions for a "
                              f"{name} model") from None
    for key, var in flat_variables(nnx.state(model)):
        value = flat[key]
        if value.shape != var.get_value().shape:
            raise CheckpointError(f"{path!r}: array {key!r} has shape {value.shape}, a {name} "
                                  f"model with N={config['N']} M={config['M']} needs "
                                  f"{var.get_value().shape}")
        if not np.isfinite(value).all():
            raise CheckpointError(f"{path!r}: array {key!r} holds non-finite values")
        var.set_value(jnp.asarray(value))
    return freeze(model, config, label=label or f"{inferred} imported from "
                  f"{os.path.basename(path)}",
                  objective=None if lmbda is None else {"lmbda": float(lmbda)})
