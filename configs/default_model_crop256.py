"""jlic's default model, phase H: phase G trained on with 256x256 crops (phases A-G: 128x128) at
phase G's rate, nothing else changed. The larger crops were the lever all along: 614 steps
(22 minutes) bought more than phases F and G together.

    git show d508b79:jlic/assets/default.jlicm > runs/default_model_phase_g.jlicm
    python train.py --config configs/default_model_crop256.py --workdir runs/default_model_crop256 \
        --config.stop_at=614
    jlic export runs/default_model_crop256 -o jlic/assets/default.jlicm --compact

lambda_q = 0.0002 * 4000^((q - 1) / 7) (0.0002 ... 0.8, MSE on 0..255), as phases F and G.
256x256 crops, batch 8, one level per step, Adam 3e-5 after a 50-step warm-up, x0.1 from 85% of
the steps. Measured (2026-11-23, 2-core VM alone, 0.47 steps/s; BENCHMARKS.md "The bundled
default model, phase H"): the bundled file is this run's checkpoint at step 614 (stopped with
SIGTERM, which checkpoints, to leave the session time for its checks; before the x0.1 step;
``stop_at`` repeats that).
Kodak q = 1..8 at 0.039-1.492 bpp (five other photos: 0.052-1.516), 30.11 dB at 0.444 bpp;
BD-rate against phase G -8.7% in PSNR (-12.9% in MS-SSIM) on Kodak, -9.4% (-13.0%) on the other
photos; +18.8% against Pillow WebP, -41.5% against Pillow JPEG. Bundled until phase I
(configs/default_model_crop256_top.py: 2000 more steps, the ladder's top raised) replaced it.
"""

from configs import default_model_polish


def get_config():
    c = default_model_polish.get_config()
    c.init_from = "runs/default_model_phase_g.jlicm"
    c.data.crop = 256
    c.steps = 900
    c.lr_schedule.warmup_steps = 50
    c.checkpoint_every = 300
    c.probe.every = 300
    return c
