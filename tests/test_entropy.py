import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
from hypothesis import given, settings
from hypothesis import strategies as st

from jlic.entropy.coder import CorruptStreamError, IndexedCoder
from jlic.entropy.factorized import FactorizedPrior
from jlic.entropy.gaussian import gaussian_likelihood, scale_index, scale_table
from jlic.entropy.tables import PRECISION, TableSet, gaussian_tables, quantize_pmf


def test_factorized_likelihood_sums_to_one_over_integers():
    prior = FactorizedPrior(3, rngs=nnx.Rngs(0))
    v = jnp.arange(-200, 201, dtype=jnp.float32)
    z = jnp.broadcast_to(v[:, None], (v.size, 3)).reshape(1, 1, v.size, 3)
    total = prior.likelihood(z).sum(axis=(0, 1, 2))
    np.testing.assert_allclose(total, 1.0, atol=1e-3)


def test_factorized_aux_loss_moves_quantiles_towards_tails():
    prior = FactorizedPrior(2, rngs=nnx.Rngs(0))
    g, params, q = nnx.split(prior, nnx.Param, ...)
    def loss(q):
        return nnx.merge(g, params, q).aux_loss()
    before = loss(q)
    for _ in range(50):
        grads = jax.grad(loss)(q)
        q = jax.tree.map(lambda a, b: a - 0.5 * b, q, grads)
    assert loss(q) < before


@pytest.mark.parametrize("scale", [0.11, 0.5, 3.0, 40.0])
@pytest.mark.parametrize("mean", [0.0, 0.3])
def test_gaussian_likelihood_sums_to_one(scale, mean):
    v = jnp.arange(-2000, 2001, dtype=jnp.float32)
    p = gaussian_likelihood(v, jnp.full_like(v, scale), mean)
    np.testing.assert_allclose(float(p.sum()), 1.0, atol=1e-4)


def test_scale_index_picks_nearest_entry_in_log_domain():
    table = scale_table()
    rng = np.random.default_rng(0)
    s = np.exp(rng.uniform(np.log(0.05), np.log(400), 1000)).astype(np.float32)
    idx = np.asarray(scale_index(jnp.asarray(s)))
    log_s = np.log(s.astype(np.float64))[:, None]
    expected = np.argmin(np.abs(np.log(table)[None, :] - log_s), axis=1)
    np.testing.assert_array_equal(idx, expected)


@given(st.lists(st.floats(0, 1), min_size=2, max_size=300))
@settings(max_examples=200, deadline=None)
def test_quantize_pmf_is_a_valid_table(p):
    p = np.asarray(p)
    if p.sum() == 0:
        p = p + 1
    q = quantize_pmf(p)
    assert q.sum() == 2**PRECISION and q.min() >= 1


def test_gaussian_tables_cover_the_scale_table():
    t = gaussian_tables(scale_table())
    assert t.freqs.shape[0] == 64
    # wider scales -> wider tables, and the escape symbol is always the last used entry
    assert np.all(np.diff(t.lengths) >= 0)
    assert np.all(t.offsets == -(t.lengths - 2) // 2)


def _coder():
    return IndexedCoder(gaussian_tables(scale_table()))


def test_coder_round_trip_with_escapes_and_size_matches_tables():
    coder = _coder()
    rng = np.random.default_rng(0)
    n = 50_000
    idx = rng.integers(0, 64, n)
    v = np.round(rng.normal(size=n) * scale_table()[idx]).astype(np.int32)
    v[:6] = [10**6, -10**6, 2**30, -(2**30), 5000, -5000]  # far outside their tables
    idx[:6] = 0
    data = coder.encode(v, idx)
    np.testing.assert_array_equal(coder.decode(data, idx), v)
    t = coder.tables
    pos = np.clip(v - t.offsets[idx], 0, t.lengths[idx] - 1)
    bits = -np.log2(t.freqs[idx, pos] / 2**16).sum() + 6 * 32  # escapes: 32 raw bits each
    assert abs(len(data) * 8 - bits) / bits < 0.005


@given(st.lists(st.tuples(st.integers(-(2**30), 2**30), st.integers(0, 63)), max_size=200))
@settings(max_examples=100, deadline=None)
def test_coder_round_trips_any_int_values(pairs):
    coder = _coder()
    v = np.asarray([p[0] for p in pairs], np.int32)
    idx = np.asarray([p[1] for p in pairs], np.int64)
    np.testing.assert_array_equal(coder.decode(coder.encode(v, idx), idx), v)


def test_coder_rejects_absurd_values_and_bad_streams():
    coder = _coder()
    with pytest.raises(ValueError):
        coder.encode(np.asarray([2**31 - 1]), np.asarray([0]))
    with pytest.raises(CorruptStreamError):
        coder.decode(b"abc", np.zeros(3, np.int64))


def test_table_set_validation():
    with pytest.raises(ValueError):
        TableSet(np.array([[2**16, 0]], np.int32), np.zeros(1, np.int32), np.array([2], np.int32))
