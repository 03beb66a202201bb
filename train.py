"""Train a jlic codec.

    python train.py --config configs/tiny.py --workdir runs/tiny [--config.FIELD=VALUE ...]

Re-running the same command resumes from the latest checkpoint in the workdir.
"""

import sys

from jlic import xla_flags

xla_flags.configure()

from absl import app, flags, logging  # noqa: E402
from ml_collections import config_flags  # noqa: E402

_CONFIG = config_flags.DEFINE_config_file("config", None, "Training config file.",
                                          lock_config=True)
_WORKDIR = flags.DEFINE_string("workdir", None, "Directory for checkpoints and metrics.")
flags.mark_flags_as_required(["config", "workdir"])


def main(argv):
    del argv
    from jlic.train.data import DataError
    from jlic.train.loop import ConfigError, train

    logging.set_verbosity(logging.WARNING)
    try:
        train(_CONFIG.value, _WORKDIR.value)
    except (ConfigError, DataError) as e:
        print(f"train.py: error: {e}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    app.run(main)
