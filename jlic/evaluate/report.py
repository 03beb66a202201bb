"""Evaluation outputs: CompressAI-format JSON, per-image CSV, RD plot, BD-rate table, summary."""

from __future__ import annotations

import csv
import io
import json

import numpy as np

from jlic.evaluate.bdrate import (
    bd_fit,
    bd_psnr,
    bd_rate,
    quality_at_equal_rate,
    rate_at_equal_quality,
)
from jlic.files import atomic_write


def write_json(path, name, description, curve):
    results = {k: v for k, v in curve.items()}
    atomic_write(path, json.dumps({"name": name, "description": description,
                                   "results": results}, indent=2).encode())


def write_csv(path, records):
    buf = io.StringIO()
    fields = list(records[0].keys())
    w = csv.DictWriter(buf, fieldnames=fields)
    w.writeheader()
    w.writerows(records)
    atomic_write(path, buf.getvalue().encode())


def bd_table(test_curve, references: dict) -> list[dict]:
    """BD-rate (PSNR, MS-SSIM) and BD-PSNR of ``test_curve`` against each reference, with the fit
    they used ("cubic", or "PCHIP" where a curve has 2-3 points); where one side is a single-rate
    codec (one point), its rate difference at equal PSNR and PSNR difference at equal rate
    instead."""
    rows = []
    for name, ref in references.items():
        row = {"reference": name}
        for key, label in (("psnr-rgb", "PSNR"), ("ms-ssim-rgb", "MS-SSIM")):
            if key not in ref or key not in test_curve:
                continue
            try:
                row[f"BD-rate {label} (%)"] = bd_rate(ref["bpp"], ref[key], test_curve["bpp"],
                                                      test_curve[key])
                if key == "psnr-rgb":
                    row["BD-PSNR (dB)"] = bd_psnr(ref["bpp"], ref[key], test_curve["bpp"],
                                                  test_curve[key])
                    row["BD fit"] = bd_fit(ref["bpp"], ref[key], test_curve["bpp"],
                                           test_curve[key])
            except ValueError:
                row[f"BD-rate {label} (%)"] = float("nan")
                if key == "psnr-rgb":
                    row.update(_point_against_curve(ref, test_curve))
        rows.append(row)
    return rows


def _point_against_curve(ref, test) -> dict:
    """Where one of the two is a single-rate codec (one point) and the other a curve: the rate
    difference at equal PSNR and the PSNR difference at equal rate; otherwise nothing."""
    args = ref["bpp"], ref["psnr-rgb"], test["bpp"], test["psnr-rgb"]
    try:
        return {"rate at equal PSNR (%)": rate_at_equal_quality(*args),
                "PSNR at equal rate (dB)": quality_at_equal_rate(*args)}
    except ValueError:
        return {}


def markdown_table(rows: list[dict]) -> str:
    if not rows:
        return "(no rows)\n"
    cols = []
    for r in rows:
        cols += [c for c in r if c not in cols]
    def fmt(col, v):
        if not isinstance(v, float):
            return str(v)
        if not np.isfinite(v):
            return "n/a (no overlap or < 2 points)" if col.startswith("BD") else "n/a"
        return f"{v:+.2f}" if col.startswith(("BD", "rate at", "PSNR at")) else f"{v:.4g}"

    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(fmt(c, r.get(c, float("nan"))) for c in cols) + " |"
              for r in rows]
    return "\n".join(lines) + "\n"


def plot_rd(path, curves: dict, title: str):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(13, 5))
    for ax, key, label in ((axes[0], "psnr-rgb", "PSNR (dB)"), (axes[1], "ms-ssim-rgb",
                                                                 "MS-SSIM (dB: -10 log10(1-x))")):
        for name, c in curves.items():
            if key not in c:
                continue
            y = np.asarray(c[key], float)
            if key == "ms-ssim-rgb":
                y = -10 * np.log10(np.maximum(1 - y, 1e-10))
            measured = not name.endswith("(published)") and "SCR on" not in name
            ax.plot(c["bpp"], y, "o-" if measured else ".--", label=name,
                    lw=2.2 if measured else 1.0, ms=5 if measured else 3)
        ax.set_xlabel("bpp (from file sizes)")
        ax.set_ylabel(label)
        ax.set_xlim(0, 2.0)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.suptitle(title)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    atomic_write(path, buf.getvalue())
