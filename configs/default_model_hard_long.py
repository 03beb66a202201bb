"""jlic's default model, phase R: phase P's hard phase continued for 2000 more steps.

Phase L's probe still crept up at its last step (the soft-then-hard gain comes mostly in the
first 250 steps, then slowly); this asks how much of it is left. As phase P: the analysis g_a
and the gain vectors frozen, "ste" quantization (rate and decoders see the rounded latents),
from phase P's file with a fresh Adam state.

    python train.py --config configs/default_model_hard_long.py \
        --workdir runs/default_model_hard_long
    jlic export runs/default_model_hard_long -o runs/default_model_phase_r.jlicm --compact

lambda_q as phase P (0.0002 * 7500^((q - 1) / 7)); 256x256 crops, batch 8, one level per step,
Adam 3e-5 after a 50-step warm-up, x0.1 from 85% of the steps. Measured (2026-12-03, 2-core VM,
~1 step/s): the probe (4 Kodak crops, the model's estimate) at step 500 q = 4.5 0.5732 bpp /
31.92 dB, q = 8 1.5162 / 35.13; at step 1000 0.5709 / 31.92, 1.5115 / 35.11, at or below phase
P's last (0.5712 / 31.93, 1.5117 / 35.14): the hard phase had converged at this rate, so the run
was stopped at step 1185 (SIGTERM; re-running resumes it) and not evaluated. Not bundled.
"""

from configs import default_model_top_hard


def get_config():
    c = default_model_top_hard.get_config()
    c.init_from = "runs/default_model_phase_p.jlicm"
    c.steps = 2000
    c.probe.every = 500
    return c
