"""jlic's default model, phase A: a variable-rate mean-scale hyperprior with SCR's gain units
(the "without selective compression" model), trained from scratch on 2 CPU cores.

    python train.py --config configs/default_model.py --workdir runs/default_model
    scripts/train_default_model.sh runs/default_model_chain   # this and the nine phases after it

One model for qualities 1..8 (lambda_q = 0.2 * 2^-(8 - q), 0.0016 ... 0.2; fractional q
interpolates), N=128, M=192 (CompressAI's mbt2018-mean width for its qualities 1-5), 128x128
crops, batch 8, one level per step (the cost of a single-rate step), Adam 5e-4 with a linear
warm-up and cosine decay, uniform-noise training quantization. 16000 steps: under 2 hours on a
2-core CPU alone. Expected (measured 2026-11-22, 107 min): Kodak 0.25-1.78 bpp over q = 1..8,
29.64 dB at 0.497 bpp; BD-rate -5.8% against Pillow JPEG, +61% against WebP (BENCHMARKS.md
"Time to quality"). Peak 1e-3 with 3x on the gain vectors diverged at step ~650 (activations
overflowed to NaN). The bundled model is this run continued for 4000 steps at 1e-4
(configs/default_model_scr.py without selective compression, phase B), 14000 more with a
widened lambda ladder (configs/default_model_wide.py, phase C), 12000 more with its top raised
(configs/default_model_range.py, phase D), 9000 more at a low rate with it raised again
(configs/default_model_reach.py, phase F), 8000 more at a lower rate
(configs/default_model_polish.py, phase G), 614 on 256x256 crops
(configs/default_model_crop256.py, phase H), 2000 more with the ladder's top raised
(configs/default_model_crop256_top.py, phase I), 400 fitting only the gain vectors to a ladder
raised again (configs/default_model_top_gains.py, phase O) and 1000 of "soft then hard", the
analysis and gains frozen, the rest trained on rounded latents
(configs/default_model_top_hard.py, phase P), exported ``--compact``.
"""

import ml_collections

from configs import default


def get_config():
    c = default.get_config()
    c.model.name = "scr_mean_scale"
    c.model.selective = False
    c.data.crop = 128
    c.loss = "scr"
    c.scr.levels_per_step = 1
    c.steps = 16_000
    c.learning_rate = 5e-4
    c.lr_schedule = ml_collections.ConfigDict(dict(
        warmup_steps=1000, decay="cosine", decay_at=0.9, decay_factor=0.05))
    c.gain_lr_multiplier = 1.0
    c.log_every = 100
    c.checkpoint_every = 1000
    c.probe = ml_collections.ConfigDict(dict(
        every=1000, dir="../shared/data/kodak", images=4, crop=256))
    return c
