"""Every committed config is one a user can run: it passes train.py's validation and builds
its model (shapes only, no weights computed)."""

import glob
import importlib
import os

import jax
import pytest
from flax import nnx

from jlic.models import build_model
from jlic.train.loop import validate_config

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIGS = sorted(os.path.relpath(p, ROOT)[:-3].replace(os.sep, ".")
                 for p in glob.glob(os.path.join(ROOT, "configs", "**", "*.py"), recursive=True)
                 if not p.endswith("__init__.py"))


def test_the_configs_are_found():
    assert "configs.default_model" in CONFIGS and "configs.parity_scr" in CONFIGS


@pytest.mark.parametrize("name", CONFIGS)
def test_config_validates_and_builds_its_model(name, monkeypatch):
    monkeypatch.chdir(ROOT)  # the configs' data paths are relative to the checkout
    config = importlib.import_module(name).get_config()
    validate_config(config)
    kwargs = {k: v for k, v in config.model.to_dict().items() if k != "name"}
    model = nnx.eval_shape(lambda: build_model(config.model.name, nnx.Rngs(0), **kwargs))
    assert sum(x.size for x in jax.tree.leaves(nnx.state(model))) > 0
