"""Integer probability tables, computed once when a model is frozen for coding.

A table set is three arrays that cover T tables of at most K entries:

    freqs   (T, K) int32   frequencies, each table summing to 2**PRECISION, every used
                           entry >= 1; entry ``lengths[t] - 1`` is the escape symbol
    offsets (T,)   int32   the symbol value of entry 0 (table t codes v in
                           [offsets[t], offsets[t] + lengths[t] - 2], anything else escapes)
    lengths (T,)   int32   used entries per table, escape included

Gaussian tables: one per entry of the 64-value scale table, symbols v = round(y - mean).
Factorized tables: one per channel of z, symbols v = round(z - median).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import expit, ndtr, ndtri

PRECISION = 16
TAIL_MASS = 1e-9


@dataclass(frozen=True)
class TableSet:
    freqs: np.ndarray
    offsets: np.ndarray
    lengths: np.ndarray

    def __post_init__(self):
        t, k = self.freqs.shape
        if self.offsets.shape != (t,) or self.lengths.shape != (t,):
            raise ValueError("table arrays have inconsistent shapes")
        if np.any(self.lengths < 2) or np.any(self.lengths > k):
            raise ValueError("table lengths out of range")
        used = np.arange(k)[None, :] < self.lengths[:, None]
        if np.any(self.freqs[used] < 1) or np.any(self.freqs[~used] != 0):
            raise ValueError("table frequencies must be >= 1 where used and 0 elsewhere")
        if np.any(self.freqs.sum(axis=1, dtype=np.int64) != 2**PRECISION):
            raise ValueError(f"every table must sum to 2**{PRECISION}")


def quantize_pmf(pmf: np.ndarray, precision: int = PRECISION) -> np.ndarray:
    """float64 pmf (K,) -> int64 frequencies (K,), each >= 1, summing to 2**precision.

    Every symbol first gets 1; the rest of the total is split in proportion to the pmf
    (largest remainders first), so the table stays close to the pmf in KL divergence.
    """
    pmf = np.maximum(np.asarray(pmf, np.float64), 0.0)
    k = pmf.size
    total = 2**precision
    if k > total // 2:
        raise ValueError(f"a table of {k} entries does not fit {precision}-bit precision")
    spare = total - k
    ideal = pmf / pmf.sum() * spare
    freqs = np.floor(ideal).astype(np.int64)
    rest = spare - int(freqs.sum())
    order = np.argsort(-(ideal - freqs), kind="stable")
    freqs[order[:rest]] += 1
    return freqs + 1


def _stack(pmfs: list[np.ndarray], offsets: list[int]) -> TableSet:
    k = max(p.size for p in pmfs) + 1
    freqs = np.zeros((len(pmfs), k), np.int32)
    lengths = np.zeros(len(pmfs), np.int32)
    for t, pmf in enumerate(pmfs):
        escape = max(1.0 - float(pmf.sum()), 0.0)
        q = quantize_pmf(np.append(pmf, escape))
        freqs[t, : q.size] = q
        lengths[t] = q.size
    return TableSet(freqs, np.asarray(offsets, np.int32), lengths)


def gaussian_tables(scales: np.ndarray, tail_mass: float = TAIL_MASS) -> TableSet:
    """One table per scale s: symbols v in [-t, t], t = ceil(s * Phi^-1(1 - tail/2)),
    p(v) = Phi((v + 1/2) / s) - Phi((v - 1/2) / s); the tails go to the escape symbol."""
    pmfs, offsets = [], []
    for s in np.asarray(scales, np.float64):
        t = int(np.ceil(s * -ndtri(tail_mass / 2)))
        v = np.arange(-t, t + 1, dtype=np.float64)
        pmfs.append(ndtr((v + 0.5) / s) - ndtr((v - 0.5) / s))
        offsets.append(-t)
    return _stack(pmfs, offsets)


def factorized_tables(logits_cdf, medians: np.ndarray, quantiles: np.ndarray) -> TableSet:
    """One table per channel of a factorized prior.

    ``logits_cdf(values (C, n)) -> (C, n)`` evaluates the logits of each channel's cumulative
    density; channel c codes v = round(z - medians[c]) for v in
    [floor(q_lo - med), ceil(q_hi - med)] (always including 0).
    """
    medians = np.asarray(medians, np.float64)
    quantiles = np.asarray(quantiles, np.float64)
    lo = np.minimum(np.floor(quantiles[:, 0] - medians), 0).astype(np.int64)
    hi = np.maximum(np.ceil(quantiles[:, 2] - medians), 0).astype(np.int64)
    width = int((hi - lo).max()) + 1
    values = medians[:, None] + lo[:, None] + np.arange(width)[None, :]  # (C, width)
    upper = np.asarray(logits_cdf(values + 0.5), np.float64)
    lower = np.asarray(logits_cdf(values - 0.5), np.float64)
    sign = -np.sign(lower + upper)  # evaluate in the tail where the sigmoid is accurate
    pmf_all = np.abs(expit(sign * upper) - expit(sign * lower))
    pmfs = [pmf_all[c, : int(hi[c] - lo[c]) + 1] for c in range(len(medians))]
    return _stack(pmfs, lo.tolist())
