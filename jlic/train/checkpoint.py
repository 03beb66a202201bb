"""Checkpoints of a training run: Orbax CheckpointManager in ``WORKDIR/checkpoints``.

Each checkpoint holds the whole ``TrainState`` (parameters, quantiles, both optimizer states,
step, skipped-update count) and the data iterator's state. PRNG keys are derived from
(config.seed, step), so nothing else is needed for a resumed run to continue exactly as an
uninterrupted one. Saves are asynchronous and atomic (Orbax writes to a temporary directory
and renames it); an interrupted save is never picked up as the latest checkpoint.
"""

from __future__ import annotations

import os

import grain
import jax
import orbax.checkpoint as ocp


class Checkpointer:
    def __init__(self, workdir: str, *, max_to_keep: int = 3):
        self.directory = os.path.abspath(os.path.join(workdir, "checkpoints"))
        self.manager = ocp.CheckpointManager(
            self.directory,
            options=ocp.CheckpointManagerOptions(max_to_keep=max_to_keep, create=True),
            item_handlers={"state": ocp.StandardCheckpointHandler(),
                           "data": grain.checkpoint.CheckpointHandler()})

    def latest_step(self) -> int | None:
        return self.manager.latest_step()

    def save(self, step: int, state, data_iterator, *, force: bool = False) -> None:
        self.manager.save(step, args=ocp.args.Composite(
            state=ocp.args.StandardSave(state),
            data=grain.checkpoint.CheckpointSave(data_iterator)), force=force)

    def restore(self, state_template, data_iterator, step: int | None = None):
        """Restores (state, iterator) in place of the templates; ``step`` defaults to the latest."""
        step = self.latest_step() if step is None else step
        abstract = jax.tree.map(ocp.utils.to_shape_dtype_struct, state_template)
        restored = self.manager.restore(step, args=ocp.args.Composite(
            state=ocp.args.StandardRestore(abstract),
            data=grain.checkpoint.CheckpointRestore(data_iterator)))
        return restored.state, data_iterator

    def restore_state(self, state_template, step: int | None = None):
        """Restores only the training state (e.g. to export or initialise another run)."""
        step = self.latest_step() if step is None else step
        abstract = jax.tree.map(ocp.utils.to_shape_dtype_struct, state_template)
        return self.manager.restore(step, args=ocp.args.Composite(
            state=ocp.args.StandardRestore(abstract))).state

    def wait(self) -> None:
        self.manager.wait_until_finished()

    def close(self) -> None:
        self.manager.close()
