"""Image quality metrics on 8-bit images (pixel range 0..255).

``psnr``: 10 log10(255^2 / MSE) over all pixels and channels, ``inf`` for identical images.
``ms_ssim``: multi-scale SSIM (Wang, Simoncelli, Bovik 2003) with the standard settings of
pytorch_msssim / tf.image.ssim_multiscale: 11x11 Gaussian window (sigma 1.5), K1 = 0.01,
K2 = 0.03, 5 scales with weights (0.0448, 0.2856, 0.3001, 0.2363, 0.1333), 2x2 average pooling
(zero-padded on odd sides), per-channel values averaged. Needs at least 161 pixels per side.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

MS_SSIM_WEIGHTS = np.array([0.0448, 0.2856, 0.3001, 0.2363, 0.1333])
WINDOW, SIGMA = 11, 1.5
MIN_SIDE = (WINDOW - 1) * 2 ** (len(MS_SSIM_WEIGHTS) - 1) + 1


def _as_hwc(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a, np.float64)
    return a[..., None] if a.ndim == 2 else a


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    a, b = _as_hwc(a), _as_hwc(b)
    if a.shape != b.shape:
        raise ValueError(f"images differ in shape: {a.shape} vs {b.shape}")
    mse = float(np.mean((a - b) ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(255.0**2 / mse)


def _gaussian_window() -> np.ndarray:
    x = np.arange(WINDOW) - WINDOW // 2
    g = np.exp(-(x**2) / (2 * SIGMA**2))
    return g / g.sum()


def _filter(x: np.ndarray) -> np.ndarray:
    """Valid separable Gaussian filtering of (H, W, C)."""
    g = _gaussian_window()
    x = sliding_window_view(x, WINDOW, axis=0) @ g  # (H-10, W, C)
    return sliding_window_view(x, WINDOW, axis=1) @ g  # (H-10, W-10, C)


def _ssim_cs(a, b):
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    mu_a, mu_b = _filter(a), _filter(b)
    var_a = _filter(a * a) - mu_a**2
    var_b = _filter(b * b) - mu_b**2
    cov = _filter(a * b) - mu_a * mu_b
    cs = (2 * cov + c2) / (var_a + var_b + c2)
    ssim = (2 * mu_a * mu_b + c1) / (mu_a**2 + mu_b**2 + c1) * cs
    return ssim.mean(axis=(0, 1)), cs.mean(axis=(0, 1))  # per channel


def _pool(x):
    h, w, _ = x.shape
    x = np.pad(x, ((h % 2, h % 2), (w % 2, w % 2), (0, 0)))  # as avg_pool2d(padding=s % 2)
    h, w, c = x.shape
    h, w = h // 2 * 2, w // 2 * 2
    x = x[:h, :w]
    return x.reshape(h // 2, 2, w // 2, 2, c).mean(axis=(1, 3))


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Single-scale SSIM, mean over the image and channels."""
    s, _ = _ssim_cs(_as_hwc(a), _as_hwc(b))
    return float(s.mean())


def ms_ssim(a: np.ndarray, b: np.ndarray) -> float:
    a, b = _as_hwc(a), _as_hwc(b)
    if a.shape != b.shape:
        raise ValueError(f"images differ in shape: {a.shape} vs {b.shape}")
    if min(a.shape[:2]) < MIN_SIDE:
        raise ValueError(f"MS-SSIM with 5 scales needs images of at least {MIN_SIDE} pixels "
                         f"per side, got {a.shape[1]}x{a.shape[0]}")
    values = []
    for i in range(len(MS_SSIM_WEIGHTS)):
        s, cs = _ssim_cs(a, b)
        values.append(np.maximum(cs if i < len(MS_SSIM_WEIGHTS) - 1 else s, 0.0))
        a, b = _pool(a), _pool(b)
    per_channel = np.prod(np.stack(values) ** MS_SSIM_WEIGHTS[:, None], axis=0)
    return float(per_channel.mean())
