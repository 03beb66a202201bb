"""jlic's default model, phase J (experiment): phase I trained on for 3000 more steps on 256x256
crops at a higher peak rate (Adam 1e-4; phases G-I: 3e-5), to see whether the larger crops
still have more to teach than a fine-tuning rate can take in.

    git show 0084457:jlic/assets/default.jlicm > runs/default_model_phase_i.jlicm
    python train.py --config configs/default_model_crop256_long.py \
        --workdir runs/default_model_crop256_long

lambda_q = 0.0002 * 5000^((q - 1) / 7) (0.0002 ... 1.0, MSE on 0..255), as phase I. 256x256
crops, batch 8, one level per step, Adam 1e-4 after a 100-step warm-up, x0.1 from 85% of the
steps. Measured (2026-11-24, 105 minutes, BENCHMARKS.md "phase I"): BD-rate against phase I
+0.02% in PSNR, +4.6% in MS-SSIM on Kodak, q = 8 at 1.499 bpp; not bundled. The higher peak
lost 0.3-0.5 dB on the probe and won it back only after the decay.
"""

from configs import default_model_crop256_top


def get_config():
    c = default_model_crop256_top.get_config()
    c.init_from = "runs/default_model_phase_i.jlicm"
    c.learning_rate = 1e-4
    c.lr_schedule.warmup_steps = 100
    c.steps = 3000
    return c
