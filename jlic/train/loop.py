"""The training loop: one linear function from a config to a trained, checkpointed state.

    train(config, workdir) -> TrainState

Auto-resumes from the latest checkpoint in ``workdir/checkpoints``; writes the config to
``workdir/config.json`` (which ``jlic export`` reads), metrics to ``metrics.jsonl`` and
``tensorboard/``. The step PRNG key is ``fold_in(key(config.seed), step)``.
"""

from __future__ import annotations

import json
import logging
import os

import jax
import jax.numpy as jnp
import ml_collections
import optax
from flax import nnx

from jlic.models import build_model
from jlic.train import data as data_lib
from jlic.train.checkpoint import Checkpointer
from jlic.train.metrics import MetricWriter
from jlic.train.step import init_train_state, make_train_step

log = logging.getLogger(__name__)

REQUIRED_FIELDS = ("model.name", "data.train_dir", "data.crop", "data.batch_size", "steps",
                   "lmbda", "learning_rate", "aux_learning_rate", "grad_clip", "seed",
                   "log_every", "checkpoint_every")


class ConfigError(ValueError):
    """A config that is missing a field or holds an unusable value."""


def validate_config(config: ml_collections.ConfigDict) -> None:
    for field in REQUIRED_FIELDS:
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
        probe = os.path.join(workdir, ".write_test")
        with open(probe, "w") as f:
            f.write("ok")
        os.remove(probe)
    except OSError as e:
        raise ConfigError(f"workdir {workdir!r} is not writable: {e.strerror or e}") from None


def model_from_config(config, seed: int = 0) -> nnx.Module:
    kwargs = {k: v for k, v in config.model.items() if k != "name"}
    return build_model(config.model.name, nnx.Rngs(seed), **kwargs)


def make_optimizers(config):
    schedule = optax.piecewise_constant_schedule(
        config.learning_rate, {int(config.steps * 0.9): 0.1})
    tx = optax.chain(optax.clip_by_global_norm(config.grad_clip), optax.adam(schedule))
    return tx, optax.adam(config.aux_learning_rate)


def train(config: ml_collections.ConfigDict, workdir: str):
    validate_config(config)
    prepare_workdir(workdir)
    with open(os.path.join(workdir, "config.json"), "w") as f:
        f.write(config.to_json(indent=2))

    folder = data_lib.scan_images(config.data.train_dir, config.data.crop)
    dataset = data_lib.make_dataset(folder, crop=config.data.crop,
                                    batch_size=config.data.batch_size, seed=config.seed)
    data_iter = data_lib.make_iterator(dataset, config.data.get("num_threads", 2))

    model = model_from_config(config, config.seed)
    tx, aux_tx = make_optimizers(config)
    graphdef, state = init_train_state(model, tx, aux_tx)
    del model

    ckpt = Checkpointer(workdir)
    if ckpt.latest_step() is not None:
        state, data_iter = ckpt.restore(state, data_iter)
        log.info("resumed from step %d", int(state.step))
    start = int(state.step)

    step_fn = jax.jit(make_train_step(graphdef, tx, aux_tx, config.lmbda), donate_argnums=0)
    base_key = jax.random.key(config.seed)
    writer = MetricWriter(workdir, total_steps=config.steps, initial_step=start)
    try:
        for step in range(start, config.steps):
            batch = jnp.asarray(next(data_iter), jnp.float32) / 255.0
            state, metrics = step_fn(state, batch, jax.random.fold_in(base_key, step))
            done = step + 1
            writer.advance()
            if done % config.log_every == 0 or done == config.steps:
                writer.write(done, jax.device_get(metrics))
            if done % config.checkpoint_every == 0 or done == config.steps:
                ckpt.save(done, state, data_iter, force=True)
    finally:
        ckpt.wait()
        ckpt.close()
        writer.close()
    return graphdef, state
