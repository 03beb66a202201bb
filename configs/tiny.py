"""Tiny mean-scale hyperprior for CPU: a smoke-test codec that trains in minutes.

    python train.py --config configs/tiny.py --workdir runs/tiny

Expected (2-core CPU): about 0.1 s/step, 2000 steps in ~4 min; Kodak about 0.6 bpp at
24-25 dB PSNR. Useful for tests and as a placeholder default model, not for compression.
"""

import ml_collections


def get_config():
    c = ml_collections.ConfigDict()
    # eb_filters: a 3-layer factorized prior (CompressAI has 4) as the CPU runs were trained
    c.model = ml_collections.ConfigDict(dict(name="mean_scale", N=32, M=48, eb_filters=(3, 3, 3)))
    c.data = ml_collections.ConfigDict(dict(
        train_dir="../shared/data/train", crop=128, batch_size=8, num_threads=2))
    c.lmbda = 0.0130
    c.steps = 2000
    c.learning_rate = 5e-4
    c.aux_learning_rate = 1e-3
    c.grad_clip = 1.0
    c.seed = 0
    c.log_every = 50
    c.checkpoint_every = 500
    return c
