"""Reading and writing image files for the codec.

``read_image`` returns uint8 (H, W) grayscale or (H, W, 3) RGB plus a list of warnings:
RGBA/LA lose their alpha channel (it is not coded), palette and CMYK images are converted to RGB,
16-bit images are reduced to 8 bits (rounded). ``write_image`` writes atomically.
"""

from __future__ import annotations

import os
import tempfile

import numpy as np
from PIL import Image, UnidentifiedImageError

from jlic.errors import ImageError

MAX_PIXELS = 16384 * 16384


def read_image(path: str) -> tuple[np.ndarray, list[str]]:
    warnings = []
    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    try:
        with Image.open(path) as img:
            img.load()
            mode = img.mode
            if mode in ("I;16", "I;16B", "I;16L", "I"):
                arr = np.asarray(img, dtype=np.float64)
                if arr.max() > 255 or mode.startswith("I;16"):
                    arr = arr / 257.0
                    warnings.append(f"{path}: 16-bit image reduced to 8 bits")
                return np.clip(np.round(arr), 0, 255).astype(np.uint8), warnings
            if mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in img.info):
                warnings.append(f"{path}: alpha channel dropped (jlic codes color only)")
            if mode in ("L", "LA"):
                return np.asarray(img.convert("L")), warnings
            return np.asarray(img.convert("RGB")), warnings
    except FileNotFoundError:
        raise ImageError(f"no such file: {path!r}") from None
    except Image.DecompressionBombError:
        raise ImageError(f"{path!r} is larger than {MAX_PIXELS} pixels") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        raise ImageError(f"cannot read image {path!r}: {e}") from None


def atomic_write(path: str, data: bytes) -> None:
    """Writes bytes to path through a temporary file in the same folder and a rename, so
    the destination is either untouched or complete."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def encode_png(image: np.ndarray) -> bytes:
    import io

    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="PNG")
    return buf.getvalue()


def write_image(path: str, image: np.ndarray) -> None:
    """Writes a uint8 image as PNG (atomic)."""
    atomic_write(path, encode_png(image))
