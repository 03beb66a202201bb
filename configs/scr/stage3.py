"""SCR stage 3: the importance-map head and adjustment curves (gamma), from stage 2.

    python train.py --config configs/scr/stage3.py --workdir runs/scr3 \
        --config.init_from=runs/scr2

Same loss as stage 2, rates counted only over the selected elements. QV/IQV carry over from
stage 2; the released code instead restarts them (restores only the transforms and the entropy
bottleneck): add ``--config.init_skip="('log_qv','log_iqv')"`` for that. For the ablation, train
stage 2 further for the same number of steps (``--config.steps`` + the same init).
"""

from configs.scr import stage2


def get_config():
    c = stage2.get_config()
    c.model.selective = True
    return c
