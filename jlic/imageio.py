"""Reading and writing image files for the codec.

``read_image`` returns uint8 (H, W) grayscale or (H, W, 3) RGB plus a list of warnings for
whatever was not kept (``to_uint8`` holds the one rule, which training uses too).
``write_image`` writes PNG, PPM, BMP or TIFF (by extension) atomically
(``jlic.files.atomic_write``).
"""

from __future__ import annotations

import os
import stat

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from jlic.errors import ImageError
from jlic.files import atomic_write

MAX_PIXELS = 16384 * 16384


def to_uint8(img: Image.Image, path: str, sixteen_bit: bool = False
             ) -> tuple[np.ndarray, list[str]]:
    """A decoded Pillow image -> uint8 (H, W) grayscale or (H, W, 3) RGB, plus warnings for
    everything that was not kept. The one rule for coding and training alike:

    - EXIF orientation is applied (a phone photo comes out the way it is shown);
    - integer images of more than 8 bits ("I;16*", "I") scale by 255 / 65535 (rounded);
      16-bit RGB(A), which Pillow itself reduces to 8 bits, is flagged by ``sixteen_bit``;
      float images ("F") are read as [0, 1] when their values lie there, else as 0..255, and
      clipped (both with a warning);
    - alpha is dropped (an alpha channel, or the transparent colour or palette entry that a PNG
      or GIF may name in any mode), palette/CMYK/YCbCr become RGB, and only the first frame of an
      animation is kept (each with a warning).
    """
    warnings = []
    sixteen_bit = sixteen_bit or img.mode in ("RGB;16", "RGBA;16", "RGB;16B")
    if getattr(img, "n_frames", 1) > 1:
        warnings.append(f"{path}: only the first of {img.n_frames} frames is coded")
    img = ImageOps.exif_transpose(img) or img
    mode = img.mode
    if mode in ("RGBA", "LA", "PA") or "transparency" in img.info:  # a channel, or a key (tRNS)
        warnings.append(f"{path}: alpha channel dropped (jlic codes color only)")
    if mode.startswith("I;16") or mode == "I":
        arr = np.asarray(img, dtype=np.float64)
        if mode == "I" and arr.min() >= 0 and arr.max() <= 255:
            return arr.astype(np.uint8), warnings
        warnings.append(f"{path}: {'16' if mode.startswith('I;16') else '32'}-bit integer "
                        "image reduced to 8 bits")
        return np.clip(np.round(arr * (255.0 / 65535.0)), 0, 255).astype(np.uint8), warnings
    if mode == "F":
        arr = np.asarray(img, dtype=np.float64)
        scale = 255.0 if np.nanmax(arr) <= 1.0 else 1.0
        warnings.append(f"{path}: 32-bit float image reduced to 8 bits (clipped to "
                        f"{'[0, 1]' if scale == 255.0 else '[0, 255]'})")
        return np.clip(np.round(np.nan_to_num(arr) * scale), 0, 255).astype(np.uint8), warnings
    if sixteen_bit:
        warnings.append(f"{path}: 16-bit image reduced to 8 bits")
    if mode in ("L", "LA", "1"):
        return np.asarray(img.convert("L")), warnings
    return np.asarray(img.convert("RGB")), warnings


def _is_16bit_png(raw_head: bytes) -> bool:
    """Pillow decodes 16-bit RGB(A) PNGs to 8 bits silently; the IHDR bit depth says so."""
    return raw_head[:8] == b"\x89PNG\r\n\x1a\n" and len(raw_head) > 25 and raw_head[24] == 16 \
        and raw_head[25] in (2, 6)


def read_image(path: str) -> tuple[np.ndarray, list[str]]:
    """An image file -> (uint8 array, warnings); see ``to_uint8``. Refuses non-regular files
    and images over MAX_PIXELS before decoding them."""
    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    try:
        with open(path, "rb") as f:
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                raise ImageError(f"image {path!r} is not a regular file")
            head = f.read(32)
            if not head:
                raise ImageError(f"image {path!r} is empty (0 bytes)")
            f.seek(0)
            with Image.open(f) as img:
                if img.width * img.height > MAX_PIXELS:
                    raise Image.DecompressionBombError("too many pixels")
                img.load()
                return to_uint8(img, path, _is_16bit_png(head))
    except FileNotFoundError:
        raise ImageError(f"no such file: {path!r}") from None
    except IsADirectoryError:
        raise ImageError(f"image {path!r} is a directory") from None
    except Image.DecompressionBombError:
        raise ImageError(f"{path!r} is larger than {MAX_PIXELS} pixels") from None
    except UnidentifiedImageError:
        raise ImageError(f"cannot read image {path!r}: not an image format Pillow reads, or "
                         "a damaged file") from None
    except (OSError, SyntaxError, ValueError) as e:
        raise ImageError(f"cannot read image {path!r}: {e}") from None


# Decoded images are written losslessly, in the format the output's extension names.
OUTPUT_FORMATS = {".png": "PNG", ".ppm": "PPM", ".bmp": "BMP", ".tif": "TIFF", ".tiff": "TIFF"}


def output_format(path: str) -> str:
    """The Pillow format of an output path's extension; ``ImageError`` for any other (a lossy
    format would code the decoded image a second time)."""
    ext = os.path.splitext(path)[1].lower()
    if ext not in OUTPUT_FORMATS:
        raise ImageError(f"cannot write {path!r}: decoded images are written losslessly, as "
                         + ", ".join(OUTPUT_FORMATS) + f" (got {ext or 'no extension'!r})")
    return OUTPUT_FORMATS[ext]


def encode_image(image: np.ndarray, fmt: str) -> bytes:
    import io

    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format=fmt)
    return buf.getvalue()


def write_image(path: str, image: np.ndarray, inputs=()) -> None:
    """Writes a uint8 image in the lossless format its extension names (``output_format``),
    atomically and never over one of ``inputs``."""
    atomic_write(path, encode_image(image, output_format(path)), inputs)
