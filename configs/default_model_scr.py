"""jlic's default model, phase B: 4000 more steps on phase A, with selective compression (SCR's
importance map and adjustment curves, as SCR's stage 3) or, for the bundled model, without it.

    python train.py --config configs/default_model.py --workdir runs/default_model      # phase A
    jlic export runs/default_model -o runs/default_model_phase_a.jlicm --compact
    python train.py --config configs/default_model_scr.py --workdir runs/default_model_scr
    python train.py --config configs/default_model_scr.py --workdir runs/default_model_wosc \
        --config.model.selective=False
    jlic export runs/default_model_wosc -o runs/default_model_phase_b.jlicm --compact   # phase B

Both start from phase A's compact file (the float32 workdir works too: ``--config.init_from=
runs/default_model``), gains included: ``--config.init_skip="('log_qv','log_iqv')"`` restarts
QV/IQV as the released code does. Adam from 1e-4 with a 200-step warm-up and a cosine decay.
Measured (2026-11-23, Kodak, real files; BENCHMARKS.md "SCR at the default model's
budget"): each run about 48 minutes on one core of the 2-core VM (the other core ran the other).
The w/o-SC continuation is 7.3% BD-rate below phase A alone and was the bundled model until
phase C (configs/default_model_wide.py); SCR is
+1.8% against it (-1.8% over q = 1..4, +10% over q = 4..8, where the mask keeps only 56% of y:
at this learning rate the adjustment curves stay within 0.93-1.09 of their start).
"""

import ml_collections

from configs import default_model


def get_config():
    c = default_model.get_config()
    c.model.selective = True
    c.init_from = "runs/default_model_phase_a.jlicm"
    c.steps = 4000
    c.learning_rate = 1e-4
    c.lr_schedule = ml_collections.ConfigDict(dict(
        warmup_steps=200, decay="cosine", decay_at=0.9, decay_factor=0.05))
    return c
