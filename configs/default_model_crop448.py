"""jlic's default model, phase K (experiment): phase I (the bundled file) trained on with
448x448 crops of the 512x512 CID22 photos, batch 4, at phase I's rate. 128 -> 256 crops bought
11% BD-rate in 614 steps (phase H); at 256 the hyperlatent z of a crop is 4x4, three quarters of
it on the border, where a Kodak image's is 12x8. This asks whether larger crops buy more.

    git show 43b1e7f:jlic/assets/default.jlicm > runs/default_model_phase_i.jlicm
    python train.py --config configs/default_model_crop448.py --workdir runs/default_model_crop448
    jlic export runs/default_model_crop448 -o runs/default_model_phase_k.jlicm --compact

lambda_q = 0.0002 * 5000^((q - 1) / 7) as phase I. 448x448 crops (z: 7x7) of CID22 only
(BSDS500's 481x321 photos would be reflect-padded), batch 4 (1.5x the pixels of phase I's step),
Adam 3e-5 after a 50-step warm-up, x0.1 from 85% of the steps. Measured (2026-12-03, 2-core VM,
40 minutes at 0.41-0.46 steps/s; BENCHMARKS.md "Where the top of the range is capped, and phase
K"): Kodak +0.98% BD-rate in PSNR against phase I (-0.71% in MS-SSIM), five other photos -1.26%;
+18.4% / +12.8% against Pillow WebP. Larger crops buy nothing more at this budget; not bundled.
"""

from configs import default_model_crop256_top


def get_config():
    c = default_model_crop256_top.get_config()
    c.init_from = "runs/default_model_phase_i.jlicm"
    c.data.train_dir = "../shared/data/train/cid22"
    c.data.crop = 448
    c.data.batch_size = 4
    c.steps = 1000
    c.checkpoint_every = 100
    c.probe.every = 250
    return c
