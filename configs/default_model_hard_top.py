"""jlic's default model, phase M (experiment, not bundled): phase L (configs/default_model_hard.py,
soft then hard: g_a frozen, "ste") trained on as phase L with the ladder's top raised (1.0 ->
1.15), so that q = 8 clears 1.5 bpp on Kodak again (phase L: 1.485).

    jlic export runs/default_model_hard -o runs/default_model_phase_l.jlicm --compact
    python train.py --config configs/default_model_hard_top.py --workdir runs/default_model_hard_top
    jlic export runs/default_model_hard_top -o runs/default_model_phase_m.jlicm --compact

lambda_q = 0.0002 * 5750^((q - 1) / 7) (0.0002 ... 1.15, MSE on 0..255); 256x256 crops, batch 8,
one level per step, Adam 3e-5 after a 50-step warm-up, x0.1 from 85% of the steps. Measured
(2026-12-03, 22 minutes; BENCHMARKS.md "The bundled default model, phase P"): Kodak -0.46%
BD-rate against phase L, but q = 8 stayed at 1.487 bpp: under "ste" the gain vectors do not
follow the ladder (configs/default_model_top_gains.py, phase O, says why).
"""

from configs import default_model_hard


def get_config():
    c = default_model_hard.get_config()
    c.init_from = "runs/default_model_phase_l.jlicm"
    c.scr.lambda_max = 1.15
    return c
