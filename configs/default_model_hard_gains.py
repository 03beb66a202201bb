"""jlic's default model, phase N (experiment, not bundled): phase M's gain vectors re-fitted to
the raised ladder.

Under "ste" (phases L and M) the straight-through gradient cannot see what a finer quantizer
buys (round(v) passes v's gradient unchanged, so the rounding error's dependence on qv is
invisible): raising the ladder's top to 1.15 in phase M left q = 8 at 1.487 bpp on Kodak. Here
only SCR's gain vectors (log_qv, log_iqv) train, under uniform noise, whose variance does depend
on qv; every transform and the entropy model stay as phase M made them.

    jlic export runs/default_model_hard_top -o runs/default_model_phase_m.jlicm --compact
    python train.py --config configs/default_model_hard_gains.py \
        --workdir runs/default_model_hard_gains
    jlic export runs/default_model_hard_gains -o runs/default_model_phase_n.jlicm --compact

lambda_q = 0.0002 * 5750^((q - 1) / 7) as phase M; 256x256 crops, batch 8, one level per step,
Adam 3e-4 on the gain vectors (3e-5 x 10) after a 50-step warm-up, x0.1 from 85% of the steps.
Measured (2026-12-03, 6 minutes): q = 8 at 1.497 bpp on Kodak, +0.89% BD-rate against phase M:
gains fitted under noise after the hard phase no longer match the decoder fitted to the old
ones. Phases O and P reverse the order (gains first, then hard with the gains frozen).
"""

from configs import default_model_hard_top


def get_config():
    c = default_model_hard_top.get_config()
    c.init_from = "runs/default_model_phase_m.jlicm"
    c.quantization = "noise"
    c.frozen = ("g_a", "g_s", "h_a", "h_s", "entropy_bottleneck")
    c.gain_lr_multiplier = 10.0
    c.steps = 400
    c.probe.every = 200
    return c
