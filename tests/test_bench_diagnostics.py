"""The pieces of the diagnostic bench scripts whose numbers BENCHMARKS.md reports: the
reconstruction point of ``bench/transform_ceiling.py``, the checkerboard context model of
``bench/context_headroom.py``, the masked / open SCR coding of and
``bench/scr_mask_value.py`` (the post-filter's bench uses ``jlic.postfilter``,
tests/test_postfilter.py)."""

import os
import re
import subprocess
import sys

import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
from PIL import Image

from jlic.entropy.gaussian import gaussian_likelihood

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KODIM23 = os.path.join(ROOT, "..", "shared", "data", "kodak", "kodim23.png")


@pytest.fixture
def bench(monkeypatch):
    """Imports from bench/ (their bootstrap sets CPU flags in os.environ: restored after)."""
    for name in ("XLA_FLAGS", "OPENBLAS_THREAD_TIMEOUT"):
        if name in os.environ:
            monkeypatch.setenv(name, os.environ[name])
        else:
            monkeypatch.delenv(name, raising=False)
    monkeypatch.syspath_prepend(os.path.join(ROOT, "bench"))
    import context_headroom
    import scr_mask_value
    import transform_ceiling
    return transform_ceiling, context_headroom, scr_mask_value


def test_bin_centroid_is_the_mean_of_the_gaussian_over_the_bin(bench):
    bin_centroid = bench[0].bin_centroid
    k = np.array([1, -1, 2, -3, 1, 4, 1])
    sigma = np.array([0.3, 0.3, 1.0, 2.0, 50.0, 0.5, 0.11])
    expected = []
    for kk, s in zip(k, sigma, strict=True):
        u = np.linspace(kk - 0.5, kk + 0.5, 200001)
        w = np.exp(-0.5 * (u / s) ** 2)
        expected.append((u * w).sum() / w.sum())
    got = bin_centroid(k, sigma)
    np.testing.assert_allclose(got, expected, atol=2e-4)
    assert got[0] == -got[1] and 0.5 < got[0] < 1.0  # odd in k, pulled towards 0
    assert got[4] == pytest.approx(1.0, abs=1e-3)  # a flat prior: the bin's centre
    far = bin_centroid(np.array([0, 40]), np.array([1.0, 0.2]))  # no mass left in float64
    assert far[0] == 0.0 and far[1] == 39.5


def test_checkerboard_context_sees_only_the_anchors(bench):
    """A non-anchor's prediction must not depend on any non-anchor symbol (the decoder has not
    decoded them yet), and does depend on the anchors next to it."""
    context_headroom = bench[1]
    ctx = context_headroom.CheckerboardContext(4, nnx.Rngs(0))
    ctx.out.kernel[...] = jnp.full(ctx.out.kernel.shape, 0.1)
    rng = np.random.default_rng(0)
    k = jnp.asarray(rng.integers(-3, 4, (1, 8, 8, 4)), jnp.float32)
    sigma = jnp.full((1, 8, 8, 4), 1.5)
    non_anchor = np.asarray(context_headroom.non_anchors(8, 8))[0, :, :, 0] > 0
    base = np.asarray(ctx(k, sigma)[0])
    moved_non_anchor = np.asarray(ctx(k.at[0, 3, 4, 1].add(5.0), sigma)[0])  # (3 + 4) odd
    np.testing.assert_array_equal(moved_non_anchor[0][non_anchor], base[0][non_anchor])
    moved_anchor = np.asarray(ctx(k.at[0, 3, 3, 1].add(5.0), sigma)[0])  # (3 + 3) even
    assert np.abs(moved_anchor[0, 3, 4] - base[0, 3, 4]).max() > 1e-3
    assert np.abs(moved_anchor[0, 7, 0] - base[0, 7, 0]).max() == 0.0  # outside the 5x5 taps


def test_symbol_bits_are_the_frozen_models_likelihood(bench):
    context_headroom = bench[1]
    k = jnp.array([0.0, 1.0, -2.0, 7.0])
    sigma = jnp.array([0.05, 0.8, 1.3, 2.0])  # the first below the scale bound
    bits = context_headroom.symbol_bits(k, 0.0, sigma)
    np.testing.assert_allclose(bits, -np.log2(gaussian_likelihood(k, sigma)), rtol=1e-5)
    shifted = context_headroom.symbol_bits(k, 1.0, sigma)  # N(1, s^2): k = 1 is likeliest
    assert shifted[1] < bits[1] and shifted[0] > bits[0]


def test_context_headroom_prints_the_saving_per_folder_and_rate(tmp_path):
    """The whole script on the bundled model: two 128x128 photos to fit on, one to evaluate."""
    image = np.asarray(Image.open(KODIM23).convert("RGB"))
    train, data = tmp_path / "train", tmp_path / "eval"
    train.mkdir(), data.mkdir()
    Image.fromarray(image[:128, :128]).save(train / "a.png")
    Image.fromarray(image[128:256, 256:384]).save(train / "b.png")
    Image.fromarray(image[256:384, :128]).save(data / "c.png")
    out = subprocess.run([sys.executable, os.path.join(ROOT, "bench", "context_headroom.py"),
                          "--train", str(train), "--steps", "2", "--rates", "3,6",
                          "--data", str(data)], capture_output=True, text=True, check=True).stdout
    assert "symbols of 2 training photos at rates [3.0, 6.0]" in out
    rows = [line.split("|") for line in out.splitlines() if line.startswith("| eval (1) |")]
    assert [r[2].strip() for r in rows] == ["3", "6"]
    frozen = [float(r[3]) for r in rows]
    assert 0 < frozen[0] < frozen[1]  # more non-anchor bits at the higher quality


def test_scr_mask_value_codes_what_files_code_and_opening_the_mask_codes_more(bench):
    """"masked" is the decoded file's PSNR and (less the headers) its size; "open" codes every
    element with the same gains: more bits, higher PSNR."""
    from conftest import perturbed_scr
    from jlic import codec
    from jlic.frozen import freeze

    rate_and_psnr, mask_open = bench[2].rate_and_psnr, bench[2].mask_open
    frozen = freeze(perturbed_scr(), {"name": "scr_mean_scale", "N": 8, "M": 8})
    image = np.asarray(Image.open(KODIM23).convert("RGB"))[:128, :192]
    x = jnp.asarray(image[None].astype(np.float32) / 255.0)
    for q in (2.0, 5.0):
        assert 0 < codec.quantized_latents(frozen, image, q).mask.mean() < 1
        data = codec.compress(frozen, image, q)
        mse = np.mean((codec.decompress(frozen, data).astype(np.float64) - image) ** 2)
        file_bpp = 8 * len(data) / image[..., 0].size
        bpp, psnr = (float(v) for v in rate_and_psnr(frozen.model, x, jnp.full((1,), q)))
        assert psnr == pytest.approx(10 * np.log10(255**2 / mse), abs=0.01)
        assert bpp < file_bpp < bpp + 0.02  # headers: tens of bytes over 24576 pixels
        with mask_open(frozen.model) as model:
            bpp_open, psnr_open = (float(v) for v in rate_and_psnr(model, x, jnp.full((1,), q)))
        assert frozen.model.selective  # the mask is back after the block
        assert bpp_open > bpp and psnr_open > psnr


def test_scr_mask_value_prints_each_gamma_strength_and_refuses_a_model_without_a_mask(tmp_path):
    """The whole script on one 128x192 photo: a weaker mask (gamma x 1/4) codes more of y than
    the model as trained at every quality, a stronger one (x 4) less; bad input is refused by
    name, without a traceback."""
    from conftest import perturbed_scr
    from jlic.frozen import freeze
    from jlic.models import build_model

    data = tmp_path / "photos"
    data.mkdir()
    Image.fromarray(np.asarray(Image.open(KODIM23).convert("RGB"))[:128, :192]).save(
        data / "a.png")
    scr = tmp_path / "scr.jlicm"
    freeze(perturbed_scr(), {"name": "scr_mean_scale", "N": 8, "M": 8}).save(str(scr))
    script = [sys.executable, os.path.join(ROOT, "bench", "scr_mask_value.py"), "--data",
              str(data)]
    out = subprocess.run(script + ["--model", str(scr), "--gamma-scales", "0.25,1,4"],
                         capture_output=True, text=True, check=True).stdout
    rows = {line.split("|")[1].strip(): [float(c.split("/")[0]) for c in line.split("|")[2:-1]]
            for line in out.splitlines() if line.startswith("| ") and "/" in line}
    assert set(rows) == {"open", "masked, gamma x 0.25", "masked", "masked, gamma x 4"}
    weak, trained, strong = rows["masked, gamma x 0.25"], rows["masked"], rows["masked, gamma x 4"]
    assert all(s <= t <= w <= o for s, t, w, o in zip(strong, trained, weak, rows["open"],
                                                        strict=True))
    assert sum(strong) < sum(trained) < sum(weak)
    for name in ("masked, gamma x 0.25", "masked", "masked, gamma x 4"):
        assert re.search(rf"BD-rate \(PSNR\) of {name} against open: "
                         r"([+-]\d+\.\d\d%|n/a \(their PSNRs do not overlap\))\n", out)
    wosc_cfg = {"name": "scr_mean_scale", "N": 8, "M": 8, "selective": False}
    wosc = tmp_path / "wosc.jlicm"
    freeze(build_model(rngs=nnx.Rngs(0), **wosc_cfg), wosc_cfg).save(str(wosc))
    for args, message in ((["--model", str(wosc)], "has no selective compression"),
                          (["--model", str(scr), "--gamma-scales", "0,1"], "--gamma-scales")):
        res = subprocess.run(script + args, capture_output=True, text=True)
        assert res.returncode == 2 and message in res.stderr and "Traceback" not in res.stderr
