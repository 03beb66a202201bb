"""Regenerates tests/data/golden.jlicm: an untrained mean-scale model (N=8, M=8, seed 0)
whose last analysis layer is scaled up 40x, so that its files carry many non-zero symbols.

    python tests/data/make_golden.py

Only run this for a deliberate change of the model-file format; then update the hashes in
tests/test_codec.py::test_golden_bitstream.
"""

import os

from flax import nnx

from jlic.frozen import freeze
from jlic.models import build_model

if __name__ == "__main__":
    model = build_model("mean_scale", nnx.Rngs(0), N=8, M=8)
    last = model.g_a.layers[-1]
    last.kernel.set_value(40.0 * last.kernel.get_value())
    frozen = freeze(model, {"name": "mean_scale", "N": 8, "M": 8}, label="golden test model")
    frozen.save(os.path.join(os.path.dirname(__file__), "golden.jlicm"))
    print(frozen.fingerprint.hex())
