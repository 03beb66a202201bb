"""Minnen 2018 mean-scale hyperprior ("mbt2018-mean"), CompressAI's quality-4 setting.

    python train.py --config configs/mean_scale.py --workdir runs/mean_scale \
        --config.lmbda=0.0130

N=128, M=192 with lmbda in {0.0018, 0.0035, 0.0067, 0.0130} (qualities 1-4; use N=192, M=320
for 5-8). CompressAI trains ~4M steps on a GPU with batch 16 of 256x256 crops; on this 2-core CPU
a step of batch 8 at 256x256 takes ~3 s, so the default 100k steps is a multi-day CPU run (or
hours on one GPU). Expected with the full budget: about 0.45 bpp at 31.5 dB on Kodak (quality 4).
"""

from configs import default


def get_config():
    return default.get_config()
