"""Compress/decompress time of a Kodak image: jlic's mean-scale hyperprior against CompressAI's
mbt2018-mean architecture with the same weights, in one process.

    bench/setup                                    # torch + CompressAI, once
    .venv/bin/python bench/codec.py [--model jlic/assets/default.jlicm] [--image kodim23.png]

The jlic model's weights are converted one-to-one into CompressAI's MeanScaleHyperprior
(jlic.compressai_weights), so both code the same latents. An SCR model (the bundled default)
codes at quality 4 and CompressAI gets its base transforms (no gain vectors): the same work,
not the same files. A model with residual blocks in its transforms (``model.analysis_blocks``,
``model.synthesis_blocks``) is timed with them against CompressAI's architecture without them:
the comparison the default model is held to (mbt2018-mean of the same width). Times are
medians of --repeats runs after one warm-up (which includes jlic's compilation), jlic and
CompressAI alternating. Prints file sizes, times, the ratios jlic/CompressAI for encode and
decode (< 1: jlic faster) and jlic's entropy-coding throughput.
"""

import argparse
import os
import sys

import bootstrap  # bench/, the script's own directory

from timing import median_seconds, paired_medians

bootstrap.start("codec")

from jlic import DEFAULT_MODEL  # noqa: E402


def main():
    here = bootstrap.ROOT
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--model", default=DEFAULT_MODEL)
    p.add_argument("--image", default=os.path.join(here, "..", "shared", "data", "kodak",
                                                   "kodim23.png"))
    p.add_argument("--repeats", type=int, default=11)
    args = p.parse_args()

    from jlic.frozen import FrozenModel

    model = FrozenModel.load(args.model)
    if model.config["model"]["name"] not in ("mean_scale", "scr_mean_scale"):
        sys.exit("bench/codec.py compares mean-scale models (plain or SCR) with CompressAI's "
                 "mbt2018-mean")
    extra = {k: v for k in ("analysis_blocks", "synthesis_blocks")
             if (v := model.config["model"].get(k, 0))}

    import numpy as np
    import torch
    from compressai.entropy_models import EntropyBottleneck
    from compressai.models import MeanScaleHyperprior
    from PIL import Image

    from jlic import codec
    from jlic.compressai_weights import to_compressai

    rate = model.rate_spec.default  # SCR: quality 4; CompressAI gets the base transforms
    image = np.array(Image.open(args.image).convert("RGB"))  # writable, for torch
    h, w, _ = image.shape
    torch.set_num_threads(os.cpu_count())
    N, M = model.config["model"]["N"], model.config["model"]["M"]
    net = MeanScaleHyperprior(N, M).eval()
    filters = tuple(model.config["model"].get("eb_filters", (3, 3, 3, 3)))
    net.entropy_bottleneck = EntropyBottleneck(N, filters=filters)  # same prior depth as jlic
    converted = {k: torch.from_numpy(v)
                 for k, v in to_compressai(model.model, model.params).items()}
    net.load_state_dict({**net.state_dict(), **converted})  # buffers: CompressAI's own
    net.update(force=True)
    x = torch.from_numpy(image).permute(2, 0, 1)[None].float() / 255.0
    pad_h, pad_w = -h % 64, -w % 64
    x = torch.nn.functional.pad(x, (0, pad_w, 0, pad_h), mode="replicate")

    data = codec.compress(model, image, rate)
    with torch.no_grad():
        enc = net.compress(x)
        c_bytes = sum(len(s[0]) for s in enc["strings"])
        t_enc, c_enc = paired_medians(lambda: codec.compress(model, image, rate),
                                      lambda: net.compress(x), args.repeats)
        t_dec, c_dec = paired_medians(lambda: codec.decompress(model, data),
                                      lambda: net.decompress(enc["strings"], enc["shape"]),
                                      args.repeats)
        c_rec = net.decompress(enc["strings"], enc["shape"])["x_hat"][0, :, :h, :w]
    ours = codec.decompress(model, data).astype(np.float64)
    theirs = np.round(c_rec.clamp(0, 1).permute(1, 2, 0).numpy() * 255).astype(np.float64)
    def psnr(a):
        return 10 * np.log10(255**2 / np.mean((a - image) ** 2))

    lat = codec.quantized_latents(model, image, rate)
    z_coder, y_coder = model.coders
    n_sym = lat.z_sym.size + int(lat.mask.sum())
    zi = codec.channel_index(lat.z_sym.shape)
    streams = {}

    def entropy_encode():
        streams["z"] = z_coder.encode(lat.z_sym, zi)
        streams["y"] = y_coder.encode(lat.y_sym[lat.mask], lat.scale_index[lat.mask])

    def entropy_decode():
        z_coder.decode(streams["z"], zi)
        y_coder.decode(streams["y"], lat.scale_index[lat.mask])

    e_enc = median_seconds(entropy_encode, args.repeats)
    e_dec = median_seconds(entropy_decode, args.repeats)

    print(f"{os.path.basename(args.image)} {w}x{h}, mean-scale N={N} M={M} ({model.label}), "
          f"{os.cpu_count()} cores, median of {args.repeats}")
    if extra:
        print(f"jlic's model adds {extra} (residual blocks); CompressAI runs the mbt2018-mean "
              f"transforms of the same width without them")
    print(f"jlic:       {len(data):7d} bytes ({8 * len(data) / (h * w):.4f} bpp, "
          f"{psnr(ours):.2f} dB), encode {t_enc:.3f} s, decode {t_dec:.3f} s")
    print(f"CompressAI: {c_bytes:7d} bytes ({8 * c_bytes / (h * w):.4f} bpp, "
          f"{psnr(theirs):.2f} dB), encode {c_enc:.3f} s, decode {c_dec:.3f} s")
    print(f"jlic entropy coding: {n_sym} symbols, encode {n_sym / e_enc / 1e6:.2f} Msymbols/s, "
          f"decode {n_sym / e_dec / 1e6:.2f} Msymbols/s")
    print(f"ratio jlic/CompressAI: encode {t_enc / c_enc:.3f}, decode {t_dec / c_dec:.3f}")


if __name__ == "__main__":
    main()
