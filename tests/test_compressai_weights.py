import numpy as np
import pytest
from flax import nnx

from jlic.compressai_weights import from_compressai, to_compressai
from jlic.frozen import freeze
from jlic.models import build_model


@pytest.mark.parametrize("name", ["scale_hyperprior", "mean_scale"])
def test_conversion_covers_every_parameter_and_round_trips(name):
    model = build_model(name, nnx.Rngs(0), N=8, M=12)
    frozen = freeze(model, {"name": name, "N": 8, "M": 12})
    sd = to_compressai(model, frozen.params)
    # CompressAI layouts: conv (co, ci, k, k), transposed conv (ci, co, k, k), quantiles (C,1,3)
    assert sd["g_a.0.weight"].shape == (8, 3, 5, 5)
    assert sd["g_s.0.weight"].shape == (12, 8, 5, 5)
    assert sd["g_s.6.weight"].shape == (8, 3, 5, 5)
    assert sd["entropy_bottleneck.quantiles"].shape == (8, 1, 3)
    assert len(sd["entropy_bottleneck.matrices.0"]) == 8
    back = from_compressai(model, sd)
    assert back.keys() == frozen.params.keys()  # every jlic parameter has a CompressAI name
    for k, v in frozen.params.items():
        np.testing.assert_array_equal(back[k], v, err_msg=k)
