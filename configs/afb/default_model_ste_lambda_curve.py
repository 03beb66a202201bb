"""AFB on the bundled default model: the rate term on the rounded latents, lambda following B.

    python train.py --config configs/afb/default_model_ste_lambda_curve.py \
        --workdir runs/afb_ste_lambda_curve
    jlic export runs/afb_ste_lambda_curve -o runs/afb_ste_lambda_curve.jlicm --compact
    python bench/rate_control.py --model runs/afb_ste_lambda_curve.jlicm \
        --out results/afb_ste_lambda_curve_rate_control --closed-loop-targets 3

``configs/afb/default_model_ste.py`` (phase P base, ``quantization = "ste"``, rate weight 10) with
``afb.lambda_curve`` of ``configs/afb/default_model_lambda_curve.py``: per image, bpp +
lambda(B) * 255^2 * MSE + w * (BPF - BPF(B))^2. With one lambda (0.013, whose own rate is ~0.5
bpp) the rounded-latent run could not write small files (smallest file per image 0.22-0.57 bpp;
one reading: the distortion term holds the rate up); with lambda following the target, a model
on the base's curve minimizes the first two terms at R = B, and the curve's rates are of rounded
latents, what ``ste`` trains on.

Measured (2026-12-03, BENCHMARKS.md "Rounded latents and lambda following the target"; 0.28-0.33
steps/s on 2 cores, 64 min): Kodak open-loop MAE 0.181 bpp (45 targets per image, real files;
one lambda 0.101), mean error per range within +-0.08 bpp above 0.25 bpp but a fan of per-image
slopes (each image lands nearer its own RD-optimal rate at lambda(B)); smallest file per image
0.23-0.42 bpp (one lambda 0.22-0.57: the floor comes mostly from the rounded latents, not the
one lambda); closed-loop files 31.1 dB (one lambda 29.1). Not a default.
"""

from configs.afb import default_model_lambda_curve, default_model_ste


def get_config():
    c = default_model_ste.get_config()
    c.afb.lambda_curve = default_model_lambda_curve.BASE_CURVE
    return c
