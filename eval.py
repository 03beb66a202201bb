"""Evaluate jlic models on a folder of images with real files, against classical codecs and
published results.

    python eval.py --model runs/scr.jlicm --data ../shared/data/kodak --out results/scr
    python eval.py --model scr=a.jlicm --model wosc=b.jlicm --data DIR --out DIR --quick
    python eval.py --model scr=scr.jlicm --model fixed=l1.jlicm,l2.jlicm,l3.jlicm,l4.jlicm --out DIR

Writes to --out: one CompressAI-format JSON per codec, per_image.csv, rd.png (PSNR and MS-SSIM
against bpp, with the published curves), bd_rate.md and summary.md (with this command), and
records.jsonl: each model measurement as it is made, so the same command run again after an
interruption codes only what is missing (``jlic.evaluate.journal``).
A comma-separated --model list is a family of single-rate models (separately trained fixed-rate
models) measured as one curve. The logic is ``jlic.evaluate.main``.
"""

import sys

from jlic import cpu_flags

cpu_flags.configure("codec")

from jlic.evaluate.main import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
