"""Export a training workdir's latest checkpoint to a model file.

    export_workdir("runs/tiny", "tiny.jlicm", label="...") -> FrozenModel

Reads ``WORKDIR/config.json`` and the latest checkpoint, computes the integer tables
(``jlic.frozen.freeze``) and writes the model file atomically.
"""

from __future__ import annotations

import os

import ml_collections
from flax import nnx

from jlic.errors import ModelFileError
from jlic.frozen import FrozenModel, freeze


def export_workdir(workdir: str, out_path: str, *, label: str = "",
                   step: int | None = None) -> FrozenModel:
    from jlic.train.checkpoint import Checkpointer
    from jlic.train.loop import make_optimizers, model_from_config
    from jlic.train.step import init_train_state

    config_path = os.path.join(workdir, "config.json")
    if not os.path.isfile(config_path):
        raise ModelFileError(f"{workdir!r} is not a training workdir (no config.json)")
    with open(config_path) as f:
        config = ml_collections.ConfigDict(ml_collections.config_dict.ConfigDict(
            __import__("json").load(f)))
    ckpt = Checkpointer(workdir)
    try:
        if ckpt.latest_step() is None:
            raise ModelFileError(f"{workdir!r} holds no checkpoint yet")
        model = model_from_config(config)
        tx, aux_tx = make_optimizers(config)
        graphdef, template = init_train_state(model, tx, aux_tx)
        state = ckpt.restore_state(template, step)
    finally:
        ckpt.close()
    model = nnx.merge(graphdef, state.params, state.quantiles)
    label = label or (f"{config.model.name} N={config.model.N} M={config.model.M}, "
                      f"step {int(state.step)} of {os.path.basename(os.path.normpath(workdir))}")
    frozen = freeze(model, config.model.to_dict(), label=label)
    frozen.save(out_path)
    return frozen
