"""SCR decoding time against the coded fraction of y: where the time of ``decompress`` goes at
each quality of a selective model.

    .venv/bin/python bench/scr_decode_time.py --model runs/default_model_scr.jlicm \
        [--images 4] [--qualities 1,2,3,4,5,6,7,8] [--repeats 5]

For each quality, on the first --images Kodak images (real files from ``codec.compress``), the
median seconds over --repeats of three nested calls, so each stage is a difference:
side information (parse, decode z, the hyper-synthesis and the mask: ``codec.coded_mask``),
+ y (range-decode the coded elements and reconstruct y: ``codec.decode_y_hat``),
+ synthesis (``codec.decompress``). Prints, per quality: mean bpp, coded fraction of y, the
three stage times and the whole decode, then the slope of the y stage against the number of
coded elements (microseconds per coded element) and its share of the decode.
"""

import argparse
import os

import bootstrap  # bench/, the script's own directory

from timing import median_seconds

bootstrap.start("codec")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--model", required=True, help="an SCR model file")
    p.add_argument("--data", default=bootstrap.KODAK)
    p.add_argument("--images", type=int, default=4)
    p.add_argument("--qualities", default="1,2,3,4,5,6,7,8")
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args()

    import numpy as np

    from jlic import codec
    from jlic.evaluate.run import list_images, read_rgb
    from jlic.frozen import FrozenModel
    from jlic.rate import QUALITY

    model = FrozenModel.load(args.model)
    if model.rate_spec is not QUALITY:
        raise SystemExit("bench/scr_decode_time.py needs an SCR model (rate input: quality)")
    images = [read_rgb(p) for p in list_images(args.data)[: args.images]]
    print(f"{model.label}; {len(images)} images of {args.data}, {os.cpu_count()} cores, "
          f"median of {args.repeats}")
    print("quality   bpp  coded y  side info (s)  y (s)  synthesis (s)  decode (s)")
    rows = []  # per file: bpp, coded fraction, coded elements, side info, y, synthesis, decode
    for q in (float(v) for v in args.qualities.split(",")):
        for image in images:
            data = codec.compress(model, image, q)
            side = median_seconds(lambda d=data: codec.coded_mask(model, d), args.repeats)
            with_y = median_seconds(lambda d=data: codec.decode_y_hat(model, d), args.repeats)
            whole = median_seconds(lambda d=data: codec.decompress(model, d), args.repeats)
            coded, total = codec.coded_elements(model, data)
            rows.append((8 * len(data) / (image.shape[0] * image.shape[1]), coded / total,
                         coded, side, with_y - side, whole - with_y, whole))
        m = np.mean(np.array(rows[-len(images):]), axis=0)
        print(f"{q:7g} {m[0]:6.3f} {100 * m[1]:7.1f}% {m[3]:13.3f} {m[4]:6.3f} {m[5]:14.3f} "
              f"{m[6]:11.3f}")
    table = np.array(rows)
    coded, y_times, totals = table[:, 2], table[:, 4], table[:, 6]
    slope = np.polyfit(coded, y_times, 1)[0] if len(set(coded)) > 1 else float("nan")
    print(f"y stage: {1e6 * slope:.3f} us per coded element (least squares over every file); "
          f"{100 * y_times.sum() / totals.sum():.1f}% of the decode time")


if __name__ == "__main__":
    main()
