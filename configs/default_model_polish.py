"""jlic's default model, phase G: phase F trained on at a tenth of its rate, nothing else changed,
to let Adam settle in the basin phase F found (a 2200-step probe at this rate measured
-0.8% BD-rate against phase F on Kodak).

    git show 0609264:jlic/assets/default.jlicm > runs/default_model_phase_f.jlicm
    python train.py --config configs/default_model_polish.py --workdir runs/default_model_polish
    jlic export runs/default_model_polish -o jlic/assets/default.jlicm --compact

lambda_q = 0.0002 * 4000^((q - 1) / 7) (0.0002 ... 0.8, MSE on 0..255), as phase F. 128x128
crops, batch 8, one level per step, Adam 3e-5 (phase F: 1e-4) after a 100-step warm-up, x0.1
from 85% of the steps. Measured (2026-11-23, 2-core VM alone, 71 minutes, 1.9 steps/s;
BENCHMARKS.md "The bundled default model, phase G"): Kodak q = 1..8 at 0.044-1.558 bpp (five
other photos: 0.058-1.587), 30.11 dB at 0.480 bpp, 33.86 dB at 1.055 bpp; BD-rate against phase F
-0.9% in PSNR on Kodak (+0.5% in MS-SSIM), -1.1% on the other photos (-0.1%); +27.0% against
Pillow WebP, -36.2% against Pillow JPEG. Bundled until phase H (configs/default_model_crop256.py:
the same rate with 256x256 crops) replaced it.
"""

from configs import default_model_reach


def get_config():
    c = default_model_reach.get_config()
    c.init_from = "runs/default_model_phase_f.jlicm"
    c.learning_rate = 3e-5
    c.steps = 8_000
    c.lr_schedule.warmup_steps = 100
    return c
