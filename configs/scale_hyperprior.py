"""Balle 2018 scale hyperprior ("bmshj2018-hyperprior"), CompressAI's quality-4 setting.

    python train.py --config configs/scale_hyperprior.py --workdir runs/hyperprior

N=128, M=192 for lmbda <= 0.0130 (N=192, M=320 above). Same budget notes as
``configs/mean_scale.py``; expected with the full budget: about 0.47 bpp at 31.0 dB on Kodak.
"""

from configs import mean_scale


def get_config():
    c = mean_scale.get_config()
    c.model.name = "scale_hyperprior"
    return c
