"""Measure a model (and classical baselines) on a folder of images with real files.

Every number comes from a file written by the codec and decoded again: bpp from the whole file
size, PSNR (RGB, 8-bit, peak 255) and MS-SSIM on the decoded 8-bit image against the original,
wall-clock encode and decode time, and the fraction of coded y elements. Set averages are means
of per-image values, as in the CompressAI and SCR tables.
"""

from __future__ import annotations

import glob
import os
import time
from dataclasses import asdict, dataclass

import numpy as np
from tqdm import tqdm

from jlic import codec
from jlic.evaluate.baselines import pillow_round_trip
from jlic.evaluate.journal import Journal, code_digest, file_digest
from jlic.evaluate.metrics import MIN_SIDE, ms_ssim, psnr
from jlic.imageio import read_image

IMAGE_PATTERNS = ("*.png", "*.PNG", "*.ppm", "*.bmp", "*.tif", "*.tiff")


@dataclass
class Record:
    codec: str
    image: str
    rate_input: float  # quality, bpp target or codec quality parameter; NaN if none
    bytes: int
    bpp: float
    psnr: float
    ms_ssim: float
    encode_s: float
    decode_s: float
    coded_fraction: float  # of the elements of y over the image (codec.coded_elements)


def list_images(folder: str) -> list[str]:
    paths = sorted({p for pat in IMAGE_PATTERNS for p in glob.glob(os.path.join(folder, pat))})
    if not paths:
        raise codec.ImageError(f"no lossless images (PNG/PPM/BMP/TIFF) in {folder!r}")
    return paths


def read_rgb(path):
    """Evaluation compares RGB: grayscale files are replicated to three channels."""
    image, _ = read_image(path)
    return codec.as_rgb(image)[0]


def _quality(original, decoded):
    msssim = ms_ssim(original, decoded) if min(original.shape[:2]) >= MIN_SIDE else float("nan")
    return psnr(original, decoded), msssim


def evaluate_model(model, paths, rates, name, progress=True, refine_steps=0,
                   journal: Journal | None = None, model_digest: str = "") -> list[Record]:
    """Codes every image at every rate input (``refine_steps``: encoder-side refinement,
    ``jlic.refine``); encode time is per file, analysis included. With a ``journal``, records
    it holds for the same model file (``model_digest``, sha256), options, image and jlic are
    reused and each new one is kept there as soon as it is measured."""
    records = []
    bar = tqdm(total=len(paths) * len(rates), desc=name, disable=not progress, leave=False)
    for path in paths:
        image = None
        image_digest = file_digest(path) if journal is not None else ""
        for rate in rates:
            key = {"model": model_digest, "refine": refine_steps, "jlic": code_digest(),
                   "image": image_digest, "codec": name, "rate": rate}
            earlier = journal.lookup(key) if journal is not None else None
            if earlier is not None:
                records.append(earlier)
                bar.update()
                continue
            if image is None:
                image = read_rgb(path)
                pixels = image.shape[0] * image.shape[1]
            t0 = time.perf_counter()
            data = codec.Encoder(model, image, refine_steps).encode(rate)
            t1 = time.perf_counter()
            decoded = codec.decompress(model, data)
            t2 = time.perf_counter()
            p, m = _quality(image, decoded)
            coded, total = codec.coded_elements(model, data)
            records.append(Record(name, os.path.basename(path),
                                  float("nan") if rate is None else float(rate), len(data),
                                  8 * len(data) / pixels, p, m, t1 - t0, t2 - t1,
                                  coded / total))
            if journal is not None:
                journal.add(key, records[-1])
            bar.update()
    bar.close()
    return records


def evaluate_pillow(paths, fmt, qualities, progress=True) -> list[Record]:
    records = []
    for path in tqdm(paths, desc=fmt, disable=not progress, leave=False):
        image = read_rgb(path)
        pixels = image.shape[0] * image.shape[1]
        for q in qualities:
            t0 = time.perf_counter()
            data, decoded = pillow_round_trip(image, fmt, q)
            t1 = time.perf_counter()
            p, m = _quality(image, decoded)
            records.append(Record(fmt, os.path.basename(path), float(q), len(data),
                                  8 * len(data) / pixels, p, m, t1 - t0, float("nan"), 1.0))
    return records


def curve(records: list[Record]) -> dict:
    """Mean over images of each metric, one point per rate input (sorted by bpp)."""
    by_rate = {}
    for r in records:
        by_rate.setdefault(r.rate_input if r.rate_input == r.rate_input else -1.0, []).append(r)
    points = []
    for rate, rs in by_rate.items():
        points.append({
            "rate": rate, "bpp": float(np.mean([r.bpp for r in rs])),
            "psnr-rgb": float(np.mean([r.psnr for r in rs])),
            "ms-ssim-rgb": float(np.mean([r.ms_ssim for r in rs])),
            "encoding_time": float(np.mean([r.encode_s for r in rs])),
            "decoding_time": float(np.mean([r.decode_s for r in rs])),
            "coded_fraction": float(np.mean([r.coded_fraction for r in rs]))})
    points.sort(key=lambda p: p["bpp"])
    return {k: [p[k] for p in points] for k in points[0]}


def as_dicts(records):
    return [asdict(r) for r in records]
