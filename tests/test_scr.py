import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
from PIL import Image

from conftest import KODAK, perturbed_scr
from jlic import codec
from jlic.errors import RateError
from jlic.frozen import freeze
from jlic.models import build_model
from jlic.models.scr import LEVELS, interpolate_levels
from jlic.train.losses import scr_lambdas, scr_multilevel_loss


def _kodak_crop():
    return np.asarray(Image.open(f"{KODAK}/kodim05.png").convert("RGB"))[:128, :192]


def _hyper_features(frozen, lat):
    """The float model's hyper-decoder features from a file's z symbols."""
    z_hat = jnp.asarray(lat.z_sym.astype(np.float32) + frozen.medians)
    return frozen.model.hyper_features(z_hat)


@pytest.fixture(scope="module", params=["scr_mean_scale", "scr_scale_hyperprior"])
def scr_frozen(request):
    """An untrained SCR model with gamma falling from 2 (q=1) to 1/2 (q=8), gains falling with q
    and a spread-out importance map, so that the rate input matters as in a trained model."""
    model = perturbed_scr(request.param)
    return freeze(model, {"name": request.param, "N": 8, "M": 8})


def test_interpolation_hits_levels_and_is_geometric():
    table = jnp.log(jnp.arange(1, 17, dtype=jnp.float32).reshape(LEVELS, 2))
    q = jnp.arange(1, LEVELS + 1, dtype=jnp.float32)
    np.testing.assert_allclose(interpolate_levels(table, q), jnp.exp(table), rtol=1e-6)
    mid = interpolate_levels(table, jnp.asarray([2.5]))[0]
    np.testing.assert_allclose(mid, np.sqrt(np.exp(table[1]) * np.exp(table[2])), rtol=1e-6)


def test_quality_is_a_per_image_array_input(scr_frozen):
    model = scr_frozen.model
    x = jnp.asarray(np.random.default_rng(0).random((3, 64, 64, 3), np.float32))
    out = model(x, jnp.asarray([1.0, 4.5, 8.0]))
    for i, q in enumerate([1.0, 4.5, 8.0]):
        single = model(x[i: i + 1], jnp.asarray([q]))
        np.testing.assert_allclose(out["x_hat"][i], single["x_hat"][0], atol=1e-5)
        np.testing.assert_allclose(out["likelihoods"]["y"][i], single["likelihoods"]["y"][0],
                                   rtol=1e-4)


def test_test_mask_is_thresholded_adjusted_map(scr_frozen):
    """The coded mask is round(m ** gamma_q) of the float model (computed exactly in integers:
    it may differ only where the float value is within fixed-point precision of 1/2)."""
    from jlic.exact import snap_quality

    image = _kodak_crop()
    for q in (1.0, 3.7, 8.0):
        lat = codec.quantized_latents(scr_frozen, image, q)
        steps = scr_frozen.integer_coding_params.quality_steps
        q_grid = 1.0 + snap_quality(q, steps) / steps
        m_adj = np.asarray(scr_frozen.model.adjusted_importance(_hyper_features(scr_frozen, lat),
                                                                jnp.asarray([q_grid])))
        disagree = lat.mask != (m_adj > 0.5)
        assert np.all(np.abs(m_adj[disagree] - 0.5) < 1e-2)
        assert disagree.mean() < 1e-2


def test_files_code_what_the_float_model_codes_where_gamma_is_near_zero():
    """Trained SCR models drive gamma towards 0 at the top levels (0.01 at q = 8), where the
    float model's clip(m, MASK_EPS, 1) ** gamma exceeds 1/2 even for m = 0: the file's mask must
    code those elements too (it once left out every element with m = 0: 30% of y)."""
    model = perturbed_scr()
    log_gamma = np.array(model.log_gamma.get_value())
    log_gamma[-1] = np.log(0.01)
    model.log_gamma.set_value(jnp.asarray(log_gamma))
    frozen = freeze(model, {"name": "scr_mean_scale", "N": 8, "M": 8})
    lat = codec.quantized_latents(frozen, _kodak_crop(), 8.0)
    features = _hyper_features(frozen, lat)
    assert (np.asarray(model.importance_map(features)) == 0.0).mean() > 0.1  # the case arises
    m_adj = np.asarray(model.adjusted_importance(features, jnp.asarray([8.0])))
    np.testing.assert_array_equal(lat.mask, m_adj > 0.5)
    assert lat.mask.all()


@pytest.mark.parametrize("q", [1.0, 2.5, 8.0])
def test_files_round_trip_exactly_at_fractional_quality(scr_frozen, q):
    image = _kodak_crop()
    lat = codec.quantized_latents(scr_frozen, image, q)
    data = codec.compress(scr_frozen, image, q)
    header, y_hat, mask = codec.decode_y_hat(scr_frozen, data, return_mask=True)
    assert header.rate_value == np.float32(q)
    np.testing.assert_array_equal(mask, lat.mask)
    np.testing.assert_array_equal(y_hat, lat.y_hat)
    # unselected elements decode to the prior mean (0 for the scale hyperprior)
    p = scr_frozen.coding_params_from_symbols(lat.z_sym, q)
    np.testing.assert_array_equal(y_hat[~mask], p["mean"][~mask])
    assert not lat.mask.all() and (q == 1.0 or lat.mask.any())


def test_the_coded_elements_are_those_selected_over_the_image(scr_frozen):
    """A 150x100 crop is padded to 192x128 (y: 12x8, 10x7 over the image): the count is of the
    selected elements among those over the image."""
    data = codec.compress(scr_frozen, _kodak_crop()[:100, :150], 4.0)
    mask = codec.coded_mask(scr_frozen, data)
    coded, total = codec.coded_elements(scr_frozen, data)
    assert total == 7 * 10 * mask.shape[-1]
    assert coded == mask[:, :7, :10].sum() == mask.sum() and 0 < coded < total


def test_lower_quality_selects_fewer_elements_and_smaller_files(scr_frozen):
    image = _kodak_crop()
    qs = [1.0, 2.5, 4.0, 6.0, 8.0]
    lats = [codec.quantized_latents(scr_frozen, image, q) for q in qs]
    for lo, hi in zip(lats, lats[1:], strict=False):
        assert np.all(lo.mask <= hi.mask)  # at fixed z_hat, nested selections
    sizes = [len(codec.compress(scr_frozen, image, q)) for q in qs]
    assert sizes == sorted(sizes) and sizes[0] < sizes[-1]


def test_quality_out_of_range_is_refused(scr_frozen):
    with pytest.raises(RateError, match="quality"):
        codec.compress(scr_frozen, _kodak_crop(), 0.5)
    with pytest.raises(RateError, match="needs a rate input"):
        codec.compress(scr_frozen, _kodak_crop())


def test_training_mask_is_a_bernoulli_sample_with_straight_through_gradient():
    model = build_model("scr_mean_scale", nnx.Rngs(0), N=8, M=8)
    z_hat = jnp.asarray(np.random.default_rng(0).normal(size=(4, 4, 4, 8)).astype(np.float32))
    q = jnp.full((4,), 3.0)
    m_adj = model.adjusted_importance(model.hyper_features(z_hat), q)
    masks = jnp.stack([model.coding_params(z_hat, q, mask_rng=jax.random.key(i))["mask"]
                       for i in range(200)])
    assert set(np.unique(np.asarray(masks))) <= {0.0, 1.0}
    freq = np.asarray(masks.mean(0))
    assert abs(freq.mean() - float(m_adj.mean())) < 0.01  # 8192 x 200 samples
    assert np.abs(freq - np.asarray(m_adj)).max() < 0.25  # each element: > 7 sigma
    g, params, rest = nnx.split(model, nnx.Param, ...)

    def total(params):
        m = nnx.merge(g, params, rest)
        return m.coding_params(z_hat, q, mask_rng=jax.random.key(0))["mask"].sum()

    grads = jax.grad(total)(params)
    assert float(jnp.abs(grads["log_gamma"][...]).sum()) > 0  # gamma is trained through the mask
    assert np.all(np.isfinite(grads["log_gamma"][...]))


@pytest.mark.parametrize("k", [0, 3])
def test_multilevel_loss_weights_levels(k):
    model = build_model("scr_mean_scale", nnx.Rngs(0), N=8, M=8, selective=False)
    x = jnp.asarray(np.random.default_rng(0).random((2, 64, 64, 3), np.float32))
    m = scr_multilevel_loss(0.2, 8, k)(model, x, jax.random.key(0))
    assert np.isfinite(float(m["loss"])) and float(m["bpp"]) > 0
    # the loss grows with lambda_max through the distortion term
    bigger = scr_multilevel_loss(0.4, 8, k)(model, x, jax.random.key(0))
    assert float(bigger["loss"]) > float(m["loss"])


def test_lambda_ladder_is_scrs_by_default_and_can_be_widened():
    from configs import default

    c = default.get_config().scr
    qs = np.arange(1, 9, dtype=np.float64)
    np.testing.assert_allclose(scr_lambdas(qs, c.lambda_min, c.lambda_max),
                               0.2 * 2.0 ** -(8 - qs), rtol=1e-12)
    wide = scr_lambdas(qs, 0.0002, 0.15)
    np.testing.assert_allclose(wide[[0, -1]], [0.0002, 0.15], rtol=1e-12)
    assert np.all(np.diff(np.log(wide)) > 0) and np.ptp(np.diff(np.log(wide))) < 1e-12
    # the loss reads the ladder: lower lambdas at the low levels weigh distortion less
    model = build_model("scr_mean_scale", nnx.Rngs(0), N=8, M=8, selective=False)
    x = jnp.asarray(np.random.default_rng(0).random((2, 64, 64, 3), np.float32))
    paper = scr_multilevel_loss(0.2, 8, 0)(model, x, jax.random.key(0))
    lowered = scr_multilevel_loss(0.2, 8, 0, lambda_min=0.0002)(model, x, jax.random.key(0))
    assert float(lowered["loss"]) < float(paper["loss"])
    assert float(lowered["bpp"]) == pytest.approx(float(paper["bpp"]))


def test_init_from_can_restart_the_gain_vectors_as_the_released_code(tmp_path):
    """Stage 3 from a stage-2 model: with init_skip the QV/IQV restart, the rest is copied."""
    import optax

    from jlic.train.loop import init_from
    from jlic.train.step import init_train_state

    source = build_model("scr_mean_scale", nnx.Rngs(1), N=8, M=8, selective=False)
    source.log_qv.set_value(source.log_qv.get_value() + 0.7)
    path = tmp_path / "stage2.jlicm"
    freeze(source, {"name": "scr_mean_scale", "N": 8, "M": 8, "selective": False}).save(
        str(path))
    tx = aux = optax.adam(1e-3)
    for skip, moved in (((), True), (("log_qv", "log_iqv"), False)):
        target = build_model("scr_mean_scale", nnx.Rngs(2), N=8, M=8, selective=True)
        fresh_qv = np.asarray(target.log_qv.get_value())
        _, state = init_train_state(target, tx, aux)
        state = init_from(state, tx, aux, str(path), skip)
        qv = np.asarray(state.params["log_qv"].get_value())
        np.testing.assert_array_equal(qv, np.asarray(source.log_qv.get_value()) if moved
                                      else fresh_qv)
        np.testing.assert_array_equal(np.asarray(state.params["g_a"]["layers"][0]["kernel"]
                                                 .get_value()),
                                      np.asarray(source.g_a.layers[0].kernel.get_value()))


def test_init_from_a_compact_model_file_keeps_float32_parameters(tmp_path):
    """A compact file stores large kernels in float16; a run started from it trains float32
    parameters holding the rounded values (phase B starts from the bundled model)."""
    import optax

    from jlic.train.loop import init_from
    from jlic.train.step import init_train_state

    cfg = {"name": "scr_mean_scale", "N": 16, "M": 24, "selective": False}
    path = tmp_path / "compact.jlicm"
    compact = freeze(build_model(rngs=nnx.Rngs(1), **cfg), cfg, compact=True)
    compact.save(str(path))
    assert compact.params["h_s/layers/0/kernel"].dtype == np.float16
    tx = aux = optax.adam(1e-3)
    _, state = init_train_state(build_model(rngs=nnx.Rngs(2), **dict(cfg, selective=True)),
                                tx, aux)
    state = init_from(state, tx, aux, str(path))
    kernel = state.params["h_s"]["layers"][0]["kernel"].get_value()
    assert kernel.dtype == jnp.float32
    np.testing.assert_array_equal(np.asarray(kernel),
                                  compact.params["h_s/layers/0/kernel"].astype(np.float32))


def test_a_step_of_the_quality_grid_moves_a_file_by_well_under_one_percent():
    """--bpp-strict needs a file in a 1% band below the target: one step of the stored quality
    grid must change a real file's size by less than that (at 1/64 the bundled model's
    files jumped by up to 1.7%; at 1/256 this sweep's largest step is 0.65%)."""
    from jlic import DEFAULT_MODEL
    from jlic.frozen import FrozenModel

    model = FrozenModel.load(DEFAULT_MODEL)
    steps = model.integer_coding_params.quality_steps
    image = np.asarray(Image.open(f"{KODAK}/kodim01.png").convert("RGB"))
    enc = codec.Encoder(model, image)
    jumps = []
    for k in np.linspace(0, 7 * steps - 1, 15).astype(int):
        a, b = (len(enc.encode(1.0 + i / steps)) for i in (k, k + 1))
        jumps.append(abs(b - a) / a)
    assert max(jumps) < 0.01 and np.mean(jumps) > 0  # the grid moves, in small steps


def test_model_files_with_the_older_coarser_quality_grid_still_decode(monkeypatch, tmp_path):
    import jlic.exact
    from jlic.frozen import FrozenModel

    monkeypatch.setattr(jlic.exact, "QUALITY_STEPS", 64)  # a file frozen before the finer grid
    model = perturbed_scr()
    old = freeze(model, {"name": "scr_mean_scale", "N": 8, "M": 8})
    monkeypatch.undo()
    old.save(str(tmp_path / "old.jlicm"))
    loaded = FrozenModel.load(str(tmp_path / "old.jlicm"))
    assert loaded.integer_coding_params.quality_steps == 64
    assert loaded.fingerprint == old.fingerprint
    image = _kodak_crop()
    q = 3.0 + 1.5 / 256  # between two points of the old grid
    data = codec.compress(old, image, q)
    _, y_hat = codec.decode_y_hat(loaded, data)
    np.testing.assert_array_equal(y_hat, codec.quantized_latents(old, image, q).y_hat)
    p_old = loaded.coding_params_from_symbols(codec.quantized_latents(old, image, q).z_sym, q)
    p_grid = loaded.coding_params_from_symbols(
        codec.quantized_latents(old, image, 3.0).z_sym, 3.0 + 2 / 256)  # same 1/64 point
    np.testing.assert_array_equal(p_old["qv"], p_grid["qv"])


def _deeper_model_from_file(tmp_path, **blocks):
    """A small SCR model saved to a file, and a model with ``blocks`` initialised from that file
    as training's ``init_from`` does: (cfg, source, path, deep_cfg, deep)."""
    import optax

    from jlic.train.loop import init_from
    from jlic.train.step import init_train_state

    cfg = {"name": "scr_mean_scale", "N": 8, "M": 8, "selective": False}
    source = build_model(rngs=nnx.Rngs(1), **cfg)
    path = tmp_path / "source.jlicm"
    freeze(source, cfg).save(str(path))
    deep_cfg = dict(cfg, **blocks)
    tx = aux = optax.adam(1e-3)
    graphdef, state = init_train_state(build_model(rngs=nnx.Rngs(2), **deep_cfg), tx, aux)
    state = init_from(state, tx, aux, str(path))
    return cfg, source, path, deep_cfg, nnx.merge(graphdef, state.params, state.quantiles)


def test_a_deeper_encoder_starts_as_the_model_it_extends_and_its_files_decode(tmp_path):
    """``analysis_blocks`` (phase S): a model with encoder blocks initialised from a model file
    without them encodes identically at step 0; once the blocks differ from the identity the
    latents change, and its own files still round-trip to the latents it coded."""
    from jlic.frozen import FrozenModel

    cfg, source, path, deep_cfg, deep = _deeper_model_from_file(tmp_path, analysis_blocks=2)
    x = jnp.asarray(np.random.default_rng(0).random((1, 64, 64, 3), np.float32))
    q = jnp.asarray([5.0])
    np.testing.assert_array_equal(np.asarray(deep.analysis(x, q)),
                                  np.asarray(source.analysis(x, q)))

    last = deep.g_a_blocks[1].body.layers[3]
    last.kernel.set_value(jax.random.normal(jax.random.key(3), last.kernel.get_value().shape))
    assert not np.allclose(np.asarray(deep.analysis(x, q)), np.asarray(source.analysis(x, q)))
    deep_path = tmp_path / "deep.jlicm"
    freeze(deep, deep_cfg).save(str(deep_path))
    frozen = FrozenModel.load(str(deep_path))
    assert frozen.model.g_a_blocks[1].body.layers[3].kernel.get_value().shape == (3, 3, 8, 8)
    image = _kodak_crop()
    lat = codec.quantized_latents(frozen, image, 5.0)
    _, y_hat = codec.decode_y_hat(frozen, codec.compress(frozen, image, 5.0))
    np.testing.assert_array_equal(y_hat, lat.y_hat)
    with pytest.raises(ValueError, match="plain GDN transforms"):
        build_model(rngs=nnx.Rngs(0), **dict(deep_cfg, residual=True))
    for bad in (-1, 1.5):
        with pytest.raises(ValueError, match="a count >= 0"):
            build_model(rngs=nnx.Rngs(0), **dict(cfg, analysis_blocks=bad))


def test_a_deeper_decoder_starts_as_the_model_it_extends_and_decodes_its_files_with_the_blocks(
        tmp_path):
    """``synthesis_blocks`` (phase T): a model with decoder blocks initialised from a model file
    without them synthesizes identically at step 0; once the blocks differ from the identity,
    its files carry the same latents as the source's but decode to another image."""
    from jlic.frozen import FrozenModel

    cfg, source, path, deep_cfg, deep = _deeper_model_from_file(tmp_path, synthesis_blocks=2)
    y_hat = jnp.asarray(np.random.default_rng(0).normal(size=(1, 4, 4, 8)).astype(np.float32))
    q = jnp.asarray([5.0])
    np.testing.assert_array_equal(np.asarray(deep.synthesis(y_hat, q)),
                                  np.asarray(source.synthesis(y_hat, q)))

    last = deep.g_s_blocks[0].body.layers[3]
    last.kernel.set_value(jax.random.normal(jax.random.key(3), last.kernel.get_value().shape))
    assert not np.allclose(np.asarray(deep.synthesis(y_hat, q)),
                           np.asarray(source.synthesis(y_hat, q)))
    deep_path = tmp_path / "deep.jlicm"
    freeze(deep, deep_cfg).save(str(deep_path))
    frozen, frozen_source = FrozenModel.load(str(deep_path)), FrozenModel.load(str(path))
    assert frozen.model.g_s_blocks[0].body.layers[3].kernel.get_value().shape == (3, 3, 8, 8)
    image = _kodak_crop()
    data, data_source = (codec.compress(m, image, 5.0) for m in (frozen, frozen_source))
    np.testing.assert_array_equal(codec.decode_y_hat(frozen, data)[1],
                                  codec.decode_y_hat(frozen_source, data_source)[1])
    decoded = codec.decompress(frozen, data)
    assert decoded.shape == image.shape
    assert not np.array_equal(decoded, codec.decompress(frozen_source, data_source))
    with pytest.raises(ValueError, match="plain GDN transforms"):
        build_model(rngs=nnx.Rngs(0), **dict(deep_cfg, fig2=True))
    with pytest.raises(ValueError, match="a count >= 0"):
        build_model(rngs=nnx.Rngs(0), **dict(cfg, synthesis_blocks=-1))


def test_decoder_blocks_widen_the_halo_of_banded_synthesis(tmp_path):
    """Tall images are synthesized in bands of latent rows with a halo of their neighbours. g_s
    reaches 2 latent rows past a band and each decoder block (two 3x3 convolutions at 1/8
    resolution) one more: with three blocks a fixed 4-row halo would cut the reach, and the
    bands would decode to another image than the whole map."""
    from jlic.frozen import FrozenModel

    *_, deep_cfg, deep = _deeper_model_from_file(tmp_path, synthesis_blocks=3)
    for i, block in enumerate(deep.g_s_blocks):
        for layer in (block.body.layers[0], block.body.layers[3]):
            layer.kernel.set_value(jax.random.normal(jax.random.key(i),
                                                     layer.kernel.get_value().shape))
    freeze(deep, deep_cfg).save(str(tmp_path / "deep.jlicm"))
    frozen = FrozenModel.load(str(tmp_path / "deep.jlicm"))
    tall = np.random.default_rng(1).normal(0, 4, (1, 30, 3, 8)).astype(np.float32)
    whole = frozen.synthesize(tall, 5.0)
    for rows in (5, 8):
        np.testing.assert_array_equal(frozen.synthesize(tall, 5.0, band_rows=rows), whole)
