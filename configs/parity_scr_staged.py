"""SCR in the paper's three stages on the equal-budget recipe, against the fixed-rate parity runs.

    C=configs/parity_scr_staged.py
    python train.py --config $C:1 --workdir runs/pss1
    python train.py --config $C:2 --workdir runs/pss2 --config.init_from=runs/pss1
    python train.py --config $C:3 --workdir runs/pss3 --config.init_from=runs/pss2
    python train.py --config $C:2 --workdir runs/pss2b --config.init_from=runs/pss2
    jlic export runs/pss3 -o runs/pss_scr.jlicm; jlic export runs/pss2b -o runs/pss_wosc.jlicm
    python eval.py --model scr=runs/pss_scr.jlicm --model scr_wosc=runs/pss_wosc.jlicm \
        --refs results/train_parity/jlic_noise.json --baselines "" \
        --out results/scr_staged_vs_fixed_rate

The budget is that of the four fixed-rate models SCR replaces
(results/train_parity/jlic_noise.json: lambda 0.0035 / 0.0067 / 0.013 / 0.025, 3156 steps
each, 12624 in all), split into three equal stages of 4208 steps, one SCR level per step (so a
step costs what a fixed-rate step does):

- stage 1 (``:1``): the single-rate base at the ladder's top, lambda 0.2, the parity recipe
  (mean-scale N=64 M=96, 128x128 crops, batch 8, Adam 1e-3 with x0.1 at 90%, uniform noise);
- stage 2 (``:2``): SCR's gain units (QV/IQV) over the 8 levels, lambda_q = 0.2 * 2^-(8 - q),
  Adam 1e-4 (the per-level vectors 30x), without selective compression; run again from its
  own end it is the w/o-SC ablation at equal steps (the paper's released-results comparison);
- stage 3 (``:3``): the importance map and adjustment curves added, same loss and rates.

q = 2..5 sit at 0.0031 / 0.0063 / 0.0125 / 0.025, beside the fixed-rate lambdas.
Result (Kodak, real files): SCR -30.4% BD-rate against the four fixed-rate models, -0.75%
against w/o SC (BENCHMARKS.md "Staged SCR at the fixed-rate runs' total budget"). Per model,
one fixed-rate run given SCR's whole budget (``python train.py --config configs/parity.py
--workdir runs/pfr013 --config.steps=12624``) codes 0.566 bpp / 30.71 dB, 1.3 dB above this
SCR's curve at that rate; the four lambdas at 12624 steps each (``--config.lmbda=...``, one
curve: ``eval.py --model fixed=A,B,C,D``) are -33.5% BD-rate against this SCR (SCR +50.5%
against them): at this budget the steps, not the number of models, decide.

At four times the budget (``--config.steps=16832`` for each stage, 50496 steps in all, the four
12624-step fixed-rate models' total; ~75 minutes a stage on 2 cores), SCR is **-14.1%** BD-rate
against those four (MS-SSIM -4.7%) and spans 0.17-1.08 bpp (BENCHMARKS.md "Staged SCR given the
four fixed-rate models' whole budget"); its w/o-SC ablation at that budget (``:2`` run on from
stage 2 for 16832 steps) puts SCR at +10.8% against its own variant without selective
compression at equal steps, both from one stage 2 (at 12624 steps: -0.75%). Run again with
``--config.seed=1``, the w/o-SC arm reproduces (-0.14%) and stage 3 does not: three stage-3 runs
are +2.6%, +7.1% and +10.7% against it (the last two exported after the fix of the files' mask
at gamma < 0.05, which opened q = 7-8 to 95-100% of y; BENCHMARKS.md "Which arm spreads").
2000 more steps of each arm keep SCR +8.5% behind; trained on the test-time threshold mask
instead of the Bernoulli sample, SCR loses 12.3% more (BENCHMARKS.md "Training with the
test-time mask"). The deficit is the mask's: the same SCR models with every element coded are
5-9% BD-rate better than with their mask and ~2.2% behind w/o SC (``bench/scr_mask_value.py``,
BENCHMARKS.md "What the mask buys"); a quarter of the way into stage 3 the mask still bought
0.9%, and lost it as the adjustment curves closed it at q = 1..6; with the per-level vectors at
the base learning rate (``--config.gain_lr_multiplier=1`` for stage 3) the curves move much less and
SCR is +5.0% against w/o SC (the 30x run from the same stage 2: +10.7%; BENCHMARKS.md "Stage 3
with the per-level vectors at the base learning rate"). Per model, the fixed-rate runs
given this whole budget (``--config.steps=50496``) code 0.254 bpp / 28.72 dB at lambda 0.0035,
0.382 / 30.34 at 0.0067, 0.520 / 31.54 at 0.013 and 0.677 / 32.33 at 0.025, 0.44-0.85 dB above
the three SCR runs' curves at their rates (0.30-0.44 dB above w/o SC; for the upper three
26-69% of the 12624-step gap); over their range SCR is +13.0% to +24.5% in BD-rate against them
(w/o SC +9.2%; the upper three alone: +15.5% to +28.2%; BENCHMARKS.md "Fixed-rate models given
SCR's whole long budget").
"""

from configs import parity

STAGE_STEPS = 12624 // 3


def get_config(stage="1"):
    if stage not in ("1", "2", "3"):
        raise ValueError(f"parity_scr_staged: stage is 1, 2 or 3, not {stage!r}")
    c = parity.get_config()
    c.steps = STAGE_STEPS
    if stage == "1":
        c.lmbda = c.scr.lambda_max
        return c
    c.model.name = "scr_mean_scale"
    c.model.selective = stage == "3"
    c.loss = "scr"
    c.scr.levels_per_step = 1
    c.learning_rate = 1e-4
    c.gain_lr_multiplier = 30.0
    return c
