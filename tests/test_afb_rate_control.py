import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx
from PIL import Image

from conftest import KODAK, perturbed_afb, perturbed_scr
from jlic import codec
from jlic.errors import RateError
from jlic.frozen import freeze
from jlic.layers.attention import RateAttention
from jlic.models import AFBMeanScale, build_model
from jlic.rate_control import compress_to_bpp
from jlic.train.losses import afb_rate_loss, afb_targets, lambda_for_targets
from jlic.train.step import init_train_state, make_train_step, split_model


def _image():
    return np.asarray(Image.open(f"{KODAK}/kodim05.png").convert("RGB"))[:256, :384]


def test_excitation_responds_to_rate_only_when_the_mlp_is_nonzero():
    block = RateAttention(8, rngs=nnx.Rngs(0))
    f = jnp.asarray(np.random.default_rng(0).normal(size=(2, 4, 4, 8)).astype(np.float32))
    a1 = block.excitation(f, jnp.asarray([0.2, 0.2]))
    a2 = block.excitation(f, jnp.asarray([1.2, 1.2]))
    np.testing.assert_array_equal(a1, a2)  # all-zero last layer: identity for every rate
    np.testing.assert_array_equal(block(f, jnp.asarray([0.5, 0.5])), f)
    trained = perturbed_afb().afb_g_a[0]
    f = jnp.asarray(np.random.default_rng(1).normal(size=(2, 4, 4, 8)).astype(np.float32))
    b1 = trained.excitation(f, jnp.asarray([0.2, 0.2]))
    b2 = trained.excitation(f, jnp.asarray([1.2, 1.2]))
    assert float(jnp.abs(b1 - b2).max()) > 1e-2


def test_ten_blocks_and_per_image_rate():
    model = perturbed_afb()
    counts = [len(model.afb_g_a), len(model.afb_h_a), len(model.afb_h_s), len(model.afb_g_s)]
    assert counts == [3, 2, 2, 3]
    x = jnp.asarray(np.random.default_rng(0).random((2, 64, 64, 3), np.float32))
    out = model(x, jnp.asarray([0.2, 1.5]))
    for i, b in enumerate([0.2, 1.5]):
        single = model(x[i: i + 1], jnp.asarray([b]))
        np.testing.assert_allclose(out["x_hat"][i], single["x_hat"][0], atol=1e-5)


def test_afb_loss_targets_span_the_range_and_penalise_misses():
    model = build_model("afb_mean_scale", nnx.Rngs(0), N=8, M=12)
    x = jnp.asarray(np.random.default_rng(0).random((4, 64, 64, 3), np.float32))
    low = afb_rate_loss(0.0, 1.0, (0.01, 0.02), 12)(model, x, jax.random.key(0))
    high = afb_rate_loss(0.0, 1.0, (8.0, 9.0), 12)(model, x, jax.random.key(0))
    # the untrained model codes at a few bpp: far targets cost more than near ones
    near = afb_rate_loss(0.0, 1.0, (float(low["bpp"]),) * 2, 12)(model, x, jax.random.key(0))
    assert float(near["loss"]) < min(float(low["loss"]), float(high["loss"]))


def test_rate_fit_trains_the_entropy_model_on_the_rate_and_the_transforms_on_the_afb_loss():
    """One SGD step (learning rate 1, no clipping) with entropy_model_fit="rate" moves the
    entropy model by minus the gradient of bpp + lmbda * D and the transforms by minus the
    gradient of the AFB loss; with a target far above the coded rate the two disagree in sign
    on the entropy model (the AFB loss would make its predictions worse)."""
    model = build_model("afb_mean_scale", nnx.Rngs(0), N=8, M=12)
    graphdef, params, quantiles = split_model(model)
    x = jnp.asarray(np.random.default_rng(0).random((2, 64, 64, 3), np.float32))
    rng = jax.random.key(3)
    afb_loss = afb_rate_loss(0.013, 10.0, (6.0, 8.0), model.M)
    rate_fit = afb_rate_loss(0.013, 10.0, (6.0, 8.0), model.M, entropy_model_fit="rate")

    @jax.jit  # one program for the three gradients (eager ones compile op by op)
    def gradients(params):
        def grad_of(loss, key):
            return jax.grad(lambda p: loss(nnx.merge(graphdef, p, quantiles), x, rng)[key])(params)
        return (grad_of(rate_fit, "loss"), grad_of(rate_fit, "entropy_model_loss"),
                grad_of(afb_loss, "loss"))

    g_afb, g_rate, g_afb_alone = gradients(params)
    np.testing.assert_allclose(g_afb_alone["g_a"]["layers"][0]["kernel"][...],
                               g_afb["g_a"]["layers"][0]["kernel"][...], rtol=1e-6)
    graphdef, state = init_train_state(model, optax.sgd(1.0), optax.sgd(0.0))
    step = jax.jit(make_train_step(graphdef, optax.sgd(1.0), optax.sgd(0.0), rate_fit))
    new, _ = step(state, x, rng)
    moved = jax.tree.map(lambda a, b: a - b, state.params, new.params)
    for name in ("g_a", "g_s", "afb_g_a", "afb_g_s") + AFBMeanScale.entropy_model_modules:
        expected = g_rate if name in AFBMeanScale.entropy_model_modules else g_afb
        jax.tree.map(lambda m, g: np.testing.assert_allclose(m, g, rtol=1e-4, atol=1e-5),
                     moved[name], expected[name])
    h = lambda g: np.concatenate([np.ravel(a) for a in jax.tree.leaves(g["h_s"])])  # noqa: E731
    assert np.dot(h(g_afb), h(g_rate)) < 0


def test_lambda_for_targets_interpolates_log_log_and_holds_past_the_ends():
    curve = ((0.1, 0.001), (1.0, 0.1), (2.0, 0.2))
    lam = np.asarray(lambda_for_targets(jnp.asarray([0.05, 0.1, 0.1 * 10**0.5, 1.0, 2**0.5, 4.0]),
                                        curve))
    np.testing.assert_allclose(lam, [0.001, 0.001, 0.01, 0.1, 0.1 * 2**0.5, 0.2], rtol=1e-5)


def test_lambda_curve_loss_is_the_rd_loss_at_the_targets_lambda_plus_the_landing_term():
    """With every target at B (a one-point range), the target-matched loss is
    bpp + lambda(B) D + w (BPF - BPF(B))^2: the paper's loss at lmbda = lambda(B) plus the rate,
    and the entropy model's loss (with "rate") is the RD loss at lambda(B)."""
    model = build_model("afb_mean_scale", nnx.Rngs(0), N=8, M=12)
    x = jnp.asarray(np.random.default_rng(0).random((2, 64, 64, 3), np.float32))
    curve = ((0.1, 0.001), (1.0, 0.1))
    target = 0.1 * 10**0.5  # lambda 0.01
    new = afb_rate_loss(0.5, 10.0, (target, target), model.M, entropy_model_fit="rate",
                        lambda_curve=curve)(model, x, jax.random.key(0))
    paper = afb_rate_loss(0.01, 10.0, (target, target), model.M)(model, x, jax.random.key(0))
    np.testing.assert_allclose(new["loss"], paper["loss"] + paper["bpp"], rtol=1e-5)
    np.testing.assert_allclose(new["entropy_model_loss"],
                               paper["bpp"] + 0.01 * 255.0**2 * paper["mse"], rtol=1e-5)
    # lambda follows the target: 0.001 at 0.1 bpp, 0.1 at 1.0 bpp (the ends of the curve)
    low = afb_rate_loss(0.5, 0.0, (0.1, 0.1), model.M, lambda_curve=curve)(model, x,
                                                                           jax.random.key(0))
    high = afb_rate_loss(0.5, 0.0, (1.0, 1.0), model.M, lambda_curve=curve)(model, x,
                                                                            jax.random.key(0))
    d = 255.0**2 * float(low["mse"])
    np.testing.assert_allclose([float(low["loss"]) - float(low["bpp"]),
                                float(high["loss"]) - float(high["bpp"])],
                               [0.001 * d, 0.1 * d], rtol=1e-4)


def test_entropy_model_fit_and_rate_error_are_checked():
    with pytest.raises(ValueError, match="entropy_model_fit"):
        afb_rate_loss(0.013, 10.0, (0.1, 1.5), 12, entropy_model_fit="likelihood")
    with pytest.raises(ValueError, match="rate_error"):
        afb_rate_loss(0.013, 10.0, (0.1, 1.5), 12, rate_error="absolute")


def test_log_rate_error_is_the_squared_log_ratio_of_rate_and_target():
    """With one image at target B, the rate term (loss less lmbda * 255^2 * MSE) is
    w ln(R / B)^2 for "log" and w (BPF(R) - BPF(B))^2 for the paper's "bpf_squared": the same
    relative miss costs the log form the same at 0.1 and at 1 bpp, the paper's form 100x less
    at 0.1 bpp."""
    model = build_model("afb_mean_scale", nnx.Rngs(0), N=8, M=12)
    x = jnp.asarray(np.random.default_rng(0).random((1, 64, 64, 3), np.float32))
    key = jax.random.key(0)
    for target in (0.1, 1.0):
        terms = {}
        for form in ("log", "bpf_squared"):
            out = afb_rate_loss(0.01, 3.0, (target, target), model.M, rate_error=form)(
                model, x, key)
            terms[form] = (float(out["loss"]) - 0.01 * 255.0**2 * float(out["mse"]),
                           float(out["bpp"]))
        rate = terms["log"][1]
        assert terms["bpf_squared"][1] == rate  # the same model, image and noise
        np.testing.assert_allclose(terms["log"][0], 3.0 * np.log(rate / target) ** 2, rtol=1e-4)
        np.testing.assert_allclose(terms["bpf_squared"][0],
                                   3.0 * ((rate - target) * 256.0 / model.M) ** 2, rtol=1e-4)


def test_afb_targets_are_a_noisy_staircase_clipped_only_on_request():
    for seed in range(20):
        key = jax.random.key(seed)
        clipped = np.asarray(afb_targets(key, 8, (0.15, 1.55)))
        paper = np.asarray(afb_targets(key, 8, (0.15, 1.55), clip=False))
        steps = 0.15 + 0.2 * np.arange(8)
        assert np.all(np.abs(paper - steps) <= 0.1 + 1e-6)
        assert clipped.min() >= 0.15 and clipped.max() <= 1.55
        np.testing.assert_allclose(clipped, np.clip(paper, 0.15, 1.55))
    outside = [np.asarray(afb_targets(jax.random.key(s), 8, (0.15, 1.55), clip=False))
               for s in range(20)]
    assert min(t.min() for t in outside) < 0.15 and max(t.max() for t in outside) > 1.55


@pytest.fixture(scope="module")
def afb_frozen():
    """A perturbed AFB model whose rate grows with B, as a trained one does (the random MLPs
    fix the direction, so the rate input's weight is negated if needed)."""
    cfg = {"name": "afb_mean_scale", "N": 8, "M": 12, "rate_range": [0.1, 2.0]}
    model = perturbed_afb()
    frozen = freeze(model, cfg)
    enc = codec.Encoder(frozen, _image())
    if len(enc.encode(0.1)) > len(enc.encode(2.0)):
        for blocks in (model.afb_g_a, model.afb_h_a, model.afb_h_s, model.afb_g_s):
            for b in blocks:
                k = b.fc1.kernel.get_value()
                b.fc1.kernel.set_value(k.at[-1].set(-k[-1]))
        frozen = freeze(model, cfg)
    return frozen


@pytest.fixture(scope="module")
def scr_frozen():
    model = perturbed_scr(qv_top=4.0, gamma_spread=True, importance=3.0, h_s_head=20.0)
    return freeze(model, {"name": "scr_mean_scale", "N": 8, "M": 8})


@pytest.mark.parametrize("which", ["afb", "scr"])
def test_closed_loop_lands_on_target_and_decodes_exactly(which, afb_frozen, scr_frozen):
    model = afb_frozen if which == "afb" else scr_frozen
    image = _image()
    enc = codec.Encoder(model, image)
    lo, hi = (0.1, 2.0) if which == "afb" else (1.0, 8.0)
    b_lo = 8 * len(enc.encode(lo)) / image[..., 0].size
    b_hi = 8 * len(enc.encode(hi)) / image[..., 0].size
    assert b_lo < b_hi
    for t in np.linspace(0.2, 0.8, 4):
        # a size the model makes (0.4% off it): reachable, whatever the steps of the size curve
        made = 8 * len(enc.encode(lo + t * (hi - lo))) / image[..., 0].size
        target = made * 1.004
        res = compress_to_bpp(model, image, target)
        assert res.reachable and abs(res.bpp - target) <= 0.01 * target, (target, res.history)
        strict = compress_to_bpp(model, image, target, strict=True)
        assert strict.bpp <= target
        for r in (res, strict):
            header, y_hat = codec.decode_y_hat(model, r.data)
            assert header.rate_value == np.float32(r.rate)
            np.testing.assert_array_equal(y_hat, enc.latents(r.rate).y_hat)
    # outside the range: the nearest achievable size, reported; strict below the minimum fails
    res = compress_to_bpp(model, image, 10 * b_hi)
    assert not res.reachable and res.bpp == pytest.approx(b_hi)
    assert res.sizes_around(10 * b_hi) is None
    # probes that run out before a file lands: not reachable, the nearest sizes reported
    target = np.sqrt(b_lo * b_hi)
    res = compress_to_bpp(model, image, target, tolerance=1e-5, max_probes=3)
    below, above = res.sizes_around(target)
    assert not res.reachable and below < target < above and res.bpp in (below, above)
    with pytest.raises(RateError, match="cannot reach"):
        compress_to_bpp(model, image, b_lo / 10, strict=True)


def test_residual_base_adds_blocks_and_afbs_start_as_the_identity():
    """The paper's base option: a residual block after each GDN/IGDN of g_a and g_s, the AFBs
    after those blocks; inserting AFBs (zero last layer) leaves the base model's function."""
    from jlic.layers import ResidualBlock
    from jlic.models.afb import attention_points
    from jlic.train.step import split_model

    base = build_model("mean_scale", nnx.Rngs(0), N=8, M=12, residual=True)
    afb = build_model("afb_mean_scale", nnx.Rngs(1), N=8, M=12, residual=True)
    for seq in (base.g_a, base.g_s):
        assert sum(isinstance(l, ResidualBlock) for l in seq.layers) == 3
    assert [len(afb.afb_g_a), len(afb.afb_h_a), len(afb.afb_h_s), len(afb.afb_g_s)] == [3, 2, 2, 3]
    for seq in (afb.g_a, afb.g_s):
        assert all(isinstance(seq.layers[i], ResidualBlock) for i in attention_points(seq.layers))
    plain = build_model("mean_scale", nnx.Rngs(0), N=8, M=12)
    def count(m):
        return sum(v.size for v in jax.tree.leaves(split_model(m)[1]))
    assert count(base) > count(plain)

    # copy the base model's parameters into the AFB model: same function at any rate
    _, base_params, base_q = split_model(base)
    g, afb_params, _ = split_model(afb)
    flat = dict(nnx.to_flat_state(afb_params))
    for path, v in nnx.to_flat_state(base_params):
        flat[path].set_value(v.get_value())
    afb = nnx.merge(g, nnx.from_flat_state(flat), base_q)
    x = jnp.asarray(np.random.default_rng(0).random((2, 64, 64, 3), np.float32))
    ref = base(x)
    for rate in ([0.2, 0.2], [1.0, 2.0]):
        out = afb(x, jnp.asarray(rate))
        np.testing.assert_allclose(out["x_hat"], ref["x_hat"], atol=1e-5)


def test_residual_afb_model_codes_real_files_exactly():
    cfg = {"name": "afb_mean_scale", "N": 8, "M": 12, "rate_range": [0.1, 2.0], "residual": True}
    model = build_model(rngs=nnx.Rngs(0), **cfg)
    frozen = freeze(model, cfg)
    image = _image()
    data = codec.compress(frozen, image, 0.5)
    out = codec.decompress(frozen, data)
    assert out.shape == image.shape
    lat = codec.quantized_latents(frozen, image, 0.5)
    _, y_hat = codec.decode_y_hat(frozen, data)
    np.testing.assert_array_equal(y_hat, lat.y_hat)


def test_fig2_base_is_the_papers_transforms_and_codes_real_files_exactly():
    """fig2=True: [conv, RCB] x 3 + conv in g_a (no GDN outside the blocks), [deconv, RTCB]
    x 3 + deconv in g_s with IGDN inside, an AFB after each block; RCB = body + skip, then
    PReLU."""
    from jlic.layers import GDN, Conv, ResidualConvBlock, TransposedConv
    from jlic.models.afb import attention_points

    cfg = {"name": "afb_mean_scale", "N": 8, "M": 12, "rate_range": [0.1, 2.0], "fig2": True}
    model = build_model(rngs=nnx.Rngs(0), **cfg)
    kinds_a = [type(l) for l in model.g_a.layers]
    kinds_s = [type(l) for l in model.g_s.layers]
    assert kinds_a == [Conv, ResidualConvBlock] * 3 + [Conv]
    assert kinds_s == [TransposedConv, ResidualConvBlock] * 3 + [TransposedConv]
    assert all(l.body.layers[1].inverse for l in model.g_s.layers[1:-1:2])
    assert not any(l.body.layers[1].inverse for l in model.g_a.layers[1:-1:2])
    assert not any(isinstance(l, GDN) for l in [*model.g_a.layers, *model.g_s.layers])
    assert attention_points(model.g_a.layers) == [1, 3, 5]
    assert [len(model.afb_g_a), len(model.afb_g_s)] == [3, 3]
    block = model.g_a.layers[1]
    x = jnp.asarray(np.random.default_rng(0).normal(size=(1, 8, 8, 8)).astype(np.float32))
    np.testing.assert_allclose(block(x), block.out(x + block.body(x)), rtol=1e-6)
    assert float(jnp.min(block(x))) < 0  # the trailing PReLU passes negative values scaled
    with pytest.raises(ValueError, match="choose one"):
        build_model("mean_scale", nnx.Rngs(0), N=8, M=12, residual=True, fig2=True)
    frozen = freeze(model, cfg)
    image = _image()
    data = codec.compress(frozen, image, 0.5)
    _, y_hat = codec.decode_y_hat(frozen, data)
    np.testing.assert_array_equal(y_hat, codec.quantized_latents(frozen, image, 0.5).y_hat)
    assert codec.decompress(frozen, data).shape == image.shape
