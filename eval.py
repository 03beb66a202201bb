"""Evaluate jlic models on a folder of images with real files, against classical codecs and
published results.

    python eval.py --model runs/scr.jlicm --data ../shared/data/kodak --out results/scr
    python eval.py --model scr=a.jlicm --model wosc=b.jlicm --data DIR --out DIR --quick

Writes to --out: one CompressAI-format JSON per codec, per_image.csv, rd.png (PSNR and MS-SSIM
against bpp, with the published curves), bd_rate.md and summary.md (with this command).
The logic is ``jlic.evaluate.main``.
"""

import sys

from jlic import cpu_flags

cpu_flags.configure("codec")

from jlic.evaluate.main import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
