"""jlic's default model, phase T (the bundled model since 2026-12-06): a deeper decoder trained
on rounded latents (phase P's hard phase with capacity added after the analysis).

Phase P's hard phase (configs/default_model_top_hard.py) trained everything after the frozen
analysis on what a file gives it and bought 8.6% in 1000 steps; continuing it (phase R) bought
nothing: at its depth the decoder had converged. Here the decoder gets capacity: two residual
blocks after g_s's first IGDN (1/8 resolution, 128 channels; ``model.synthesis_blocks``),
starting as the identity, so step 0 is phase P. Only g_s and its blocks train, on the rounded
latents (quantization "ste"); the analysis, the entropy model and the gain vectors are frozen,
so every file holds the same bits as P's and only the decoded image changes.

    git show a889327:jlic/assets/default.jlicm > runs/default_model_phase_p.jlicm   # phase P
    python train.py --config configs/default_model_deep_decoder.py --workdir runs/deep_decoder
    jlic export runs/deep_decoder -o jlic/assets/default.jlicm --compact

lambda_q as the bundled model (0.0002 * 7500^((q - 1) / 7)); 256x256 crops, batch 8, one level
per step, Adam 5e-5 after a 100-step warm-up (the new blocks start from zero), x0.1 from 85% of
the steps; 1500 steps. Measured (2026-12-06, 2-core Intel VM with AVX-512, 30 minutes at 0.84-0.88
steps/s; the same probe values step by step as the first run of 2026-12-04 on another VM;
BENCHMARKS.md "Phase T"): Kodak (real files) -0.93% BD-rate against P in PSNR (+0.01-0.05 dB
at every level, MS-SSIM -1.6%), +7.3% against Pillow WebP (P: +8.2%); five other photos -0.46%,
+2.3% against WebP; decoding 10% slower. Adam 1e-4 with h_a, h_s and the entropy model also
training moved away from P's curve (probe q = 8 1.527 bpp / 35.01 dB at step 500, P 1.512 /
35.14) and was stopped.
"""

from configs import default_model_top_hard


def get_config():
    c = default_model_top_hard.get_config()
    c.init_from = "runs/default_model_phase_p.jlicm"
    c.model.synthesis_blocks = 2
    c.frozen = ("g_a", "h_a", "h_s", "entropy_bottleneck", "log_qv", "log_iqv")
    c.learning_rate = 5e-5
    c.lr_schedule.warmup_steps = 100
    c.steps = 1500
    c.checkpoint_every = 250
    c.probe.every = 250
    return c
