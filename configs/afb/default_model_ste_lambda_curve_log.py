"""AFB: the lambda-following model continued 600 steps with the log rate error (w = 18).

    python train.py --config configs/afb/default_model_ste_lambda_curve.py \
        --workdir runs/afb_ste_lambda_curve
    python train.py --config configs/afb/default_model_ste_lambda_curve_log.py \
        --workdir runs/afb_ste_lambda_curve_log
    jlic export runs/afb_ste_lambda_curve_log -o runs/afb_ste_lambda_curve_log.jlicm --compact
    python bench/rate_control.py --model runs/afb_ste_lambda_curve_log.jlicm \
        --out results/afb_ste_lambda_curve_log_rate_control --closed-loop-targets 3

The same loss as ``default_model_ste_log_lambda_curve`` (per image bpp + lambda(B) * 255^2 * MSE
+ 18 ln(R / B)^2), started from the other side: that run continued the one-lambda log-error model
(lands, MAE 0.052, closed-loop files 29.1 dB) and its 600 steps did not undo 3000 steps of one
lambda (1.4 dB below ``afb_ste_lambda_curve`` everywhere); this one continues
``afb_ste_lambda_curve`` (keeps quality, 31.1 dB, but a fan of per-image slopes, MAE 0.18), so
the rate term tightens the landing of a model whose distortion weight already follows B.

Measured (2026-12-04, BENCHMARKS.md "The log error from the lambda-following side"; 0.24-0.32
steps/s on 2 cores, 35 min): Kodak open-loop MAE 0.162 bpp (from 0.181; the top still fans,
0.22-0.27 above 1 bpp), smallest file per image 0.16-0.24 bpp (from 0.23-0.42), and -1.69 dB at
equal sizes against ``afb_ste_lambda_curve`` (-3.1 dB below 0.5 bpp): the landing is bought with
quality from this side too. Not a default.
"""

from configs.afb import default_model_ste_log_lambda_curve


def get_config():
    c = default_model_ste_log_lambda_curve.get_config()
    c.init_from = "runs/afb_ste_lambda_curve"
    return c
