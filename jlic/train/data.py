"""Training input pipeline over any folder of images, built on grain.

    folder -> scan (sorted paths, unreadable files skipped with a warning and a count)
           -> grain MapDataset: shuffle(seed) -> repeat -> load RGB -> random crop + flip
              (seeded per element) -> batch
           -> iterator of uint8 batches (B, crop, crop, 3)

Every batch is a pure function of (seed, position), and the iterator state is saved in
checkpoints, so a resumed run sees exactly the batches an uninterrupted run would.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import grain
import numpy as np
from PIL import Image, UnidentifiedImageError

from jlic.imageio import to_uint8

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff", ".ppm"}


class DataError(ValueError):
    """A data folder or image that cannot be used, with a message naming it."""


@dataclass(frozen=True)
class ImageFolder:
    paths: tuple[str, ...]
    num_skipped: int  # unreadable or corrupt files
    num_small: int  # images smaller than the crop (padded by reflection)


def scan_images(folder: str, crop: int = 0) -> ImageFolder:
    """Lists the usable images below ``folder`` (recursively, sorted).

    Files with an image suffix that cannot be opened or fail verification are skipped and
    counted with one warning; a folder without usable images raises ``DataError``.
    """
    if not os.path.isdir(folder):
        raise DataError(f"data folder {folder!r} does not exist or is not a directory")
    candidates = sorted(
        os.path.join(root, name)
        for root, _, names in os.walk(folder, followlinks=True)
        for name in names
        if os.path.splitext(name)[1].lower() in IMAGE_SUFFIXES)
    good, bad, small = [], [], 0
    for path in candidates:
        try:
            with Image.open(path) as img:
                w, h = img.size
                img.verify()
        except (OSError, UnidentifiedImageError, SyntaxError, ValueError) as e:
            bad.append((path, e))
            continue
        good.append(path)
        small += min(w, h) < crop
    if bad:
        log.warning("skipped %d unreadable image file(s) in %s, e.g. %s (%s)",
                    len(bad), folder, bad[0][0], bad[0][1])
    if small:
        log.warning("%d image(s) in %s are smaller than the %dx%d crop; they are padded by "
                    "reflection", small, folder, crop, crop)
    if not good:
        raise DataError(f"no usable images ({', '.join(sorted(IMAGE_SUFFIXES))}) in {folder!r}"
                        + (f"; {len(bad)} file(s) could not be read" if bad else ""))
    return ImageFolder(tuple(good), len(bad), small)


def load_rgb(path: str) -> np.ndarray:
    """Decodes an image file to uint8 RGB (H, W, 3) with the codec's rule
    (``jlic.imageio.to_uint8``); grayscale is replicated."""
    try:
        with Image.open(path) as img:
            img.load()
            arr, _ = to_uint8(img, path)
    except (OSError, UnidentifiedImageError, SyntaxError, ValueError) as e:
        raise DataError(f"cannot decode image {path!r}: {e}") from None
    return np.repeat(arr[..., None], 3, axis=-1) if arr.ndim == 2 else arr


class SkippingLoader:
    """``paths[i]`` decoded by ``load_rgb``; a file that fails to decode (it passed the scan's
    verification but its data is broken) is skipped for the next path, with one warning per
    file and a count (``skipped``), so one bad image neither ends nor derails a run. Batches
    stay a pure function of (seed, position)."""

    def __init__(self, paths):
        self.paths = list(paths)
        self._index = {p: i for i, p in enumerate(self.paths)}
        self.bad: set[str] = set()

    @property
    def skipped(self) -> int:
        return len(self.bad)

    def __call__(self, path: str) -> np.ndarray:
        i = self._index[path]
        for k in range(len(self.paths)):
            candidate = self.paths[(i + k) % len(self.paths)]
            if candidate in self.bad:
                continue
            try:
                return load_rgb(candidate)
            except DataError as e:
                self.bad.add(candidate)
                log.warning("skipping an image that fails to decode (%d so far): %s",
                            len(self.bad), e)
        raise DataError(f"none of the {len(self.paths)} training images can be decoded")


def random_crop_flip(img: np.ndarray, crop: int, rng: np.random.Generator) -> np.ndarray:
    """A random crop x crop window (reflect-padded if the image is smaller), flipped
    horizontally with probability 1/2."""
    h, w, _ = img.shape
    if h < crop or w < crop:
        ph, pw = max(0, crop - h), max(0, crop - w)
        img = np.pad(img, ((0, ph), (0, pw), (0, 0)), mode="symmetric")
        h, w, _ = img.shape
    top = int(rng.integers(0, h - crop + 1))
    left = int(rng.integers(0, w - crop + 1))
    out = img[top: top + crop, left: left + crop]
    if rng.random() < 0.5:
        out = out[:, ::-1]
    return np.ascontiguousarray(out)


def make_dataset(folder: ImageFolder, *, crop: int, batch_size: int, seed: int,
                 shard_index: int = 0, shard_count: int = 1) -> grain.MapDataset:
    """Infinite dataset of uint8 batches (batch_size, crop, crop, 3).

    With ``shard_count > 1`` each shard (one per process) reads a disjoint subset of the
    images; ``batch_size`` is then the per-shard batch.
    """
    paths = list(folder.paths)[shard_index::shard_count]
    if not paths:
        raise DataError(f"shard {shard_index} of {shard_count} holds no images "
                        f"({len(folder.paths)} images in all)")
    ds = grain.MapDataset.source(paths).shuffle(seed=seed).repeat()
    ds = ds.map(SkippingLoader(paths))
    ds = ds.random_map(lambda img, rng: random_crop_flip(img, crop, rng), seed=seed + 1)
    return ds.batch(batch_size, drop_remainder=True)


def make_iterator(ds: grain.MapDataset, num_threads: int = 2):
    """A checkpointable iterator (``get_state``/``set_state``) with thread prefetching."""
    return iter(ds.to_iter_dataset(grain.ReadOptions(num_threads=num_threads,
                                                     prefetch_buffer_size=4)))
