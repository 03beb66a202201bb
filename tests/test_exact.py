"""Files decode bit-exactly under another instruction set, one core, and without jit."""

import hashlib
import json
import os
import subprocess

import numpy as np
import pytest
from PIL import Image

from conftest import AFB_CONFIG, KODAK, PYTHON, ROOT, perturbed_afb, perturbed_scr
from jlic import DEFAULT_MODEL, bitstream, codec
from jlic.frozen import FrozenModel, freeze

DEFAULT = DEFAULT_MODEL
SETTINGS = {
    "sse4.2, one core": ({"XLA_FLAGS": "--xla_cpu_max_isa=SSE4_2"}, ["taskset", "-c", "0"]),
    "no jit": ({"JAX_DISABLE_JIT": "1"}, []),
}


SCR_CONFIG = {"name": "scr_mean_scale", "N": 16, "M": 24}


def _scr_model(tmp_path, compact=False):
    model = perturbed_scr(N=16, M=24, importance=3.0, h_s_head=10.0, g_a_last=30.0)
    path = str(tmp_path / f"scr{'-compact' if compact else ''}.jlicm")
    freeze(model, SCR_CONFIG, compact=compact).save(path)
    return path


def _run_worker(tmp_path, job, env_extra, prefix):
    job_path = tmp_path / f"job{abs(hash(json.dumps(job)))}.json"
    job_path.write_text(json.dumps(job))
    env = dict(os.environ, PYTHONPATH=ROOT, **env_extra)
    env.pop("XLA_FLAGS", None) if "XLA_FLAGS" not in env_extra else None
    res = subprocess.run([*prefix, PYTHON, os.path.join(ROOT, "tests", "exact_worker.py"),
                          str(job_path)], env=env, capture_output=True, text=True, cwd=ROOT)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


def _afb_model(tmp_path):
    path = str(tmp_path / "afb.jlicm")
    freeze(perturbed_afb(), AFB_CONFIG).save(path)
    return path


def _encode_set(tmp_path, images, scr_path, afb_path, compact_path):
    expected, files = {}, {}
    default_rate = FrozenModel.load(DEFAULT).rate_spec.default
    for model_path, rates in ((DEFAULT, [default_rate]), (scr_path, [1.0, 3.3, 5.5, 8.0]),
                              (afb_path, [0.15, 0.7, 1.9]), (compact_path, [2.2, 7.0])):
        model = FrozenModel.load(model_path)
        files[model_path] = []
        for i in images:
            image = np.asarray(Image.open(os.path.join(KODAK, f"kodim{i:02d}.png")).convert("RGB"))
            for r in rates:
                lat = codec.quantized_latents(model, image, r)
                data = codec.pack_latents(model, lat, *image.shape[:2], 3)
                f = str(tmp_path / f"{os.path.basename(model_path)}-{i}-{r}.jlic")
                open(f, "wb").write(data)
                files[model_path].append(f)
                expected[f] = hashlib.sha256(lat.y_hat.tobytes()).hexdigest()
    # a refined file with a post-filter stream (format 4; y_hat as this process decodes it)
    model = FrozenModel.load(DEFAULT)
    image = np.asarray(Image.open(os.path.join(KODAK, "kodim23.png")).convert("RGB"))
    data = codec.compress(model, image[128:384, 192:576], 5.0, refine_steps=3)
    assert bitstream.parse(data)[0].version == 4
    f = str(tmp_path / "default-refined.jlic")
    open(f, "wb").write(data)
    files[DEFAULT].append(f)
    expected[f] = hashlib.sha256(codec.decode_y_hat(model, data)[1].tobytes()).hexdigest()
    return expected, files


def _check(tmp_path, images):
    expected, files = _encode_set(tmp_path, images, _scr_model(tmp_path), _afb_model(tmp_path),
                                  _scr_model(tmp_path, compact=True))
    for name, (env, prefix) in SETTINGS.items():
        got = _run_worker(tmp_path, {"kind": "decode", "files": files}, env, prefix)
        bad = [f for f in expected if got[f] != expected[f]]
        assert not bad, (name, bad)
    # the same comparison catches a decoder whose side information is not the encoder's
    got = _run_worker(tmp_path, {"kind": "decode", "files": files,
                                 "float_side_information": True}, {}, [])
    assert all(got[f] != expected[f] for f in expected)
    return expected


def test_files_decode_exactly_across_isa_cores_and_jit(tmp_path):
    _check(tmp_path, [1, 4, 15, 23])


@pytest.mark.slow
def test_every_kodak_image_decodes_exactly_across_isa_cores_and_jit(tmp_path):
    _check(tmp_path, range(1, 25))


def test_afb_integer_hyper_synthesis_follows_the_float_one_and_the_rate():
    """The AFB's attention blocks in fixed point (jlic.exact): the coding parameters agree
    with the float path's almost everywhere, and they depend on the rate input as it does."""
    afb = perturbed_afb()
    head = afb.h_s.layers[-1]  # scales that vary over the image, as in a trained model
    head.kernel.set_value(20.0 * head.kernel.get_value())
    model = freeze(afb, AFB_CONFIG)
    assert model.integer_coding_params is not None and model.integer_coding_params.takes_rate
    image = np.asarray(Image.open(os.path.join(KODAK, "kodim05.png")).convert("RGB"))[:256, :384]
    z_sym = codec.quantized_latents(model, image, 0.7).z_sym
    by_rate = {}
    for rate in (0.15, 1.9):
        f = model.coding_params(z_sym.astype(np.float32) + model.medians, rate)
        e = model.integer_coding_params(z_sym, rate)
        off = np.abs(f["scale_index"].astype(np.int64) - e["scale_index"])
        assert off.max() <= 1 and np.mean(off == 0) > 0.9  # fixed point: 1 bin at most
        np.testing.assert_allclose(e["mean"], f["mean"], atol=0.02)
        by_rate[rate] = e["scale_index"]
    assert len(np.unique(by_rate[0.15])) > 10
    assert np.mean(by_rate[0.15] != by_rate[1.9]) > 0.05


def test_compact_model_files_store_half_kernels_and_derive_the_integer_layers(tmp_path):
    """A compact file is the float16-rounded model: about half the bytes, no integer layers
    stored, the same integer path as a full file of the rounded model, and its files decode
    to what the in-memory model encoded."""
    from jlic.exact import build

    full_path, compact_path = _scr_model(tmp_path), _scr_model(tmp_path, compact=True)
    full, compact = FrozenModel.load(full_path), FrozenModel.load(compact_path)
    assert os.path.getsize(compact_path) < 0.6 * os.path.getsize(full_path)
    assert compact.config["exact_layers"] == "derived"
    assert not any(k.endswith("/w") for k in compact.exact_arrays)
    halves = [k for k, v in compact.params.items() if v.dtype == np.float16]
    assert "g_a/layers/2/kernel" in halves and "h_s/layers/0/kernel" in halves
    assert "g_a/layers/0/kernel" not in halves  # 1200 values: below COMPACT_MIN_SIZE
    assert not any("gdn" in k.lower() or "quantiles" in k for k in halves)
    # the derived integer layers are those a full file of the rounded model stores
    stored = build(compact.model)
    derived = compact.integer_coding_params
    for i, layer in enumerate(derived.trunk):
        if "w" in layer:
            np.testing.assert_array_equal(layer["w"], stored[f"exact/trunk/{i}/w"])
    image = np.asarray(Image.open(os.path.join(KODAK, "kodim07.png")).convert("RGB"))[:192, :256]
    for rate in (1.5, 6.0):
        data = codec.compress(compact, image, rate)
        assert codec.decode_y_hat(compact, data)[1].tobytes() == \
            codec.quantized_latents(compact, image, rate).y_hat.tobytes()
        # float16 weights move the reconstruction by far less than the coding does
        ref = codec.decompress(full, codec.compress(full, image, rate)).astype(np.float64)
        out = codec.decompress(compact, data).astype(np.float64)
        assert abs(np.mean((out - image) ** 2) - np.mean((ref - image) ** 2)) < \
            0.02 * np.mean((ref - image) ** 2)


def test_a_rate_search_runs_the_hyper_synthesis_once_and_codes_what_compress_does(monkeypatch):
    """An SCR model's rate search codes the same z at every quality it probes: the integer
    trunk runs once for it, and the file is the one ``compress`` writes at the quality found;
    the kept arrays cannot be changed by a caller."""
    from jlic import exact
    from jlic.rate_control import compress_to_bpp

    model = FrozenModel.load(DEFAULT_MODEL)
    params = model.integer_coding_params
    trunk_runs = []
    run_layers = exact.run_layers

    def counting(layers, *args, **kwargs):
        trunk_runs.append(layers is params.trunk)
        return run_layers(layers, *args, **kwargs)

    monkeypatch.setattr(exact, "run_layers", counting)
    image = np.asarray(Image.open(os.path.join(KODAK, "kodim23.png")).convert("RGB"))[:192, :256]
    search = compress_to_bpp(model, image, 0.5)
    assert search.probes >= 3 and sum(trunk_runs) == 1, (search.probes, trunk_runs)
    assert codec.compress(model, image, search.rate) == search.data
    assert sum(trunk_runs) == 2  # a new encoder: its own hyper-synthesis
    encoder = codec.Encoder(model, image)
    a, b = encoder.latents(2.0), encoder.latents(7.5)
    assert sum(trunk_runs) == 3 and np.array_equal(a.z_sym, b.z_sym)
    c = encoder.latents(7.5)
    for got, want in ((b.y_sym, c.y_sym), (b.scale_index, c.scale_index), (b.mask, c.mask)):
        np.testing.assert_array_equal(got, want)
    with pytest.raises(ValueError):
        params.hyper_synthesis(a.z_sym, 2.0)[1][...] = 0
