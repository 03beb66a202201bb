"""jlic's default model, phase P: soft then hard (as phase L) on phase O, the gain vectors
frozen with the analysis.

Phases A-I trained with uniform noise in place of rounding, so the synthesis and the entropy
model never saw what a file gives them: round((y - mean) / qv). Soft then hard (Guo et al.,
ICML 2021): the analysis g_a stays as the soft phases learnt it, and everything after it trains
on the rounded latents ("ste": rate and decoders see the integers, straight-through gradient),
which closes the train-test mismatch without the weakening STE brings to the analysis. SCR's
gain vectors stay frozen too: the straight-through gradient cannot price the quantizer's step
(phase O fitted them under noise).

    jlic export runs/default_model_top_gains -o runs/default_model_phase_o.jlicm --compact
    python train.py --config configs/default_model_top_hard.py --workdir runs/default_model_top_hard
    jlic export runs/default_model_top_hard -o runs/default_model_phase_p.jlicm --compact

(Phase P was the bundled model from 2026-12-03 until phase T, configs/default_model_deep_decoder.py,
added two decoder blocks to it; ``git show a889327:jlic/assets/default.jlicm`` is its file.)

lambda_q = 0.0002 * 7500^((q - 1) / 7) as phase O; 256x256 crops, batch 8, one level per step,
Adam 3e-5 after a 50-step warm-up, x0.1 from 85% of the steps. Measured (2026-12-03, 2-core VM,
16 minutes at 0.85-1.0 steps/s; BENCHMARKS.md "The bundled default model, phase P"): Kodak
q = 1..8 at 0.036-1.515 bpp, 30.89 dB at 0.464 bpp; BD-rate against phase I **-8.6% in PSNR**
(-19.0% in MS-SSIM), five other photos -7.3% (-14.4%); +8.2% / +5.6% against Pillow WebP
(-10.7% / -13.1% in MS-SSIM).
"""

from configs import default_model_top_gains


def get_config():
    c = default_model_top_gains.get_config()
    c.init_from = "runs/default_model_phase_o.jlicm"
    c.quantization = "ste"
    c.frozen = ("g_a", "log_qv", "log_iqv")
    c.gain_lr_multiplier = 1.0
    c.steps = 1000
    c.probe.every = 250
    return c
