"""BD-rate against a reference over part of the quality range, from eval.py's curve files.

    .venv/bin/python bench/bd_rate_within.py REF.json RANGE.json TEST.json [TEST.json ...] \
        [--upto-bpp 1.5]

Each file is a curve that ``eval.py`` wrote (``results/.../NAME.json``: bpp, PSNR on 8-bit RGB);
files joined by commas (A.json,B.json,C.json) are one curve of all their points, named after the
first (separately trained fixed-rate models, one point each). For each TEST curve, the BD-rate in
PSNR (%) against REF (``jlic.evaluate.bdrate.bd_rate``, the same fits as eval.py's tables: cubic,
or PCHIP where a curve has 2-3 points) integrated over: the whole overlap (eval.py's number); the
PSNR range of RANGE within the overlap (e.g. REF = WebP, RANGE = the unrefined model: how
refined files compare where the plain model operates); and the overlap up to TEST's own PSNR at
``--upto-bpp`` (log-linear in bpp between its points). ``--plot PNG`` draws REF and the TEST
curves (eval.py's RD plot). No model runs.
"""

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from jlic.evaluate.bdrate import bd_rate  # noqa: E402
from jlic.evaluate.references import read_compressai_json  # noqa: E402
from jlic.evaluate.report import plot_rd  # noqa: E402


def read_curve(paths):
    """-> (name, {"bpp", "psnr-rgb", "ms-ssim-rgb"} as arrays sorted by bpp) of an eval.py curve
    file, or of comma-joined files' points."""
    files = [next(iter(read_compressai_json(path).items())) for path in paths.split(",")]
    keys = [k for k in ("bpp", "psnr-rgb", "ms-ssim-rgb") if all(k in c for _, c in files)]
    points = {k: np.concatenate([np.asarray(c[k], float) for _, c in files]) for k in keys}
    name = files[0][0] if len(files) == 1 else f"{files[0][0]} (+{len(files) - 1} files)"
    order = np.argsort(points["bpp"])
    return name, {k: v[order] for k, v in points.items()}


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("ref")
    p.add_argument("range")
    p.add_argument("tests", nargs="+")
    p.add_argument("--upto-bpp", type=float, default=1.5)
    p.add_argument("--plot", metavar="PNG", help="write the RD plot of REF and the TEST curves")
    args = p.parse_args()
    (ref_name, ref), (range_name, range_curve) = read_curve(args.ref), read_curve(args.range)
    tests = [read_curve(path) for path in args.tests]
    if args.plot:
        plot_rd(args.plot, dict([(ref_name, ref), *tests]), "BD-rate against " + ref_name)
    ref_bpp, ref_psnr = ref["bpp"], ref["psnr-rgb"]
    within = (range_curve["psnr-rgb"].min(), range_curve["psnr-rgb"].max())
    print(f"BD-rate in PSNR (%) against {ref_name}; {range_name}'s range "
          f"{within[0]:.2f}-{within[1]:.2f} dB")
    for name, c in tests:
        bpp, psnr = c["bpp"], c["psnr-rgb"]
        top = float(np.interp(np.log(args.upto_bpp), np.log(bpp), psnr))
        print(f"{name}: whole overlap {bd_rate(ref_bpp, ref_psnr, bpp, psnr):+.2f}; "
              f"within {range_name}'s range {bd_rate(ref_bpp, ref_psnr, bpp, psnr, within):+.2f}; "
              f"up to {args.upto_bpp:g} bpp ({top:.2f} dB) "
              f"{bd_rate(ref_bpp, ref_psnr, bpp, psnr, (-np.inf, top)):+.2f}")


if __name__ == "__main__":
    main()
