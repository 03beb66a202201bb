"""jlic's default model, phase F: phase D trained on at a low peak rate with the top of SCR's
lambda ladder raised a little, so that q = 8 reaches past 1.5 bpp on Kodak without moving the
lower levels far (phase E raised it to 0.9 at phase D's rate 3e-4 and lost 5% BD-rate).

    git show 1ee6d64:jlic/assets/default.jlicm > runs/default_model_phase_d.jlicm
    python train.py --config configs/default_model_reach.py --workdir runs/default_model_reach
    jlic export runs/default_model_reach -o jlic/assets/default.jlicm --compact

lambda_q = 0.0002 * 4000^((q - 1) / 7) (0.0002 ... 0.8, MSE on 0..255; phase D: 0.0002 ... 0.6).
128x128 crops, batch 8, one level per step, Adam 1e-4 (phase D: 3e-4) after a 300-step warm-up,
x0.1 from 85% of the steps. Measured (2026-11-23, 2-core VM alone, 84 minutes, 1.85 steps/s;
BENCHMARKS.md "The bundled default model, phase F"): Kodak q = 1..8 at 0.044-1.542 bpp (five
other photos: 0.059-1.569), 32.52 dB at 0.777 bpp; BD-rate +0.6% against phase D in PSNR (+6.5%
in MS-SSIM), -36.2% against Pillow JPEG, +27.2% against WebP over the wider range. The held-out
probe's q = 8 stayed within 0.15 dB of phase D's end (33.86-34.18 dB at the peak rate, 34.66 at
the end), where phase E's fell 0.8-1.3 dB. Phase F was the bundled model until phase G
(configs/default_model_polish.py, 8000 more steps at 3e-5) replaced it; phase H
(configs/default_model_crop256.py, 256x256 crops) replaced G.
"""

from configs import default_model_range


def get_config():
    c = default_model_range.get_config()
    c.init_from = "runs/default_model_phase_d.jlicm"
    c.scr.lambda_max = 0.8
    c.learning_rate = 1e-4
    c.steps = 9_000
    return c
