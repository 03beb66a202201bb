"""Export a training workdir's latest checkpoint to a model file.

    export_workdir("runs/tiny", "tiny.jlicm", label="...") -> FrozenModel

Restores the latest checkpoint (``jlic.train.loop.load_trained``), computes the integer tables
(``jlic.frozen.freeze``), records the training lambda (for ``jlic.refine``) and writes the
model file atomically.
"""

from __future__ import annotations

import os

from jlic.errors import ModelFileError
from jlic.frozen import FrozenModel, freeze, objective_of
from jlic.train.loop import ConfigError, load_trained


def export_workdir(workdir: str, out_path: str, *, label: str = "",
                   step: int | None = None, compact: bool = False) -> FrozenModel:
    try:
        config, model, trained_steps = load_trained(workdir, step)
    except ConfigError as e:
        raise ModelFileError(str(e)) from None
    label = label or (f"{config.model.name} N={config.model.N} M={config.model.M}, "
                      f"step {trained_steps} of {os.path.basename(os.path.normpath(workdir))}")
    frozen = freeze(model, config.model.to_dict(), label=label, compact=compact,
                    objective=objective_of(config))
    frozen.save(out_path)
    return frozen
