"""Train a jlic codec on every local device, or across processes and hosts.

    python train.py --config configs/tiny.py --workdir runs/tiny [--config.FIELD=VALUE ...]

Re-running the same command resumes from the latest checkpoint in the workdir; SIGTERM or Ctrl-C
saves a checkpoint and exits. Multi-process: ``--distributed`` lets JAX detect the cluster (TPU
pods, SLURM, ...); ``--coordinator HOST:PORT --num_processes N --process_id I`` sets it by hand.
"""

import sys

from jlic import cpu_flags

cpu_flags.configure("train")

from absl import app, flags, logging  # noqa: E402
from ml_collections import config_flags  # noqa: E402

_CONFIG = config_flags.DEFINE_config_file("config", None, "Training config file.",
                                          lock_config=True)
_WORKDIR = flags.DEFINE_string("workdir", None, "Directory for checkpoints and metrics.")
_DISTRIBUTED = flags.DEFINE_bool("distributed", False, "jax.distributed.initialize() with "
                                  "the cluster auto-detected (TPU pods, SLURM, Open MPI)")
_COORDINATOR = flags.DEFINE_string("coordinator", None, "HOST:PORT of process 0")
_NUM_PROCESSES = flags.DEFINE_integer("num_processes", None, "number of processes")
_PROCESS_ID = flags.DEFINE_integer("process_id", None, "this process's index")
flags.mark_flags_as_required(["config", "workdir"])


def _initialize_distributed():
    import jax

    if _COORDINATOR.value is None and not _DISTRIBUTED.value:
        return
    if jax.config.jax_platforms in (None, "", "cpu") or _COORDINATOR.value:
        jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(coordinator_address=_COORDINATOR.value,
                               num_processes=_NUM_PROCESSES.value,
                               process_id=_PROCESS_ID.value)


def main(argv):
    del argv
    from jlic.train.data import DataError
    from jlic.train.loop import ConfigError, train

    logging.set_verbosity(logging.WARNING)
    _initialize_distributed()
    try:
        train(_CONFIG.value, _WORKDIR.value)
    except (ConfigError, DataError) as e:
        print(f"train.py: error: {e}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    app.run(main)
