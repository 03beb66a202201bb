"""Rate cost of the exact (integer) side-information path against the float path, on Kodak.

    .venv/bin/python bench/exact_cost.py --model runs/scr.jlicm [--data ../shared/data/kodak]

Codes every image at 8 rate inputs spread over the model's range (SCR: q = 1..8; AFB: targets
over its trained range; single-rate models once) with the model as frozen
(integer hyper-synthesis) and with the same parameters through the float hyper-synthesis, and
prints the mean bpp and PSNR of both and the BD-rate of exact against float (target < 0.5%).
"""

import argparse

import bootstrap  # bench/, the script's own directory

bootstrap.start("codec")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--model", required=True)
    p.add_argument("--data", default="../shared/data/kodak")
    args = p.parse_args()
    import numpy as np

    from jlic import codec
    from jlic.evaluate.bdrate import bd_rate
    from jlic.evaluate.metrics import psnr
    from jlic.evaluate.run import list_images
    from jlic.frozen import FrozenModel
    from jlic.imageio import read_image
    from jlic.rate import NONE
    from jlic.rate_control import rate_range

    exact = FrozenModel.load(args.model)
    floating = FrozenModel.load(args.model)
    floating.integer_coding_params = None  # same parameters and tables, float side information
    rates = [None] if exact.rate_spec is NONE else \
        [float(r) for r in np.linspace(*rate_range(exact), 8, dtype=np.float32)]
    res = {name: {r: [] for r in rates} for name in ("exact", "float")}
    for path in list_images(args.data):
        image, _ = read_image(path)
        for name, model in (("exact", exact), ("float", floating)):
            for r in rates:
                data = codec.compress(model, image, r)
                res[name][r].append((8 * len(data) / image[..., 0].size,
                                     psnr(image, codec.decompress(model, data))))
    curves = {}
    for name in res:
        curves[name] = np.array([np.mean(res[name][r], axis=0) for r in rates])
        print(name, " ".join(f"r={r:g}: {b:.4f} bpp {q:.2f} dB" for r, (b, q) in
                             zip(rates, curves[name], strict=True)))
    if len(rates) >= 4:
        f, e = curves["float"], curves["exact"]
        print(f"BD-rate exact vs float: {bd_rate(f[:, 0], f[:, 1], e[:, 0], e[:, 1]):+.3f}%")
    else:
        f, e = curves["float"][0], curves["exact"][0]
        print(f"bpp exact/float - 1: {100 * (e[0] / f[0] - 1):+.3f}%, PSNR {e[1] - f[1]:+.3f} dB")


if __name__ == "__main__":
    main()
