"""The .jlic file container.

    offset  size  field
    0       4     magic b"JLIC"
    4       1     format version: 4 for a file with a post-filter stream, else 3
                  (FORMAT_VERSION = 4; versions 1 and 2 are read too: version 2 also codes
                  the elements of y wholly outside the image (``within_image``), version 1
                  besides codes escaped symbols otherwise (jlic.entropy.coder))
    5       8     model fingerprint (first 8 bytes of SHA-256, see jlic.frozen)
    13      4     image height, uint32 LE (pixels)
    17      4     image width, uint32 LE (pixels)
    21      1     channels of the original image (1 = grayscale, 3 = RGB)
    22      1     rate kind (0 = none, 1 = SCR quality, 2 = bpp target)
    23      4     rate value, float32 LE
    27      1     number of streams S
    28      4*S   stream lengths, uint32 LE (bytes)
    ...           the streams, in order: z, y, and from version 4 the post-filter's
                  coefficients (jlic.postfilter; S = 3, versions 1-3 have S = 2)
    end-4   4     CRC-32 of everything before it

``parse`` validates every field, the lengths against the file size and the checksum before
anything is allocated or decoded, and raises ``BitstreamError`` naming the problem.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

import numpy as np

from jlic.errors import BitstreamError
from jlic.rate import BY_FILE_CODE

MAGIC = b"JLIC"
FORMAT_VERSION = 4
READABLE_VERSIONS = (1, 2, 3, 4)
PLAIN_VERSION = 3  # what a file without a post-filter is written as (any jlic since 3 reads it)
Y_STRIDE = 16  # pixels per element of y along each side (the analysis downsamples by 16)
MAX_SIDE = 16384  # pixels; bounds the memory a file can make the decoder allocate
MAX_FILE_BYTES = 1 << 31  # more than any image of MAX_SIDE^2 pixels needs at any rate
_FIXED = struct.Struct("<4sB8sIIBBfB")
_CRC = 4


@dataclass(frozen=True)
class Header:
    """The fixed part of a .jlic file: the model's fingerprint (8 bytes), the image size in
    pixels, 1 (grey) or 3 channels, and the rate input (its kind's file code and value)."""
    fingerprint: bytes
    height: int
    width: int
    channels: int
    rate_code: int  # the model's RateSpec.file_code (jlic.rate)
    rate_value: float
    version: int = FORMAT_VERSION


def within_image(y_shape, height: int, width: int,
                 version: int = FORMAT_VERSION) -> np.ndarray:
    """(1, h, w, 1) bool for y of ``y_shape`` (1, h, w, M): the elements a file of ``version``
    codes for a ``height`` x ``width`` image. From version 3 those whose 16x16 block overlaps the
    image, ceil(H / 16) x ceil(W / 16); the others cover only the padding to a multiple of 64 and
    decode to their means. Earlier versions code every element."""
    inside = np.zeros((1, y_shape[1], y_shape[2], 1), bool)
    if version < 3:
        inside[:] = True
    else:
        inside[:, :-(-height // Y_STRIDE), :-(-width // Y_STRIDE)] = True
    return inside


def pack(header: Header, streams: list[bytes]) -> bytes:
    """-> the file: fixed header (with the stream count), stream lengths (uint32 LE), streams,
    CRC-32 of all that precedes it. ``streams``: z and y (written as version 3), or z, y and
    the post-filter (version 4)."""
    if len(streams) not in (2, 3):
        raise ValueError(f"a file has 2 or 3 streams, got {len(streams)}")
    version = FORMAT_VERSION if len(streams) == 3 else PLAIN_VERSION
    fixed = _FIXED.pack(MAGIC, version, header.fingerprint, header.height, header.width,
                        header.channels, header.rate_code, header.rate_value, len(streams))
    body = fixed + struct.pack(f"<{len(streams)}I", *map(len, streams)) + b"".join(streams)
    return body + struct.pack("<I", zlib.crc32(body))


def parse(data: bytes) -> tuple[Header, list[bytes]]:
    """-> (header, streams) of a file, checking magic, version, CRC, image size, channels,
    the stream count (3 for version 4, else 2) and stream lengths before anything else is
    read. Raises ``BitstreamError`` naming the first problem."""
    n = len(data)
    if n < _FIXED.size + _CRC:
        raise BitstreamError(f"file too short to be a jlic file ({n} bytes)")
    magic, version, fp, h, w, c, kind, value, count = _FIXED.unpack_from(data, 0)
    if magic != MAGIC:
        raise BitstreamError("not a jlic file (bad magic bytes)")
    if version not in READABLE_VERSIONS:
        raise BitstreamError(f"jlic format version {version} is not supported (this jlic "
                             f"reads versions {', '.join(map(str, READABLE_VERSIONS))})")
    (stored_crc,) = struct.unpack_from("<I", data, n - _CRC)
    if zlib.crc32(memoryview(data)[: n - _CRC]) != stored_crc:
        raise BitstreamError("checksum mismatch: the file is corrupted or truncated")
    if not (1 <= h <= MAX_SIDE and 1 <= w <= MAX_SIDE):
        raise BitstreamError(f"image size {w}x{h} is outside the supported range "
                             f"1..{MAX_SIDE} per side")
    if c not in (1, 3):
        raise BitstreamError(f"unsupported channel count {c}")
    if kind not in BY_FILE_CODE:
        raise BitstreamError(f"unknown rate kind {kind}")
    expected_streams = 3 if version >= 4 else 2
    if count != expected_streams:
        raise BitstreamError(f"file has {count} streams, a version {version} file has "
                             f"{expected_streams}")
    lengths_end = _FIXED.size + 4 * count
    if lengths_end > n - _CRC:
        raise BitstreamError("file too short for its stream table")
    lengths = struct.unpack_from(f"<{count}I", data, _FIXED.size)
    if sum(lengths) != n - _CRC - lengths_end:
        raise BitstreamError(f"stream lengths ({sum(lengths)} bytes) do not match the file "
                             f"size ({n - _CRC - lengths_end} payload bytes)")
    streams, pos = [], lengths_end
    for length in lengths:
        streams.append(bytes(data[pos: pos + length]))
        pos += length
    return Header(fp, h, w, c, kind, value, version), streams
