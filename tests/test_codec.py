import glob
import hashlib
import os
import struct
import time
import zlib
from unittest import mock

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from conftest import KODAK, ROOT
from jlic import DEFAULT_MODEL, bitstream, codec
from jlic.errors import BitstreamError, ImageError, ModelFileError
from jlic.frozen import FrozenModel

GOLDEN_MODEL = os.path.join(ROOT, "tests", "data", "golden.jlicm")
KODAK_FILES = sorted(glob.glob(os.path.join(KODAK, "*.png")))


def _kodak(i):
    return np.asarray(Image.open(KODAK_FILES[i]).convert("RGB"))


@pytest.fixture(scope="module")
def golden():
    return FrozenModel.load(GOLDEN_MODEL)


@pytest.fixture(scope="module")
def default_model():
    return FrozenModel.load(DEFAULT_MODEL)


@pytest.fixture(scope="module")
def small_file(golden):
    img = _kodak(22)[100:164, 200:296]  # 64x96 crop: a small but real file
    return img, codec.compress(golden, img)


def _model_bits(model, image):
    """The model's own estimate: -log2 of its likelihoods with rounding (no tables)."""
    import jax.numpy as jnp

    from jlic.train.losses import bits

    x = codec._padded_float(codec.as_rgb(image)[0], model.downsampling)
    rate = model.rate_spec.default
    out = model.model(jnp.asarray(x), None if rate is None else jnp.full((1,), rate),
                      training=False)
    return float(bits(out["likelihoods"])[0])


def _check_round_trip(model, image):
    rate = model.rate_spec.default  # (the bundled model's: None or SCR's quality 4)
    lat = codec.quantized_latents(model, image, rate)
    data = codec.compress(model, image, rate)
    header, y_hat = codec.decode_y_hat(model, data)
    np.testing.assert_array_equal(y_hat, lat.y_hat)  # bit-exact latents
    decoded = codec.decompress(model, data)
    assert decoded.shape == image.shape and decoded.dtype == np.uint8
    np.testing.assert_array_equal(decoded, codec.decompress(model, data))
    return data, lat


@pytest.mark.parametrize("index", [0, 3, 22])
def test_round_trip_is_exact_and_size_matches_the_model(default_model, index):
    image = _kodak(index)
    data, lat = _check_round_trip(default_model, image)
    _, streams = bitstream.parse(data)
    payload_bits = 8 * sum(map(len, streams))
    # The range coder costs what its integer tables say, plus a few bits per stream.
    assert 0 <= payload_bits - lat.estimated_bits <= 64 + 1e-3 * lat.estimated_bits
    # The tables (scale grid, integer hyper-synthesis) cost at most 1% more than the float
    # model's own likelihoods. They can cost a little less on low-rate images (phase D, kodim23
    # at q = 4, 0.25 bpp: -1.04%), never much less: a file far below the estimate would mean
    # the estimate or the tables are wrong.
    estimate = _model_bits(default_model, image)
    assert -0.02 * estimate <= payload_bits - estimate <= 0.01 * estimate, payload_bits - estimate


@pytest.mark.slow
def test_round_trip_every_kodak_image(default_model):
    for i in range(len(KODAK_FILES)):
        _check_round_trip(default_model, _kodak(i))


def test_any_size_grayscale_and_odd_shapes(golden):
    rng = np.random.default_rng(0)
    for shape in [(1, 1, 3), (7, 130, 3), (65, 3, 3), (33, 47)]:
        image = rng.integers(0, 256, shape, dtype=np.uint8)
        out = codec.decompress(golden, codec.compress(golden, image))
        assert out.shape == image.shape


def test_bad_images_are_refused(golden):
    with pytest.raises(ImageError):
        codec.compress(golden, np.zeros((4, 4, 3), np.float32))
    with pytest.raises(ImageError):
        codec.compress(golden, np.zeros((4, 4, 4), np.uint8))


def test_golden_bitstream(golden, small_file):
    """A deliberate change of the format or of the coding must update these hashes."""
    img, data = small_file
    assert golden.fingerprint.hex() == "beb43dfb0211243e"
    assert hashlib.sha256(data).hexdigest()[:16] == GOLDEN_FILE_SHA
    decoded = codec.decompress(golden, data)
    assert hashlib.sha256(decoded.tobytes()).hexdigest()[:16] == GOLDEN_IMAGE_SHA


def test_format_1_and_2_files_still_decode_to_the_same_image(golden, small_file):
    """golden_v1.jlic and golden_v2.jlic: the same 64x96 crop written by format 1 (32-bit
    escapes, 516 bytes) and format 2 (the escapes in fewer bits, 368 bytes; every element of y
    coded, the padding's too) decode as they always did. Format 3 leaves out the two columns of
    y that cover only the padding to 128 pixels: a smaller file, decoded with those elements at
    their means."""
    with open(os.path.join(ROOT, "tests", "data", "golden_v1.jlic"), "rb") as f:
        v1 = f.read()
    with open(os.path.join(ROOT, "tests", "data", "golden_v2.jlic"), "rb") as f:
        v2 = f.read()
    assert (v1[4], v2[4], small_file[1][4]) == (1, 2, 3)
    assert hashlib.sha256(v1).hexdigest()[:16] == "919e1d9be7c18ef5"
    assert hashlib.sha256(v2).hexdigest()[:16] == "10752d930a0e6d7a"
    for old in (v1, v2):
        decoded = codec.decompress(golden, old)
        assert hashlib.sha256(decoded.tobytes()).hexdigest()[:16] == GOLDEN_V2_IMAGE_SHA
    assert codec.coded_mask(golden, v2).all()
    assert len(v2) < 0.75 * len(v1) and len(small_file[1]) < len(v2)


def test_format_3_codes_only_the_elements_over_the_image(golden):
    """y's 16x16 blocks: a 70x100 image (padded 128x128) codes ceil(70/16) = 5 rows and
    ceil(100/16) = 7 columns of y's 8x8, and decodes the rest at the means; an image whose
    sides are multiples of 16 codes up to its edge."""
    image = _kodak(3)[:70, :100]
    data = codec.compress(golden, image)
    mask = codec.coded_mask(golden, data)
    assert mask.shape[1:3] == (8, 8)
    assert mask[:, :5, :7].all() and not mask[:, 5:].any() and not mask[:, :, 7:].any()
    header, y_hat = codec.decode_y_hat(golden, data)
    lat = codec.quantized_latents(golden, image)
    np.testing.assert_array_equal(y_hat, lat.y_hat)
    p = golden.coding_params_from_symbols(lat.z_sym)
    np.testing.assert_array_equal(y_hat[:, 5:], p["mean"][:, 5:])
    assert codec.coded_mask(golden, codec.compress(golden, _kodak(3)[:64, :96]))[:, :4, :6].all()
    # every element over the image is coded: the fraction reported counts no padding
    assert codec.coded_elements(golden, data) == (5 * 7 * mask.shape[-1],) * 2


GOLDEN_FILE_SHA = "7b524e62ed56fefb"  # format 3 (format 2: 10752d930a0e6d7a, format 1: 919e1...)
GOLDEN_IMAGE_SHA = "370d5c8e823dcacd"
GOLDEN_V2_IMAGE_SHA = "4a96fcc0a914732c"  # the image format 1 and 2 files decode to


def test_every_truncation_is_a_clear_error(golden, small_file):
    _, data = small_file
    for n in range(len(data)):
        with pytest.raises(BitstreamError):
            codec.decompress(golden, data[:n])


def test_every_single_bit_flip_is_detected(golden, small_file):
    _, data = small_file
    start = time.perf_counter()
    for bit in range(len(data) * 8):
        flipped = bytearray(data)
        flipped[bit // 8] ^= 1 << (bit % 8)
        with pytest.raises(BitstreamError):
            codec.decompress(golden, bytes(flipped))
    assert time.perf_counter() - start < 120


def _with_crc(body: bytes) -> bytes:
    return body + struct.pack("<I", zlib.crc32(body))


def test_empty_random_huge_and_foreign_files(golden, default_model, small_file):
    _, data = small_file
    with pytest.raises(BitstreamError, match="too short"):
        codec.decompress(golden, b"")
    rng = np.random.default_rng(0)
    for _ in range(20):
        with pytest.raises(BitstreamError):
            codec.decompress(golden, rng.bytes(int(rng.integers(1, 5000))))
    # a valid header (and checksum) that claims a 100000 x 100000 image
    header = bitstream.Header(golden.fingerprint, 100_000, 100_000, 3, 0, 0.0)
    huge = bitstream.pack(header, [b"\0" * 4, b"\0" * 4])
    with pytest.raises(BitstreamError, match="100000x100000"):
        codec.decompress(golden, huge)
    with pytest.raises(BitstreamError, match="written with model"):
        codec.decompress(default_model, data)


@given(st.data())
@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_fuzz_payload_with_valid_checksum(golden, small_file, data):
    """Corrupt payloads that pass the checksum: a clear error or an image, never a crash."""
    _, good = small_file
    body = bytearray(good[:-4])
    payload_start = bitstream._FIXED.size + 8
    n = data.draw(st.integers(1, 8))
    for _ in range(n):
        pos = data.draw(st.integers(payload_start, len(body) - 1))
        body[pos] = data.draw(st.integers(0, 255))
    if data.draw(st.booleans()):
        cut = data.draw(st.integers(payload_start, len(body)))
        body = body[:cut]
    try:
        out = codec.decompress(golden, _with_crc(bytes(body)))
    except BitstreamError:
        return
    assert out.shape == (64, 96, 3) and out.dtype == np.uint8


def test_model_file_errors(tmp_path):
    with pytest.raises(ModelFileError, match="no such file"):
        FrozenModel.load(str(tmp_path / "missing.jlicm"))
    bad = tmp_path / "bad.jlicm"
    bad.write_bytes(b"not a model")
    with pytest.raises(ModelFileError, match="not a jlic model"):
        FrozenModel.load(str(bad))
    raw = bytearray(open(GOLDEN_MODEL, "rb").read())
    import io

    import numpy as np_

    with np_.load(io.BytesIO(bytes(raw))) as npz:
        arrays = {k: npz[k] for k in npz.files}
    arrays["y/freqs"] = arrays["y/freqs"].copy()
    arrays["y/freqs"][0, 0] += 1
    arrays["y/freqs"][0, 1] -= 1
    tampered = tmp_path / "tampered.jlicm"
    with open(tampered, "wb") as f:
        np_.savez(f, **arrays)
    with pytest.raises(ModelFileError, match="fingerprint"):
        FrozenModel.load(str(tampered))


def test_banded_synthesis_equals_whole_synthesis():
    """Large images are synthesized in bands of latent rows with a halo; the decoded image
    must not depend on the banding."""
    model = FrozenModel.load(DEFAULT_MODEL)
    rate = model.rate_spec.default
    data = codec.compress(model, _kodak(3), rate)  # kodim04, 512x768 (48 latent rows)
    _, y_hat = codec.decode_y_hat(model, data)
    whole = model.synthesize(y_hat, rate)
    for rows in (7, 16):
        np.testing.assert_array_equal(model.synthesize(y_hat, rate, band_rows=rows), whole)


def test_the_readmes_python_snippet_runs_as_written():
    """The README's "From Python" block, executed on a Kodak crop: a file at quality 4.5 that
    decodes to the image's shape, and a search that lands within 1% of 0.4 bpp."""
    with open(os.path.join(ROOT, "README.md")) as f:
        readme = f.read()
    snippet = readme.split("From Python:\n\n```python\n", 1)[1].split("```", 1)[0]
    crop = _kodak(22)[:128, :192]
    scope = {"image_uint8_hwc": crop}
    with mock.patch.dict(os.environ):  # the snippet's cpu_flags stay out of later subprocesses
        exec(compile(snippet, "README.md", "exec"), scope)
    assert bitstream.parse(scope["data"])[0].rate_value == pytest.approx(4.5)
    assert scope["image"].shape == crop.shape and scope["image"].dtype == np.uint8
    assert abs(scope["search"].bpp - 0.4) <= 0.01 * 0.4
    assert scope["search"].data[:4] == bitstream.MAGIC
