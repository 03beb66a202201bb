"""Bjontegaard delta rate and delta PSNR (VCEG-M33).

Each curve is (rates, qualities) with rates in bpp and qualities in dB (or MS-SSIM). Following the
original method, log(rate) is fitted as a cubic polynomial of quality (and quality of log rate for
BD-PSNR), both fits are integrated over the overlapping quality (rate) interval, and the mean
difference is reported: BD-rate in percent (negative = the test curve needs fewer bits), BD-PSNR
in dB (positive = the test curve is better). Needs at least 4 points per curve; returns NaN if
the curves do not overlap.
"""

from __future__ import annotations

import numpy as np


def _prepare(rate, quality):
    rate, quality = np.asarray(rate, np.float64), np.asarray(quality, np.float64)
    keep = np.isfinite(rate) & np.isfinite(quality) & (rate > 0)
    rate, quality = rate[keep], quality[keep]
    if rate.size < 4:
        raise ValueError("BD metrics need at least 4 rate points per curve")
    order = np.argsort(rate)
    return np.log(rate[order]), quality[order]


def _mean_integral_diff(x_a, y_a, x_b, y_b):
    lo, hi = max(x_a.min(), x_b.min()), min(x_a.max(), x_b.max())
    if hi <= lo:
        return float("nan")
    pa, pb = np.polyint(np.polyfit(x_a, y_a, 3)), np.polyint(np.polyfit(x_b, y_b, 3))
    ia = np.polyval(pa, hi) - np.polyval(pa, lo)
    ib = np.polyval(pb, hi) - np.polyval(pb, lo)
    return (ib - ia) / (hi - lo)


def bd_rate(ref_rate, ref_quality, test_rate, test_quality) -> float:
    """Average rate difference of test against reference at equal quality, in percent."""
    lr_a, q_a = _prepare(ref_rate, ref_quality)
    lr_b, q_b = _prepare(test_rate, test_quality)
    diff = _mean_integral_diff(q_a, lr_a, q_b, lr_b)
    return float((np.exp(diff) - 1.0) * 100.0)


def bd_psnr(ref_rate, ref_quality, test_rate, test_quality) -> float:
    """Average quality difference of test against reference at equal rate."""
    lr_a, q_a = _prepare(ref_rate, ref_quality)
    lr_b, q_b = _prepare(test_rate, test_quality)
    return float(_mean_integral_diff(lr_a, q_a, lr_b, q_b))
