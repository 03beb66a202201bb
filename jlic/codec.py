"""Compress and decompress images with a frozen model.

    compress(model, image uint8 (H,W) or (H,W,3)) -> bytes (a .jlic file)
    decompress(model, data) -> uint8 image of the original shape

Data flow (encoder; the decoder repeats every step marked *):

    image -> [0,1] float, edge-padded to a multiple of 64 -> analyze -> y, z
    z_sym = round(z - median)                          -> z stream (table per channel)
  * z_sym -> exact integer hyper-synthesis (jlic.exact) -> scale index, mean, gains, mask
  * mask &= within the image (the elements whose 16x16 block overlaps it; not the padding)
    y_sym = round((y - mean) / qv) where mask          -> y stream (table per scale index,
                                                          only the masked elements, raster order)
  * y_hat = y_sym * iqv + mean where mask, else mean -> synthesize -> crop -> round to uint8
  * refined files (format 4) only: the post-filter the encoder fitted to this decoded image
    (jlic.postfilter), where it lowers lambda * MSE + bpp -> filter stream

The encoder computes the scale indexes from z_hat exactly as the decoder will (same function,
same shapes), never from its own unquantized z. Grayscale images are coded as RGB with equal
channels and decoded to grayscale (ITU-R 601 luma of the reconstruction).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from jlic import bitstream, postfilter
from jlic.entropy.coder import ESCAPE_FIXED32, ESCAPE_GAMMA, CorruptStreamError
from jlic.entropy.tables import PRECISION
from jlic.errors import BitstreamError, ImageError, RateError
from jlic.frozen import FrozenModel
from jlic.refine import MAX_REFINE_STEPS, REFINE_MEMORY_FACTOR, refine_latents


@dataclass
class Latents:
    """Everything the encoder derives from an image at one rate input."""
    rate: float | None  # the rate input as coded (float32 value), None for single-rate models
    z_sym: np.ndarray  # (1, h, w, N) int32
    y_sym: np.ndarray  # (1, 4h, 4w, M) int32 (0 where not selected)
    scale_index: np.ndarray  # (1, 4h, 4w, M) int32
    mask: np.ndarray  # (1, 4h, 4w, M) bool: the elements that are coded
    y_hat: np.ndarray  # (1, 4h, 4w, M) float32: what the decoder reconstructs
    estimated_bits: float  # bits the integer tables assign to the coded symbols (no escapes)


def check_rate(model: FrozenModel, rate) -> float | None:
    """Validates the rate input for the model (``jlic.rate``); returns it as the float32 value
    that is coded."""
    return model.rate_spec.check(rate)


def as_rgb(image: np.ndarray) -> tuple[np.ndarray, int]:
    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise ImageError(f"images must be uint8, got {image.dtype}")
    if image.ndim == 2:
        return np.repeat(image[..., None], 3, axis=-1), 1
    if image.ndim == 3 and image.shape[-1] == 3:
        return image, 3
    raise ImageError(f"images must be (H, W) grayscale or (H, W, 3) RGB, got shape {image.shape}")


def _padded_float(rgb: np.ndarray, multiple: int) -> np.ndarray:
    h, w, _ = rgb.shape
    ph, pw = -h % multiple, -w % multiple
    x = np.pad(rgb, ((0, ph), (0, pw), (0, 0)), mode="edge")
    return (x.astype(np.float32) / 255.0)[None]


def memory_budget() -> int:
    """Bytes that coding one image may use: ``JLIC_MEMORY_BUDGET`` (bytes, or with a K/M/G
    suffix) if set, else 3/4 of this machine's physical memory."""
    value = os.environ.get("JLIC_MEMORY_BUDGET", "").strip().upper()
    if value:
        units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
        try:
            return int(float(value[:-1]) * units[value[-1]]) if value[-1] in units \
                else int(value)
        except ValueError:
            raise ImageError(f"JLIC_MEMORY_BUDGET={value!r} is not a number of bytes") from None
    return int(0.75 * os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))


def coding_bytes(model: FrozenModel, height: int, width: int) -> int:
    """Memory that coding an image takes, an upper estimate: (4N + 32) bytes per padded pixel
    (measured at N = 64: 220-240 resident bytes per pixel for the analysis; BENCHMARKS.md).
    The synthesis runs in bands (``FrozenModel.synthesize``): whole, XLA reserved about 580
    bytes per pixel for it, 29 GB for a 50-megapixel image, more than a 24 GB machine has."""
    d = model.downsampling
    pixels = (-(-height // d) * d) * (-(-width // d) * d)
    return pixels * (4 * model.model.N + 32)


def check_memory(model: FrozenModel, height: int, width: int, error=ImageError,
                 factor: int = 1) -> None:
    """Refuses, before anything is allocated, an image whose coding (``factor`` times
    ``coding_bytes``: refinement takes REFINE_MEMORY_FACTOR) would exceed the memory budget."""
    need, budget = factor * coding_bytes(model, height, width), memory_budget()
    if need > budget:
        what = "coding" if factor == 1 else "refining"
        raise error(f"{what} a {width}x{height} image with this model needs about "
                    f"{need / 2**30:.1f} GiB, more than the memory budget of "
                    f"{budget / 2**30:.1f} GiB (set JLIC_MEMORY_BUDGET to change it)")


def channel_index(shape) -> np.ndarray:
    return np.broadcast_to(np.arange(shape[-1], dtype=np.int32), shape)


def _table_bits(tables, values, index) -> float:
    pos = np.clip(values - tables.offsets[index], 0, tables.lengths[index] - 1)
    return float(-np.log2(tables.freqs[index, pos] / 2.0**PRECISION).sum())


def _reconstruct(y_sym, p):
    """The decoder's y_hat: symbols * iqv + mean where coded, the mean elsewhere (float32)."""
    return np.where(p["mask"], y_sym.astype(np.float32) * p["iqv"] + p["mean"], p["mean"])


class Encoder:
    """Encodes one image at any number of rate inputs. For models whose analysis does not
    depend on the rate input (single-rate, SCR), y and z are computed once.

    Args:
      model: the codec.
      image: uint8 (H, W) or (H, W, 3), 0..255 (as ``compress``).
      refine_steps: 0, or the Adam steps of encoder-side refinement (``jlic.refine``) at each
        rate input: smaller files at the same quality for more encode time (about 0.6 s per
        step for a 768x512 image on 2 cores). The model file must record its lambda.

    ``encode(rate)`` returns a file's bytes, ``latents(rate)`` the ``Latents`` before entropy
    coding, ``estimated_bpp(rate)`` the integer tables' bits per pixel of the unrefined latents
    without coding (a quick guess for rate control). With refinement, both take ``bpp_band``
    (``jlic.refine.refine_latents``): refine within a band of file sizes. Refined files also
    carry a post-filter (``jlic.postfilter``, format 4) where it lowers the objective that
    refinement lowers, lambda * MSE + bpp (``rd_objective``): about 0.9 s more for a 768x512
    image, a decode and a least-squares fit.
    """

    def __init__(self, model: FrozenModel, image: np.ndarray, refine_steps: int = 0):
        rgb, self.channels = as_rgb(image)
        self.height, self.width, _ = rgb.shape
        if not (1 <= self.height <= bitstream.MAX_SIDE and 1 <= self.width <= bitstream.MAX_SIDE):
            raise ImageError(f"image size {self.width}x{self.height} is outside "
                             f"1..{bitstream.MAX_SIDE} per side")
        if isinstance(refine_steps, bool) or not isinstance(refine_steps, (int, np.integer)) \
                or not 0 <= refine_steps <= MAX_REFINE_STEPS:
            raise RateError(f"refinement steps must be an integer in 0..{MAX_REFINE_STEPS}, "
                            f"got {refine_steps!r}")
        check_memory(model, self.height, self.width,
                     factor=REFINE_MEMORY_FACTOR if refine_steps else 1)
        if refine_steps:
            model.rd_lambda(model.rate_spec.default)  # refuses a file without its lambda
        self.model = model
        self.refine_steps = int(refine_steps)
        self.rgb = rgb
        self.x = _padded_float(rgb, model.downsampling)
        self._yz = None
        self._side = None  # (z symbols, rate key, the exact path's hyper_synthesis of them)
        self._filter_bpp = {}

    def analysis(self, rate):
        """(y, z) of the padded image before quantization, float32, for a rate input already
        checked (``check_rate``); computed once when the analysis does not depend on it."""
        depends = self.model.rate_spec.analysis_depends_on_rate
        if depends or self._yz is None:
            y, z = self.model.analyze(self.x, rate)
            if not (np.all(np.isfinite(y)) and np.all(np.isfinite(z))):
                raise ImageError("the model produced non-finite latents for this image")
            if not depends:
                self._yz = (y, z)
            return y, z
        return self._yz

    def latents(self, rate=None, bpp_band=None) -> Latents:
        rate = check_rate(self.model, rate)
        y, z = self.analysis(rate)
        if self.refine_steps:
            y, z, _, _ = refine_latents(self.model, self.x, y, z, self.height, self.width,
                                        rate, self.refine_steps, bpp_band)
        elif bpp_band is not None:
            raise RateError("a rate band needs refinement (refine_steps)")
        return self._quantize(y, z, rate)

    def encode(self, rate=None, bpp_band=None) -> bytes:
        if not self.refine_steps:
            return self._pack(self.latents(rate, bpp_band))
        rate = check_rate(self.model, rate)
        band = bpp_band
        if bpp_band is not None:
            # the band is for the whole file: the refined latents are held below it by what
            # a filter costs where it pays on the unrefined latents
            lo, hi, unrefined_bpp = bpp_band
            extra = self.filter_bpp(rate)
            band = (lo - extra, hi - extra, unrefined_bpp)
        files = self._with_and_without_filter(self.latents(rate, band))
        if bpp_band is not None:  # the files that land in the band, if any
            pixels = self.height * self.width
            files = [c for c in files if bpp_band[0] <= 8 * len(c[0]) / pixels <= bpp_band[1]] \
                or files
        return min(files, key=lambda c: c[1])[0]

    def filter_bpp(self, rate) -> float:
        """What a post-filter adds to the unrefined latents' file at ``rate`` (bits per pixel)
        where it lowers J there, else 0: the size a refined file for a target leaves it."""
        rate = check_rate(self.model, rate)
        if rate not in self._filter_bpp:
            (plain, j_plain), (filtered, j_filtered) = self._with_and_without_filter(
                self._unrefined(rate))
            self._filter_bpp[rate] = 8 * (len(filtered) - len(plain)) / (
                self.height * self.width) if j_filtered < j_plain else 0.0
        return self._filter_bpp[rate]

    def _pack(self, lat: Latents, filter_coefficients=None) -> bytes:
        return pack_latents(self.model, lat, self.height, self.width, self.channels,
                            filter_coefficients)

    def _with_and_without_filter(self, lat: Latents) -> list[tuple[bytes, float]]:
        """[(file, J)] for ``lat`` without and with a post-filter fitted to its decoded image,
        J = lambda * MSE + bpp (``rd_objective``)."""
        decoded = self.model.synthesize(lat.y_hat, lat.rate)[0, : self.height, : self.width]
        coefficients = postfilter.fit(self.rgb, decoded)
        lmbda = self.model.rd_lambda(lat.rate)
        return [(data, _rd_cost(lmbda, self.rgb, image, data))
                for data, image in ((self._pack(lat), decoded),
                                    (self._pack(lat, coefficients),
                                     postfilter.apply(decoded, coefficients)))]

    def _unrefined(self, rate) -> Latents:
        return self._quantize(*self.analysis(rate), rate)

    def _quantize(self, y, z, rate) -> Latents:
        """Rounds (y, z) at ``rate`` into the symbols and coding parameters of a file."""
        z_sym = np.round(z - self.model.medians).astype(np.int32)
        p = self._coding_params(z_sym, rate)
        p["mask"] = p["mask"] & bitstream.within_image(p["mask"].shape, self.height, self.width)
        y_sym = np.where(p["mask"], np.round((y - p["mean"]) / p["qv"]), 0).astype(np.int32)
        bits = (_table_bits(self.model.z_tables, z_sym, channel_index(z_sym.shape))
                + _table_bits(self.model.y_tables, y_sym[p["mask"]], p["scale_index"][p["mask"]]))
        return Latents(rate, z_sym, y_sym, p["scale_index"], p["mask"], _reconstruct(y_sym, p),
                       bits)

    def _coding_params(self, z_sym, rate) -> dict:
        """``model.coding_params_from_symbols``, keeping the exact path's hyper-synthesis of
        the last z: a rate search probes several SCR qualities of one z (each probe would
        otherwise run it again, 0.08-0.13 s for a 768x512 image)."""
        exact = self.model.integer_coding_params
        if exact is None:
            return self.model.coding_params_from_symbols(z_sym, rate)
        key = rate if exact.takes_rate else None
        side = self._side
        if side is None or side[1] != key or not np.array_equal(side[0], z_sym):
            side = self._side = (z_sym.copy(), key, exact.hyper_synthesis(z_sym, rate))
        return exact.at_rate(side[2], rate)

    def estimated_bpp(self, rate=None) -> float:
        rate = check_rate(self.model, rate)
        return self._unrefined(rate).estimated_bits / (self.height * self.width)


def quantized_latents(model: FrozenModel, image: np.ndarray, rate=None,
                      refine_steps: int = 0) -> Latents:
    """The symbols, coding parameters and reconstruction of y that ``compress`` would code."""
    return Encoder(model, image, refine_steps).latents(rate)


def compress(model: FrozenModel, image: np.ndarray, rate=None, refine_steps: int = 0) -> bytes:
    """Codes one image into the bytes of a .jlic file.

    Args:
      model: the codec (``FrozenModel.load``); its fingerprint goes into the file.
      image: uint8 (H, W) grey or (H, W, 3) RGB, pixel values 0..255, 1 <= H, W <= 16384
        (``bitstream.MAX_SIDE``).
      rate: the model's rate input (``model.rate_spec``): None for single-rate models, the
        quality q in [1, 8] for SCR models, the target in bits per pixel for AFB models. It
        is stored in the file (as float32).
      refine_steps: encoder-side refinement (``Encoder``, ``jlic.refine``); 0 for none.

    Returns:
      The file's bytes: header, z stream, y stream, CRC-32 (``jlic.bitstream``).

    Raises:
      ImageError: bad shape or dtype, or more memory than ``memory_budget()``.
      RateError: a rate input outside the model's range, or one a model does not take.
    """
    return Encoder(model, image, refine_steps).encode(rate)


def pack_latents(model: FrozenModel, lat: Latents, height: int, width: int, channels: int,
                 filter_coefficients=None) -> bytes:
    """Entropy-codes ``lat`` (z with the factorized tables, the masked y with the Gaussian
    tables) into a file for an image of ``height`` x ``width`` pixels with 1 or 3 channels;
    with ``filter_coefficients`` (``jlic.postfilter``) a format-4 file that carries them."""
    z_coder, y_coder = model.coders
    streams = [z_coder.encode(lat.z_sym, channel_index(lat.z_sym.shape)),
               y_coder.encode(lat.y_sym[lat.mask], lat.scale_index[lat.mask])]
    if filter_coefficients is not None:
        streams.append(postfilter.write(filter_coefficients))
    header = bitstream.Header(model.fingerprint, height, width, channels,
                              model.rate_spec.file_code,
                              0.0 if lat.rate is None else lat.rate)
    return bitstream.pack(header, streams)


def _decode_side_information(model: FrozenModel, data: bytes, whole_image: bool = False):
    """Parses a file and decodes z: -> (header, rate, coding params of y, y stream, escapes,
    the post-filter's coefficients or None). Memory: the z map and the coding parameters (1/256
    of the pixels times M); with ``whole_image`` the header is first checked against the
    budget for decoding all of it."""
    header, (z_stream, y_stream, *filter_stream) = bitstream.parse(data)
    if whole_image:
        check_memory(model, header.height, header.width, BitstreamError)
    if header.fingerprint != model.fingerprint:
        raise BitstreamError(
            f"file was written with model {header.fingerprint.hex()}, but the loaded model is "
            f"{model.fingerprint.hex()}; decode it with the model that wrote it")
    if header.rate_code != model.rate_spec.file_code:
        raise BitstreamError("the file's rate input does not fit the model")
    rate = None if model.rate_spec.allowed is None else header.rate_value
    try:
        rate = check_rate(model, rate)
    except RateError as e:
        raise BitstreamError(f"invalid rate input in file: {e}") from None
    d = model.downsampling
    ph, pw = -(-header.height // d), -(-header.width // d)
    z_shape = (1, ph, pw, model.z_tables.freqs.shape[0])
    escapes = ESCAPE_FIXED32 if header.version == 1 else ESCAPE_GAMMA
    try:
        z_sym = model.coders[0].decode(z_stream, channel_index(z_shape), escapes)
    except CorruptStreamError as e:
        raise BitstreamError(f"corrupted payload: {e}") from None
    p = model.coding_params_from_symbols(z_sym.reshape(z_shape), rate)
    p["mask"] = p["mask"] & bitstream.within_image(p["mask"].shape, header.height,
                                                   header.width, header.version)
    coefficients = postfilter.read(filter_stream[0]) if filter_stream else None
    return header, rate, p, y_stream, escapes, coefficients


def coded_mask(model: FrozenModel, data: bytes) -> np.ndarray:
    """The elements of y a file codes, (1, H', W', M) bool (H' = ceil(H / 64) * 4, likewise W':
    the padded image's y), from its z stream alone."""
    return _decode_side_information(model, data)[2]["mask"]


def coded_elements(model: FrozenModel, data: bytes) -> tuple[int, int]:
    """(coded, total): the elements of y over the image, ceil(H / 16) x ceil(W / 16) x M, and
    how many of them a file codes (SCR's selected elements; all of them for other models). The
    elements that cover only the padding to a multiple of 64 are not counted: from format 3 no
    file codes them, and they are not part of the image. From the z stream alone."""
    header, _, p, *_ = _decode_side_information(model, data)
    inside = bitstream.within_image(p["mask"].shape, header.height, header.width)
    return int((p["mask"] & inside).sum()), int(inside.sum()) * p["mask"].shape[-1]


def decode_y_hat(model: FrozenModel, data: bytes, *, return_mask: bool = False):
    """Parses and entropy-decodes a file (everything of ``decompress`` but the synthesis and
    the post-filter).

    Returns:
      (header, y_hat[, mask]): the ``bitstream.Header``; y_hat float32 (1, H', W', M) with
      H' = ceil(H / 64) * 4 (likewise W'); with ``return_mask`` the coded elements, bool of
      y_hat's shape.
    """
    header, y_hat, mask, _ = _entropy_decode(model, data)
    return (header, y_hat, mask) if return_mask else (header, y_hat)


def _entropy_decode(model: FrozenModel, data: bytes):
    """-> (header, y_hat, mask, post-filter coefficients or None) of a file."""
    header, rate, p, y_stream, escapes, coefficients = _decode_side_information(
        model, data, whole_image=True)
    y_sym = np.zeros(p["scale_index"].shape, np.int32)
    try:
        y_sym[p["mask"]] = model.coders[1].decode(y_stream, p["scale_index"][p["mask"]],
                                                    escapes)
    except CorruptStreamError as e:
        raise BitstreamError(f"corrupted payload: {e}") from None
    return header, _reconstruct(y_sym, p), p["mask"], coefficients


def decompress(model: FrozenModel, data: bytes) -> np.ndarray:
    """Decodes a .jlic file.

    Args:
      model: the codec that wrote the file (checked by fingerprint).
      data: the file's bytes.

    Returns:
      uint8 (H, W) or (H, W, 3), as the image given to ``compress`` (0..255).

    Raises:
      BitstreamError: not a jlic file, an unsupported version, a checksum mismatch, another
        model's file, a corrupted payload, or more memory than ``memory_budget()``.
    """
    header, y_hat, _, coefficients = _entropy_decode(model, data)
    rate = None if model.rate_spec.allowed is None else header.rate_value
    rgb = model.synthesize(y_hat, rate)[0, : header.height, : header.width]
    if coefficients is not None:
        rgb = postfilter.apply(rgb, coefficients)
    if header.channels == 1:
        luma = rgb.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
        return np.clip(np.round(luma), 0, 255).astype(np.uint8)
    return rgb


def rd_objective(model: FrozenModel, image: np.ndarray, data: bytes, rate=None) -> float:
    """The objective refinement lowers (``jlic.refine``), measured on a real file: lambda * MSE
    + bpp, where MSE is between ``image`` (uint8, 0..255) and the decoded file ``data`` on the
    0..255 scale, bpp is the whole file's size in bits per pixel and lambda is the model's
    training lambda at ``rate`` (``FrozenModel.rd_lambda``)."""
    return _rd_cost(model.rd_lambda(rate), image, decompress(model, data), data)


def _rd_cost(lmbda: float, original: np.ndarray, decoded: np.ndarray, data: bytes) -> float:
    """lambda * MSE + bpp of a file ``data`` that decodes to ``decoded`` (uint8, the shape of
    ``original``; MSE on the 0..255 scale, bpp of the whole file)."""
    mse = np.mean(np.square(decoded.astype(np.float64) - original))
    return lmbda * mse + 8 * len(data) / (original.shape[0] * original.shape[1])
