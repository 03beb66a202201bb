"""`jlic import`: CompressAI checkpoints read without PyTorch, compared with CompressAI's own
outputs (fixtures written by tests/data/make_compressai_fixtures.py in the peer environment)."""

import io
import os
import pickle
import subprocess
import zipfile

import numpy as np
import pytest

from conftest import KODAK, PYTHON, ROOT
from jlic import bitstream, codec
from jlic.compressai_weights import import_checkpoint
from jlic.errors import RateError
from jlic.evaluate.metrics import psnr
from jlic.frozen import FrozenModel
from jlic.torch_checkpoint import CheckpointError, read_state_dict

FIXTURES = os.path.join(ROOT, "tests", "data", "compressai")
ARCHS = ("mbt2018-mean", "bmshj2018-hyperprior")  # zip format, legacy format


@pytest.fixture(scope="module")
def reference():
    return dict(np.load(os.path.join(FIXTURES, "reference.npz")))


def _jlic_import(args, tmp_path):
    """Runs `jlic import` in a subprocess in which importing torch fails."""
    code = ("import sys; sys.modules['torch'] = None; from jlic.cli import main; "
            f"sys.exit(main({['import', *args]!r}))")
    return subprocess.run([PYTHON, "-c", code], cwd=tmp_path, capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=ROOT))


@pytest.mark.parametrize("arch", ARCHS)
def test_imported_model_computes_what_compressai_computes(arch, reference, tmp_path):
    out = tmp_path / "m.jlicm"
    res = _jlic_import([os.path.join(FIXTURES, f"{arch}.pth.tar"), "-o", str(out)], tmp_path)
    assert res.returncode == 0, res.stderr
    model = FrozenModel.load(str(out))
    assert model.integer_coding_params is not None  # the exact side-information path is there
    x = reference["image"][None].astype(np.float32) / 255.0
    got = model.model(x, training=False)
    np.testing.assert_allclose(got["x_hat"][0], reference[f"{arch}/x_hat"], atol=1e-5)
    for k in ("y", "z"):
        np.testing.assert_allclose(got["likelihoods"][k][0], reference[f"{arch}/likelihoods_{k}"],
                                   rtol=1e-4, atol=1e-6)
    # real files: jlic's streams against CompressAI's own compress (y, z bytes)
    data = codec.compress(model, reference["image"])
    _, (z_stream, y_stream) = bitstream.parse(data)
    ours, theirs = len(z_stream) + len(y_stream), int(reference[f"{arch}/bytes"].sum())
    # never more than 2% above CompressAI (jlic may be smaller: nearest-in-log scale tables)
    assert 0.9 <= ours / theirs <= 1.02, (arch, ours, theirs)
    # the decoded file is CompressAI's reconstruction up to the exact path's integer means
    decoded = codec.decompress(model, data)
    expected = np.round(np.clip(reference[f"{arch}/x_hat"], 0, 1) * 255).astype(np.uint8)
    assert psnr(decoded, expected) > 40


def test_architecture_and_sizes_are_inferred_and_can_be_forced():
    m = import_checkpoint(os.path.join(FIXTURES, "mbt2018-mean.pth.tar"))
    assert dict(m.config["model"], eb_filters=list(m.config["model"]["eb_filters"])) == {
        "name": "mean_scale", "N": 16, "M": 24, "eb_filters": [3, 3, 3, 3]}
    s = import_checkpoint(os.path.join(FIXTURES, "bmshj2018-hyperprior.pth.tar"))
    assert s.config["model"]["name"] == "scale_hyperprior"
    with pytest.raises(CheckpointError, match="needs"):
        import_checkpoint(os.path.join(FIXTURES, "mbt2018-mean.pth.tar"),
                          arch="bmshj2018-hyperprior")


def test_variable_rate_checkpoint_is_refused_naming_the_part(tmp_path):
    res = _jlic_import([os.path.join(FIXTURES, "mbt2018-mean-vbr.pth.tar"), "-o", "x.jlicm"],
                       tmp_path)
    assert res.returncode == 1
    assert res.stderr.startswith("jlic: error:") and "QuantABCD" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "x.jlicm").exists()


class _RunsCode:
    def __reduce__(self):
        return (os.system, ("touch pwned",))


def _zip_checkpoint(path, obj_pickle: bytes, records=None):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        z.writestr("archive/data.pkl", obj_pickle)
        for name, data in (records or {}).items():
            z.writestr(f"archive/data/{name}", data)


def test_pickle_that_would_run_code_is_refused_and_runs_nothing(tmp_path):
    for name, raw in (("evil.pth.tar", None), ("evil_legacy.pth", pickle.dumps(_RunsCode()))):
        path = tmp_path / name
        if raw is None:
            _zip_checkpoint(path, pickle.dumps({"g_a.0.weight": _RunsCode()}))
        else:  # legacy stream: magic, protocol, sys info, then the object
            path.write_bytes(pickle.dumps(0x1950A86A20F9469CFC6C) + pickle.dumps(1001)
                             + pickle.dumps({}) + raw)
        res = _jlic_import([str(path), "-o", "x.jlicm"], tmp_path)
        assert res.returncode == 1 and "posix.system" in res.stderr, res.stderr
        assert not (tmp_path / "pwned").exists()


def test_truncated_and_damaged_checkpoints_give_one_line_errors(tmp_path):
    raw = open(os.path.join(FIXTURES, "mbt2018-mean.pth.tar"), "rb").read()
    legacy = open(os.path.join(FIXTURES, "bmshj2018-hyperprior.pth.tar"), "rb").read()
    cases = {"trunc_zip": raw[: len(raw) // 2], "trunc_legacy": legacy[: len(legacy) // 2],
             "tiny": raw[:10], "empty": b"", "text": b"hello world\n" * 10}
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(CheckpointError):
            read_state_dict(str(tmp_path / name))
    res = _jlic_import([str(tmp_path / "trunc_zip"), "-o", "x.jlicm"], tmp_path)
    assert res.returncode == 1 and len(res.stderr.strip().splitlines()) == 1, res.stderr
    png = tmp_path / "photo.png"  # the wrong file handed to import: named as such
    png.write_bytes(open(os.path.join(KODAK, "kodim01.png"), "rb").read()[:4096])
    for path in (png, tmp_path / "text"):
        with pytest.raises(CheckpointError, match="not a PyTorch checkpoint"):
            read_state_dict(str(path))


def test_wrong_shapes_and_lying_storage_sizes_are_refused(tmp_path):
    sd = read_state_dict(os.path.join(FIXTURES, "mbt2018-mean.pth.tar"))
    # a tensor whose declared size runs past its storage
    buf = io.BytesIO(open(os.path.join(FIXTURES, "mbt2018-mean.pth.tar"), "rb").read())
    with zipfile.ZipFile(buf) as z:
        names = {n: z.read(n) for n in z.namelist()}
    pkl = [n for n in names if n.endswith("data.pkl")][0]
    prefix = pkl[: -len("data.pkl")]
    key = next(n for n in names if n.startswith(prefix + "data/") and len(names[n]) > 64)
    names[key] = names[key][:32]  # storage record shorter than declared
    with zipfile.ZipFile(tmp_path / "short.pth.tar", "w") as z:
        for n, d in names.items():
            z.writestr(n, d)
    with pytest.raises(CheckpointError, match="does not hold"):
        read_state_dict(str(tmp_path / "short.pth.tar"))
    assert sd["g_a.0.weight"].shape == (16, 3, 5, 5)



def test_lmbda_records_the_objective_and_enables_refinement(reference, tmp_path):
    """`--lmbda` makes an imported model refine (lower real lambda * 255^2 * MSE + bpp than its
    plain file), without changing the model: the fingerprint and plain files are the same."""
    ckpt = os.path.join(FIXTURES, "mbt2018-mean.pth.tar")
    res = _jlic_import([ckpt, "-o", "l.jlicm", "--lmbda", "0.013"], tmp_path)
    assert res.returncode == 0, res.stderr
    with_lambda = FrozenModel.load(str(tmp_path / "l.jlicm"))
    plain_model = import_checkpoint(ckpt)
    assert with_lambda.rd_lambda() == 0.013
    assert with_lambda.fingerprint == plain_model.fingerprint
    image = reference["image"]
    plain = codec.compress(plain_model, image)
    assert codec.compress(with_lambda, image) == plain
    refined = codec.compress(with_lambda, image, refine_steps=10)
    assert refined != plain

    def cost(data):  # the real objective, from the decoded file (decoded by the other copy)
        x_hat = codec.decompress(plain_model, data).astype(np.float64)
        mse = np.mean((x_hat - image) ** 2) / 255.0 ** 2
        return 0.013 * 255.0 ** 2 * mse + 8 * len(data) / (image.shape[0] * image.shape[1])

    assert cost(refined) < cost(plain)
    with pytest.raises(RateError, match="jlic import --lmbda"):
        codec.compress(plain_model, image, refine_steps=5)
    for bad in ("-1", "nan", "0"):
        res = _jlic_import([ckpt, "-o", "bad.jlicm", "--lmbda", bad], tmp_path)
        assert res.returncode == 1 and "lambda must be a positive number" in res.stderr
        assert len(res.stderr.strip().splitlines()) == 1 and not (tmp_path / "bad.jlicm").exists()
