"""The training loop: one linear function from a config to a trained, checkpointed state.

    train(config, workdir) -> TrainState

Auto-resumes from the latest checkpoint in ``workdir/checkpoints``; a fresh run with
``config.init_from`` (a workdir or model file) starts from that run's matching parameters (how
staged recipes chain: SCR stage 2 from stage 1, AFB stage 2 from stage 1). Writes the config to
``workdir/config.json`` (which ``jlic export`` reads), metrics to ``metrics.jsonl`` and
``tensorboard/``. The step PRNG key is ``fold_in(key(config.seed), step)``.
"""

from __future__ import annotations

import inspect
import json
import logging
import math
import os
import signal

import jax
import jax.numpy as jnp
import ml_collections
import optax
from flax import nnx
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

from jlic.entropy.factorized import Quantiles
from jlic.files import atomic_write
from jlic.frozen import FrozenModel, flat_arrays, flat_variables
from jlic.models import MODELS, build_model
from jlic.quantize import QUANTIZATION_MODES
from jlic.train import data as data_lib
from jlic.train.checkpoint import Checkpointer
from jlic.train.losses import ENTROPY_MODEL_FITS, RATE_ERRORS, afb_target_step, make_loss
from jlic.train.metrics import MetricWriter
from jlic.train.probe import check_held_out, make_probe
from jlic.train.step import init_train_state, make_train_step

log = logging.getLogger(__name__)

REQUIRED_FIELDS = ("model.name", "data.train_dir", "data.crop", "data.batch_size",
                   "data.num_threads", "loss", "quantization", "steps", "stop_at",
                   "learning_rate", "lr_schedule.warmup_steps", "lr_schedule.decay",
                   "lr_schedule.decay_at", "lr_schedule.decay_factor", "aux_learning_rate",
                   "grad_clip", "gain_lr_multiplier", "frozen", "compute_dtype", "init_from",
                   "init_skip", "seed", "log_every", "checkpoint_every", "probe.every",
                   "probe.dir", "probe.images", "probe.crop")
# (configs/default.py declares every field; other configs override it)
LOSS_FIELDS = {"rd": ("lmbda",),
               "scr": ("scr.lambda_min", "scr.lambda_max", "scr.levels_per_step"),
               "afb": ("afb.lmbda", "afb.rate_weight", "afb.clip_targets", "afb.entropy_model_fit",
                       "afb.lambda_curve", "afb.rate_error", "model.rate_range")}


class ConfigError(ValueError):
    """A config that is missing a field or holds an unusable value."""


def _field(config, field):
    node = config
    for part in field.split("."):
        if part not in node:
            raise ConfigError(f"config is missing the field {field!r}")
        node = node[part]
    return node


def _number(config, field, *, integer=False, minimum=None, positive=False):
    v = _field(config, field)
    kinds = (int,) if integer else (int, float)
    if isinstance(v, bool) or not isinstance(v, kinds) or not math.isfinite(v):
        raise ConfigError(f"config field {field!r} must be a finite "
                          f"{'integer' if integer else 'number'} (got {v!r})")
    if (positive and v <= 0) or (minimum is not None and v < minimum):
        raise ConfigError(f"config field {field!r} must be "
                          f"{'> 0' if positive else f'>= {minimum}'} (got {v!r})")
    return v


def _one_of(config, field, allowed):
    v = _field(config, field)
    if v not in allowed:
        raise ConfigError(f"unknown {field} {v!r}; known: {', '.join(map(str, allowed))}")


def _validate_model_and_data(config):
    _one_of(config, "model.name", sorted(MODELS))
    for field in ("model.N", "model.M"):
        if field.split(".")[1] in config.model:
            _number(config, field, integer=True, positive=True)
    for field in ("model.analysis_blocks", "model.synthesis_blocks"):
        if field.split(".")[1] in config.model and _number(config, field, integer=True,
                                                           minimum=0):
            if (config.model.name == "afb_mean_scale" or config.model.get("residual")
                    or config.model.get("fig2")):
                raise ConfigError(f"{field} deepens the plain GDN transforms of the mean-scale "
                                  "and SCR models only (not AFB, residual or fig2)")
    if _number(config, "data.crop", integer=True, positive=True) % 64:
        raise ConfigError(f"data.crop must be a positive multiple of 64 "
                          f"(got {config.data.crop})")
    _number(config, "data.batch_size", integer=True, positive=True)
    _number(config, "data.num_threads", integer=True, positive=True)


def _validate_optimization(config):
    _one_of(config, "quantization", QUANTIZATION_MODES)
    _one_of(config, "compute_dtype", ("float32", "bfloat16"))
    _one_of(config, "lr_schedule.decay", ("step", "cosine"))
    for field in ("steps", "stop_at", "seed", "lr_schedule.warmup_steps"):
        _number(config, field, integer=True, minimum=0)
    for field in ("log_every", "checkpoint_every"):
        _number(config, field, integer=True, positive=True)
    for field in ("learning_rate", "aux_learning_rate", "grad_clip", "gain_lr_multiplier",
                  "lr_schedule.decay_factor"):
        _number(config, field, positive=True)
    if not 0 <= _number(config, "lr_schedule.decay_at", minimum=0) <= 1:
        raise ConfigError("lr_schedule.decay_at is a fraction of the steps, in [0, 1]")
    _validate_loss(config)


def _validate_loss(config):
    for field in LOSS_FIELDS[config.loss]:
        if field == "scr.levels_per_step":
            _number(config, field, integer=True, minimum=0)
        elif field == "afb.clip_targets":
            if not isinstance(_field(config, field), bool):
                raise ConfigError("afb.clip_targets must be True or False")
        elif field == "afb.entropy_model_fit":
            _one_of(config, field, ENTROPY_MODEL_FITS)
        elif field == "afb.rate_error":
            _one_of(config, field, RATE_ERRORS)
        elif field == "afb.lambda_curve":
            _check_lambda_curve(_field(config, field))
        elif field != "model.rate_range":
            _number(config, field, positive=True)
    if config.loss == "afb":
        _check_afb_targets(config)
    if config.loss == "scr" and config.scr.lambda_min > config.scr.lambda_max:
        raise ConfigError(f"scr.lambda_min ({config.scr.lambda_min}) must not exceed "
                          f"scr.lambda_max ({config.scr.lambda_max})")


def _positive_finite(v) -> bool:
    """A finite number > 0 (not a bool)."""
    return isinstance(v, (int, float)) and not isinstance(v, bool) and 0 < v < float("inf")


def _check_afb_targets(config):
    """model.rate_range is 0 < lo <= hi (bpp); the log rate error needs every target positive,
    so without clipping the staircase's noise may not reach 0 (lo - d/2, d its step)."""
    r = _field(config, "model.rate_range")
    if not (isinstance(r, (list, tuple)) and len(r) == 2 and all(map(_positive_finite, r))
            and r[0] <= r[1]):
        raise ConfigError(f"model.rate_range must be (lo, hi) in bpp with 0 < lo <= hi, got {r!r}")
    lowest = r[0] - afb_target_step(config.data.batch_size, r) / 2
    if config.afb.rate_error == "log" and not config.afb.clip_targets and lowest <= 0:
        raise ConfigError(f"afb.rate_error='log' needs positive targets, but without clipping "
                          f"they reach {lowest:.3f} bpp (model.rate_range {tuple(r)}, "
                          f"data.batch_size {config.data.batch_size}); set afb.clip_targets "
                          "or raise the range's low end")


def _check_lambda_curve(curve):
    """() or at least two (bpp, lambda) pairs, both positive, bpp increasing."""
    pairs = [tuple(p) for p in curve] if isinstance(curve, (list, tuple)) else None
    ok = pairs is not None and (not pairs or (
        len(pairs) >= 2 and all(len(p) == 2 for p in pairs)
        and all(_positive_finite(v) for p in pairs for v in p)
        and all(a[0] < b[0] for a, b in zip(pairs[:-1], pairs[1:], strict=True))))
    if not ok:
        raise ConfigError("afb.lambda_curve must be () or at least two (bpp, lambda) pairs of "
                          f"positive numbers with increasing bpp, got {curve!r}")


def _validate_probe(config):
    for field in ("probe.every", "probe.images"):
        _number(config, field, integer=True, minimum=0)
    if _number(config, "probe.crop", integer=True, positive=True) % 64:
        raise ConfigError("probe.crop must be a multiple of 64")
    if config.probe.every:
        if not os.path.isdir(config.probe.dir):
            raise ConfigError(f"probe.dir {config.probe.dir!r} is not a folder of images")
        if not check_held_out(config.probe.dir, config.data.train_dir):
            raise ConfigError("probe.dir must be kept out of training (it overlaps "
                              "data.train_dir)")


def validate_config(config: ml_collections.ConfigDict) -> None:
    """Checks every field's presence, type and range before any work is done."""
    for field in REQUIRED_FIELDS:
        _field(config, field)
    _one_of(config, "loss", tuple(LOSS_FIELDS))
    for field in LOSS_FIELDS[config.loss]:
        _field(config, field)
    _validate_model_and_data(config)
    _validate_optimization(config)
    _validate_probe(config)


def _with_defaults(model_config) -> dict:
    """A model config (JSON values) with the constructor's defaults filled in, so that a run
    written before a field existed compares equal to today's config of the same model."""
    cfg = json.loads(json.dumps(model_config))
    cls = MODELS.get(cfg.get("name")) if isinstance(cfg, dict) else None
    if cls is not None:
        for name, p in inspect.signature(cls.__init__).parameters.items():
            if p.default is not inspect.Parameter.empty and name != "dtype":
                cfg.setdefault(name, json.loads(json.dumps(p.default)))
    return cfg


def check_resumable(config: ml_collections.ConfigDict, workdir: str) -> None:
    """A workdir that already holds a run may only be resumed with the same model: a re-run
    with other sizes must not touch it (its config.json still exports its checkpoints)."""
    path = os.path.join(workdir, "config.json")
    if not os.path.isfile(path) or not os.path.isdir(os.path.join(workdir, "checkpoints")):
        return
    try:
        with open(path) as f:
            previous = json.load(f).get("model")
    except (OSError, ValueError, AttributeError):
        raise ConfigError(f"{workdir!r} holds a run whose config.json is unreadable; use "
                          "another workdir") from None
    if _with_defaults(previous) != _with_defaults(config.model.to_dict()):
        raise ConfigError(f"{workdir!r} holds a run of another model ({previous}); resume it "
                          "with the same model config or train in a new workdir")


def _frozen_modules(config, params) -> tuple[str, ...]:
    """``config.frozen`` checked against the model's top-level submodules."""
    frozen = config.frozen
    known = sorted(params.keys())
    if not isinstance(frozen, (list, tuple)) or any(name not in known for name in frozen):
        raise ConfigError(f"frozen must be a tuple of the model's submodules ({', '.join(known)})"
                          f", got {frozen!r}")
    if set(frozen) == set(known):
        raise ConfigError("frozen names every submodule: nothing would be trained")
    return tuple(frozen)


def prepare_workdir(workdir: str) -> None:
    try:
        os.makedirs(workdir, exist_ok=True)
        probe = os.path.join(workdir, f".write_test_{os.getpid()}")
        with open(probe, "w") as f:
            f.write("ok")
        os.remove(probe)
    except OSError as e:
        raise ConfigError(f"workdir {workdir!r} is not writable: {e.strerror or e}") from None


def model_from_config(config, seed: int = 0, dtype=jnp.float32) -> nnx.Module:
    kwargs = {k: v for k, v in config.model.items() if k != "name"}
    return build_model(config.model.name, nnx.Rngs(seed), dtype=dtype, **kwargs)


# the parameters that act on the rate input: SCR's per-level vectors, AFB's attention blocks
GAIN_PARAMS = ("log_qv", "log_iqv", "log_gamma", "afb_g_a", "afb_h_a", "afb_h_s", "afb_g_s")


def _gain_labels(params):
    def label(path, _):
        names = {getattr(k, "key", None) for k in path}
        return "gain" if names & set(GAIN_PARAMS) else "main"

    return jax.tree_util.tree_map_with_path(label, params)


def learning_rate_schedule(config, peak: float):
    """``config.lr_schedule`` as an optax schedule (step -> learning rate): linear warm-up from
    0 over ``warmup_steps``, then constant with a x``decay_factor`` step at ``decay_at`` of the
    steps ("step"), or a cosine from the peak to ``decay_factor * peak`` at the end."""
    s = config.lr_schedule
    warmup = int(s.warmup_steps)
    if s.decay == "cosine":
        main = optax.cosine_decay_schedule(peak, max(config.steps - warmup, 1), s.decay_factor)
    else:
        main = optax.piecewise_constant_schedule(
            peak, {max(int(config.steps * s.decay_at) - warmup, 0): s.decay_factor})
    if not warmup:
        return main
    return optax.join_schedules([optax.linear_schedule(0.0, peak, warmup), main], [warmup])


def make_optimizers(config, gain_lr_multiplier: float | None = None):
    """Adam with gradient clipping and ``learning_rate_schedule``; ``gain_lr_multiplier``
    (default: the config's) scales the learning rate of the parameters that act on the rate
    input (``GAIN_PARAMS``: SCR's per-level vectors, few parameters that move far: QV spans
    ~10x over the levels; AFB's attention blocks, new in stage 2 while the base is trained
    already). The optimizer state's
    structure depends on the multiplier only, not on the schedule."""
    def adam(multiplier):
        return optax.adam(learning_rate_schedule(config, config.learning_rate * multiplier))

    mult = config.gain_lr_multiplier if gain_lr_multiplier is None else gain_lr_multiplier
    inner = adam(1.0) if mult == 1.0 else optax.multi_transform(
        {"main": adam(1.0), "gain": adam(mult)}, _gain_labels)
    tx = optax.chain(optax.clip_by_global_norm(config.grad_clip), inner)
    return tx, optax.adam(config.aux_learning_rate)


class _StopRequest:
    """Set by SIGTERM/SIGINT: the loop saves a checkpoint after the current step and returns."""

    def __init__(self):
        self.requested = False

    def __call__(self, signum, frame):
        self.requested = True


def train(config: ml_collections.ConfigDict, workdir: str):
    """Trains on every device of every process (data parallel over mesh axis "data").

    ``config.data.batch_size`` is the global batch: it must divide by the device count; each
    process loads its own shard of the images and its part of each batch.
    """
    validate_config(config)
    n_dev, n_proc, pid = jax.device_count(), jax.process_count(), jax.process_index()
    if config.data.batch_size % n_dev:
        raise ConfigError(f"data.batch_size = {config.data.batch_size} must be a multiple of the "
                          f"number of devices ({n_dev})")
    prepare_workdir(workdir)
    check_resumable(config, workdir)
    if pid == 0:
        atomic_write(os.path.join(workdir, "config.json"), config.to_json(indent=2).encode())

    folder = data_lib.scan_images(config.data.train_dir, config.data.crop)
    dataset = data_lib.make_dataset(folder, crop=config.data.crop,
                                    batch_size=config.data.batch_size // n_proc,
                                    seed=config.seed, shard_index=pid, shard_count=n_proc)
    with open(os.path.join(workdir, f"data_shard_{pid}_of_{n_proc}.json"), "w") as f:
        json.dump(list(folder.paths[pid::n_proc]), f)  # the images this process reads
    data_iter = data_lib.make_iterator(dataset, config.data.num_threads)

    dtype = jnp.dtype(config.compute_dtype)
    model = model_from_config(config, config.seed, dtype)
    tx, aux_tx = make_optimizers(config)
    graphdef, state = init_train_state(model, tx, aux_tx)
    frozen = _frozen_modules(config, state.params)  # before any checkpoint is read
    del model

    # Data parallel: batch sharded over "data", everything else replicated. For models too
    # large to replicate, give params/opt_state a PartitionSpec over a second mesh axis here.
    mesh = jax.make_mesh((n_dev,), ("data",), axis_types=(jax.sharding.AxisType.Auto,))
    replicated = NamedSharding(mesh, P())
    batch_sharding = NamedSharding(mesh, P("data"))
    state = jax.device_put(state, replicated)

    ckpt = Checkpointer(workdir)
    if ckpt.latest_step() is not None:  # restores straight into the replicated sharding
        state, data_iter = ckpt.restore(state, data_iter)
        log.info("resumed from step %d", int(state.step))
    elif config.init_from:
        state = jax.device_put(init_from(jax.device_get(state), tx, aux_tx, config.init_from,
                                         tuple(config.init_skip)), replicated)
    start = int(state.step)

    step_fn = jax.jit(make_train_step(graphdef, tx, aux_tx, make_loss(config), frozen),
                      in_shardings=(replicated, batch_sharding, replicated),
                      out_shardings=(replicated, replicated), donate_argnums=0)
    base_key = jax.random.key(config.seed)
    probe = make_probe(config, graphdef, nnx.merge(graphdef, state.params,
                                                   state.quantiles).rate_spec)
    end = min(config.stop_at or config.steps, config.steps)  # the schedule spans config.steps
    writer = MetricWriter(workdir, total_steps=end, initial_step=start,
                          enabled=pid == 0)
    stop = _StopRequest()
    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        for step in range(start, end):
            local = next(data_iter)
            batch = jax.make_array_from_process_local_data(batch_sharding, local)
            state, metrics = step_fn(state, batch, jax.random.fold_in(base_key, step))
            done = step + 1
            writer.advance()
            if done % config.log_every == 0 or done == end:
                writer.write(done, jax.device_get(metrics))
            if probe is not None and (done % config.probe.every == 0 or done == end):
                writer.write_probe(done, probe(state.params, state.quantiles))
            preempted = stop.requested or (n_proc > 1 and ckpt.manager.reached_preemption(done))
            if done % config.checkpoint_every == 0 or done == end or preempted:
                ckpt.save(done, state, data_iter, force=True)
            if preempted:
                log.warning("stopping at step %d on request; the checkpoint resumes it", done)
                break
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        ckpt.wait()
        ckpt.close()
        writer.close()
    if int(state.step) == end < config.steps:
        log.warning("stopped at step %d of %d (stop_at); re-running with --config.stop_at=0 "
                    "resumes to the end", end, config.steps)
    return graphdef, state


def load_trained(workdir: str, step: int | None = None):
    """The model of a training workdir at its latest (or the given) checkpoint.

    -> (config, model); raises ConfigError if ``workdir`` holds no run."""
    config_path = os.path.join(workdir, "config.json")
    if not os.path.isfile(config_path):
        raise ConfigError(f"{workdir!r} is not a training workdir (no config.json)")
    with open(config_path) as f:
        config = ml_collections.ConfigDict(json.load(f))
    ckpt = Checkpointer(workdir)
    try:
        if ckpt.latest_step() is None:
            raise ConfigError(f"{workdir!r} holds no checkpoint yet")
        # the template's structure needs only the gain multiplier (absent from config.json
        # files written before the field existed: 1, as they trained); the schedule is
        # irrelevant to it, so any learning rate builds it
        constant = ml_collections.ConfigDict(dict(
            learning_rate=1.0, aux_learning_rate=1.0, steps=1, grad_clip=1.0,
            lr_schedule=dict(warmup_steps=0, decay="step", decay_at=1.0, decay_factor=1.0)))
        tx, aux_tx = make_optimizers(constant, config.get("gain_lr_multiplier", 1.0))
        graphdef, template = init_train_state(model_from_config(config), tx, aux_tx)
        state = ckpt.restore_state(template, step)
    finally:
        ckpt.close()
    return config, nnx.merge(graphdef, state.params, state.quantiles), int(state.step)


def init_from(state, tx, aux_tx, source: str, skip=()):
    """Initialises every parameter whose path and shape match from another run (a workdir or
    a .jlicm model file) and whose path contains none of the names in ``skip`` (e.g.
    ``("log_qv", "log_iqv")``: SCR stage 3 as the released code, which restarts the gain
    vectors); the others keep their fresh initialisation. Optimizer states start fresh. Logs
    what was copied and what is new."""
    if os.path.isfile(source):
        flat = FrozenModel.load(source).params
    else:
        _, other, _ = load_trained(source)
        _, p, q = nnx.split(other, nnx.Param, Quantiles)
        flat = {**flat_arrays(p), **flat_arrays(q)}
    copied, fresh = [], []

    def fill(tree):
        for key, var in flat_variables(tree):
            skipped = any(name in key.split("/") for name in skip)
            if key in flat and flat[key].shape == var.get_value().shape and not skipped:
                var.set_value(jnp.asarray(flat[key], var.get_value().dtype))  # compact: f16
                copied.append(key)
            else:
                fresh.append(key)
        return tree

    params, quantiles = fill(state.params), fill(state.quantiles)
    if not copied:
        raise ConfigError(f"init_from {source!r}: no parameter matches this model")
    log.warning("initialised %d parameter arrays from %s; %d are new: %s", len(copied), source,
                len(fresh), ", ".join(fresh) or "none")
    return state.replace(params=params, quantiles=quantiles, opt_state=tx.init(params),
                         aux_opt_state=aux_tx.init(quantiles))

