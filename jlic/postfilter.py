"""A per-image adaptive loop filter, fitted by the encoder and sent in the file (format 4).

    fit(image, decoded) -> coefficients int64 (3, TAPS)    least squares, rounded to 1/STEP
    apply(decoded, coefficients) -> uint8 image             integer arithmetic, as decoded
    write(coefficients) -> bytes; read(bytes) -> coefficients   the file's third stream

As VVC's adaptive loop filter and AV1's Wiener filter: the decoder of a learned codec was
trained over many images; a linear filter fitted to this image's own reconstruction error
adapts to what that decoder does to this one. For each output channel c of the decoded image
x_hat (uint8 RGB, 0..255):

    x_c' = clip(x_hat_c + floor((sum_k w_k f_k + STEP / 2) / STEP), 0, 255)
    f_k  = x_hat_i(p + d) + x_hat_i(p - d) - 2 x_hat_i(p)   each input channel i and each of the
           12 point-symmetric offset pairs d of the 5x5 window (edge-replicated at the borders)
    f_k  = x_hat_i(p) - x_hat_c(p)                           the other two channels' centres
    f_k  = 1                                                 the bias

so TAPS = 3 * 12 + 2 + 1 = 39 integers w per channel. Every feature but the bias is a
difference (the spatial ones vanish on a flat area, the colour ones on a grey one), so rounding
the coefficients barely moves the image's mean: taps on raw pixels, rounded at the same step,
left Kodak 0.35-0.47 dB below no filter (BENCHMARKS.md "A per-image post-filter sent in the
file"). The stream is the 3 x 39 coefficients, channel by channel in the order above (spatial
taps input channel by input channel, offsets in raster order of the window's second half; the
colour taps in channel order; the bias), each a signed order-0 Exp-Golomb code (0, 1, -1, 2,
-2, ... -> 1, 010, 011, 00100, ...), packed most significant bit first and padded with zero
bits to a whole byte. About 1000-1300 bits an image (Kodak).

Work is linear in the pixels and memory bounded: features are built a block of rows at a time
(``BLOCK_PIXELS``). The fit's products run on one OpenBLAS thread: with two, beside another
process holding a core, its Gram matrices (40 x 40 over 130,000 rows) took 0.6-13 s instead
of 0.3-0.4 s for a 768x512 image, at random (BENCHMARKS.md "Codec").
"""

from __future__ import annotations

import numpy as np
from threadpoolctl import threadpool_limits

from jlic.errors import BitstreamError

SUPPORT = 5  # the window's side (pixels)
STEP = 256  # coefficients are integers in units of 1/STEP
RADIUS = SUPPORT // 2
OFFSETS = [(dy, dx) for dy in range(-RADIUS, RADIUS + 1) for dx in range(-RADIUS, RADIUS + 1)
           if (dy, dx) > (0, 0)]  # one of each point-symmetric pair, not the centre
SPATIAL = 3 * len(OFFSETS)  # 36
TAPS = SPATIAL + 2 + 1  # spatial, two colour differences, bias
MAX_CODE_BITS = 21  # leading zeros a coefficient's code may have: |w| < 2^20
MAX_COEFFICIENT = (1 << (MAX_CODE_BITS - 1)) - 1
RIDGE = 1e-3  # added to the normal equations' diagonal (features are integers 0..1020)
BLOCK_PIXELS = 1 << 17  # pixels per block of rows of features (int64: 40 MiB)
_BASIS = SPATIAL + 3 + 1  # spatial taps, the three centres, ones


def _basis(decoded: np.ndarray, top: int, bottom: int) -> np.ndarray:
    """int64 ((bottom - top) * W, 40): for rows top..bottom of ``decoded`` (uint8 (H, W, 3)),
    the spatial taps of the three channels, the three centres and a column of ones."""
    h, w, _ = decoded.shape
    lo, hi = max(top - RADIUS, 0), min(bottom + RADIUS, h)
    x = decoded[lo:hi].astype(np.int64)
    pad = np.pad(x, ((RADIUS - (top - lo), RADIUS - (hi - bottom)), (RADIUS, RADIUS), (0, 0)),
                 mode="edge")
    n = bottom - top
    centre = pad[RADIUS:RADIUS + n, RADIUS:RADIUS + w]
    cols = np.empty((n, w, _BASIS), np.int64)
    k = 0
    for i in range(3):
        for dy, dx in OFFSETS:
            cols[..., k] = (pad[RADIUS + dy:RADIUS + dy + n, RADIUS + dx:RADIUS + dx + w, i]
                            + pad[RADIUS - dy:RADIUS - dy + n, RADIUS - dx:RADIUS - dx + w, i]
                            - 2 * centre[..., i])
            k += 1
    cols[..., SPATIAL:SPATIAL + 3] = centre
    cols[..., -1] = 1
    return cols.reshape(n * w, _BASIS)


def _channel_map(c: int) -> np.ndarray:
    """int64 (40, TAPS): the basis to output channel ``c``'s features."""
    a = np.zeros((_BASIS, TAPS), np.int64)
    a[:SPATIAL, :SPATIAL] = np.eye(SPATIAL, dtype=np.int64)
    for k, i in enumerate(j for j in range(3) if j != c):
        a[SPATIAL + i, SPATIAL + k] = 1
        a[SPATIAL + c, SPATIAL + k] = -1
    a[-1, -1] = 1
    return a


_MAPS = np.stack([_channel_map(c) for c in range(3)])  # (3, 40, TAPS)


def block_rows(width: int) -> int:
    """Image rows per block of features for an image ``width`` pixels wide."""
    return max(1, BLOCK_PIXELS // width)


def _blocks(height: int, width: int):
    rows = block_rows(width)
    return ((t, min(t + rows, height)) for t in range(0, height, rows))


def fit(image: np.ndarray, decoded: np.ndarray) -> np.ndarray:
    """The least-squares filter taking ``decoded`` towards ``image`` (both uint8 (H, W, 3)),
    rounded: int64 (3, TAPS) in units of 1/STEP."""
    gram = np.zeros((_BASIS, _BASIS))
    cross = np.zeros((_BASIS, 3))
    with threadpool_limits(1, user_api="blas"):
        for top, bottom in _blocks(*image.shape[:2]):
            b = _basis(decoded, top, bottom).astype(np.float64)
            err = (image[top:bottom].astype(np.float64) - decoded[top:bottom]).reshape(-1, 3)
            gram += b.T @ b
            cross += b.T @ err
    out = np.empty((3, TAPS), np.int64)
    for c in range(3):
        a = _MAPS[c].astype(np.float64)
        w = np.linalg.solve(a.T @ gram @ a + RIDGE * np.eye(TAPS), a.T @ cross[:, c])
        out[c] = np.clip(np.round(w * STEP), -MAX_COEFFICIENT, MAX_COEFFICIENT)
    return out


def apply(decoded: np.ndarray, coefficients: np.ndarray) -> np.ndarray:
    """``decoded`` (uint8 (H, W, 3)) filtered with ``coefficients`` (int (3, TAPS), units of
    1/STEP), in integers: the same result on every machine. -> uint8 (H, W, 3)."""
    h, w, _ = decoded.shape
    weights = np.einsum("cbt,ct->bc", _MAPS, np.asarray(coefficients, np.int64))  # (40, 3)
    out = np.empty_like(decoded)
    for top, bottom in _blocks(h, w):
        delta = (_basis(decoded, top, bottom) @ weights + STEP // 2) // STEP
        out[top:bottom] = np.clip(decoded[top:bottom].astype(np.int64)
                                  + delta.reshape(bottom - top, w, 3), 0, 255)
    return out


def write(coefficients: np.ndarray) -> bytes:
    """The stream of ``coefficients`` (int (3, TAPS)): signed order-0 Exp-Golomb codes, MSB
    first, zero-padded to a byte."""
    bits = []
    for v in np.asarray(coefficients, np.int64).ravel().tolist():
        if abs(v) > MAX_COEFFICIENT:
            raise ValueError(f"post-filter coefficient {v} outside +-{MAX_COEFFICIENT}")
        u = 2 * v - 1 if v > 0 else -2 * v  # 0, 1, -1, 2, -2, ... -> 0, 1, 2, 3, 4, ...
        code = bin(u + 1)[2:]
        bits.append("0" * (len(code) - 1) + code)
    s = "".join(bits)
    s += "0" * (-len(s) % 8)
    return int(s, 2).to_bytes(len(s) // 8, "big")


def read(stream: bytes) -> np.ndarray:
    """-> int64 (3, TAPS) from a stream ``write`` made; raises ``BitstreamError`` for a stream
    that is not exactly that (too short, a code too long, bits left over)."""
    if len(stream) > 3 * TAPS * (2 * MAX_CODE_BITS - 1) // 8 + 1:
        raise BitstreamError(f"post-filter stream of {len(stream)} bytes is longer than "
                             f"{3 * TAPS} coefficients can be")
    s = bin(int.from_bytes(stream, "big"))[2:].zfill(8 * len(stream))
    values, pos = [], 0
    for _ in range(3 * TAPS):
        zeros = 0
        while pos + zeros < len(s) and s[pos + zeros] == "0" and zeros < MAX_CODE_BITS:
            zeros += 1
        if zeros >= MAX_CODE_BITS:
            raise BitstreamError("corrupted post-filter stream: a coefficient out of range")
        if pos + 2 * zeros + 1 > len(s):
            raise BitstreamError("corrupted post-filter stream: it ends before its "
                                 f"{3 * TAPS} coefficients")
        u = int(s[pos + zeros: pos + 2 * zeros + 1], 2) - 1
        pos += 2 * zeros + 1
        values.append((u + 1) // 2 if u % 2 else -(u // 2))
    if len(s) - pos >= 8 or "1" in s[pos:]:
        raise BitstreamError("corrupted post-filter stream: bits left after its coefficients")
    return np.array(values, np.int64).reshape(3, TAPS)
