"""Bjontegaard delta rate and delta PSNR (VCEG-M33).

Each curve is (rates, qualities) with rates in bpp and qualities in dB (or MS-SSIM). Following the
original method, log(rate) is fitted as a cubic polynomial of quality (and quality of log rate for
BD-PSNR), both fits are integrated over the overlapping quality (rate) interval, and the mean
difference is reported: BD-rate in percent (negative = the test curve needs fewer bits), BD-PSNR
in dB (positive = the test curve is better). Returns NaN if the curves do not overlap.

A cubic needs 4 points per curve. Where either curve of a pair has only 2 or 3 (three fixed-rate
models, say), both are interpolated piecewise-cubically instead (PCHIP, monotone between the
points: Bjontegaard's later VCEG-AI11 and JVET's common test conditions), integrated over the
same overlap; ``bd_fit`` says which fit a pair gets.

A single-rate codec has one point, where BD metrics are undefined; ``rate_at_equal_quality``
and ``quality_at_equal_rate`` compare it with a curve instead: the curve's rate at the point's
quality (log rate linear in quality between the curve's two nearest points), or its quality at
the point's rate (linear in log rate).
"""

from __future__ import annotations

import numpy as np
from scipy.interpolate import PchipInterpolator

CUBIC_POINTS = 4  # a curve with fewer points than this is interpolated piecewise (PCHIP)


def _valid_points(rate, quality):
    """-> (rates, qualities) as float64 vectors without non-finite values or rates <= 0."""
    rate = np.asarray(rate, np.float64).reshape(-1)
    quality = np.asarray(quality, np.float64).reshape(-1)
    keep = np.isfinite(rate) & np.isfinite(quality) & (rate > 0)
    return rate[keep], quality[keep]


def _prepare(rate, quality):
    rate, quality = _valid_points(rate, quality)
    if rate.size < 2:
        raise ValueError("BD metrics need at least 2 rate points per curve")
    order = np.argsort(rate)
    return np.log(rate[order]), quality[order]


def _piecewise(n_a: int, n_b: int) -> bool:
    """Whether a pair of curves of n_a and n_b points is fitted with PCHIP (else a cubic)."""
    return min(n_a, n_b) < CUBIC_POINTS


def bd_fit(ref_rate, ref_quality, test_rate, test_quality) -> str:
    """"cubic" or "PCHIP": how the BD functions fit this pair of curves (their valid points)."""
    piecewise = _piecewise(_valid_points(ref_rate, ref_quality)[0].size,
                           _valid_points(test_rate, test_quality)[0].size)
    return "PCHIP" if piecewise else "cubic"


def _antiderivative(x, y, piecewise):
    """-> F with F' the fit of y over x: a least-squares cubic, or the PCHIP interpolant."""
    if not piecewise:
        poly = np.polyint(np.polyfit(x, y, 3))
        return lambda t: np.polyval(poly, t)
    order = np.argsort(x)
    x, y = x[order], y[order]
    if np.any(np.diff(x) <= 0):
        raise ValueError("a curve of fewer than 4 points must rise in quality with rate "
                         "(no two points of equal quality)")
    return PchipInterpolator(x, y).antiderivative()


def _mean_integral_diff(x_a, y_a, x_b, y_b, interval=None):
    lo, hi = max(x_a.min(), x_b.min()), min(x_a.max(), x_b.max())
    if interval is not None:  # within the overlap only: the fits are not extrapolated
        lo, hi = max(lo, interval[0]), min(hi, interval[1])
    if hi <= lo:
        return float("nan")
    piecewise = _piecewise(x_a.size, x_b.size)
    fa, fb = _antiderivative(x_a, y_a, piecewise), _antiderivative(x_b, y_b, piecewise)
    return float((fb(hi) - fb(lo)) - (fa(hi) - fa(lo))) / (hi - lo)


def bd_rate(ref_rate, ref_quality, test_rate, test_quality, quality_interval=None) -> float:
    """Average rate difference of test against reference at equal quality, in percent; over
    the curves' overlap, or its part within ``quality_interval`` (lo, hi) if given (the same
    fits, integrated over fewer qualities)."""
    lr_a, q_a = _prepare(ref_rate, ref_quality)
    lr_b, q_b = _prepare(test_rate, test_quality)
    diff = _mean_integral_diff(q_a, lr_a, q_b, lr_b, quality_interval)
    return float((np.exp(diff) - 1.0) * 100.0)


def bd_psnr(ref_rate, ref_quality, test_rate, test_quality) -> float:
    """Average quality difference of test against reference at equal rate."""
    lr_a, q_a = _prepare(ref_rate, ref_quality)
    lr_b, q_b = _prepare(test_rate, test_quality)
    return float(_mean_integral_diff(lr_a, q_a, lr_b, q_b))


def _point_and_curve(ref, test):
    """-> (the point's (rate, quality), the curve's (rates, qualities), whether the point is
    the reference), from two (rate, quality) pairs of which exactly one is a single point."""
    ref, test = _valid_points(*ref), _valid_points(*test)
    if (ref[0].size == 1) == (test[0].size == 1) or min(ref[0].size, test[0].size) < 1:
        raise ValueError("a single-rate comparison compares one point with a curve")
    return (ref, test, True) if ref[0].size == 1 else (test, ref, False)


def rate_at_equal_quality(ref_rate, ref_quality, test_rate, test_quality) -> float:
    """Rate difference of test against reference at equal quality, in percent, where one of
    the two is a single point and the other a curve of at least 2 points: the curve's rate is
    interpolated (log rate linear in quality) at the point's quality. NaN where the point's
    quality is outside the curve's; ValueError unless exactly one side is a single point."""
    (p_rate, p_q), (c_rate, c_q), point_is_ref = _point_and_curve(
        (ref_rate, ref_quality), (test_rate, test_quality))
    order = np.argsort(c_q)
    q, log_rate = c_q[order], np.log(c_rate[order])
    if not q[0] <= p_q[0] <= q[-1]:
        return float("nan")
    curve_at_point = np.exp(np.interp(p_q[0], q, log_rate))
    ratio = curve_at_point / p_rate[0] if point_is_ref else p_rate[0] / curve_at_point
    return float((ratio - 1.0) * 100.0)


def quality_at_equal_rate(ref_rate, ref_quality, test_rate, test_quality) -> float:
    """Quality difference of test against reference at equal rate (dB for PSNR), where one is
    a single point and the other a curve: the curve's quality is interpolated (linear in log
    rate) at the point's rate. NaN outside the curve's rates."""
    (p_rate, p_q), (c_rate, c_q), point_is_ref = _point_and_curve(
        (ref_rate, ref_quality), (test_rate, test_quality))
    order = np.argsort(c_rate)
    log_rate, q = np.log(c_rate[order]), c_q[order]
    if not log_rate[0] <= np.log(p_rate[0]) <= log_rate[-1]:
        return float("nan")
    curve_at_point = np.interp(np.log(p_rate[0]), log_rate, q)
    return float(curve_at_point - p_q[0] if point_is_ref else p_q[0] - curve_at_point)
