"""The rate input of a model, as one small spec that every part reads.

    NONE         single-rate models: no rate input
    QUALITY      SCR: a quality q in [1, 8] (fractional allowed), per image
    BPP_TARGET   AFB: a target size in bits per pixel, per image; the analysis depends on it

Each model class names its spec (``Model.rate_spec``); the codec validates rate inputs with
``check``, files store ``file_code`` (``jlic.bitstream``), the encoder reuses y and z across
rates unless ``analysis_depends_on_rate``, and rate control searches ``allowed`` (AFB: the
model's trained range instead); ``default`` is the rate input when the user gives none.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from jlic.errors import RateError

SCR_LEVELS = 8  # SCR's quality levels: q in [1, SCR_LEVELS]


def scr_lambdas(qs, lambda_min: float, lambda_max: float, levels: int = SCR_LEVELS):
    """The ladder lambda_q = lambda_min * (lambda_max / lambda_min)^((q - 1) / (L - 1)) of
    qualities qs (MSE on 0..255); the paper's is lambda_min = lambda_max / 2^(L - 1)."""
    return lambda_min * (lambda_max / lambda_min) ** ((qs - 1.0) / (levels - 1))


@dataclass(frozen=True)
class RateSpec:
    kind: str  # "none", "quality", "bpp": the name used in messages and configs
    file_code: int  # the rate-kind byte of a .jlic header
    allowed: tuple[float, float] | None  # closed range of valid values (None: no input)
    analysis_depends_on_rate: bool  # g_a / h_a take the rate (AFB) or not (SCR)
    label: str  # how the CLI names the value
    default: float | None  # the rate input when the user gives none (None: none, or required)

    def check(self, rate) -> float | None:
        """Validates a rate input; returns it as the float32 value that is coded."""
        if self.allowed is None:
            if rate is not None:
                raise RateError("this model has a single rate and takes no rate input")
            return None
        if rate is None:
            raise RateError(f"this model needs a rate input ({self.kind})")
        value = float(np.float32(rate))
        lo, hi = self.allowed
        if not np.isfinite(value) or not lo <= value <= hi or (self is BPP_TARGET and
                                                                value <= 0.0):
            bracket = "(" if self is BPP_TARGET else "["
            raise RateError(f"{self.label} must be in {bracket}{lo:g}, {hi:g}], got {rate}")
        return value


NONE = RateSpec("none", 0, None, False, "", None)
QUALITY = RateSpec("quality", 1, (1.0, float(SCR_LEVELS)), False, "quality", 4.0)
BPP_TARGET = RateSpec("bpp", 2, (0.0, 64.0), True, "bpp target", None)  # --bpp is required
BY_FILE_CODE = {s.file_code: s for s in (NONE, QUALITY, BPP_TARGET)}
