"""The root config: every field training reads, with its unit. Every other config starts from
this one and overrides what its recipe changes (as in Flax's examples).

    python train.py --config configs/default.py --workdir runs/ms     # mbt2018-mean, quality 4

Rates are in bits per pixel, MSE on images in [0, 1], learning rates per step.
"""

import ml_collections


def get_config():
    c = ml_collections.ConfigDict()
    # the model: a name of jlic.models.MODELS and its keyword arguments (per-model extras such
    # as SCR's ``selective`` or AFB's ``rate_range``/``hidden`` are added by those configs);
    # residual / fig2: the bases of jlic.models.afb's docstring (any model takes them);
    # analysis_blocks, synthesis_blocks: counts of extra residual blocks in the plain GDN encoder
    # / decoder (jlic.models.hyperprior's docstring; AFB models refuse any)
    c.model = ml_collections.ConfigDict(dict(
        name="mean_scale", N=128, M=192, eb_filters=(3, 3, 3, 3), residual=False, fig2=False,
        analysis_blocks=0, synthesis_blocks=0))
    c.data = ml_collections.ConfigDict(dict(
        train_dir="../shared/data/train",  # any folder of images, searched recursively
        crop=256,  # square random crops (with flips), pixels; a multiple of 64
        batch_size=8,  # global: divided over every device of every process
        num_threads=2))  # decoding threads per process
    # the loss: "rd" (lmbda * 255^2 * MSE + bpp), "scr" (the multi-level SCR loss, scr.*),
    # "afb" (AFB's rate-aware loss, afb.*); see jlic.train.losses
    c.loss = "rd"
    c.lmbda = 0.0130  # CompressAI's quality 4
    # scr: lambda_q geometric from lambda_min (q = 1) to lambda_max (q = 8), MSE on 0..255
    # (SCR's ladder 0.2 * 2^-(8 - q)); levels_per_step of the 8 levels per step (0: all)
    c.scr = ml_collections.ConfigDict(dict(lambda_min=0.2 / 2**7, lambda_max=0.2,
                                           levels_per_step=0))
    # AFB: clip_targets=False is the paper's (staircase + noise reaching past rate_range);
    # entropy_model_fit "afb_loss" (the paper: every parameter on the AFB loss) or "rate" (the
    # entropy model on bpp + lmbda * D, the transforms on the AFB loss; jlic.train.losses)
    # lambda_curve: () the paper's loss (lmbda for every target), or pairs (bpp, lambda) of a
    # base model's own rate: lambda follows the target (jlic.train.losses.afb_rate_loss)
    # rate_error: "bpf_squared" (the paper) or "log" (ln(R / B)^2; jlic.train.losses)
    c.afb = ml_collections.ConfigDict(dict(lmbda=0.0130, rate_weight=10.0, clip_targets=True,
                                           entropy_model_fit="afb_loss", lambda_curve=(),
                                           rate_error="bpf_squared"))
    # training quantization (jlic.quantize): "noise" (CompressAI's; 3% fewer bits than "mixed"
    # at equal quality in the same-start A/B, BENCHMARKS.md "Training parity"), "ste", "mixed"
    c.quantization = "noise"
    c.steps = 100_000
    # end the run early at this step (checkpointed) when 0 < stop_at < steps: the schedule still
    # spans steps, and re-running with stop_at = 0 resumes to steps (0: run to steps)
    c.stop_at = 0
    c.learning_rate = 1e-4  # Adam, peak
    # schedule of the main learning rate: linear warm-up over warmup_steps, then "step"
    # (x decay_factor from decay_at * steps on) or "cosine" (to decay_factor * peak at the end)
    c.lr_schedule = ml_collections.ConfigDict(dict(
        warmup_steps=0, decay="step", decay_at=0.9, decay_factor=0.1))
    c.aux_learning_rate = 1e-3  # Adam on the factorized prior's quantiles
    c.grad_clip = 1.0  # global norm
    c.gain_lr_multiplier = 1.0  # learning-rate factor of SCR's per-level vectors and AFB's blocks
    # top-level submodules left untrained, e.g. ("g_a",): a decoder and entropy model
    # fine-tuned to hard quantization under a fixed analysis (jlic.train.step)
    c.frozen = ()
    c.compute_dtype = "float32"  # or "bfloat16" (rates and parameters stay float32)
    c.init_from = ""  # a workdir or model file whose matching parameters start this run
    c.init_skip = ()  # parameter names init_from leaves fresh, e.g. ("log_qv", "log_iqv")
    c.seed = 0
    c.log_every = 100  # steps between metric lines
    c.checkpoint_every = 2000  # steps between checkpoints (and at the end, and on SIGTERM)
    # quality probe: every probe.every steps (0: never), the model's RD estimate on the first
    # probe.images images of probe.dir (kept out of training), centre crops of probe.crop
    c.probe = ml_collections.ConfigDict(dict(every=0, dir="", images=4, crop=256))
    return c
