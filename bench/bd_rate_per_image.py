"""BD-rate per image: is a mean curve's difference the same on every image, or a few images'?

    .venv/bin/python bench/bd_rate_per_image.py REF TEST [TEST ...] [--images]

Each of REF and TEST is ``PATH[,PATH...][:CODEC]``: the rows of ``eval.py``'s per_image.csv
files (bpp from the files, PSNR on 8-bit RGB), of codec CODEC only if given; points of several
files are one curve per image (separately trained fixed-rate models, one file each). For every
TEST, the BD-rate in PSNR (%) of its curve against REF's on each image
(``jlic.evaluate.bdrate.bd_rate``: cubic from 4 points, PCHIP for 2-3), then how many images it
is above zero on and the median, mean, lowest and highest; ``--images`` prints each image's.
No model runs.
"""

import argparse
import csv
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from jlic.evaluate.bdrate import bd_rate  # noqa: E402


def curves_per_image(spec: str) -> tuple[str, dict[str, np.ndarray]]:
    """``PATH[,PATH...][:CODEC]`` -> (a name, {image: (n, 2) array of (bpp, PSNR dB)})."""
    paths, _, codec = spec.partition(":")
    points: dict[str, list] = {}
    codecs = []
    for path in paths.split(","):
        with open(path, newline="") as f:
            for row in csv.DictReader(f):
                if codec and row["codec"] != codec:
                    continue
                codecs.append(row["codec"])
                points.setdefault(row["image"], []).append((float(row["bpp"]), float(row["psnr"])))
    if not points:
        raise SystemExit(f"bd_rate_per_image: no rows for {spec!r}")
    names = list(dict.fromkeys(codecs))  # in the order first met
    name = names[0] if len(names) == 1 else f"{names[0]} (+{len(names) - 1} codecs)"
    return name, {image: np.asarray(p) for image, p in points.items()}


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("ref")
    p.add_argument("tests", nargs="+")
    p.add_argument("--images", action="store_true", help="print every image's BD-rate")
    args = p.parse_args()
    ref_name, ref = curves_per_image(args.ref)
    print(f"BD-rate in PSNR (%) per image against {ref_name}")
    for spec in args.tests:
        name, test = curves_per_image(spec)
        images = sorted(set(ref) & set(test))
        values = np.array([bd_rate(ref[i][:, 0], ref[i][:, 1], test[i][:, 0], test[i][:, 1])
                           for i in images])
        if args.images:
            for image, v in zip(images, values, strict=True):
                print(f"  {name} {image}: {v:+.2f}")
        ok = values[np.isfinite(values)]
        print(f"{name}: {len(images)} images, above zero on {int((ok > 0).sum())} of {ok.size} "
              f"with an overlap; median {np.median(ok):+.2f}, mean {ok.mean():+.2f}, "
              f"lowest {ok.min():+.2f}, highest {ok.max():+.2f}")


if __name__ == "__main__":
    main()
