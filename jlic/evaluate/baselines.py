"""Classical codecs measured live with Pillow on the same images: JPEG (4:2:0) and WebP."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

JPEG_QUALITIES = (5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95)
WEBP_QUALITIES = (5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95)


def pillow_round_trip(image: np.ndarray, fmt: str, quality: int) -> tuple[bytes, np.ndarray]:
    """Encodes an RGB uint8 image with Pillow and decodes it again: -> (file bytes, decoded)."""
    buf = io.BytesIO()
    kwargs = {"quality": int(quality)}
    if fmt == "JPEG":
        kwargs["subsampling"] = "4:2:0"
    Image.fromarray(image).save(buf, format=fmt, **kwargs)
    data = buf.getvalue()
    decoded = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    return data, decoded
