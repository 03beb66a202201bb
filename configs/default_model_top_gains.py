"""jlic's default model, phase O: phase I's gain vectors re-fitted to a ladder whose top is
raised to 1.5, before the hard phase (P, configs/default_model_top_hard.py) fixes them.

Soft then hard (phases L, M) loses q = 8's rate: the entropy model trained on the integers
codes the same symbols in fewer bits (Kodak q = 8: 1.505 -> 1.485 bpp), and under "ste" the
gain vectors cannot move the other way (round(v) passes v's gradient unchanged, so what a finer
quantizer buys is invisible to it; phase M raised the top to 1.15 and q = 8 stayed at 1.487).
Here only SCR's gain vectors (log_qv, log_iqv) train, under uniform noise, whose variance does
depend on the step; every transform and the entropy model stay as phase I made them.

    git show 43b1e7f:jlic/assets/default.jlicm > runs/default_model_phase_i.jlicm
    python train.py --config configs/default_model_top_gains.py \
        --workdir runs/default_model_top_gains
    jlic export runs/default_model_top_gains -o runs/default_model_phase_o.jlicm --compact

lambda_q = 0.0002 * 7500^((q - 1) / 7) (0.0002 ... 1.5, MSE on 0..255); 256x256 crops, batch 8,
one level per step, Adam 9e-4 on the gain vectors (3e-5 x 30) after a 50-step warm-up, x0.1 from
85% of the steps. Measured (2026-12-03, 6 minutes at ~1.1 steps/s): the probe's q = 8 went
from 1.500 to 1.530 bpp (4 Kodak crops, the model's estimate), q = 4.5 from 0.559 / 31.62 dB to
0.579 / 31.77.
"""

from configs import default_model_crop256_top


def get_config():
    c = default_model_crop256_top.get_config()
    c.init_from = "runs/default_model_phase_i.jlicm"
    c.scr.lambda_max = 1.5
    c.frozen = ("g_a", "g_s", "h_a", "h_s", "entropy_bottleneck")
    c.gain_lr_multiplier = 30.0
    c.steps = 400
    c.checkpoint_every = 100
    c.probe.every = 200
    return c
