"""AFB on rounded latents, stage 2 continued: ``default_model_ste`` resumed for 800 more steps.

    python train.py --config configs/afb/default_model_ste.py --workdir runs/afb_ste
    python train.py --config configs/afb/default_model_ste_long.py --workdir runs/afb_ste_long
    jlic export runs/afb_ste_long -o runs/afb_ste_long.jlicm --compact
    python bench/rate_control.py --model runs/afb_ste_long.jlicm \
        --out results/afb_ste_long_rate_control --closed-loop-targets 3

``configs/afb/default_model_ste.py`` (Kodak open-loop MAE 0.101 bpp after 1000 steps) starts again
from its own trained weights for 800 steps with the same learning rates, warm-up and decay: does
a longer stage 2 shrink the spread between images that is most of its error?

Measured (2026-12-03, BENCHMARKS.md "A longer stage 2 on rounded latents"; 0.25-0.30 steps/s on 2
cores): Kodak open-loop MAE **0.083 bpp** (45 targets per image, real files; 0.066 over the
targets of 0.5-1.5 bpp, where the spread shrank by a quarter), closed-loop files 29.4 dB; the
low-end floor is unchanged (targets below 0.5 bpp overshot by +0.10-0.18). Not a default.
"""

from configs.afb import default_model_ste


def get_config():
    c = default_model_ste.get_config()
    c.init_from = "runs/afb_ste"
    c.steps = 800
    return c
