"""Closed-loop rate control: code an image at a requested size with any variable-rate model.

    compress_to_bpp(model, image, target_bpp, strict=False) -> RateSearch

searches the model's continuous rate input r (SCR quality in [1, 8], or the AFB target in its
trained range) for a real file whose size lands on the target:

  1. the first probe is the open-loop guess: the AFB target itself, or for SCR the quality
     interpolated from the model's estimated bits at the ends of the range;
  2. probes then bracket the target and close in by interpolation of log(bpp) in r (regula
     falsi with the Illinois step), each probe a real encode (SCR reuses y and z: only the
     quantization and entropy coding depend on q);
  3. it stops when the file is within ``tolerance`` (1%) of the target, or (``strict``) at or
     below it and within the tolerance, or when the bracket is narrower than 1e-4.

Targets outside what the model can reach return the nearest achievable file with
``reachable=False``; a strict target below the smallest achievable size raises ``ImageError``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from jlic import codec
from jlic.errors import ImageError


@dataclass
class RateSearch:
    data: bytes
    rate: float  # the rate input used (stored in the file)
    bpp: float  # from the file size
    probes: int
    reachable: bool
    history: list = field(default_factory=list)  # (rate, bpp) of every probe


def rate_range(model) -> tuple[float, float]:
    if model.rate_kind == "quality":
        return codec.QUALITY_RANGE
    if model.rate_kind == "bpp":
        return tuple(model.model.rate_range)
    raise ImageError("rate control needs a variable-rate model (SCR quality or AFB target)")


def compress_to_bpp(model, image, target_bpp: float, *, strict: bool = False,
                    tolerance: float = 0.01, max_probes: int = 24) -> RateSearch:
    if not (np.isfinite(target_bpp) and target_bpp > 0):
        raise ImageError(f"target bpp must be positive, got {target_bpp}")
    lo_r, hi_r = rate_range(model)
    encoder = codec.Encoder(model, image)
    pixels = encoder.height * encoder.width
    probes = {}

    def probe(r):
        """Codes at rate input r (clipped, as float32): -> (the rate used, bpp of the file)."""
        r = float(np.float32(min(max(r, lo_r), hi_r)))
        if r not in probes:
            data = encoder.encode(r)
            probes[r] = (8 * len(data) / pixels, data)
        return r, probes[r][0]

    def good(b):
        if strict:
            return b <= target_bpp and b >= (1 - tolerance) * target_bpp
        return abs(b - target_bpp) <= tolerance * target_bpp

    def finish(r, reachable=True):
        b, data = probes[r]
        return RateSearch(data, r, b, len(probes), reachable, sorted((k, v[0]) for k, v in
                                                                      probes.items()))

    if model.rate_kind == "bpp":
        guess = target_bpp
    else:  # interpolate log(estimated bpp) over q between the ends of the range
        e_lo = encoder.estimated_bpp(lo_r)
        e_hi = encoder.estimated_bpp(hi_r)
        t = (math.log(target_bpp) - math.log(e_lo)) / max(math.log(e_hi) - math.log(e_lo), 1e-9)
        guess = lo_r + t * (hi_r - lo_r)
    r, b = probe(guess)
    if good(b):
        return finish(r)
    # bracket: a below target, c above target
    if b < target_bpp:
        a, fa = r, b
        c, fc = probe(hi_r)
        if fc <= target_bpp:  # even the highest rate is below the target
            return finish(c, reachable=good(fc))
    else:
        c, fc = r, b
        a, fa = probe(lo_r)
        if good(fa):
            return finish(a)
        if fa >= target_bpp:
            if strict:
                raise ImageError(f"cannot reach {target_bpp:g} bpp: the smallest file this "
                                 f"model makes for this image is {fa:.4f} bpp")
            return finish(a, reachable=False)
    side = 0
    log_t = math.log(target_bpp)
    while len(probes) < max_probes and c - a > 1e-4:
        la, lc = math.log(fa), math.log(fc)
        r = a + (log_t - la) * (c - a) / (lc - la) if lc > la else (a + c) / 2
        r, b = probe(min(max(r, a + 0.01 * (c - a)), c - 0.01 * (c - a)))
        if good(b):
            return finish(r)
        if b < target_bpp:
            a, fa = r, b
            if side == -1:  # Illinois: halve the stale end's weight
                fc = math.exp((math.log(fc) + log_t) / 2)
            side = -1
        else:
            c, fc = r, b
            if side == 1:
                fa = math.exp((math.log(fa) + log_t) / 2)
            side = 1
    # no probe within tolerance: the closest one (strict: the closest not above the target)
    candidates = [(k, v[0]) for k, v in probes.items() if not strict or v[0] <= target_bpp]
    best = min(candidates, key=lambda kv: abs(kv[1] - target_bpp))[0]
    return finish(best, reachable=True)
