"""Quality of two models at the same file sizes, from their closed-loop files.

    .venv/bin/python bench/closed_loop_quality.py A/per_target.csv B/per_target.csv

Both files are ``per_target.csv`` of ``bench/rate_control.py`` run with the same images and
``--closed-loop-targets`` (its targets are drawn from a fixed seed, so both runs ask for the same
sizes). The closed-loop rows hold each file's size (bpp) and PSNR (dB, 8-bit RGB); where both
models landed within 1% of the target, the files have the same size, so the PSNR difference
B - A is the difference in quality at equal rate. Prints it over all such targets and per range
of targets (0-0.5 / 0.5-1.0 / 1.0 and above, bpp). No model runs.
"""

import csv
import sys

import numpy as np

RANGES = ((0.0, 0.5), (0.5, 1.0), (1.0, float("inf")))


def landed_files(path):
    """{(image, target): PSNR} of the closed-loop files within 1% of their target."""
    files = {}
    with open(path) as f:
        for r in csv.DictReader(f):
            target, achieved = float(r["target"]), float(r["achieved"])
            if r["mode"] == "closed" and abs(achieved - target) <= 0.01 * target:
                files[r["image"], round(target, 9)] = float(r["psnr"])
    return files


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    a, b = (landed_files(p) for p in sys.argv[1:])
    common = sorted(set(a) & set(b))
    if not common:
        sys.exit("no target that both runs landed within 1%: were they run with the same images "
                 "and --closed-loop-targets?")
    targets = np.array([t for _, t in common])
    diff = np.array([b[k] - a[k] for k in common])
    print(f"{len(common)} targets landed by both (of {len(a)} and {len(b)} landed): "
          f"PSNR B - A {diff.mean():+.3f} dB")
    for lo, hi in RANGES:
        m = (targets >= lo) & (targets < hi)
        if m.any():
            span = f"{lo:.1f}-{hi:.1f}" if hi < float("inf") else f"{lo:.1f} and above"
            print(f"  targets {span} bpp: {m.sum():3d} files, {diff[m].mean():+.3f} dB")


if __name__ == "__main__":
    main()
