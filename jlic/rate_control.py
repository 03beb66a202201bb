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
``reachable=False``; a strict target below the smallest achievable size raises ``RateError``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from jlic import codec
from jlic.errors import RateError
from jlic.rate import BPP_TARGET, QUALITY

MAX_REFINED_PROBES = 2  # refined encodes a search with refinement may spend after the plain one
TOLERANCE = 0.01  # a file lands when within 1% of its target (relative)


@dataclass
class RateSearch:
    data: bytes
    rate: float  # the rate input used (stored in the file)
    bpp: float  # from the file size
    probes: int
    reachable: bool  # a file landed within the tolerance (strict: and not above the target)
    history: list = field(default_factory=list)  # (rate, bpp) of every probe
    refined: bool = False  # the file was coded from refined latents (``refine_steps``)

    def sizes_around(self, target_bpp) -> tuple[float, float] | None:
        """For a target no file landed on: the two probed sizes (bpp) closest below and above
        it (where the file size jumps over the target, or the probes ran out); None where all
        probes lie on one side (the target is outside what the model makes for this image)."""
        below = [b for _, b in self.history if b < target_bpp]
        above = [b for _, b in self.history if b > target_bpp]
        return (max(below), min(above)) if below and above else None


def rate_range(model) -> tuple[float, float]:
    """The rate inputs a search may use: SCR's whole quality range, AFB's trained targets."""
    spec = model.rate_spec
    if spec is QUALITY:
        return spec.allowed
    if spec is BPP_TARGET:
        return tuple(model.model.rate_range)
    raise RateError("rate control needs a variable-rate model (SCR quality or AFB target)")


class _Search:
    """Probes of one image at rate inputs r, each a real file; bpp from its size."""

    def __init__(self, model, encoder, target_bpp, strict, tolerance):
        self.model, self.target, self.strict, self.tolerance = model, target_bpp, strict, \
            tolerance
        self.lo, self.hi = rate_range(model)
        self.encoder = encoder
        self.pixels = self.encoder.height * self.encoder.width
        self.probes = {}

    def probe(self, r):
        """Codes at rate input r (clipped, as float32): -> (the rate used, bpp of the file)."""
        r = float(np.float32(min(max(r, self.lo), self.hi)))
        if r not in self.probes:
            data = self.encoder.encode(r)
            self.probes[r] = (8 * len(data) / self.pixels, data)
        return r, self.probes[r][0]

    def good(self, b):
        return _lands(b, self.target, self.tolerance, self.strict)

    def finish(self, r, reachable=True):
        b, data = self.probes[r]
        return RateSearch(data, r, b, len(self.probes), reachable,
                          sorted((k, v[0]) for k, v in self.probes.items()))

    def first_guess(self):
        if self.model.rate_spec is BPP_TARGET:
            return self.target
        # SCR: interpolate log(estimated bpp) over q between the ends of the range
        e_lo = self.encoder.estimated_bpp(self.lo)
        e_hi = self.encoder.estimated_bpp(self.hi)
        t = (math.log(self.target) - math.log(e_lo)) / max(math.log(e_hi) - math.log(e_lo), 1e-9)
        return self.lo + t * (self.hi - self.lo)

    def bracket(self, r, b):
        """-> ((a, fa), (c, fc)) with fa below and fc above the target, or a finished search
        when an end of the range already decides it."""
        if b < self.target:
            c, fc = self.probe(self.hi)
            if fc <= self.target:  # even the highest rate is below the target
                return self.finish(c, reachable=self.good(fc))
            return (r, b), (c, fc)
        a, fa = self.probe(self.lo)
        if self.good(fa):
            return self.finish(a)
        if fa >= self.target:
            if self.strict:
                raise RateError(f"cannot reach {self.target:g} bpp: the smallest file this "
                                f"model makes for this image is {fa:.4f} bpp")
            return self.finish(a, reachable=False)
        return (a, fa), (r, b)

    def refine(self, lower, upper, max_probes):
        """Illinois regula falsi on log(bpp) inside the bracket; the closest probe if none
        lands within tolerance (strict: the closest not above the target), flagged not
        reachable: a bracket that shrinks to nothing means the file size jumps over the
        target there (a step of the rate input changes many coded elements at once), or the
        probes ran out."""
        (a, fa), (c, fc) = lower, upper
        side, log_t = 0, math.log(self.target)
        while len(self.probes) < max_probes and c - a > 1e-4:
            la, lc = math.log(fa), math.log(fc)
            r = a + (log_t - la) * (c - a) / (lc - la) if lc > la else (a + c) / 2
            r, b = self.probe(min(max(r, a + 0.01 * (c - a)), c - 0.01 * (c - a)))
            if self.good(b):
                return self.finish(r)
            if b < self.target:
                a, fa = r, b
                if side == -1:  # Illinois: halve the stale end's weight
                    fc = math.exp((math.log(fc) + log_t) / 2)
                side = -1
            else:
                c, fc = r, b
                if side == 1:
                    fa = math.exp((math.log(fa) + log_t) / 2)
                side = 1
        candidates = [(k, v[0]) for k, v in self.probes.items()
                      if not self.strict or v[0] <= self.target]
        best = min(candidates, key=lambda kv: abs(kv[1] - self.target))[0]
        return self.finish(best, reachable=False)


def compress_to_bpp(model, image, target_bpp: float, *, strict: bool = False,
                    tolerance: float = TOLERANCE, max_probes: int = 24,
                    refine_steps: int = 0) -> RateSearch:
    """Codes ``image`` (uint8 HxW or HxWx3) into a file of ``target_bpp`` bits per pixel
    within ``tolerance`` (relative) by searching the model's rate input with real encodes.

    Returns a ``RateSearch`` (file bytes, rate input used, bpp, probes, reachable). With
    ``strict`` the file is never above the target. With ``refine_steps`` (``jlic.refine``)
    the search first runs unrefined (and where a post-filter pays at the rate input it found,
    ``codec.Encoder.filter_bpp``, once more for the target less the filter's bytes); then the
    latents are refined at the rate input it found, held to a band of file sizes around the
    target (half the tolerance; strict: its lower half), at most ``MAX_REFINED_PROBES``
    times. Unconstrained refined sizes are not a smooth
    function of the rate input (each refinement ends elsewhere: +-10% between nearby inputs),
    so no search over the rate input closes in on them; where no refined file lands, the
    unrefined one is returned (``refined`` False): the target comes first. ``probes`` counts
    both. Raises ``RateError`` for a model without a rate input, a non-positive target, or
    (strict) a target below the smallest file."""
    if not (np.isfinite(target_bpp) and target_bpp > 0):
        raise RateError(f"target bpp must be positive and finite, got {target_bpp}")
    rate_range(model)  # refuses models without a rate input before any work
    refining = codec.Encoder(model, image, refine_steps) if refine_steps else None  # checks
    unrefined = codec.Encoder(model, image)
    plain = _run(_Search(model, unrefined, target_bpp, strict, tolerance), max_probes)
    if refining is None or not plain.reachable:
        return plain
    start = plain
    filter_bpp = refining.filter_bpp(plain.rate)
    if filter_bpp:  # refine from the latents of a file that leaves room for the filter
        shifted = _run(_Search(model, unrefined, target_bpp - filter_bpp, strict, tolerance),
                       max_probes)
        start = shifted if shifted.reachable else plain
        plain.probes += shifted.probes
    return _refined_search(plain, start, refining, target_bpp, strict, tolerance)


def _lands(bpp, target, tolerance, strict) -> bool:
    """Whether a file of ``bpp`` meets the target: within ``tolerance`` (relative) of it,
    and with ``strict`` also not above it."""
    if strict:
        return (1 - tolerance) * target <= bpp <= target
    return abs(bpp - target) <= tolerance * target


def _refined_search(plain: RateSearch, start: RateSearch, encoder, t, strict, tol) -> RateSearch:
    """Refined encodes (``encoder`` refines) at the rate input of ``start`` (the unrefined
    file for the target less the post-filter's bytes, or ``plain``, the one for the target),
    held to a band of file sizes around the target ``t`` bpp (``jlic.refine``: the unrefined
    file calibrates the model's estimate); a second attempt shifts the band by the first one's
    miss. Where neither lands, ``plain``."""
    lo, hi = (t * (1 - 0.75 * tol), t * (1 - 0.25 * tol)) if strict else \
        (t * (1 - 0.5 * tol), t * (1 + 0.5 * tol))
    pixels = encoder.height * encoder.width
    history = list(plain.history)
    for attempt in range(1, MAX_REFINED_PROBES + 1):
        data = encoder.encode(start.rate, bpp_band=(lo, hi, start.bpp))
        b = 8 * len(data) / pixels
        history.append((start.rate, b))
        if _lands(b, t, tol, strict):
            return RateSearch(data, start.rate, b, plain.probes + attempt, True, history,
                              refined=True)
        shift = math.sqrt(lo * hi) / b  # aim the band where the file should have been
        lo, hi = lo * shift, hi * shift
    plain.probes += MAX_REFINED_PROBES
    return plain


def _run(search: _Search, max_probes: int) -> RateSearch:
    r, b = search.probe(search.first_guess())
    if search.good(b):
        return search.finish(r)
    bracket = search.bracket(r, b)
    if isinstance(bracket, RateSearch):
        return bracket
    return search.refine(*bracket, max_probes)
