import atexit
import os
import shutil
import sys
import tempfile

# One XLA compilation cache for the whole test session, shared with the train.py and jlic
# processes the tests start (they inherit os.environ): the same tiny models compile once instead of
# in every process (a 40-step tiny train.py run: 59 s cold, 16 s warm). Keyed by XLA_FLAGS among
# others, so runs under other flags (the exactness test's --xla_cpu_max_isa) compile their own.
# pytest-xdist's workers inherit the folder from the process that made it (and removes it).
if "JLIC_TESTS_XLA_CACHE" not in os.environ:
    _XLA_CACHE = tempfile.mkdtemp(prefix="jlic-tests-xla-cache-")
    atexit.register(shutil.rmtree, _XLA_CACHE, ignore_errors=True)
    os.environ.update(JLIC_TESTS_XLA_CACHE=_XLA_CACHE, JAX_COMPILATION_CACHE_DIR=_XLA_CACHE,
                      JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0",
                      JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES="-1")

from jlic import cpu_flags  # noqa: E402

cpu_flags.configure("train")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(ROOT, "..", "shared")
KODAK = os.path.join(SHARED, "data", "kodak")
TRAIN_DATA = os.path.join(SHARED, "data", "train")
PYTHON = sys.executable


def perturbed_scr(name="scr_mean_scale", N=8, M=8, *, qv_top=2.0, gamma_spread=False,
                  importance=20.0, h_s_head=1.0, g_a_last=40.0):
    """An untrained SCR model whose rate input matters as in a trained one: gains falling from
    ``qv_top`` (q=1) to 1 (q=8), adjustment exponents from 2 to 1/2 (optionally spread over
    channels), and the importance head, h_s's last layer and g_a's last layer scaled by the given
    factors (1: untouched; a spread-out importance map, scales that vary over the image, latents of
    several quantization steps). Returns the ``nnx`` model."""
    import jax.numpy as jnp
    from flax import nnx

    from jlic.models import build_model
    from jlic.rate import SCR_LEVELS

    model = build_model(name, nnx.Rngs(0), N=N, M=M)
    levels = jnp.arange(SCR_LEVELS, dtype=jnp.float32)[:, None]
    spread = jnp.linspace(0.5, 1.5, M)[None, :] if gamma_spread else jnp.ones((1, M))
    model.log_gamma.set_value(jnp.log(2.0) * (3.5 - levels) / 3.5 * spread)
    model.log_qv.set_value(jnp.broadcast_to(jnp.log(qv_top) * (7 - levels) / 7, (SCR_LEVELS, M)))
    model.log_iqv.set_value(model.log_qv.get_value())
    for layer, factor in ((model.importance, importance), (model.h_s.layers[-1], h_s_head),
                          (model.g_a.layers[-1], g_a_last)):
        if factor != 1.0:
            layer.kernel.set_value(factor * layer.kernel.get_value())
    return model


AFB_CONFIG = {"name": "afb_mean_scale", "N": 8, "M": 12, "rate_range": [0.1, 2.0]}


def perturbed_afb(seed=0):
    """An untrained AFB model (``AFB_CONFIG``) whose attention MLPs are non-zero and depend
    strongly on the rate input, as after training; g_a's last layer scaled so that y spans
    several quantization steps. Returns the ``nnx`` model."""
    import jax.numpy as jnp
    import numpy as np
    from flax import nnx

    from jlic.models import build_model

    model = build_model(rngs=nnx.Rngs(seed), **AFB_CONFIG)
    rng = np.random.default_rng(seed)
    for blocks in (model.afb_g_a, model.afb_h_a, model.afb_h_s, model.afb_g_s):
        for b in blocks:
            k = b.fc2.kernel.get_value()
            b.fc2.kernel.set_value(jnp.asarray(rng.normal(size=k.shape).astype(np.float32)))
            k = b.fc1.kernel.get_value()
            b.fc1.kernel.set_value(k.at[-1].set(3.0))  # a strong dependence on the rate input
    last = model.g_a.layers[-1]
    last.kernel.set_value(40.0 * last.kernel.get_value())
    return model
