"""What every bench script does first: put the project root on ``sys.path`` (the scripts run
from a checkout: ``.venv/bin/python bench/NAME.py``) and set the CPU flags of its workload
(``jlic.cpu_flags``) before JAX or numpy start.

    import bootstrap                      # bench/ is the script's own directory
    ROOT = bootstrap.start("codec")       # or "train"; returns the project root
"""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KODAK = os.path.join(ROOT, "..", "shared", "data", "kodak")


def start(workload: str) -> str:
    """Adds the project root to ``sys.path`` and configures ``workload`` ("train" | "codec")."""
    if ROOT not in sys.path:
        sys.path.insert(0, ROOT)
    from jlic import cpu_flags

    cpu_flags.configure(workload)
    return ROOT
