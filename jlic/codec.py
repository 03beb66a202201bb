"""Compress and decompress images with a frozen model.

    compress(model, image uint8 (H,W) or (H,W,3)) -> bytes (a .jlic file)
    decompress(model, data) -> uint8 image of the original shape

Data flow (encoder; the decoder repeats every step marked *):

    image -> [0,1] float, edge-padded to a multiple of 64 -> analyze -> y, z
    z_sym = round(z - median)                          -> z stream (table per channel)
  * z_hat = z_sym + median -> hyper -> scale index, mean
    y_sym = round(y - mean)                            -> y stream (table per scale index)
  * y_hat = y_sym + mean -> synthesize -> crop -> round to uint8

The encoder computes the scale indexes from z_hat exactly as the decoder will (same function,
same shapes), never from its own unquantized z. Grayscale images are coded as RGB with equal
channels and decoded to grayscale (ITU-R 601 luma of the reconstruction).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from jlic import bitstream
from jlic.entropy.coder import CorruptStreamError, IndexedCoder
from jlic.errors import BitstreamError, ImageError
from jlic.frozen import FrozenModel


@dataclass
class Latents:
    """Everything the encoder derives from an image: symbols and quantized latents."""
    z_sym: np.ndarray  # (1, h, w, N) int32
    y_sym: np.ndarray  # (1, 4h, 4w, M) int32
    scale_index: np.ndarray  # (1, 4h, 4w, M) int32
    y_hat: np.ndarray  # (1, 4h, 4w, M) float32
    estimated_bits: float  # bits the integer tables assign to z_sym and y_sym (escapes excluded)


def _coders(model: FrozenModel):
    if not hasattr(model, "_coders"):
        model._coders = (IndexedCoder(model.z_tables), IndexedCoder(model.y_tables))
    return model._coders


def _as_rgb(image: np.ndarray) -> tuple[np.ndarray, int]:
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


def _channel_index(shape) -> np.ndarray:
    return np.broadcast_to(np.arange(shape[-1], dtype=np.int32), shape)


def _table_bits(tables, values, index) -> float:
    pos = np.clip(values - tables.offsets[index], 0, tables.lengths[index] - 1)
    return float(-np.log2(tables.freqs[index, pos] / 2.0**16).sum())


def analyze(model: FrozenModel, image: np.ndarray) -> Latents:
    rgb, _ = _as_rgb(image)
    h, w, _ = rgb.shape
    if not (1 <= h <= bitstream.MAX_SIDE and 1 <= w <= bitstream.MAX_SIDE):
        raise ImageError(f"image size {w}x{h} is outside 1..{bitstream.MAX_SIDE} per side")
    y, z = model.analyze(_padded_float(rgb, model.downsampling))
    if not (np.all(np.isfinite(y)) and np.all(np.isfinite(z))):
        raise ImageError("the model produced non-finite latents for this image")
    z_sym = np.round(z - model.medians).astype(np.int32)
    z_hat = z_sym.astype(np.float32) + model.medians
    scale_index, mean = model.hyper(z_hat)
    y_sym = np.round(y - mean).astype(np.int32)
    y_hat = y_sym.astype(np.float32) + mean
    bits = (_table_bits(model.z_tables, z_sym, _channel_index(z_sym.shape))
            + _table_bits(model.y_tables, y_sym, scale_index))
    return Latents(z_sym, y_sym, scale_index, y_hat, bits)


def compress(model: FrozenModel, image: np.ndarray) -> bytes:
    """Codes a uint8 image (H, W) or (H, W, 3) into the bytes of a .jlic file."""
    _, channels = _as_rgb(image)
    lat = analyze(model, image)
    z_coder, y_coder = _coders(model)
    z_stream = z_coder.encode(lat.z_sym, _channel_index(lat.z_sym.shape))
    y_stream = y_coder.encode(lat.y_sym, lat.scale_index)
    header = bitstream.Header(model.fingerprint, image.shape[0], image.shape[1], channels, 0, 0.0)
    return bitstream.pack(header, [z_stream, y_stream])


def decode_latents(model: FrozenModel, data: bytes) -> tuple[bitstream.Header, np.ndarray]:
    """Parses and entropy-decodes a file: -> (header, y_hat (1, H', W', M))."""
    header, (z_stream, y_stream) = bitstream.parse(data, expected_streams=2)
    if header.fingerprint != model.fingerprint:
        raise BitstreamError(
            f"file was written with model {header.fingerprint.hex()}, but the loaded model is "
            f"{model.fingerprint.hex()}; decode it with the model that wrote it")
    d = model.downsampling
    ph, pw = -(-header.height // d), -(-header.width // d)
    z_shape = (1, ph, pw, model.z_tables.freqs.shape[0])
    z_coder, y_coder = _coders(model)
    try:
        z_sym = z_coder.decode(z_stream, _channel_index(z_shape)).reshape(z_shape)
        z_hat = z_sym.astype(np.float32) + model.medians
        scale_index, mean = model.hyper(z_hat)
        y_sym = y_coder.decode(y_stream, scale_index).reshape(scale_index.shape)
    except CorruptStreamError as e:
        raise BitstreamError(f"corrupted payload: {e}") from None
    return header, y_sym.astype(np.float32) + mean


def decompress(model: FrozenModel, data: bytes) -> np.ndarray:
    """Decodes the bytes of a .jlic file to a uint8 image of the original shape."""
    header, y_hat = decode_latents(model, data)
    x_hat = model.synthesize(y_hat)[0, : header.height, : header.width]
    rgb = np.round(np.clip(np.nan_to_num(x_hat), 0.0, 1.0) * 255.0).astype(np.uint8)
    if header.channels == 1:
        luma = rgb.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
        return np.clip(np.round(luma), 0, 255).astype(np.uint8)
    return rgb
