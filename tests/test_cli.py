import ast
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
    assert "format:      version 3" in info.stdout
    assert f"{8 * size / (768 * 512):.4f} bpp" in info.stdout
    png = tmp_path / "k.png"
    assert jlic("decompress", out, "-o", png).returncode == 0
    assert np.asarray(Image.open(png)).shape == (512, 768, 3)


def test_the_coded_fraction_counts_only_the_elements_over_the_image(tmp_path):
    """A 150x100 image is padded to 192x128: y has 12x8 positions, 10x7 of them over the
    image. The bundled model codes all of those (it selects nothing away), and says so."""
    crop = tmp_path / "crop.png"
    Image.open(os.path.join(KODAK, "kodim23.png")).crop((0, 0, 150, 100)).save(crop)
    out = tmp_path / "crop.jlic"
    res = jlic("compress", crop, "-o", out, "--verbose")
    assert res.returncode == 0, res.stderr
    assert "100.0% of y coded" in res.stdout
    info = jlic("info", out)
    assert f"coded:       {10 * 7 * 192} of the {10 * 7 * 192} y elements over the image " \
           "(100.0%)" in info.stdout, info.stdout


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


@pytest.mark.parametrize("case, message", [
    ("missing", "nope.png"), ("not_image", "not an image format"), ("empty_image", "is empty"),
    ("corrupt_file", "corrupt"), ("wrong_model", "decode it with the model that wrote it"),
    ("lossy_output", "written losslessly")])
def test_errors_are_one_line_and_leave_no_output(tmp_path, case, message):
    good = tmp_path / "good.jlic"
    assert jlic("compress", os.path.join(KODAK, "kodim23.png"), "-o", good,
                "--model", GOLDEN).returncode == 0
    out = tmp_path / ("out.jlic" if case in ("missing", "not_image", "empty_image") else "out.png")
    if case == "missing":
        res = jlic("compress", tmp_path / "nope.png", "-o", out)
    elif case == "not_image":
        (tmp_path / "x.png").write_bytes(b"hello")
        res = jlic("compress", tmp_path / "x.png", "-o", out)
    elif case == "empty_image":
        (tmp_path / "x.png").write_bytes(b"")
        res = jlic("compress", tmp_path / "x.png", "-o", out)
    elif case == "corrupt_file":
        data = bytearray(good.read_bytes())
        data[len(data) // 2] ^= 0x10
        (tmp_path / "bad.jlic").write_bytes(bytes(data))
        res = jlic("decompress", tmp_path / "bad.jlic", "-o", out, "--model", GOLDEN)
    elif case == "wrong_model":
        res = jlic("decompress", good, "-o", out)  # default model, file from the golden model
    else:
        out = tmp_path / "out.jpg"  # a JPEG would code the decoded image again
        res = jlic("decompress", good, "-o", out, "--model", GOLDEN)
    assert res.returncode == 1
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("jlic: error: "), res.stderr
    assert message in lines[0]
    assert not out.exists()
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".tmp-")]


def test_decoded_images_are_written_losslessly_in_the_format_the_extension_names(tmp_path):
    src = tmp_path / "g.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (40, 50, 3), dtype=np.uint8)
                    ).save(src)
    assert jlic("compress", src, "-o", tmp_path / "g.jlic", "--model", GOLDEN).returncode == 0
    decoded = {}
    for ext, fmt in ((".png", "PNG"), (".ppm", "PPM"), (".BMP", "BMP"), (".tif", "TIFF")):
        out = tmp_path / f"d{ext}"
        res = jlic("decompress", tmp_path / "g.jlic", "-o", out, "--model", GOLDEN)
        assert res.returncode == 0, res.stderr
        with Image.open(out) as im:
            assert im.format == fmt
            decoded[ext] = np.asarray(im.convert("RGB"))
    for ext in decoded:
        np.testing.assert_array_equal(decoded[ext], decoded[".png"])


def test_the_jlic_command_sets_its_cpu_flags_before_numpy_loads():
    """OpenBLAS reads OPENBLAS_THREAD_TIMEOUT once, when numpy loads it, and XLA its flags when
    JAX starts: the CLI module imports numpy, so its cpu_flags.configure() must run first. The
    probe records the environment at the moment numpy is first imported."""
    probe = """
import importlib.abc, os, sys
seen = {}
class Watch(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name == "numpy" and not seen:
            seen.update((k, os.environ.get(k)) for k in ("OPENBLAS_THREAD_TIMEOUT", "XLA_FLAGS"))
        return None
sys.meta_path.insert(0, Watch())
import jlic.cli  # noqa: F401  (what the jlic command imports first)
print(seen)
"""
    env = {k: v for k, v in os.environ.items()
           if k not in ("OPENBLAS_THREAD_TIMEOUT", "XLA_FLAGS")}
    res = subprocess.run([PYTHON, "-c", probe], capture_output=True, text=True, cwd=ROOT,
                         env=env)
    assert res.returncode == 0, res.stderr
    seen = ast.literal_eval(res.stdout.strip())
    assert seen["OPENBLAS_THREAD_TIMEOUT"] == "4", seen
    assert "--xla_cpu_experimental_ynn_fusion_type=" in seen["XLA_FLAGS"], seen
