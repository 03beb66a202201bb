"""Published rate-distortion curves: CompressAI's JSON results and the SCR authors' CSVs.

Every reader returns ``{name: {"bpp": [...], "psnr-rgb": [...] or "ms-ssim-rgb": [...]}}``.
"""

from __future__ import annotations

import json
import os

DEFAULT_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "reference",
                           "kodak")


def read_compressai_json(path: str) -> dict:
    with open(path) as f:
        data = json.load(f)
    r = data["results"]
    curve = {"bpp": r["bpp"], "psnr-rgb": r.get("psnr-rgb", r.get("psnr"))}
    if "ms-ssim-rgb" in r or "ms-ssim" in r:
        curve["ms-ssim-rgb"] = r.get("ms-ssim-rgb", r.get("ms-ssim"))
    return {data.get("name", os.path.basename(path)): curve}


def read_scr_csv(path: str) -> dict:
    """Sections: a title line, a header ("PSNR,bpp" or "MS-SSIM,bpp"), rows, then a "," line."""
    with open(path) as f:
        lines = [line.strip() for line in f]
    curves, i = {}, 0
    while i < len(lines):
        if not lines[i].strip(","):
            i += 1
            continue
        title = lines[i].strip(",").strip()
        key = "psnr-rgb" if lines[i + 1].split(",")[0].strip().upper() == "PSNR" else "ms-ssim-rgb"
        i += 2
        rows = []
        while i < len(lines) and lines[i].strip(","):
            quality, bpp = (float(v) for v in lines[i].split(",")[:2])
            rows.append((quality, bpp))
            i += 1
        curves[title] = {"bpp": [r[1] for r in rows], key: [r[0] for r in rows]}
    return curves


def read_any(path: str) -> dict:
    if path.endswith(".csv"):
        return read_scr_csv(path)
    return read_compressai_json(path)


def default_references(ref_dir: str = DEFAULT_DIR) -> dict:
    """The curves an RD plot and BD table show by default (those found under ref_dir)."""
    names = ["compressai/jpeg.json", "compressai/webp.json", "compressai/bpg_444_x265_ycbcr.json",
             "compressai/vtm.json", "compressai/compressai-bmshj2018-hyperprior_mse_cpu.json",
             "compressai/compressai-mbt2018-mean_mse_cpu.json", "scr/scr_mse_optimized.csv"]
    curves = {}
    for name in names:
        path = os.path.join(ref_dir, name)
        if os.path.exists(path):
            for title, curve in read_any(path).items():
                if title.startswith("MSE-optimized SCR on Hyperprior") or not name.endswith(".csv"):
                    curves[f"{title}" if name.endswith(".csv") else f"{title} (published)"] = curve
    return curves
