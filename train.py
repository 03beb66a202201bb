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
    try:
        config = _CONFIG.value
        config.keys()  # config_flags defers a config file's load error to the first access
    except OSError as e:
        reason = str(e).strip().splitlines()
        print(f"train.py: error: cannot load the config file "
              f"({reason[-1].strip() if reason else e})", file=sys.stderr)
        sys.exit(2)
    _initialize_distributed()
    try:
        train(config, _WORKDIR.value)
    except (ConfigError, DataError) as e:
        print(f"train.py: error: {e}", file=sys.stderr)
        sys.exit(2)


def _parse_flags(argv):
    """absl's flag parsing, with a one-line error for a missing or broken config file and for
    overrides of fields the config does not have."""
    try:
        return flags.FLAGS(argv)
    except flags.Error as e:
        message = str(e)
    except AttributeError as e:  # an override of a field the config does not declare
        message = f"the config has no field {str(e).strip(chr(34) + chr(39))!r}"
    except (OSError, KeyError, TypeError, ValueError, SyntaxError) as e:
        message = f"{type(e).__name__}: {e}"
    first = " ".join(message.split())
    print(f"train.py: error: {first[:400]}", file=sys.stderr)
    sys.exit(2)


if __name__ == "__main__":
    app.run(main, flags_parser=_parse_flags)
