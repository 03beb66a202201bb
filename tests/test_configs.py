"""Every committed config is one a user can run: it passes train.py's validation and builds
its model (shapes only, no weights computed)."""

import glob
import importlib
import os

import jax
import pytest
from flax import nnx

from jlic.models import build_model
from jlic.train.loop import ConfigError, validate_config

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIGS = sorted(os.path.relpath(p, ROOT)[:-3].replace(os.sep, ".")
                 for p in glob.glob(os.path.join(ROOT, "configs", "**", "*.py"), recursive=True)
                 if not p.endswith("__init__.py"))


def _model_shapes(config):
    """The config's model, shapes only (no weights computed)."""
    kwargs = {k: v for k, v in config.model.to_dict().items() if k != "name"}
    return nnx.eval_shape(lambda: build_model(config.model.name, nnx.Rngs(0), **kwargs))


def test_the_configs_are_found():
    assert "configs.default_model" in CONFIGS and "configs.parity_scr" in CONFIGS


@pytest.mark.parametrize("name", CONFIGS)
def test_config_validates_and_builds_its_model(name, monkeypatch):
    monkeypatch.chdir(ROOT)  # the configs' data paths are relative to the checkout
    config = importlib.import_module(name).get_config()
    validate_config(config)
    model = _model_shapes(config)
    assert sum(x.size for x in jax.tree.leaves(nnx.state(model))) > 0


@pytest.mark.parametrize("name", ["configs.default", "configs.default_model", "configs.parity_scr"])
def test_extra_transform_blocks_are_overrides_of_the_model_configs(name, monkeypatch):
    """``--config.model.synthesis_blocks=2`` (an override: config_flags locks the config, so a
    field it does not declare is refused) deepens the decoder of the configs users start from."""
    monkeypatch.chdir(ROOT)
    config = importlib.import_module(name).get_config()
    config.lock()
    config.model.analysis_blocks, config.model.synthesis_blocks = 1, 2
    validate_config(config)
    model = _model_shapes(config)
    assert (len(model.g_a_blocks), len(model.g_s_blocks)) == (1, 2)


@pytest.mark.parametrize("name,field", [("configs.afb.default_model", "synthesis_blocks"),
                                        ("configs.afb.stage1_residual", "analysis_blocks")])
def test_extra_blocks_on_a_model_that_cannot_take_them_are_a_config_error(name, field,
                                                                          monkeypatch):
    monkeypatch.chdir(ROOT)
    config = importlib.import_module(name).get_config()
    config.model[field] = 1
    with pytest.raises(ConfigError, match=f"model.{field} deepens the plain GDN"):
        validate_config(config)
