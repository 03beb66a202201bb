"""Hostile and careless input, round two: outputs that never destroy, bounded memory and reads,
training that refuses bad configs and survives bad images, model files that cannot lie."""

import io
import json
import os
import stat
import struct
import subprocess
import zlib

import numpy as np
import pytest
from flax import nnx
from PIL import Image

from conftest import KODAK, PYTHON, ROOT, TRAIN_DATA
from jlic import bitstream, codec
from jlic import frozen as frozen_lib
from jlic.errors import BitstreamError, ModelFileError
from jlic.frozen import FrozenModel, fingerprint_of, freeze
from jlic.imageio import read_image
from jlic.models import build_model
from jlic.train import data as data_lib
from jlic.train.loop import ConfigError, validate_config

GOLDEN = os.path.join(ROOT, "tests", "data", "golden.jlicm")


def jlic(*args, env=None, cwd=None):
    return subprocess.run([PYTHON, "-m", "jlic", *map(str, args)], capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=ROOT, **(env or {})), cwd=cwd or ROOT)


def _one_line_error(res):
    assert res.returncode != 0
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("jlic: error:"), res.stderr
    return lines[0]


@pytest.fixture(scope="module")
def small_png(tmp_path_factory):
    path = tmp_path_factory.mktemp("img") / "small.png"
    img = np.asarray(Image.open(os.path.join(KODAK, "kodim23.png")).convert("RGB"))[:64, :96]
    Image.fromarray(img).save(path)
    return path


# ---- 1. outputs that never destroy -----------------------------------------------------------
def test_output_onto_the_input_is_refused_and_the_input_survives(small_png, tmp_path):
    src = tmp_path / "a.png"
    src.write_bytes(small_png.read_bytes())
    os.link(src, tmp_path / "hard.png")
    os.symlink(src, tmp_path / "soft.png")
    before = src.read_bytes()
    for out in (src, tmp_path / "hard.png", tmp_path / "soft.png"):
        line = _one_line_error(jlic("compress", src, "-o", out, "--model", GOLDEN))
        assert "is the input" in line
    assert src.read_bytes() == before
    assert jlic("compress", src, "-o", tmp_path / "a.jlic", "--model", GOLDEN).returncode == 0
    line = _one_line_error(jlic("decompress", tmp_path / "a.jlic", "-o", tmp_path / "a.jlic",
                                "--model", GOLDEN))
    assert "is the input" in line and bitstream.parse((tmp_path / "a.jlic").read_bytes())


def test_non_regular_outputs_are_refused_and_symlinks_written_through(small_png, tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    line = _one_line_error(jlic("compress", small_png, "-o", fifo, "--model", GOLDEN))
    assert "not a regular file" in line and stat.S_ISFIFO(os.stat(fifo).st_mode)
    (tmp_path / "dir").mkdir()
    assert "is a directory" in _one_line_error(
        jlic("compress", small_png, "-o", tmp_path / "dir", "--model", GOLDEN))
    target = tmp_path / "target.jlic"
    target.write_bytes(b"old")
    os.chmod(target, 0o600)
    os.symlink(target, tmp_path / "link.jlic")
    res = jlic("compress", small_png, "-o", tmp_path / "link.jlic", "--model", GOLDEN)
    assert res.returncode == 0, res.stderr
    assert os.path.islink(tmp_path / "link.jlic")  # the link stays, its target is replaced
    assert target.read_bytes()[:4] == b"JLIC"
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600  # permissions kept
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".jlic-tmp")]


def test_unwritable_destinations_are_named_before_any_work(small_png, tmp_path):
    line = _one_line_error(jlic("compress", small_png, "-o", tmp_path / "nope" / "x.jlic"))
    assert "nope" in line and "does not exist" in line and ".tmp" not in line


# ---- 2./3. bounded memory and reads ----------------------------------------------------------
def _forged_file(model, height, width):
    header = bitstream.Header(model.fingerprint, height, width, 3, 0, 0.0)
    return bitstream.pack(header, [b"", b""])


def test_a_huge_declared_size_is_refused_by_the_budget_and_info_does_not_decode(tmp_path):
    model = FrozenModel.load(GOLDEN)
    path = tmp_path / "forged.jlic"
    path.write_bytes(_forged_file(model, 16384, 16384))
    env = {"JLIC_MEMORY_BUDGET": "256M"}
    line = _one_line_error(jlic("decompress", path, "-o", tmp_path / "x.png", "--model", GOLDEN,
                                env=env))
    assert "memory budget" in line and "JLIC_MEMORY_BUDGET" in line
    info = jlic("info", path, "--model", GOLDEN, env=env)
    assert info.returncode == 0 and "16384x16384" in info.stdout
    assert not (tmp_path / "x.png").exists()


def test_the_memory_estimate_is_checked_in_process(monkeypatch):
    model = FrozenModel.load(GOLDEN)
    monkeypatch.setenv("JLIC_MEMORY_BUDGET", "1M")
    with pytest.raises(BitstreamError, match="memory budget"):
        codec.decompress(model, _forged_file(model, 4096, 4096))
    with pytest.raises(codec.ImageError, match="memory budget"):
        codec.compress(model, np.zeros((512, 512, 3), np.uint8))
    monkeypatch.setenv("JLIC_MEMORY_BUDGET", "lots")
    with pytest.raises(codec.ImageError, match="JLIC_MEMORY_BUDGET"):
        codec.compress(model, np.zeros((64, 64, 3), np.uint8))


def test_device_files_are_refused_before_reading(tmp_path):
    for args in (("compress", "/dev/zero", "-o", tmp_path / "x.jlic", "--model", GOLDEN),
                 ("decompress", "/dev/zero", "-o", tmp_path / "x.png", "--model", GOLDEN),
                 ("info", "/dev/zero"),
                 ("compress", os.path.join(KODAK, "kodim23.png"), "-o", tmp_path / "y.jlic",
                  "--model", "/dev/zero")):
        line = _one_line_error(jlic(*args))
        assert "not a regular file" in line, line


def test_model_zip_bombs_are_refused_before_inflating(tmp_path, monkeypatch):
    buf = io.BytesIO()
    np.savez_compressed(buf, big=np.zeros(4 << 20, np.uint8))  # 4 MB of zeros, ~4 kB on disk
    (tmp_path / "bomb.jlicm").write_bytes(buf.getvalue())
    monkeypatch.setattr(frozen_lib, "MAX_MODEL_BYTES", 1 << 20)
    with pytest.raises(ModelFileError, match="declares"):
        FrozenModel.load(str(tmp_path / "bomb.jlicm"))


def test_a_truncated_model_file_is_named_so(tmp_path):
    """A copy cut short (an interrupted download) is a zip archive without its directory: the
    error says the file is damaged, where any other file is not a model file at all."""
    data = open(GOLDEN, "rb").read()
    (tmp_path / "cut.jlicm").write_bytes(data[: len(data) // 2])
    (tmp_path / "other.jlicm").write_bytes(b"GIF89a" + data[6:])
    with pytest.raises(ModelFileError, match="damaged or truncated"):
        FrozenModel.load(str(tmp_path / "cut.jlicm"))
    with pytest.raises(ModelFileError, match="is not a jlic model file"):
        FrozenModel.load(str(tmp_path / "other.jlicm"))


# ---- 8./9. model files that lie ---------------------------------------------------------------
def _arrays(path):
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def _refingerprinted(arrays, tmp_path, name):
    """A model file with a valid fingerprint over tampered contents (a hostile author)."""
    config = json.loads(arrays["config"].tobytes().decode())
    params = {k[6:]: v for k, v in arrays.items() if k.startswith("param/")}
    tables = [frozen_lib.TableSet(arrays[f"{n}/freqs"], arrays[f"{n}/offsets"],
                                  arrays[f"{n}/lengths"]) for n in ("z", "y")]
    exact = {k: v for k, v in arrays.items() if k.startswith("exact/")}
    arrays["fingerprint"] = np.frombuffer(fingerprint_of(config, params, *tables, exact), np.uint8)
    path = tmp_path / name
    with open(path, "wb") as f:
        np.savez(f, **arrays)
    return str(path)


@pytest.mark.parametrize("config", [None, [1, 2], {"model": {"name": "resnet"}},
                                    {"model": {"name": "mean_scale", "N": "8", "M": 8}},
                                    {"model": {"name": "mean_scale", "N": 8, "M": 8},
                                     "label": 3},
                                    {"model": {"name": "mean_scale", "N": 9, "M": 8}}])
def test_malformed_model_configs_are_model_file_errors(config, tmp_path):
    arrays = _arrays(GOLDEN)
    arrays["config"] = np.frombuffer(json.dumps(config).encode(), np.uint8)
    with pytest.raises(ModelFileError):
        FrozenModel.load(_refingerprinted(arrays, tmp_path, "bad.jlicm"))


def test_tampered_parameters_and_exact_layers_are_refused(tmp_path):
    arrays = _arrays(GOLDEN)
    q = arrays["param/entropy_bottleneck/quantiles"].copy()
    q[0, 1] = np.inf
    with pytest.raises(ModelFileError, match="not finite"):
        FrozenModel.load(_refingerprinted(dict(arrays, **{
            "param/entropy_bottleneck/quantiles": q}), tmp_path, "inf.jlicm"))
    text = dict(arrays, **{"param/g_a/layers/0/bias": np.array(["a"] * 8)})
    with pytest.raises(ModelFileError):
        FrozenModel.load(_refingerprinted(text, tmp_path, "str.jlicm"))
    kind = next(k for k in arrays if k.startswith("exact/") and k.endswith("/kind"))
    with pytest.raises(ModelFileError, match="unknown kind"):
        FrozenModel.load(_refingerprinted(dict(arrays, **{
            kind: np.frombuffer(b"gelu", np.uint8)}), tmp_path, "kind.jlicm"))
    w = next(k for k in arrays if k.startswith("exact/") and k.endswith("/w"))
    with pytest.raises(ModelFileError):
        FrozenModel.load(_refingerprinted(dict(arrays, **{w: arrays[w][:-1]}), tmp_path,
                                          "shape.jlicm"))


def test_tampered_afb_attention_layers_are_refused(tmp_path):
    from conftest import AFB_CONFIG, perturbed_afb

    path = tmp_path / "afb.jlicm"
    freeze(perturbed_afb(), AFB_CONFIG).save(str(path))
    arrays = _arrays(path)
    gates = arrays.pop("exact/gate_table")
    with pytest.raises(ModelFileError, match="gate table"):
        FrozenModel.load(_refingerprinted(dict(arrays), tmp_path, "nogate.jlicm"))
    with pytest.raises(ModelFileError, match="gate table"):
        FrozenModel.load(_refingerprinted(dict(arrays, **{"exact/gate_table": gates[:-1]}),
                                          tmp_path, "shortgate.jlicm"))
    w1 = next(k for k in arrays if k.startswith("exact/") and k.endswith("/w1"))
    with pytest.raises(ModelFileError, match="inconsistent shapes"):
        FrozenModel.load(_refingerprinted(dict(arrays, **{"exact/gate_table": gates,
                                                           w1: arrays[w1][:-1]}),
                                          tmp_path, "w1.jlicm"))


def test_terminal_escapes_in_labels_never_reach_the_terminal(small_png, tmp_path):
    model = build_model("mean_scale", nnx.Rngs(0), N=8, M=8)
    path = tmp_path / "esc.jlicm"
    freeze(model, {"name": "mean_scale", "N": 8, "M": 8},
           label="evil \x1b]0;owned\x07\x1b[31mred").save(str(path))
    res = jlic("compress", small_png, "-o", tmp_path / "x.jlic", "--model", path, "--verbose")
    assert res.returncode == 0, res.stderr
    assert "\x1b" not in res.stdout and "\x07" not in res.stdout and "evil" in res.stdout


# ---- 7. qualities that are falsy ---------------------------------------------------------------
def test_quality_zero_is_refused_not_replaced(small_png, tmp_path):
    scr = build_model("scr_mean_scale", nnx.Rngs(0), N=8, M=8)
    path = tmp_path / "scr.jlicm"
    freeze(scr, {"name": "scr_mean_scale", "N": 8, "M": 8}).save(str(path))
    for q in ("0", "-0.0"):
        line = _one_line_error(jlic("compress", small_png, "-o", tmp_path / "q.jlic",
                                    "--model", path, "--quality", q))
        assert "quality must be in [1, 8]" in line


# ---- 10. images that lose something ------------------------------------------------------------
def _png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png(width, height, depth, color, idat):
    ihdr = struct.pack(">IIBBBBB", width, height, depth, color, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", idat)
            + _png_chunk(b"IEND", b""))


def test_every_loss_of_image_data_is_reported(tmp_path):
    rng = np.random.default_rng(0)
    rows = b"".join(b"\x00" + rng.integers(0, 65535, 8 * 3).astype(">u2").tobytes()
                    for _ in range(8))
    (tmp_path / "rgb16.png").write_bytes(_png(8, 8, 16, 2, zlib.compress(rows)))
    _, warnings = read_image(str(tmp_path / "rgb16.png"))
    assert any("16-bit" in w for w in warnings)
    Image.fromarray(rng.random((8, 8)).astype(np.float32), "F").save(tmp_path / "f.tif")
    _, warnings = read_image(str(tmp_path / "f.tif"))
    assert any("32-bit float" in w for w in warnings)
    frames = [Image.fromarray(rng.integers(0, 255, (8, 8, 3), dtype=np.uint8)) for _ in range(3)]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:])
    _, warnings = read_image(str(tmp_path / "anim.gif"))
    assert any("first of 3 frames" in w for w in warnings)


@pytest.mark.parametrize("mode,key", [("L", 0), ("RGB", (0, 0, 0)), ("P", 0), ("I;16", 0)])
def test_a_transparency_key_is_reported_as_dropped_alpha(tmp_path, mode, key):
    """PNG's tRNS names a transparent grey level, colour or palette entry in any mode; coding
    keeps the colours, so the lost transparency is a warning, as for an alpha channel."""
    img = Image.new(mode, (20, 10))
    if mode == "P":
        img.putpalette([7] * 768)
    img.save(tmp_path / "plain.png")
    img.save(tmp_path / "keyed.png", transparency=key)
    for name, expected in (("plain", False), ("keyed", True)):
        arr, warnings = read_image(str(tmp_path / f"{name}.png"))
        assert arr.shape[:2] == (10, 20)
        assert any("alpha channel dropped" in w for w in warnings) == expected, (name, warnings)


def test_exif_orientation_is_applied(tmp_path):
    img = np.zeros((20, 40, 3), np.uint8)
    img[:, :20] = 255  # white left half of a landscape image
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    Image.fromarray(img).save(tmp_path / "phone.jpg", exif=exif, quality=95)
    arr, _ = read_image(str(tmp_path / "phone.jpg"))
    assert arr.shape == (40, 20, 3)  # shown as portrait
    assert arr[:20].mean() > 200 and arr[20:].mean() < 50  # white half on top after rotation


# ---- 4./5./6. training ------------------------------------------------------------------------
def _train(workdir, *extra):
    return subprocess.run(
        [PYTHON, os.path.join(ROOT, "train.py"), "--config", os.path.join(ROOT, "configs/tiny.py"),
         "--workdir", str(workdir), f"--config.data.train_dir={TRAIN_DATA}", *extra],
        capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=ROOT), cwd=ROOT)


def test_rerun_with_another_model_leaves_the_run_untouched(tmp_path):
    wd = tmp_path / "run"
    (wd / "checkpoints").mkdir(parents=True)
    good = json.dumps({"model": {"name": "mean_scale", "N": 32, "M": 48,
                                 "eb_filters": [3, 3, 3]}})
    (wd / "config.json").write_text(good)
    res = _train(wd, "--config.model.N=16")
    assert res.returncode == 2 and "another model" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1, res.stderr
    assert (wd / "config.json").read_text() == good


@pytest.mark.parametrize("override,message", [
    ("--config.learning_rate=nan", "learning_rate"), ("--config.data.crop=0", "crop"),
    ("--config.model.name=resnet", "unknown model"), ("--config.model.N=0", "model.N"),
    ("--config.quantization=round", "quantization"), ("--config.nonsense=1", "no field"),
    ("--config.steps=-3", "steps"), ("--config.model.synthesis_blocks=-1", "must be >= 0")])
def test_bad_configs_are_one_line_errors_before_any_work(tmp_path, override, message):
    res = _train(tmp_path / "wd", override)
    assert res.returncode == 2, res.stderr
    line = res.stderr.strip().splitlines()
    assert len(line) == 1 and line[0].startswith("train.py: error:") and message in line[0]
    assert not (tmp_path / "wd" / "config.json").exists()


def test_missing_config_file_is_a_one_line_error(tmp_path):
    res = subprocess.run([PYTHON, os.path.join(ROOT, "train.py"), "--config", "nope.py",
                          "--workdir", str(tmp_path)], capture_output=True, text=True,
                         env=dict(os.environ, PYTHONPATH=ROOT), cwd=ROOT)
    assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1, res.stderr


def test_config_validation_covers_types(tmp_path):
    import ml_collections

    from configs import tiny

    for field, value in (("batch_size", 2.5), ("crop", "128"), ("batch_size", True)):
        d = tiny.get_config().to_dict()
        d["data"][field] = value  # as a config.json or a hand-written dict can hold it
        with pytest.raises(ConfigError, match=field):
            validate_config(ml_collections.ConfigDict(d))


def test_an_image_that_fails_to_decode_is_skipped_and_counted(tmp_path):
    rng = np.random.default_rng(0)
    for i in range(3):
        Image.fromarray(rng.integers(0, 255, (80, 80, 3), dtype=np.uint8)).save(
            tmp_path / f"good{i}.png")
    # valid chunks and CRCs (passes PIL's verify), but the pixel data is not a zlib stream
    (tmp_path / "broken.png").write_bytes(_png(80, 80, 8, 2, b"not zlib data" * 10))
    folder = data_lib.scan_images(str(tmp_path), 64)
    assert len(folder.paths) == 4  # verification alone does not catch it
    ds = data_lib.make_dataset(folder, crop=64, batch_size=2, seed=0)
    batches = [ds[i] for i in range(8)]  # every image is visited
    assert all(b.shape == (2, 64, 64, 3) for b in batches)
