"""The ``jlic`` command.

    jlic compress IN.png -o OUT.jlic [--model FILE] [--quality Q | --bpp X [--bpp-strict]
                  [--open-loop]] [--refine [STEPS]] [--verbose]
    jlic decompress IN.jlic -o OUT.png [--model FILE]
    jlic info FILE.jlic [--model FILE]
    jlic export WORKDIR -o MODEL.jlicm [--label TEXT] [--compact]
    jlic import CHECKPOINT.pth.tar -o MODEL.jlicm [--arch NAME] [--label TEXT]

Errors print ``jlic: error: ...`` on one line to stderr and exit with status 1; outputs are
written atomically, so a failed command leaves no partial file.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from jlic import DEFAULT_MODEL, cpu_flags

cpu_flags.configure("codec")  # before numpy and JAX load (jlic.rate imports numpy)

from jlic.rate import BY_FILE_CODE, QUALITY  # noqa: E402


def _default_fingerprint() -> bytes:
    from jlic.frozen import FrozenModel

    return FrozenModel.load(DEFAULT_MODEL).fingerprint


def _load_model(path: str | None):
    from jlic.frozen import FrozenModel

    return FrozenModel.load(path or DEFAULT_MODEL)


def _read_jlic(path: str) -> bytes:
    from jlic.bitstream import MAX_FILE_BYTES
    from jlic.files import read_bounded

    return read_bounded(path, MAX_FILE_BYTES, ".jlic file")


def _check_rate_flags(args, kind: str) -> None:
    from jlic.errors import UsageError

    if args.quality is not None and kind != "quality":
        raise UsageError(f"--quality needs an SCR model; this model's rate input is {kind!r}")
    if args.bpp is None and (args.bpp_strict or args.open_loop):
        raise UsageError("--bpp-strict and --open-loop go with --bpp")
    if args.bpp is not None and args.quality is not None:
        raise UsageError("give either --quality or --bpp, not both")
    if args.open_loop and kind != "bpp":
        raise UsageError("--open-loop needs an AFB model (its rate input is the target)")
    if args.bpp is None and kind == "bpp":
        raise UsageError("this AFB model needs --bpp (add --open-loop for one pass)")


def _encode(args, model, image):
    """-> (file bytes, the rate input used, the rate search or None)."""
    from jlic import codec

    if args.bpp is not None and args.open_loop:
        return codec.Encoder(model, image, args.refine).encode(args.bpp), args.bpp, None
    if args.bpp is not None:
        from jlic.rate_control import compress_to_bpp

        search = compress_to_bpp(model, image, args.bpp, strict=args.bpp_strict,
                                 refine_steps=args.refine)
        if args.refine and search.reachable and not search.refined:
            print("jlic: warning: no refined file landed within 1% of the target; wrote the "
                  "unrefined file", file=sys.stderr)
        if not search.reachable:
            around = search.sizes_around(args.bpp)
            where = (f"the nearest sizes made for this image are {around[0]:.4f} and "
                     f"{around[1]:.4f} bpp" if around
                     else "outside this model's range for this image")
            print(f"jlic: warning: no file lands within 1% of {args.bpp:g} bpp ({where}); wrote "
                  f"the nearest achievable size, {search.bpp:.4f} bpp", file=sys.stderr)
        return search.data, search.rate, search
    rate = None
    if model.rate_spec is QUALITY:
        rate = QUALITY.default if args.quality is None else args.quality
    return codec.Encoder(model, image, args.refine).encode(rate), rate, None


def _verbose_report(model, image, data, t_enc: float) -> str:
    """Decodes the file again: PSNR, MS-SSIM, coded fraction, timings, model label."""
    from jlic import codec
    from jlic.evaluate.metrics import MIN_SIDE, ms_ssim, psnr

    t0 = time.perf_counter()
    decoded = codec.decompress(model, data)
    t_dec = time.perf_counter() - t0
    line = f", PSNR {psnr(image, decoded):.2f} dB"
    if min(image.shape[:2]) >= MIN_SIDE:
        line += f", MS-SSIM {ms_ssim(image, decoded):.4f}"
    if model.rate_spec is QUALITY:
        coded, total = codec.coded_elements(model, data)
        line += f", {100 * coded / total:.1f}% of y coded"
    line += f" (encode {t_enc:.2f} s, decode check {t_dec:.2f} s)"
    if model.label:
        line += f"\nmodel: {model.label}"
    return line


def cmd_compress(args) -> None:
    from jlic.files import atomic_write, check_output
    from jlic.imageio import read_image

    check_output(args.output, [args.input])
    image, warnings = read_image(args.input)
    for w in warnings:
        print(f"jlic: warning: {w}", file=sys.stderr)
    model = _load_model(args.model)
    _check_rate_flags(args, model.rate_spec.kind)
    t0 = time.perf_counter()
    data, rate, search = _encode(args, model, image)
    t_enc = time.perf_counter() - t0
    atomic_write(args.output, data, [args.input])
    h, w = image.shape[:2]
    line = f"{args.output}: {len(data)} bytes, {8 * len(data) / (h * w):.4f} bpp"
    if rate is not None:
        line += f", {model.rate_spec.label} {rate:g}"
    if search is not None:
        line += f" ({search.probes} probe{'s' if search.probes > 1 else ''} for {args.bpp:g} bpp)"
    if args.verbose:
        line += _verbose_report(model, image, data, t_enc)
    print(line)


def cmd_decompress(args) -> None:
    from jlic import codec
    from jlic.files import check_output
    from jlic.imageio import output_format, write_image

    check_output(args.output, [args.input])
    output_format(args.output)
    data = _read_jlic(args.input)
    model = _load_model(args.model)
    image = codec.decompress(model, data)
    write_image(args.output, image, [args.input])
    print(f"{args.output}: {image.shape[1]}x{image.shape[0]}")


def cmd_info(args) -> None:
    from jlic import bitstream, codec

    data = _read_jlic(args.input)
    header, streams = bitstream.parse(data)
    coded = None  # SCR files: from the z stream alone (y is not decoded)
    if header.rate_code == QUALITY.file_code and (
            args.model or header.fingerprint == _default_fingerprint()):
        n, total = codec.coded_elements(_load_model(args.model), data)
        coded = f"{n} of the {total} y elements over the image ({100 * n / total:.1f}%)"
    pixels = header.height * header.width
    print(f"file:        {args.input}")
    print(f"size:        {len(data)} bytes, {8 * len(data) / pixels:.4f} bpp")
    print(f"format:      version {header.version}")
    print(f"image:       {header.width}x{header.height}, {header.channels} channel(s)")
    print(f"model:       {header.fingerprint.hex()}")
    spec = BY_FILE_CODE[header.rate_code]
    print(f"rate input:  {spec.kind}" + (f" = {header.rate_value:g}" if spec.allowed else ""))
    names = ("z", "y", "post-filter")[:len(streams)]  # parse checks the count
    print("streams:     " + ", ".join(f"{n} {len(s)} bytes"
                                      for n, s in zip(names, streams, strict=True)))
    if coded:
        print(f"coded:       {coded}")


def cmd_export(args) -> None:
    from jlic.export import export_workdir

    frozen = export_workdir(args.workdir, args.output, label=args.label, compact=args.compact)
    print(f"{args.output}: {os.path.getsize(args.output)} bytes, fingerprint "
          f"{frozen.fingerprint.hex()} ({frozen.label})")


def cmd_import(args) -> None:
    from jlic.compressai_weights import import_checkpoint

    frozen = import_checkpoint(args.checkpoint, args.arch, label=args.label, lmbda=args.lmbda)
    frozen.save(args.output)
    cfg = frozen.config["model"]
    print(f"{args.output}: {cfg['name']} N={cfg['N']} M={cfg['M']}, "
          f"{os.path.getsize(args.output)} bytes, fingerprint {frozen.fingerprint.hex()}")


def build_parser() -> argparse.ArgumentParser:
    from jlic.compressai_weights import COMPRESSAI_LAMBDAS
    from jlic.refine import REFINE_STEPS  # (imports jax: after cpu_flags.configure)

    p = argparse.ArgumentParser(prog="jlic", description="Learned image compression.")
    sub = p.add_subparsers(dest="command", required=True)
    c = sub.add_parser("compress", help="image -> .jlic file")
    c.add_argument("input")
    c.add_argument("-o", "--output", required=True)
    c.add_argument("--model", help="model file (default: the bundled model)")
    c.add_argument("-q", "--quality", type=float,
                   help=f"SCR quality in [1, 8], fractional allowed (default {QUALITY.default:g})")
    c.add_argument("--bpp", type=float, help="target size in bits per pixel: searches the "
                   "model's rate input until the file is within 1%% of it")
    c.add_argument("--bpp-strict", action="store_true",
                   help="with --bpp: never exceed the target")
    c.add_argument("--open-loop", action="store_true",
                   help="with --bpp and an AFB model: one pass at target B, no search")
    c.add_argument("--refine", type=int, nargs="?", const=REFINE_STEPS, default=0,
                   metavar="STEPS", help="encoder-side refinement: optimize the latents for "
                   f"this image ({REFINE_STEPS} steps if no number; for 768x512 on 2 cores "
                   "about 0.6-0.9 s per step with AVX-512, 1.2 s without): smaller files at the "
                   "same quality, same decoder")
    c.add_argument("-v", "--verbose", action="store_true",
                   help="decode the file again and print bpp, PSNR and MS-SSIM")
    c.set_defaults(func=cmd_compress)
    d = sub.add_parser("decompress", help=".jlic file -> PNG (or PPM, BMP, TIFF)")
    d.add_argument("input")
    d.add_argument("-o", "--output", required=True,
                   help="decoded image; lossless, the format from the extension: "
                   ".png, .ppm, .bmp, .tif")
    d.add_argument("--model", help="model file (default: the bundled model)")
    d.set_defaults(func=cmd_decompress)
    i = sub.add_parser("info", help="print the header of a .jlic file")
    i.add_argument("input")
    i.add_argument("--model", help="SCR files: report the coded elements with this model "
                   "(decodes z only)")
    i.set_defaults(func=cmd_info)
    e = sub.add_parser("export", help="training workdir -> model file")
    e.add_argument("workdir")
    e.add_argument("-o", "--output", required=True)
    e.add_argument("--label", default="", help="description stored in the model file")
    e.add_argument("--compact", action="store_true", help="store large kernels in float16 "
                   "(the model becomes the rounded one; about a quarter of the size)")
    e.set_defaults(func=cmd_export)
    m = sub.add_parser("import", help="CompressAI checkpoint (.pth.tar) -> model file, "
                       "without PyTorch")
    m.add_argument("checkpoint")
    m.add_argument("-o", "--output", required=True)
    m.add_argument("--arch", choices=("bmshj2018-hyperprior", "mbt2018-mean"),
                   help="architecture (default: inferred from the keys and shapes)")
    m.add_argument("--label", default="", help="description stored in the model file")
    m.add_argument("--lmbda", type=float, help="the lambda the checkpoint was trained with "
                   "(lambda * 255^2 * MSE + bpp; CompressAI's pretrained qualities 1..8: "
                   + ", ".join(f"{v:g}" for v in COMPRESSAI_LAMBDAS)
                   + "), recorded so that compress --refine can use the model")
    m.set_defaults(func=cmd_import)
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    from jlic.errors import JlicError

    try:
        args.func(args)
    except JlicError as e:
        print(f"jlic: error: {e}", file=sys.stderr)
        return 1
    except OSError as e:
        name = f" {e.filename!r}" if e.filename else ""
        print(f"jlic: error: {e.strerror or e}{name}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("jlic: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
