import os
import sys

from jlic import cpu_flags

cpu_flags.configure("train")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(ROOT, "..", "shared")
KODAK = os.path.join(SHARED, "data", "kodak")
TRAIN_DATA = os.path.join(SHARED, "data", "train")
PYTHON = sys.executable
