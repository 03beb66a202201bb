"""Tiny mean-scale hyperprior for CPU: a smoke-test codec that trains in minutes.

    python train.py --config configs/tiny.py --workdir runs/tiny

Expected (2-core CPU): about 0.1 s/step, 2000 steps in ~4 min; Kodak about 0.6 bpp at
24-25 dB PSNR. Useful for tests and smoke runs, not for compression.
"""

from configs import default


def get_config():
    c = default.get_config()
    # eb_filters: a 3-layer factorized prior (CompressAI has 4) as the CPU runs were trained
    c.model.N, c.model.M, c.model.eb_filters = 32, 48, (3, 3, 3)
    c.data.crop = 128
    c.quantization = "mixed"  # as the CPU runs of BENCHMARKS.md were trained
    c.steps = 2000
    c.learning_rate = 5e-4
    c.log_every = 50
    c.checkpoint_every = 500
    return c
