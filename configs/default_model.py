"""The small mean-scale model shipped as jlic's default until a well-trained one exists.

    python train.py --config configs/default_model.py --workdir runs/default_model
    jlic export runs/default_model -o jlic/assets/default.jlicm

N=64, M=96 at lambda 0.013, 3000 steps on 128x128 crops of ../shared/data/train on a 2-core CPU
(about 15 minutes alone). It is a placeholder, far from converged: on Kodak it codes at 0.54 bpp
and 26.3 dB (results/kodak_scr/summary.md), below JPEG at that rate (about 29 dB).
"""

from configs import tiny


def get_config():
    c = tiny.get_config()
    c.model.N, c.model.M = 64, 96
    c.steps = 3000
    c.checkpoint_every = 1000
    c.log_every = 100
    return c
