"""SCR stage 1: the single-rate base model at the highest rate (lambda = 0.2).

    python train.py --config configs/scr/stage1.py --workdir runs/scr1

Paper recipe (Lee et al. 2022, released code): Balle 2018 / Minnen 2018 base, N=192, M=320, Adam
5e-5, batch 8 of 256x256, millions of GPU steps. This default is the reduced CPU budget used for
the reproduction in BENCHMARKS.md: N=64, M=96, 128x128 crops, a few thousand steps (minutes to an
hour on 2 cores). Override ``model.N/M``, ``data.crop`` and ``steps`` for the full recipe.
"""

from configs import tiny


def get_config():
    c = tiny.get_config()
    c.model.N, c.model.M = 64, 96
    c.loss = "rd"
    c.lmbda = 0.2
    c.steps = 2000
    c.learning_rate = 2e-4
    c.log_every = 100
    c.checkpoint_every = 500
    c.init_from = ""
    return c
