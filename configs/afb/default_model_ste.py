"""AFB on the default model's phase P, its rate term on the rounded latents.

    git show a889327:jlic/assets/default.jlicm > runs/default_model_phase_p.jlicm
    python train.py --config configs/afb/default_model_ste.py --workdir runs/afb_ste
    jlic export runs/afb_ste -o runs/afb_ste.jlicm --compact
    python bench/rate_control.py --model runs/afb_ste.jlicm \
        --out results/afb_ste_rate_control --closed-loop-targets 3

``configs/afb/default_model_rate_fit.py`` with rate_weight 10 (its best-measuring weight) and two
changes. Every AFB model before trained its rate term on the noisy latents (``quantization =
"noise"``), whose estimate lies above what rounding codes where scales are small, and every one
undershot its targets on Kodak files in the middle of the range (0.5-1.0 bpp asked, 0.15-0.18
bpp below). Here ``quantization = "ste"``: the rate term and the decoders see round(y - mean), as
a file does (straight-through gradients), so the loss asks for the rate the file will have. The
base is phase P, the bundled model when this ran, whose synthesis and entropy model were
trained on the rounded latents (its SCR gain vectors are dropped: the base codes with unit
quantization steps).

Measured (2026-12-03, BENCHMARKS.md "The rate term on the rounded latents"; 0.24-0.26 steps/s on
2 cores, 68 min): Kodak open-loop MAE **0.101 bpp** (45 targets per image, real files; the noise
run 0.124), the mid-range bias gone (mean error +0.035 / +0.001 / -0.002 bpp at 0.5-0.75 /
0.75-1.0 / 1.0-1.25; noise -0.18 / -0.13 / -0.06); what is left is the spread between images and a
floor at the low end (smallest file per image 0.22-0.57 bpp: targets below 0.25 overshot by 0.20).
Closed-loop files 29.1 dB, as the noise run. Not the paper's 0.06; not a default.
"""

from configs.afb import default_model_rate_fit


def get_config():
    c = default_model_rate_fit.get_config()
    c.init_from = "runs/default_model_phase_p.jlicm"
    c.quantization = "ste"
    c.afb.rate_weight = 10.0
    return c
