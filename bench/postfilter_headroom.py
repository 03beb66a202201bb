"""What does the post-filter of refined files (``jlic.postfilter``) buy on plain files?

    .venv/bin/python bench/postfilter_headroom.py [--model jlic/assets/default.jlicm] \
        [--data ../shared/data/kodak] [--webp results/default_model_polish/kodak/webp.json] \
        [--out results/postfilter_headroom/kodak.md]

The question behind ``jlic.postfilter`` (format 4): whether an adaptive loop filter in the
manner of VVC's ALF and AV1's Wiener filter (least-squares coefficients fitted by the encoder
to each image, quantized and sent, applied by the decoder after the synthesis transform) is a
lever for a model whose decoder was trained over many images: what it adapts to is the
image's own statistics. ``jlic compress --refine`` sends it where it pays (``eval.py --refine``
measures those files); plain files, for the encode time (a decode and a fit: 0.9 s for a
768x512 image on 2 cores, against 0.5 s for the whole plain encode), do not. This measures
what it would buy there.

For each image and quality q = 1..8 (SCR models), the image is coded into a real file and the
same latents into a real format-4 file with the filter fitted to the first one's decoded image
(uint8 RGB, 0..255); both are decoded. The encoder's rule is refinement's: the filter is kept
for an image only where it lowers the model's own objective, lambda_q * MSE + bpp
(``FrozenModel.rd_lambda``), and the plain file is kept otherwise.

Prints, per quality, the share of images that keep the filter, the mean PSNR gain (dB), the
mean cost (bpp) and the coefficients' bits, then the BD-rate (PSNR) of the filtered curve
against the plain one and both against WebP's committed curve (``--webp``). SCR models only (a
quality ladder).
"""

import argparse
import os

import bootstrap  # bench/, the script's own directory

ROOT = bootstrap.start("codec")

import numpy as np  # noqa: E402

from jlic import DEFAULT_MODEL, codec, postfilter  # noqa: E402
from jlic.evaluate.bdrate import bd_rate  # noqa: E402
from jlic.evaluate.metrics import psnr  # noqa: E402
from jlic.evaluate.references import read_compressai_json  # noqa: E402
from jlic.evaluate.run import list_images, read_rgb  # noqa: E402
from jlic.files import atomic_write  # noqa: E402
from jlic.frozen import FrozenModel  # noqa: E402

QUALITIES = [float(q) for q in range(1, 9)]


def mse(a: np.ndarray, b: np.ndarray) -> float:
    """Mean squared error on the 0..255 scale (the model's objective's unit)."""
    return float(np.mean(np.square(a.astype(np.float64) - b)))


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=DEFAULT_MODEL)
    p.add_argument("--data", default=bootstrap.KODAK)
    p.add_argument("--webp", default=os.path.join(
        ROOT, "results", "default_model_polish", "kodak", "webp.json"))
    p.add_argument("--out", default="", help="also write the report (Markdown) here")
    args = p.parse_args()
    model = FrozenModel.load(args.model)
    if model.rate_spec.kind != "quality":
        raise SystemExit("postfilter_headroom.py: an SCR model (a quality ladder) is needed")
    paths = list_images(args.data)
    # per image and quality: bpp, PSNR plain; bpp, PSNR with the encoder's choice; kept;
    # bits of the coefficients
    rows = np.zeros((len(paths), len(QUALITIES), 6))
    for n, path in enumerate(paths):
        image = read_rgb(path)
        h, w = image.shape[:2]
        enc = codec.Encoder(model, image)
        for j, q in enumerate(QUALITIES):
            lat = enc.latents(q)
            plain = codec.pack_latents(model, lat, h, w, 3)
            decoded = codec.decompress(model, plain)
            k = postfilter.fit(image, decoded)
            filtered = codec.pack_latents(model, lat, h, w, 3, k)
            out = codec.decompress(model, filtered)
            bpp0, bpp1 = 8 * len(plain) / (h * w), 8 * len(filtered) / (h * w)
            m0, m1 = mse(decoded, image), mse(out, image)
            lam = model.rd_lambda(q)
            keep = lam * m1 + bpp1 < lam * m0 + bpp0
            rows[n, j] = (bpp0, psnr(image, decoded), bpp1 if keep else bpp0,
                          psnr(image, out if keep else decoded), keep,
                          8 * len(postfilter.write(k)))
    mean = rows.mean(axis=0)
    (webp,) = read_compressai_json(args.webp).values()
    lines = [f"{model.label}; {len(paths)} images of {os.path.relpath(args.data, ROOT)}; "
             f"jlic.postfilter (support {postfilter.SUPPORT}, coefficients in units of "
             f"1/{postfilter.STEP}), real files", "",
             "| q | bpp | PSNR (dB) | images keeping the filter | PSNR gain (dB) | cost (bpp) "
             "| coefficient bits |",
             "|---|---|---|---|---|---|---|"]
    for j, q in enumerate(QUALITIES):
        b0, p0, b1, p1, keep, bits = mean[j]
        lines.append(f"| {q:g} | {b0:.3f} | {p0:.2f} | {keep:.0%} | {p1 - p0:+.3f} "
                     f"| {b1 - b0:.4f} | {bits:.0f} |")
    b0, p0, b1, p1 = (mean[:, i] for i in range(4))
    lines += ["", f"BD-rate (PSNR) of the filtered files against the plain ones: "
              f"{bd_rate(b0, p0, b1, p1):+.2f}%",
              f"against WebP ({os.path.relpath(args.webp, ROOT)}): plain "
              f"{bd_rate(webp['bpp'], webp['psnr-rgb'], b0, p0):+.2f}%, filtered "
              f"{bd_rate(webp['bpp'], webp['psnr-rgb'], b1, p1):+.2f}%"]
    report = "\n".join(lines) + "\n"
    print(report, end="")
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        atomic_write(args.out, report.encode())


if __name__ == "__main__":
    main()
