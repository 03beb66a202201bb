"""The post-filter refined files carry (jlic.postfilter, format 4): its stream, its integer
application, the encoder's choice and the decoder's refusals."""

import os
import struct
import subprocess
import zlib

import numpy as np
import pytest
from PIL import Image

from conftest import KODAK, PYTHON, ROOT
from jlic import DEFAULT_MODEL, bitstream, codec, postfilter
from jlic.errors import BitstreamError
from jlic.frozen import FrozenModel
from jlic.rate_control import compress_to_bpp

TAPS = postfilter.TAPS


@pytest.fixture(scope="module")
def model():
    return FrozenModel.load(DEFAULT_MODEL)


@pytest.fixture(scope="module")
def photo():
    """A real photo, 256 x 384 (a crop of kodim23)."""
    return np.asarray(Image.open(os.path.join(KODAK, "kodim23.png")).convert("RGB"))[128:384,
                                                                                     192:576]


def test_stream_is_signed_exp_golomb_and_refuses_damage():
    k = np.zeros((3, TAPS), np.int64)
    k[0, :3] = (1, -1, 2)
    bits = "010" + "011" + "00100" + "1" * (3 * TAPS - 3)
    bits += "0" * (-len(bits) % 8)
    stream = postfilter.write(k)
    assert stream == int(bits, 2).to_bytes(len(bits) // 8, "big")
    np.testing.assert_array_equal(postfilter.read(stream), k)
    k = np.random.default_rng(0).integers(-postfilter.MAX_COEFFICIENT,
                                          postfilter.MAX_COEFFICIENT + 1, (3, TAPS))
    np.testing.assert_array_equal(postfilter.read(postfilter.write(k)), k)
    with pytest.raises(BitstreamError, match="ends before"):
        postfilter.read(stream[:-2])
    with pytest.raises(BitstreamError, match="bits left"):
        postfilter.read(stream + b"\0")
    with pytest.raises(BitstreamError, match="bits left"):
        postfilter.read(stream[:-1] + bytes([stream[-1] | 1]))  # a padding bit set
    with pytest.raises(BitstreamError, match="out of range"):
        postfilter.read(b"\0" * 3 + stream)  # 24 leading zeros: no coefficient is that long
    with pytest.raises(BitstreamError, match="longer than"):
        postfilter.read(b"\xff" * 100_000)
    with pytest.raises(ValueError, match="outside"):
        postfilter.write(np.full((3, TAPS), postfilter.MAX_COEFFICIENT + 1))


def _reference_apply(decoded, k):
    """The docstring's formula, one output channel and one tap at a time, in Python ints."""
    x = decoded.astype(np.int64)
    h, w, _ = x.shape
    r = postfilter.RADIUS
    pad = np.pad(x, ((r, r), (r, r), (0, 0)), mode="edge")
    out = np.empty_like(x)
    for c in range(3):
        acc = np.zeros((h, w), np.int64)
        t = 0
        for i in range(3):
            for dy, dx in postfilter.OFFSETS:
                acc += k[c, t] * (pad[r + dy:r + dy + h, r + dx:r + dx + w, i]
                                  + pad[r - dy:r - dy + h, r - dx:r - dx + w, i] - 2 * x[..., i])
                t += 1
        for i in range(3):
            if i != c:
                acc += k[c, t] * (x[..., i] - x[..., c])
                t += 1
        acc += k[c, t]
        out[..., c] = x[..., c] + np.floor_divide(acc + postfilter.STEP // 2, postfilter.STEP)
    return np.clip(out, 0, 255).astype(np.uint8)


def test_the_fit_undoes_a_blur_and_applies_in_integers_block_by_block():
    """Taller than a block of rows (the halo between blocks), a blur the fit mostly undoes;
    the application is the docstring's formula bit for bit; a grey flat image gives taps that
    vanish (every feature is a difference) and a fit of nothing."""
    image = np.asarray(Image.open(os.path.join(KODAK, "kodim08.png")).convert("RGB"))
    assert image.shape[0] > 2 * postfilter.block_rows(image.shape[1])  # three blocks and more
    pad = np.pad(image.astype(np.float64), ((1, 1), (1, 1), (0, 0)), mode="edge")
    kernel = np.outer([1, 2, 1], [1, 2, 1]) / 16  # point-symmetric, as the filter's taps
    blurred = sum(kernel[dy, dx] * pad[dy:dy + image.shape[0], dx:dx + image.shape[1]]
                  for dy in range(3) for dx in range(3))
    blurred = np.round(blurred).astype(np.uint8)
    k = postfilter.fit(image, blurred)
    filtered = postfilter.apply(blurred, k)
    np.testing.assert_array_equal(filtered, _reference_apply(blurred, k))

    def mse(a):
        return np.mean(np.square(a.astype(np.float64) - image))

    assert mse(filtered) < 0.75 * mse(blurred), (mse(filtered), mse(blurred))
    # the fit is each channel's own least squares over its features, built here by hand
    r, (h, w) = postfilter.RADIUS, blurred.shape[:2]
    x = blurred.astype(np.float64)
    pad = np.pad(x, ((r, r), (r, r), (0, 0)), mode="edge")
    spatial = [pad[r + dy:r + dy + h, r + dx:r + dx + w, i]
               + pad[r - dy:r - dy + h, r - dx:r - dx + w, i] - 2 * x[..., i]
               for i in range(3) for dy, dx in postfilter.OFFSETS]
    for c in range(3):
        f = np.stack(spatial + [x[..., i] - x[..., c] for i in range(3) if i != c]
                     + [np.ones((h, w))], -1).reshape(h * w, TAPS)
        w_c = np.linalg.solve(f.T @ f + postfilter.RIDGE * np.eye(TAPS),
                              f.T @ (image[..., c].astype(np.float64) - x[..., c]).ravel())
        np.testing.assert_array_equal(k[c], np.round(w_c * postfilter.STEP))
    grey = np.full((40, 50, 3), 117, np.uint8)
    assert not postfilter._basis(grey, 0, 40)[:, :postfilter.SPATIAL].any()
    k = postfilter.fit(grey, grey)
    assert not k.any()
    np.testing.assert_array_equal(postfilter.apply(grey, k), grey)
    k = np.random.default_rng(1).integers(-3000, 3000, (3, TAPS))
    np.testing.assert_array_equal(postfilter.apply(grey, k)[..., 0],
                                  np.clip(117 + (k[0, -1] + 128) // 256, 0, 255))


def test_the_fit_runs_its_products_on_one_blas_thread(photo, monkeypatch):
    """With more, beside another process holding a core, OpenBLAS made the fit 10-50 times
    slower at random (jlic.postfilter's docstring); the limit holds inside the fit only: the
    exact hyper-synthesis keeps its threads."""
    from threadpoolctl import threadpool_info, threadpool_limits

    def blas_threads():
        return {i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"}

    inside = []
    basis = postfilter._basis

    def recording_basis(*args):
        inside.append(blas_threads())
        return basis(*args)

    monkeypatch.setattr(postfilter, "_basis", recording_basis)
    noisy = np.clip(photo.astype(int) + np.random.default_rng(0).integers(-4, 5, photo.shape),
                    0, 255).astype(np.uint8)
    with threadpool_limits(2, user_api="blas"):  # as on a 2-core machine, whatever this one has
        assert blas_threads() == {2}, "numpy's BLAS is not visible to threadpoolctl"
        k = postfilter.fit(photo, noisy)
        assert blas_threads() == {2}
    assert inside and all(t == {1} for t in inside), inside
    assert k.any()  # a real fit ran


def test_refined_files_carry_a_filter_where_it_pays(model, photo):
    """At q = 5 the filter pays on this crop (measured: J 0.855 against 0.886 plain): a
    version-4 file whose decoded image is the synthesis filtered, with a lower real objective
    than the same latents without the filter. At q = 1 its 120 bytes do not pay (version 3)."""
    data = codec.compress(model, photo, 5.0, refine_steps=3)
    header, streams = bitstream.parse(data)
    assert header.version == 4 and len(streams) == 3
    header_, y_hat = codec.decode_y_hat(model, data)
    synthesized = model.synthesize(y_hat, 5.0)[0, :photo.shape[0], :photo.shape[1]]
    coefficients = postfilter.read(streams[2])
    assert coefficients.any()
    np.testing.assert_array_equal(codec.decompress(model, data),
                                  postfilter.apply(synthesized, coefficients))
    without = bitstream.pack(header, streams[:2])
    assert bitstream.parse(without)[0].version == 3
    np.testing.assert_array_equal(codec.decompress(model, without), synthesized)
    assert codec.rd_objective(model, photo, data, 5.0) < \
        codec.rd_objective(model, photo, without, 5.0)
    assert bitstream.parse(codec.compress(model, photo, 5.0))[0].version == 3  # plain: none
    assert bitstream.parse(codec.compress(model, photo, 1.0, refine_steps=3))[0].version == 3


@pytest.mark.parametrize("strict", [False, True])
def test_rate_control_counts_the_filters_bytes(model, photo, strict):
    """A refined file for a target carries the filter and still lands: the refined latents
    are held below the band by what the filter costs."""
    target = 0.5
    search = compress_to_bpp(model, photo, target, refine_steps=6, strict=strict)
    assert search.refined and search.reachable
    assert bitstream.parse(search.data)[0].version == 4
    assert (1 - 0.01) * target <= search.bpp <= (target if strict else 1.01 * target)


def _repack(data, version=None, streams=None):
    """``data`` with another version byte or other streams, its checksum made valid again."""
    header, old = bitstream.parse(data)
    streams = old if streams is None else streams
    fixed = bytearray(data[:27])
    if version is not None:
        fixed[4] = version
    body = bytes(fixed) + bytes([len(streams)]) + struct.pack(f"<{len(streams)}I",
                                                              *map(len, streams))
    body += b"".join(streams)
    return body + struct.pack("<I", zlib.crc32(body))


def test_decoder_refuses_a_broken_filter_or_a_stream_count_against_the_version(model, photo):
    small = np.ascontiguousarray(photo[:64, :64])
    plain = codec.compress(model, small, 6.0)
    z, y = bitstream.parse(plain)[1]
    good = postfilter.write(np.ones((3, TAPS), np.int64))
    v4 = _repack(plain, version=4, streams=[z, y, good])
    assert codec.decompress(model, v4).shape == small.shape
    with pytest.raises(BitstreamError, match="post-filter stream"):
        codec.decompress(model, _repack(plain, version=4, streams=[z, y, good[:-3]]))
    with pytest.raises(BitstreamError, match="a version 4 file has 3"):
        codec.decompress(model, _repack(plain, version=4))
    with pytest.raises(BitstreamError, match="a version 3 file has 2"):
        codec.decompress(model, _repack(plain, streams=[z, y, good]))
    with pytest.raises(BitstreamError, match="version 5 is not supported"):
        codec.decompress(model, _repack(plain, version=5))


def test_cli_info_names_the_filter_stream(tmp_path, photo):
    src, out = tmp_path / "p.png", tmp_path / "p.jlic"
    Image.fromarray(photo).save(src)
    env = dict(os.environ, PYTHONPATH=ROOT)
    res = subprocess.run([PYTHON, "-m", "jlic", "compress", src, "-o", out, "--quality", "5",
                          "--refine", "3"], capture_output=True, text=True, env=env, cwd=ROOT)
    assert res.returncode == 0, res.stderr
    info = subprocess.run([PYTHON, "-m", "jlic", "info", out], capture_output=True, text=True,
                          env=env, cwd=ROOT)
    assert info.returncode == 0, info.stderr
    assert "format:      version 4" in info.stdout
    n = len(bitstream.parse(out.read_bytes())[1][2])
    assert f"post-filter {n} bytes" in info.stdout
