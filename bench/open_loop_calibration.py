"""How much of an AFB model's open-loop error a calibration of its rate input would remove.

    .venv/bin/python bench/open_loop_calibration.py CALIBRATION.csv EVALUATION.csv

Both files are ``per_target.csv`` of ``bench/rate_control.py`` for the same model (open-loop
rows: per image, files coded at B = target for random targets). A calibration maps a requested
size T (bpp) to the rate input B whose files average T on the calibration images (the mean of
the images' achieved bpp at each B, each image's curve interpolated between its own targets,
made non-decreasing). For each evaluation image and target T it reads the size that image's own
curve gives at B = T (the paper's open loop), at the calibrated B, and at the B of a
calibration fitted on the evaluation images themselves (the oracle: what is left is the spread
between images, which no map of B removes). Prints MAE, MSE and the mean error per 0.25-bpp
range of targets for each. No model runs: the sizes are those of real files already measured.
"""

import csv
import sys

import numpy as np

GRID = np.linspace(0.0, 2.0, 201)  # rate inputs B (bpp) at which the calibration is tabulated


def open_loop_curves(path):
    """{image: (targets, achieved bpp)} from the open-loop rows of a per_target.csv."""
    curves = {}
    with open(path) as f:
        for r in csv.DictReader(f):
            if r["mode"] == "open":
                curves.setdefault(r["image"], []).append((float(r["target"]),
                                                          float(r["achieved"])))
    return {k: np.array(sorted(v)).T for k, v in curves.items()}


def calibration(curves):
    """-> (B grid, mean achieved bpp at each B over the images), non-decreasing."""
    lo = max(t.min() for t, _ in curves.values())
    hi = min(t.max() for t, _ in curves.values())
    b = GRID[(GRID >= lo) & (GRID <= hi)]
    mean = np.mean([np.interp(b, t, a) for t, a in curves.values()], axis=0)
    return b, np.maximum.accumulate(mean)


def errors(curves, rate_input):
    """-> (targets, achieved - target) over every image and target, B = rate_input(T)."""
    targets, errs = [], []
    for t, a in curves.values():
        targets.append(t)
        errs.append(np.interp(rate_input(t), t, a) - t)
    return np.concatenate(targets), np.concatenate(errs)


def report(name, targets, err):
    ranges = " ".join(
        f"{lo:.2f}-{lo + 0.25:.2f}: {np.abs(e).mean():.3f}/{e.mean():+.3f}"
        for lo in np.arange(0.0, targets.max(), 0.25)
        if (e := err[(targets >= lo) & (targets < lo + 0.25)]).size)
    print(f"{name:>26}: MAE {np.abs(err).mean():.4f} MSE {np.mean(err**2):.4f} bpp | "
          f"by range (MAE/mean error) {ranges}")


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    fit, evaluation = (open_loop_curves(p) for p in sys.argv[1:])
    b_fit, bpp_fit = calibration(fit)
    b_own, bpp_own = calibration(evaluation)
    report("open loop (B = T)", *errors(evaluation, lambda t: t))
    report("calibrated on the first", *errors(evaluation, lambda t: np.interp(t, bpp_fit, b_fit)))
    report("oracle (fitted on itself)", *errors(evaluation, lambda t: np.interp(t, bpp_own, b_own)))


if __name__ == "__main__":
    main()
