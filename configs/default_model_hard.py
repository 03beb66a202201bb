"""jlic's default model, phase L (experiment, not bundled; phase P is its bundled form): "soft then
hard" (Guo et al., ICML 2021) on phase I. Phases A-I trained with uniform noise in place of
rounding, so the synthesis and the entropy model never saw what a file gives them: round((y - mean)
/ qv). Here the analysis g_a is frozen (the latent space learnt softly stays) and everything after
it is trained on the rounded latents ("ste": rate and decoders see the integers, straight-through
gradient), which closes the train-test mismatch without the weakening STE brings to the analysis.

    git show 43b1e7f:jlic/assets/default.jlicm > runs/default_model_phase_i.jlicm
    python train.py --config configs/default_model_hard.py --workdir runs/default_model_hard
    jlic export runs/default_model_hard -o runs/default_model_phase_l.jlicm --compact

lambda_q = 0.0002 * 5000^((q - 1) / 7) as phase I; 256x256 crops, batch 8, one level per step,
Adam 3e-5 after a 50-step warm-up, x0.1 from 85% of the steps. Measured (2026-12-03, 2-core VM
alone, 18 minutes at 0.8-0.93 steps/s: the frozen g_a needs no backward pass; BENCHMARKS.md
"The bundled default model, phase P"): Kodak q = 1..8 at 0.037-1.485 bpp, 30.78 dB at 0.451 bpp;
BD-rate against phase I **-8.8% in PSNR** (-19.8% in MS-SSIM), five other photos -7.7%
(-15.7%); +7.9% / +5.2% against Pillow WebP. q = 8 fell below 1.5 bpp on Kodak: phase M
(configs/default_model_hard_top.py) raises the ladder's top.
"""

from configs import default_model_crop256_top


def get_config():
    c = default_model_crop256_top.get_config()
    c.init_from = "runs/default_model_phase_i.jlicm"
    c.quantization = "ste"
    c.frozen = ("g_a",)
    c.steps = 1000
    c.checkpoint_every = 100
    c.probe.every = 250
    return c
