"""The evaluation behind ``eval.py``: models, live baselines and published references on one
folder of images, with every number from a real file.

    main(argv) -> exit status;  evaluate(args) -> summary markdown
"""

from __future__ import annotations

import argparse
import os
import shlex
from dataclasses import replace

from jlic import DEFAULT_MODEL
from jlic.errors import JlicError
from jlic.evaluate import references as refs_lib
from jlic.evaluate import report, run
from jlic.evaluate.baselines import JPEG_QUALITIES, WEBP_QUALITIES
from jlic.evaluate.journal import RECORDS_FILE, Journal, file_digest
from jlic.files import atomic_write
from jlic.frozen import FrozenModel
from jlic.rate import BPP_TARGET, NONE, QUALITY

BASELINE_QUALITIES = {"jpeg": JPEG_QUALITIES, "webp": WEBP_QUALITIES}


def parse_args(argv):
    p = argparse.ArgumentParser(prog="eval.py", description=__doc__,
                                formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--model", action="append", default=[],
                   help="model file, optionally NAME=FILE (default: the bundled model);\n"
                   "repeat to compare models.\n"
                   "NAME=A,B,...: single-rate models measured as one curve (a family of\n"
                   "fixed-rate models, one point each; rate input = position in the list)")
    p.add_argument("--data", default="../shared/data/kodak", help="folder of lossless images")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--qualities", default="1,2,3,4,5,6,7,8",
                   help="SCR qualities to test (comma-separated; fractional allowed)")
    p.add_argument("--bpp", default="0.2,0.35,0.5,0.65,0.8,1.0,1.2,1.4",
                   help="bpp targets to test for models whose rate input is a bpp target")
    p.add_argument("--refine", type=int, default=0, metavar="STEPS",
                   help="encoder-side refinement steps for the models (jlic compress --refine)")
    p.add_argument("--baselines", default="jpeg,webp", help="Pillow codecs to measure live "
                   "(jpeg, webp; empty for none)")
    p.add_argument("--refs", default="default", help="'default' (CompressAI, VTM, BPG, JPEG, "
                   "WebP, SCR from ../shared/reference), 'none', or comma-separated files")
    p.add_argument("--quick", action="store_true", help="2 images, 3 rates: a smoke test for CI")
    p.add_argument("--no-progress", action="store_true")
    args = p.parse_args(argv)
    if not args.model:
        args.model = [f"default={DEFAULT_MODEL}"]
    unknown = set(filter(None, args.baselines.lower().split(","))) - set(BASELINE_QUALITIES)
    if unknown:
        p.error(f"unknown baseline {', '.join(sorted(unknown))} (known: jpeg, webp)")
    for option in ("qualities", "bpp"):  # parsed once, here: lists of floats from now on
        try:
            setattr(args, option, [float(v) for v in getattr(args, option).split(",")])
        except ValueError:
            p.error(f"--{option} takes comma-separated numbers, got {getattr(args, option)!r}")
    if args.refine < 0:
        p.error(f"--refine takes a number of steps >= 0, got {args.refine}")
    return args


def _rates(model, args):
    if model.rate_spec is QUALITY:
        rates = list(args.qualities)
    elif model.rate_spec is BPP_TARGET:
        rates = list(args.bpp)
    else:
        rates = [None]
    if args.quick and len(rates) > 3:
        rates = [rates[0], rates[len(rates) // 2], rates[-1]]
    return rates


def _load_family(files: list[str]) -> list[FrozenModel]:
    """The models of one --model entry: one file, or several single-rate ones (one curve)."""
    models = [FrozenModel.load(f) for f in files]
    if len(models) > 1:
        for f, m in zip(files, models, strict=True):
            if m.rate_spec is not NONE:
                raise JlicError(f"{f} takes a {m.rate_spec.kind} rate input: a comma-separated "
                                "--model list is a family of single-rate models, one point each")
    return models


def _model_curves(args, paths, progress, journal):
    curves, records = {}, []
    for spec in args.model:
        name, _, path = spec.rpartition("=")
        files = path.split(",")
        models = _load_family(files)
        name = name or os.path.splitext(os.path.basename(files[0]))[0]
        rs = []
        for position, (file, model) in enumerate(zip(files, models, strict=True), 1):
            member = run.evaluate_model(model, paths, _rates(model, args), name, progress,
                                        args.refine, journal, file_digest(file))
            rs += member if len(models) == 1 else [replace(r, rate_input=float(position))
                                                   for r in member]
        curves[name] = run.curve(rs)
        records += rs
        labels = ", ".join(sorted({m.label for m in models}))
        kind = (f"{models[0].rate_spec.kind} rate input" if len(models) == 1
                else f"{len(models)} single-rate models")
        report.write_json(os.path.join(args.out, f"{name}.json"), name,
                          f"jlic {labels} ({kind}"
                          + (f", {args.refine} refinement steps" if args.refine else "")
                          + "), real files",
                          curves[name])
    return curves, records


def _baseline_curves(args, paths, progress):
    curves, records = {}, []
    for fmt in filter(None, args.baselines.split(",")):
        qualities = BASELINE_QUALITIES[fmt.lower()]
        if args.quick:
            qualities = qualities[::3]
        rs = run.evaluate_pillow(paths, fmt.upper(), qualities, progress)
        name = f"{fmt.upper()} (Pillow, measured)"
        curves[name] = run.curve(rs)
        records += rs
        report.write_json(os.path.join(args.out, f"{fmt.lower()}.json"), name,
                          "measured live with Pillow on the same images", curves[name])
    return curves, records


def _references(spec: str) -> dict:
    if spec == "default":
        return refs_lib.default_references()
    references = {}
    if spec != "none":
        for path in spec.split(","):
            references.update(refs_lib.read_any(path))
    return references


def _bd_sections(tested, baselines, references) -> str:
    sections = []
    for name, curve in tested.items():
        others = {k: v for k, v in tested.items() if k != name}
        rows = report.bd_table(curve, {**others, **baselines, **references})
        sections.append(f"### BD-rate of {name} against each reference\n\n"
                        + report.markdown_table(rows))
    return "\n".join(sections)


def _points(curves) -> list[dict]:
    return [{"codec": name, "rate input": c["rate"][i], "bpp": c["bpp"][i],
             "PSNR (dB)": c["psnr-rgb"][i], "MS-SSIM": c["ms-ssim-rgb"][i],
             "coded y (%)": 100 * c["coded_fraction"][i], "encode (s)": c["encoding_time"][i],
             "decode (s)": c["decoding_time"][i]}
            for name, c in curves.items() for i in range(len(c["bpp"]))]


def evaluate(args, command: str) -> str:
    """Runs the evaluation ``args`` describe, writes every output to ``args.out`` and returns
    the summary (markdown)."""
    paths = run.list_images(args.data)
    if args.quick:
        paths = paths[:2]
    os.makedirs(args.out, exist_ok=True)
    progress = not args.no_progress
    journal = Journal(args.out, run.Record)
    tested, model_records = _model_curves(args, paths, progress, journal)
    baselines, baseline_records = _baseline_curves(args, paths, progress)
    references = _references(args.refs)
    curves = {**tested, **baselines}
    report.write_csv(os.path.join(args.out, "per_image.csv"),
                     run.as_dicts(model_records + baseline_records))
    report.plot_rd(os.path.join(args.out, "rd.png"), {**curves, **references},
                   f"{len(paths)} images from {args.data}")
    bd_md = _bd_sections(tested, baselines, references)
    atomic_write(os.path.join(args.out, "bd_rate.md"), bd_md.encode())
    summary = (f"# Evaluation on {len(paths)} images of {args.data}\n\n"
               f"Command: `{command}`\n\nAll rates are whole-file sizes; PSNR and MS-SSIM "
               "are on the decoded 8-bit RGB images; values are means over images."
               + (f" {journal.reused} of {len(model_records)} model measurements are from an "
                  f"earlier run into this folder (`{RECORDS_FILE}`; their times are that "
                  "run's)." if journal.reused else "") + "\n\n"
               + report.markdown_table(_points(curves)) + "\n" + bd_md)
    atomic_write(os.path.join(args.out, "summary.md"), summary.encode())
    return summary


def main(argv) -> int:
    import sys

    args = parse_args(argv)
    command = "python eval.py " + " ".join(shlex.quote(a) for a in argv)
    try:
        print(evaluate(args, command))
    except (JlicError, ValueError, OSError) as e:
        print(f"eval.py: error: {e}", file=sys.stderr)
        return 1
    return 0
