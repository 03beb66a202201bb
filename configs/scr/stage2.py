"""SCR stage 2: gain units (QV/IQV per level) and the 8-level loss, from stage 1.
This is also the "without selective compression" variant of the ablation.

    python train.py --config configs/scr/stage2.py --workdir runs/scr2 \
        --config.init_from=runs/scr1

Loss: sum over q = 1..8 of 0.2 * 2^-(8-q) * 255^2 * MSE_q + bpp_y,q + bpp_z. ``scr.levels_per_step``
= k samples k levels per step uniformly without replacement (0: all 8, the paper's setting); the
CPU default k = 2 costs about 2x a single-rate step instead of 4-5x. The per-level vectors
train with a 30x learning rate (``gain_lr_multiplier``).
"""

from configs.scr import stage1


def get_config():
    c = stage1.get_config()
    c.model.name = "scr_mean_scale"
    c.model.selective = False
    c.loss = "scr"
    c.scr.levels_per_step = 2
    c.steps = 2000
    c.learning_rate = 1e-4
    c.gain_lr_multiplier = 30.0  # per-level vectors: 3e-3
    return c
