"""Codecs built from layers and entropy models. They know nothing of files."""

from jlic.models.afb import AFBMeanScale
from jlic.models.hyperprior import MeanScaleHyperprior, ScaleHyperprior
from jlic.models.scr import SCRMeanScale, SCRScaleHyperprior

MODELS = {"scale_hyperprior": ScaleHyperprior, "mean_scale": MeanScaleHyperprior,
          "scr_scale_hyperprior": SCRScaleHyperprior, "scr_mean_scale": SCRMeanScale,
          "afb_mean_scale": AFBMeanScale}


def build_model(name: str, rngs, **kwargs):
    """Constructs a registered model by name, e.g.
    ``build_model("mean_scale", rngs, N=128, M=192)``."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; known models: {', '.join(sorted(MODELS))}")
    return MODELS[name](rngs=rngs, **kwargs)


__all__ = ["MODELS", "AFBMeanScale", "MeanScaleHyperprior", "SCRMeanScale", "SCRScaleHyperprior",
           "ScaleHyperprior", "build_model"]
