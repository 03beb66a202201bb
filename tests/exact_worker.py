"""Helper process for tests/test_exact.py: decodes files (or computes scale indexes) in a
process whose XLA settings differ from the encoder's, and prints SHA-256 of the results."""

import hashlib
import json
import sys

import numpy as np

from jlic import codec
from jlic.errors import BitstreamError
from jlic.frozen import FrozenModel


def main():
    job = json.load(open(sys.argv[1]))
    out = {}
    if job["kind"] == "decode":
        for model_path, files in job["files"].items():
            model = FrozenModel.load(model_path)
            if job.get("float_side_information"):
                # a decoder that recomputes the coding parameters in float
                model.integer_coding_params = None
            for f in files:
                try:
                    _, y_hat = codec.decode_y_hat(model, open(f, "rb").read())
                    out[f] = hashlib.sha256(y_hat.tobytes()).hexdigest()
                except BitstreamError as e:  # wrong side information can derail the decoder
                    out[f] = f"error: {e}"
    else:  # scale indexes of random symbols through the float and the integer path
        model = FrozenModel.load(job["model"])
        z = np.load(job["symbols"])
        for i, z_sym in enumerate(z):
            z_sym = z_sym[None]
            f = model.coding_params(z_sym.astype(np.float32) + model.medians)["scale_index"]
            e = model.integer_coding_params(z_sym, None)["scale_index"]
            out[f"float{i}"] = f.tolist()
            out[f"exact{i}"] = hashlib.sha256(e.tobytes()).hexdigest()
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
