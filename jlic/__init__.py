"""jlic: learned image compression in JAX/Flax whose rate is set by the user.

``DEFAULT_MODEL`` is the model file shipped in the package: what ``jlic compress`` /
``decompress``, ``eval.py`` and the benches use when no ``--model`` is given.
"""

import os

DEFAULT_MODEL = os.path.join(os.path.dirname(__file__), "assets", "default.jlicm")
