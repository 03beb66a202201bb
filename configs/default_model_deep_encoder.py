"""jlic's default model, phase S: a deeper encoder trained against phase P's decoder.

Phase Q (configs/default_model_encoder.py) fitted phase P's analysis transforms to its
frozen decoders and moved the curve by 0.4%: at its depth the encoder fits its decoder already,
yet `--refine` finds latents that decode 8.4% smaller at equal PSNR per image, most of it above
1 bpp where the analysis latents cap the quality (BENCHMARKS.md "Where the top of the range is
capped"). Here the encoder gets capacity: two residual blocks after g_a's third GDN (1/8
resolution, 128 channels; ``model.analysis_blocks``), starting as the identity, so step 0 is
phase P (the bundled model when this ran; configs/default_model_deep_decoder.py says how to
get its file). Only the encoder trains (g_a, its new blocks and h_a); the decoders, the
entropy model and the gain vectors are frozen, so what a file holds and how it decodes are
unchanged. Quantization "ste": the rate and the decoders see the rounded latents, as a file
codes them (straight-through gradient). With phase Q's "mixed" (the rate sees uniform noise)
the deeper encoder learnt to please the noisy rate: the probe (4 Kodak centre crops, the
model's rounded estimate) went from phase P's q = 8 1.512 bpp / 35.14 dB to 1.530 / 35.06 at
step 500 and 1.547 / 34.99 at step 1000 (Adam 1e-4), and the run was stopped soon after.

    python train.py --config configs/default_model_deep_encoder.py --workdir runs/deep_encoder
    jlic export runs/deep_encoder -o runs/default_model_phase_s.jlicm --compact

lambda_q as the bundled model (0.0002 * 7500^((q - 1) / 7)); 256x256 crops, batch 8, one level
per step, Adam 5e-5 after a 100-step warm-up (the new blocks start from zero), x0.1 from 85% of
the steps; 2000 steps. Measured (2026-12-04, 2-core VM, 0.58-0.64 steps/s; BENCHMARKS.md
"Phase S"): the probe moved away from P's curve (q = 8 1.574 bpp / 35.10 dB at step 1000), so
the run was stopped soon after (step 1099); its step-1000 checkpoint on Kodak (real files) is
+2.6% BD-rate against P in PSNR (+1.6% in MS-SSIM), +10.1% against Pillow WebP: the encoder
spends 3-7% more bits at every level for the same quality. Not bundled.
"""

from configs import default_model_encoder


def get_config():
    c = default_model_encoder.get_config()
    c.init_from = "runs/default_model_phase_p.jlicm"  # as phases Q and R
    c.model.analysis_blocks = 2
    c.quantization = "ste"
    c.learning_rate = 5e-5
    c.lr_schedule.warmup_steps = 100
    c.steps = 2000
    c.checkpoint_every = 250
    c.probe.every = 500
    return c
