"""How much would a per-image linear post-filter, sent in the file, save?

    .venv/bin/python bench/postfilter_headroom.py [--model jlic/assets/default.jlicm] \
        [--data ../shared/data/kodak] [--webp results/default_model_polish/kodak/webp.json] \
        [--support 5] [--step 256] [--refine STEPS] [--out results/postfilter_headroom/kodak.md]

The question is whether an adaptive loop filter in the manner of VVC's ALF and AV1's Wiener
filter (least-squares coefficients fitted by the encoder to each image, quantized and sent,
applied by the decoder after the synthesis transform) is a lever for a model whose decoder was
trained over many images: what it adapts to is the image's own statistics.

For each image and quality q = 1..8 (SCR models), the image is coded into a real file and
decoded (uint8 RGB, 0..255; with ``--refine``, refined files, as ``jlic compress --refine``
writes them); then, for each output channel c:

    x_c' = x_hat_c + round((sum_k w_k f_k + b) / s)        (clipped to 0..255)
    f_k  = x_hat_i(p + d) + x_hat_i(p - d) - 2 x_hat_i(p)  each input channel i, each of the
           (support^2 - 1) / 2 point-symmetric offset pairs d in the support x support window
           (edge-replicated at the borders)
    f_k  = x_hat_i(p) - x_hat_c(p)                          the other two channels' centres

(support 5: 3 x 12 + 2 = 38 taps and a bias per channel, 117 integers in all). Every feature is
a difference (the spatial ones vanish on a flat area, the colour ones on a grey one), so
rounding the coefficients barely moves the image's mean (taps fitted on raw pixels instead,
rounded at the same step, left the image 0.35-0.47 dB below no filter at q >= 5 in a first
trial). The coefficients w, b are the least-squares fit of x_c - x_hat_c (float64), rounded to
integers at step 1 / s (``--step``), and applied in integer arithmetic, as an exact decoder
would. Their cost is their signed Exp-Golomb code (order 0) plus 4 bytes (a stream's length in
the file's table). The encoder keeps the filter for an image only where it lowers the model's
own objective, lambda_q * MSE + bpp (``FrozenModel.rd_lambda``), and otherwise pays one bit.

Prints, per quality, the share of images that keep the filter, the mean PSNR gain (dB), the
mean cost (bpp) and the PSNR gain of the unquantized fit, then the BD-rate (PSNR) of the
filtered curve against the plain one and both against WebP's committed curve (``--webp``).
SCR models only (a quality ladder).
"""

import argparse
import os

import bootstrap  # bench/, the script's own directory

ROOT = bootstrap.start("codec")

import numpy as np  # noqa: E402

from jlic import DEFAULT_MODEL, codec  # noqa: E402
from jlic.evaluate.bdrate import bd_rate  # noqa: E402
from jlic.evaluate.metrics import psnr  # noqa: E402
from jlic.evaluate.references import read_compressai_json  # noqa: E402
from jlic.evaluate.run import list_images, read_rgb  # noqa: E402
from jlic.files import atomic_write  # noqa: E402
from jlic.frozen import FrozenModel  # noqa: E402

QUALITIES = [float(q) for q in range(1, 9)]
STREAM_BYTES = 4  # a third stream's entry in the file's stream table


def features(decoded: np.ndarray, c: int, support: int) -> np.ndarray:
    """The filter's inputs for output channel ``c``: int64 (H * W, taps + 1), the last column
    ones (the bias); ``decoded`` uint8 (H, W, 3)."""
    x = decoded.astype(np.int64)
    h, w = x.shape[:2]
    r = support // 2
    pad = np.pad(x, ((r, r), (r, r), (0, 0)), mode="edge")
    cols = []
    for i in range(3):
        centre = x[..., i]
        for dy in range(-r, r + 1):
            for dx in range(-r, r + 1):
                if (dy, dx) <= (0, 0):
                    continue  # one of each point-symmetric pair, not the centre
                cols.append(pad[r + dy:r + dy + h, r + dx:r + dx + w, i]
                            + pad[r - dy:r - dy + h, r - dx:r - dx + w, i] - 2 * centre)
        if i != c:
            cols.append(centre - x[..., c])
    cols.append(np.ones((h, w), np.int64))
    return np.stack(cols, -1).reshape(h * w, -1)


def exp_golomb_bits(v: np.ndarray) -> int:
    """Bits of the signed order-0 Exp-Golomb code of the integers ``v``."""
    u = np.where(v > 0, 2 * v - 1, -2 * v)
    return int(np.sum(2 * np.floor(np.log2(u + 1)) + 1))


def fit_and_apply(image: np.ndarray, decoded: np.ndarray, support: int, step: int):
    """-> (filtered uint8 image, its unquantized-fit counterpart, bits of the coefficients)."""
    h, w = image.shape[:2]
    out, unquantized, bits = decoded.astype(np.int64), decoded.astype(np.float64), 0
    for c in range(3):
        f = features(decoded, c, support)
        target = image[..., c].astype(np.float64).ravel() - decoded[..., c].ravel()
        ff = f.astype(np.float64)
        coef = np.linalg.solve(ff.T @ ff + 1e-3 * np.eye(ff.shape[1]), ff.T @ target)
        k = np.round(coef * step).astype(np.int64)
        bits += exp_golomb_bits(k)
        # round half up of (f . k) / step, in integers
        out[..., c] += ((f @ k + step // 2) // step).reshape(h, w)
        unquantized[..., c] += (ff @ coef).reshape(h, w)
    return (np.clip(out, 0, 255).astype(np.uint8),
            np.clip(np.round(unquantized), 0, 255).astype(np.uint8), bits)


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
    p.add_argument("--support", type=int, default=5, help="odd window side (pixels)")
    p.add_argument("--step", type=int, default=256,
                   help="coefficients are integers in units of 1/step")
    p.add_argument("--refine", type=int, default=0,
                   help="encoder-side refinement steps of the files (0: plain files)")
    p.add_argument("--out", default="", help="also write the report (Markdown) here")
    args = p.parse_args()
    if args.support < 3 or args.support % 2 == 0:
        p.error(f"--support must be an odd number of pixels >= 3, got {args.support}")
    if args.step < 1:
        p.error(f"--step must be a positive integer, got {args.step}")
    model = FrozenModel.load(args.model)
    if model.rate_spec.kind != "quality":
        raise SystemExit("postfilter_headroom.py: an SCR model (a quality ladder) is needed")
    paths = list_images(args.data)
    # per image and quality: bpp, PSNR plain; bpp, PSNR with the encoder's choice; kept;
    # PSNR unquantized; bits of the coefficients
    rows = np.zeros((len(paths), len(QUALITIES), 7))
    for n, path in enumerate(paths):
        image = read_rgb(path)
        pixels = image.shape[0] * image.shape[1]
        enc = codec.Encoder(model, image, args.refine)
        for j, q in enumerate(QUALITIES):
            data = enc.encode(q)
            decoded = codec.decompress(model, data)
            filtered, unquantized, bits = fit_and_apply(image, decoded, args.support, args.step)
            bpp0 = 8 * len(data) / pixels
            bpp1 = bpp0 + (8 * (-(-bits // 8) + STREAM_BYTES)) / pixels
            m0, m1 = mse(decoded, image), mse(filtered, image)
            lam = model.rd_lambda(q)
            keep = lam * m1 + bpp1 < lam * m0 + bpp0
            rows[n, j] = (bpp0, psnr(image, decoded), bpp1 if keep else bpp0 + 1 / pixels,
                          psnr(image, filtered if keep else decoded), keep,
                          psnr(image, unquantized), bits)
    mean = rows.mean(axis=0)
    (webp,) = read_compressai_json(args.webp).values()
    lines = [f"{model.label}; {len(paths)} images of {os.path.relpath(args.data, ROOT)}; "
             f"support {args.support}, "
             f"coefficients in units of 1/{args.step}"
             + (f"; files refined ({args.refine} steps)" if args.refine else ""), "",
             "| q | bpp | PSNR (dB) | images keeping the filter | PSNR gain (dB) | cost (bpp) "
             "| coefficient bits | unquantized fit: gain (dB) |",
             "|---|---|---|---|---|---|---|---|"]
    for j, q in enumerate(QUALITIES):
        b0, p0, b1, p1, keep, pu, bits = mean[j]
        lines.append(f"| {q:g} | {b0:.3f} | {p0:.2f} | {keep:.0%} | {p1 - p0:+.3f} "
                     f"| {b1 - b0:.4f} | {bits:.0f} | {pu - p0:+.3f} |")
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
