"""jlic's default model, phase B: selective compression (SCR's importance map and adjustment
curves) on the phase-A gain-unit model, as SCR's stage 3.

    python train.py --config configs/default_model_scr.py --workdir runs/default_model_scr

The w/o-SC ablation at equal steps continues phase A instead (``model.selective=False``, same
init and steps: ``--config.model.selective=False --workdir runs/default_model_wosc``). Both
start from phase A's weights as bundled (``jlic/assets/default.jlicm``, so a fresh checkout
needs no phase-A workdir; ``--config.init_from=runs/default_model`` for the float32 run), gains
included (``init_skip=("log_qv", "log_iqv")`` restarts the gains as the released code does),
with a short warm-up and a cosine decay from 1e-4.
"""

import ml_collections

from configs import default_model


def get_config():
    c = default_model.get_config()
    c.model.selective = True
    c.init_from = "jlic/assets/default.jlicm"
    c.steps = 4000
    c.learning_rate = 1e-4
    c.lr_schedule = ml_collections.ConfigDict(dict(
        warmup_steps=200, decay="cosine", decay_at=0.9, decay_factor=0.05))
    return c
