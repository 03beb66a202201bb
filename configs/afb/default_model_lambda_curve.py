"""AFB on the phase I default model with lambda following the target (jlic's loss form).

    python train.py --config configs/afb/default_model_lambda_curve.py \
        --workdir runs/afb_lambda_curve
    jlic export runs/afb_lambda_curve -o runs/afb_lambda_curve.jlicm --compact
    python bench/rate_control.py --model runs/afb_lambda_curve.jlicm \
        --out results/afb_lambda_curve_rate_control --closed-loop-targets 0

``configs/afb/default_model_rate_fit.py`` (entropy model fitted to the rate, rate_weight 10)
with ``afb.lambda_curve``: per image, bpp + lambda(B) * 255^2 * MSE + w * (BPF - BPF(B))^2,
lambda(B) interpolated on the phase I model's own curve: its mean estimated rate at q = 1..8
on 24 CID22 training photos (every 8th of cid22/training, sorted) against lambda_q = 0.0002 *
5000^((q - 1) / 7). With one lambda (0.013) for every target, the runs before lost the quality
(closed-loop files 25.5-29.1 dB where the base codes 35.7 dB at 0.5 bpp on kodim23): a target
far from 0.013's own rate (~0.5 bpp) is reached only against the distortion term.
"""

from configs.afb import default_model_rate_fit

# (bpp, lambda_q) of the bundled model, q = 1..8 (2026-12-03)
BASE_CURVE = ((0.0403, 0.0002), (0.0921, 0.000675), (0.2061, 0.00228), (0.4367, 0.007697),
              (0.7060, 0.025985), (0.9372, 0.087731), (1.1301, 0.296194), (1.3654, 1.0))


def get_config():
    c = default_model_rate_fit.get_config()
    c.afb.rate_weight = 10.0
    c.afb.lambda_curve = BASE_CURVE
    return c
