"""Rate-distortion losses. Images are in [0, 1]; rates in bits per pixel (bpp)."""

from __future__ import annotations

import jax.numpy as jnp


def bits(likelihoods) -> jnp.ndarray:
    """Total bits of a pytree of likelihood arrays, per image: (B,)."""
    import jax

    leaves = jax.tree.leaves(likelihoods)
    return sum(jnp.sum(-jnp.log2(l), axis=tuple(range(1, l.ndim))) for l in leaves)


def psnr_from_mse(mse):
    """PSNR in dB of an MSE on [0, 1] images (peak 1)."""
    return -10.0 * jnp.log10(jnp.maximum(mse, 1e-10))


def rate_distortion_loss(out: dict, x: jnp.ndarray, lmbda: float) -> dict:
    """loss = lmbda * 255^2 * MSE + bpp (CompressAI's convention; MSE on [0,1] images).

    Returns scalar metrics: loss, bpp, mse, psnr (dB).
    """
    num_pixels = x.shape[0] * x.shape[1] * x.shape[2]
    bpp = jnp.sum(bits(out["likelihoods"])) / num_pixels
    mse = jnp.mean(jnp.square(out["x_hat"].astype(jnp.float32) - x.astype(jnp.float32)))
    loss = lmbda * 255.0**2 * mse + bpp
    return {"loss": loss, "bpp": bpp, "mse": mse, "psnr": psnr_from_mse(mse)}
