"""jlic's default model, phase Q: the encoder fitted to the decoder that phase P trained on the
integers.

Soft then hard (phase P, configs/default_model_top_hard.py) left the analysis transforms as the
noise-trained phases made them and taught the synthesis and the entropy model what a file
gives them. The analysis was never trained against that decoder: per image, `--refine` finds
latents it decodes better (Kodak -3.4% BD-rate on P with 20 steps, +1 dB at q = 8), which is the
amortization gap an encoder trained against the frozen decoder can close for every image at no
cost when coding. Here only g_a and h_a train (the two analysis transforms; what a file holds
and how it decodes is unchanged), with "mixed" quantization: the decoders see the rounded
latents (straight-through gradient) and the rate sees uniform noise (a gradient that prices
the quantizer; the entropy model is frozen).

    python train.py --config configs/default_model_encoder.py --workdir runs/default_model_encoder
    jlic export runs/default_model_encoder -o runs/default_model_phase_q.jlicm --compact

lambda_q as phase P (0.0002 * 7500^((q - 1) / 7)); 256x256 crops, batch 8, one level per step,
Adam 3e-5 after a 50-step warm-up, x0.1 from 85% of the steps; 1000 steps as phase P. Measured
(2026-12-03, 2-core VM, 25 minutes at 0.7 steps/s; BENCHMARKS.md "Phases Q and R"): Kodak -0.4%
BD-rate against phase P in PSNR (-1.1% in MS-SSIM), +7.9% against Pillow WebP: the encoder moved
along the curve (q = 4: 0.472 bpp / 30.98 dB, P 0.464 / 30.89) more than off it. Not bundled.
"""

from configs import default_model_top_hard


def get_config():
    c = default_model_top_hard.get_config()
    c.init_from = "runs/default_model_phase_p.jlicm"
    c.quantization = "mixed"
    c.frozen = ("g_s", "h_s", "entropy_bottleneck", "log_qv", "log_iqv")
    return c
