"""Training quantization modes: what the rate and the decoders see in each."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from jlic.models import build_model
from jlic.quantize import QUANTIZATION_MODES
from jlic.train.losses import rate_distortion_loss


@pytest.fixture(scope="module")
def model_and_image():
    model = build_model("mean_scale", nnx.Rngs(0), N=16, M=24, eb_filters=(3,))
    x = jnp.asarray(np.random.default_rng(0).random((1, 64, 64, 3), np.float32))
    return model, x


def _run(model, x, mode, training=True):
    return model(x, rng=jax.random.key(3), training=training, quantization=mode)


def test_ste_rate_and_reconstruction_are_the_rounded_ones(model_and_image):
    model, x = model_and_image
    ste, rounded = _run(model, x, "ste"), _run(model, x, None, training=False)
    for k in ("y", "z"):
        np.testing.assert_allclose(ste["likelihoods"][k], rounded["likelihoods"][k], rtol=1e-6)
    np.testing.assert_allclose(ste["x_hat"], rounded["x_hat"], atol=1e-6)


def test_mixed_takes_the_noisy_rate_and_the_rounded_reconstruction(model_and_image):
    model, x = model_and_image
    mixed, noise = _run(model, x, "mixed"), _run(model, x, "noise")
    rounded = _run(model, x, None, training=False)
    # (y's likelihoods differ: h_s sees round(z) in one, z + noise in the other)
    np.testing.assert_allclose(mixed["likelihoods"]["z"], noise["likelihoods"]["z"], rtol=1e-6)
    np.testing.assert_allclose(mixed["x_hat"], rounded["x_hat"], atol=1e-6)
    assert not np.allclose(noise["x_hat"], rounded["x_hat"], atol=1e-3)  # decoder saw noise
    assert not np.allclose(noise["likelihoods"]["y"], rounded["likelihoods"]["y"], rtol=1e-3)


def test_every_mode_gives_gradients_to_the_analysis(model_and_image):
    model, x = model_and_image
    graphdef, params, rest = nnx.split(model, nnx.Param, ...)

    def loss(p, mode):
        m = nnx.merge(graphdef, p, rest)
        return rate_distortion_loss(0.013, mode)(m, x, jax.random.key(0))["loss"]

    for mode in QUANTIZATION_MODES:
        g = jax.grad(loss)(params, mode)
        g_a = np.asarray(g["g_a"]["layers"][0]["kernel"][...])
        assert np.isfinite(g_a).all() and np.abs(g_a).sum() > 0, mode


def test_unknown_mode_is_refused(model_and_image):
    model, x = model_and_image
    with pytest.raises(ValueError, match="quantization mode 'round'"):
        _run(model, x, "round")
