"""jlic's default model, phase C: the phase-B model trained on with SCR's lambda
ladder widened at the bottom, so that q = 1 reaches below 0.1 bpp (phase B: 0.25), without
selective compression.

    python train.py --config configs/default_model_wide.py --workdir runs/default_model_wide
    jlic export runs/default_model_wide -o runs/default_model_phase_c.jlicm --compact

lambda_q = 0.0002 * 1250^((q - 1) / 7) (0.0002 ... 0.25, MSE on 0..255; phase A/B: 0.0016 ...
0.2). The gain vectors start from phase B's, level by level, and move to the new ladder.
128x128 crops, batch 8, one level per step, Adam 3e-4 held after a 500-step warm-up, x0.1 from
85% of the steps (the step decay beat cosine in BENCHMARKS.md "What buys quality per
CPU-second"). Measured (2026-11-23, 2-core VM, 88 minutes; the run's first 2816 steps used
lambda_max 0.15, then it was resumed with 0.25): Kodak q = 1..8 at 0.049-1.24 bpp, 30.55 dB at
0.528 bpp, BD-rate -12.9% against phase B, +33% against WebP. q = 8 stayed near 1.2 bpp while
lambda_max went from 0.15 to 0.25: the top of the range is held by the transforms' high-rate
quality more than by lambda (phase D, configs/default_model_range.py, took lambda_max to 0.6 and
q = 8 to 1.45 bpp). Phase C was the bundled file until phase D:
``git show a8fa713:jlic/assets/default.jlicm > runs/default_model_phase_c.jlicm``. Phase B was the
bundled file until this run replaced it:
``git show 215ca12:jlic/assets/default.jlicm > runs/default_model_phase_b.jlicm``.
"""

import ml_collections

from configs import default_model


def get_config():
    c = default_model.get_config()
    c.init_from = "runs/default_model_phase_b.jlicm"
    c.scr.lambda_min = 0.0002
    c.scr.lambda_max = 0.25
    c.steps = 14_000
    c.learning_rate = 3e-4
    c.lr_schedule = ml_collections.ConfigDict(dict(
        warmup_steps=500, decay="step", decay_at=0.85, decay_factor=0.1))
    return c
