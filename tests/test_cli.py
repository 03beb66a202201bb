import os
import subprocess

import numpy as np
import pytest
from PIL import Image

from conftest import KODAK, PYTHON, ROOT

GOLDEN = os.path.join(ROOT, "tests", "data", "golden.jlicm")


def jlic(*args, cwd=None):
    return subprocess.run([PYTHON, "-m", "jlic", *map(str, args)], capture_output=True,
                          text=True, env=dict(os.environ, PYTHONPATH=ROOT), cwd=cwd or ROOT)


def test_compress_info_decompress_with_the_default_model(tmp_path):
    src = os.path.join(KODAK, "kodim23.png")
    out = tmp_path / "k.jlic"
    res = jlic("compress", src, "-o", out, "--verbose")
    assert res.returncode == 0, res.stderr
    assert "bpp" in res.stdout and "PSNR" in res.stdout and "MS-SSIM" in res.stdout
    size = out.stat().st_size
    assert f"{size} bytes" in res.stdout
    info = jlic("info", out)
    assert info.returncode == 0 and "768x512" in info.stdout
    assert f"{8 * size / (768 * 512):.4f} bpp" in info.stdout
    png = tmp_path / "k.png"
    assert jlic("decompress", out, "-o", png).returncode == 0
    assert np.asarray(Image.open(png)).shape == (512, 768, 3)


def test_grayscale_and_rgba_inputs(tmp_path):
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (40, 50), dtype=np.uint8)).save(tmp_path / "g.png")
    Image.fromarray(rng.integers(0, 256, (40, 50, 4), dtype=np.uint8)).save(tmp_path / "a.png")
    for name, shape in (("g", (40, 50)), ("a", (40, 50, 3))):
        res = jlic("compress", tmp_path / f"{name}.png", "-o", tmp_path / f"{name}.jlic",
                   "--model", GOLDEN)
        assert res.returncode == 0, res.stderr
        if name == "a":
            assert "alpha channel dropped" in res.stderr
        res = jlic("decompress", tmp_path / f"{name}.jlic", "-o", tmp_path / f"{name}.out.png",
                   "--model", GOLDEN)
        assert res.returncode == 0, res.stderr
        assert np.asarray(Image.open(tmp_path / f"{name}.out.png")).shape == shape


@pytest.mark.parametrize("case", ["missing", "not_image", "corrupt_file", "wrong_model"])
def test_errors_are_one_line_and_leave_no_output(tmp_path, case):
    good = tmp_path / "good.jlic"
    assert jlic("compress", os.path.join(KODAK, "kodim23.png"), "-o", good,
                "--model", GOLDEN).returncode == 0
    out = tmp_path / "out.any"
    if case == "missing":
        res = jlic("compress", tmp_path / "nope.png", "-o", out)
    elif case == "not_image":
        (tmp_path / "x.png").write_bytes(b"hello")
        res = jlic("compress", tmp_path / "x.png", "-o", out)
    elif case == "corrupt_file":
        data = bytearray(good.read_bytes())
        data[len(data) // 2] ^= 0x10
        (tmp_path / "bad.jlic").write_bytes(bytes(data))
        res = jlic("decompress", tmp_path / "bad.jlic", "-o", out, "--model", GOLDEN)
    else:
        res = jlic("decompress", good, "-o", out)  # default model, file from the golden model
    assert res.returncode == 1
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("jlic: error: "), res.stderr
    assert not out.exists()
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".tmp-")]
