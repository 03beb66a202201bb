"""jlic's default model, phase T3 (experiment, started 2026-12-06, session 51): phase T's decoder
trained on for 6000 steps (four of phase T's cycles in one schedule), everything else frozen,
so every file keeps the bundled model's bits and decodes to a better image.

    git show f5a1b3a:jlic/assets/default.jlicm > runs/default_model_phase_t.jlicm
    python train.py --config configs/default_model_deep_decoder_long.py \
        --workdir runs/default_model_deep_decoder_long      # re-run to resume
    jlic export runs/default_model_deep_decoder_long -o runs/default_model_phase_t3.jlicm --compact

``configs/default_model_deep_decoder.py``'s recipe (256x256 crops, batch 8, one level per step,
rounded latents, Adam 5e-5 after a 100-step warm-up, x0.1 from 85% of the steps) over 6000
steps: about 2 hours alone on 2 cores. Why: a second 1500-step cycle from phase T gained
-0.55% BD-rate on Kodak (-0.41% on five other photos; BENCHMARKS.md "A second decoder cycle"),
so the decoder is not saturated after one. Expected: more than that second cycle; measured:
not yet (the run did not finish within session 51).
"""

from configs import default_model_deep_decoder


def get_config():
    c = default_model_deep_decoder.get_config()
    c.init_from = "runs/default_model_phase_t.jlicm"
    c.steps = 6000
    c.checkpoint_every = 250
    c.probe.every = 500
    return c
