"""jlic's default model, phase D: phase C trained on with SCR's lambda ladder raised at the top,
so that q = 8 reaches past 1.5 bpp on Kodak (phase C: 1.24), without selective compression.

    git show a8fa713:jlic/assets/default.jlicm > runs/default_model_phase_c.jlicm
    python train.py --config configs/default_model_range.py --workdir runs/default_model_range
    jlic export runs/default_model_range -o jlic/assets/default.jlicm --compact

lambda_q = 0.0002 * 3000^((q - 1) / 7) (0.0002 ... 0.6, MSE on 0..255; phase C: 0.0002 ... 0.25).
128x128 crops, batch 8, one level per step, Adam 3e-4 after a 300-step warm-up, x0.1 from 85%
of the steps, as phase C. Measured (2026-11-23, 2-core VM alone, 112 minutes, 1.8-1.9 steps/s;
BENCHMARKS.md "The bundled default model, phase D"): Kodak q = 1..8 at 0.045-1.449 bpp, 32.07 dB
at 0.708 bpp, BD-rate -7.1% against phase C, -38.4% against Pillow JPEG, +25.6% against WebP.
Phase D was the bundled file until phase F (configs/default_model_reach.py) replaced it; phase E
(configs/default_model_top.py) raised the top again at phase D's rate, at a cost.
"""

from configs import default_model_wide


def get_config():
    c = default_model_wide.get_config()
    c.init_from = "runs/default_model_phase_c.jlicm"
    c.scr.lambda_max = 0.6
    c.steps = 12_000
    c.lr_schedule.warmup_steps = 300
    return c
