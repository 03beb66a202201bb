"""The training loop: one linear function from a config to a trained, checkpointed state.

    train(config, workdir) -> TrainState

Auto-resumes from the latest checkpoint in ``workdir/checkpoints``; a fresh run with
``config.init_from`` (a workdir or model file) starts from that run's matching parameters (how
staged recipes chain: SCR stage 2 from stage 1, AFB stage 2 from stage 1). Writes the config to
``workdir/config.json`` (which ``jlic export`` reads), metrics to ``metrics.jsonl`` and
``tensorboard/``. The step PRNG key is ``fold_in(key(config.seed), step)``.
"""

from __future__ import annotations

import json
import logging
import os
import signal

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
from flax import nnx
from jax.sharding import NamedSharding, PartitionSpec as P

from jlic.entropy.factorized import Quantiles
from jlic.frozen import flat_arrays
from jlic.models import build_model
from jlic.train import data as data_lib
from jlic.train.checkpoint import Checkpointer
from jlic.train.metrics import MetricWriter
from jlic.train.losses import make_loss
from jlic.train.step import init_train_state, make_train_step

log = logging.getLogger(__name__)

REQUIRED_FIELDS = ("model.name", "data.train_dir", "data.crop", "data.batch_size", "steps",
                   "learning_rate", "aux_learning_rate", "grad_clip", "seed", "log_every",
                   "checkpoint_every")
LOSS_FIELDS = {"rd": ("lmbda",), "scr": ("scr.lambda_max", "scr.levels_per_step"),
               "afb": ("afb.lmbda", "afb.rate_weight", "model.rate_range")}


class ConfigError(ValueError):
    """A config that is missing a field or holds an unusable value."""


def validate_config(config: ml_collections.ConfigDict) -> None:
    loss = config.get("loss", "rd")
    if loss not in LOSS_FIELDS:
        raise ConfigError(f"unknown loss {loss!r}; known: {', '.join(LOSS_FIELDS)}")
    for field in REQUIRED_FIELDS + LOSS_FIELDS[loss]:
        node = config
        for part in field.split("."):
            if part not in node:
                raise ConfigError(f"config is missing the field {field!r}")
            node = node[part]
    if config.data.batch_size < 1 or config.steps < 0 or config.data.crop % 64:
        raise ConfigError("config needs data.batch_size >= 1, steps >= 0 and data.crop a "
                          f"multiple of 64 (got {config.data.batch_size}, {config.steps}, "
                          f"{config.data.crop})")


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


GAIN_PARAMS = ("log_qv", "log_iqv", "log_gamma")  # SCR's per-level vectors


def _gain_labels(params):
    def label(path, _):
        names = {getattr(k, "key", None) for k in path}
        return "gain" if names & set(GAIN_PARAMS) else "main"

    return jax.tree_util.tree_map_with_path(label, params)


def make_optimizers(config):
    """Adam with gradient clipping; ``config.gain_lr_multiplier`` scales the learning rate of
    SCR's per-level vectors (few parameters, which move far: QV spans ~10x over the levels)."""
    def adam(multiplier):
        return optax.adam(optax.piecewise_constant_schedule(
            config.learning_rate * multiplier, {int(config.steps * 0.9): 0.1}))

    mult = config.get("gain_lr_multiplier", 1.0)
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
    if pid == 0:
        with open(os.path.join(workdir, "config.json"), "w") as f:
            f.write(config.to_json(indent=2))

    folder = data_lib.scan_images(config.data.train_dir, config.data.crop)
    dataset = data_lib.make_dataset(folder, crop=config.data.crop,
                                    batch_size=config.data.batch_size // n_proc,
                                    seed=config.seed, shard_index=pid, shard_count=n_proc)
    with open(os.path.join(workdir, f"data_shard_{pid}_of_{n_proc}.json"), "w") as f:
        json.dump(list(folder.paths[pid::n_proc]), f)  # the images this process reads
    data_iter = data_lib.make_iterator(dataset, config.data.get("num_threads", 2))

    dtype = jnp.dtype(config.get("compute_dtype", "float32"))
    model = model_from_config(config, config.seed, dtype)
    tx, aux_tx = make_optimizers(config)
    graphdef, state = init_train_state(model, tx, aux_tx)
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
    elif config.get("init_from"):
        state = jax.device_put(init_from(jax.device_get(state), tx, aux_tx, config.init_from),
                               replicated)
    start = int(state.step)

    step_fn = jax.jit(make_train_step(graphdef, tx, aux_tx, make_loss(config)),
                      in_shardings=(replicated, batch_sharding, replicated),
                      out_shardings=(replicated, replicated), donate_argnums=0)
    base_key = jax.random.key(config.seed)
    writer = MetricWriter(workdir, total_steps=config.steps, initial_step=start,
                          enabled=pid == 0)
    stop = _StopRequest()
    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        for step in range(start, config.steps):
            local = next(data_iter)
            batch = jax.make_array_from_process_local_data(batch_sharding, local)
            state, metrics = step_fn(state, batch, jax.random.fold_in(base_key, step))
            done = step + 1
            writer.advance()
            if done % config.log_every == 0 or done == config.steps:
                writer.write(done, jax.device_get(metrics))
            preempted = stop.requested or (n_proc > 1 and ckpt.manager.reached_preemption(done))
            if done % config.checkpoint_every == 0 or done == config.steps or preempted:
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
        tx, aux_tx = make_optimizers(config)
        graphdef, template = init_train_state(model_from_config(config), tx, aux_tx)
        state = ckpt.restore_state(template, step)
    finally:
        ckpt.close()
    return config, nnx.merge(graphdef, state.params, state.quantiles), int(state.step)


def init_from(state, tx, aux_tx, source: str):
    """Initialises every parameter whose path and shape match from another run (a workdir or
    a .jlicm model file); the others keep their fresh initialisation. Optimizer states start
    fresh. Logs what was copied and what is new."""
    if os.path.isfile(source):
        from jlic.frozen import FrozenModel

        flat = FrozenModel.load(source).params
    else:
        _, other, _ = load_trained(source)
        _, p, q = nnx.split(other, nnx.Param, Quantiles)
        flat = {**flat_arrays(p), **flat_arrays(q)}
    copied, fresh = [], []

    def fill(tree):
        for path, var in nnx.to_flat_state(tree):
            key = "/".join(map(str, path))
            if key in flat and flat[key].shape == var.get_value().shape:
                var.set_value(jnp.asarray(flat[key]))
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

