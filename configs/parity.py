"""The equal-budget recipe of bench/train_parity.py (jlic against CompressAI, same start).

    python bench/train_parity.py              # both sides, 4 lambdas + a second seed

mbt2018-mean at N=64, M=96 on random 128x128 crops (with flips) of ../shared/data/train,
batch 8, Adam 1e-3 with x0.1 at 90% of the steps, aux Adam 1e-3, gradient clip 1.0,
3156 steps (about 8 minutes per run alone on a 2-core CPU), uniform-noise quantization as in
CompressAI. ``init_from`` is set by the bench to CompressAI's initial weights, converted.
Expected at lambda 0.013: about 0.50 bpp / 27.7 dB on the 24 Kodak images, real files
(BENCHMARKS.md, "Training parity": CompressAI's seeds spread by 9% in rate there).
"""

from configs import mean_scale


def get_config():
    c = mean_scale.get_config()
    c.model.N, c.model.M = 64, 96
    c.data.crop = 128
    c.learning_rate = 1e-3
    c.steps = 3156
    c.quantization = "noise"
    c.init_from = ""
    c.log_every = 100
    c.checkpoint_every = 1000
    return c
