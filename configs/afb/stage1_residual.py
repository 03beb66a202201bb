"""AFB stage 1 on a residual variant of the base: the mean-scale hyperprior with a residual block
(conv-GDN-PReLU-conv-GDN-PReLU + skip) after each GDN/IGDN, at a high rate (lambda 0.2).

    python train.py --config configs/afb/stage1_residual.py --workdir runs/afb1_res
    python train.py --config configs/afb/stage2.py --workdir runs/afb2_res \
        --config.model.residual=True --config.data.crop=256 --config.init_from=runs/afb1_res

The paper's base is Cheng 2020 (c = 192, with an autoregressive context and a Gaussian mixture,
which jlic does not build); this keeps the mean-scale hyperprior and adds only its residual
blocks. Reduced CPU budget as for SCR (N=64, M=96, 256x256 crops): 2.6 s per step on the 2-core
development machine (0.9 s without the residual blocks), so 2000 steps take about 1.5 hours; no
trained result is recorded yet.
"""

from configs.scr import stage1


def get_config():
    c = stage1.get_config()
    c.model.residual = True
    c.data.crop = 256
    return c
