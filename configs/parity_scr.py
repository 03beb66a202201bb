"""SCR on the equal-budget recipe of configs/parity.py: one selective model for qualities 1..8,
against the fixed-rate parity runs (one model per lambda, same steps each).

    python train.py --config configs/parity_scr.py --workdir runs/parity_scr
    python eval.py --model scr=runs/parity_scr.jlicm --refs results/train_parity/jlic_noise.json \
        --baselines "" --out results/scr_vs_fixed_rate

mean-scale N=64 M=96 with SCR's gain units, importance map and adjustment curves, trained from
scratch in one stage (the paper trains three; this is the budget of a single fixed-rate run),
128x128 crops, batch 8, one of the 8 levels per step, Adam 1e-3 with x0.1 at 90%, 3156 steps.
lambda_q = 0.2 * 2^-(8 - q): q = 2..5 sit at 0.0031 / 0.0063 / 0.0125 / 0.025, next to the
fixed-rate runs' 0.0035 / 0.0067 / 0.013 / 0.025 (results/train_parity/jlic_noise.json).
Result: BENCHMARKS.md "SCR against fixed-rate models".
"""

from configs import parity


def get_config():
    c = parity.get_config()
    c.model.name = "scr_mean_scale"
    c.model.selective = True
    c.loss = "scr"
    c.scr.levels_per_step = 1
    return c
