"""A cheap quality probe during training: the model's own rate-distortion estimate (likelihoods,
no entropy coding) on a few held-out images, so a run's progress can be read without stopping
it.

    probe = make_probe(config, graphdef, rate_spec)   # None when config.probe.every == 0
    probe(params, quantiles) -> {"probe/bpp@R": ..., "probe/psnr@R": ...}   (R: rate input)

Images: the first ``probe.images`` images (sorted) of ``probe.dir``, centre crops of
``probe.crop`` pixels (reflect-padded if smaller). Rates: single-rate models once; SCR at
qualities 1, 4.5, 8; AFB at targets 0.25, 0.75, 1.25 bpp. bpp is the estimate of the rounded
latents' likelihoods (what a file would take, up to coding overhead); PSNR is of the
reconstruction clipped to [0, 1].
"""

from __future__ import annotations

import os

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from jlic.train import data as data_lib
from jlic.train.losses import bits, psnr_from_mse

PROBE_RATES = {"none": (None,), "quality": (1.0, 4.5, 8.0), "bpp": (0.25, 0.75, 1.25)}


def probe_images(folder: str, count: int, crop: int) -> np.ndarray:
    """(n, crop, crop, 3) uint8 centre crops of the first ``count`` usable images."""
    paths = data_lib.scan_images(folder).paths[:count]
    out = []
    for p in paths:
        img = data_lib.load_rgb(p)
        h, w, _ = img.shape
        if h < crop or w < crop:
            img = np.pad(img, ((0, max(0, crop - h)), (0, max(0, crop - w)), (0, 0)),
                         mode="symmetric")
            h, w, _ = img.shape
        top, left = (h - crop) // 2, (w - crop) // 2
        out.append(img[top: top + crop, left: left + crop])
    return np.stack(out)


def make_probe(config, graphdef, rate_spec):
    if not config.probe.every:
        return None
    images = jnp.asarray(probe_images(config.probe.dir, config.probe.images,
                                      config.probe.crop), jnp.float32) / 255.0
    n, h, w, _ = images.shape

    @jax.jit
    def estimate(params, quantiles, rate):
        model = nnx.merge(graphdef, params, quantiles)
        out = model(images, rate, training=False)
        bpp = jnp.mean(bits(out["likelihoods"])) / (h * w)
        mse = jnp.mean(jnp.square(jnp.clip(out["x_hat"], 0.0, 1.0) - images))
        return bpp, psnr_from_mse(mse)

    def probe(params, quantiles) -> dict:
        metrics = {}
        for r in PROBE_RATES[rate_spec.kind]:
            rate = None if r is None else jnp.full((n,), r, jnp.float32)
            bpp, psnr = jax.device_get(estimate(params, quantiles, rate))
            tag = "" if r is None else f"@{r:g}"
            metrics[f"probe/bpp{tag}"] = float(bpp)
            metrics[f"probe/psnr{tag}"] = float(psnr)
        return metrics

    return probe


def check_held_out(probe_dir: str, train_dir: str) -> bool:
    """True when the probe folder is not inside the training folder (nor the reverse)."""
    a, b = os.path.realpath(probe_dir), os.path.realpath(train_dir)
    return os.path.commonpath([a, b]) not in (a, b)
