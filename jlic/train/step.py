"""Pure, jitted training and evaluation steps over split NNX state.

The model is split once (``nnx.split(model, nnx.Param, Quantiles)``); every step merges it
inside the traced function, so a step is a plain function of arrays:

    train_step(state: TrainState, batch (B,H,W,3) uint8 (or float32 in [0,1]), rng)
        -> (state, metrics)

Gradients of the rate-distortion loss update the ``nnx.Param`` leaves with ``tx``; the
auxiliary quantile loss updates only the ``Quantiles`` leaves with ``aux_tx``. A loss whose
metrics hold an ``"entropy_model_loss"`` trains the model's entropy model (the submodules named
by ``model.entropy_model_modules``) on that loss and every other parameter on ``"loss"``: one
forward pass, two backward passes. The submodules named in ``frozen`` get zero gradients (XLA
drops the backward pass they would have needed) and zero updates (so they stay exactly as they
were even where a resumed optimizer state holds moments for them); a frozen
``entropy_bottleneck`` keeps its quantiles too (the auxiliary loss does not move them). A step whose
loss or gradients are not finite leaves the state unchanged and increments ``skipped``.
"""

from __future__ import annotations

from typing import Any, Callable

import flax.struct
import jax
import jax.numpy as jnp
import optax
from flax import nnx

from jlic.entropy.factorized import Quantiles


@flax.struct.dataclass
class TrainState:
    step: jax.Array
    params: Any
    quantiles: Any
    opt_state: Any
    aux_opt_state: Any
    skipped: jax.Array


def split_model(model: nnx.Module):
    """-> (graphdef, params, quantiles): the only two kinds of state our models hold."""
    return nnx.split(model, nnx.Param, Quantiles)


def init_train_state(model, tx, aux_tx):
    graphdef, params, quantiles = split_model(model)
    state = TrainState(
        step=jnp.zeros((), jnp.int32), params=params, quantiles=quantiles,
        opt_state=tx.init(params), aux_opt_state=aux_tx.init(quantiles),
        skipped=jnp.zeros((), jnp.int32))
    return graphdef, state


def _all_finite(tree) -> jax.Array:
    return jnp.all(jnp.stack([jnp.all(jnp.isfinite(x)) for x in jax.tree.leaves(tree)]))


def make_train_step(graphdef, tx, aux_tx, loss_fn: Callable, frozen: tuple[str, ...] = ()):
    """Returns the un-jitted step; callers jit it with their shardings and donation.

    ``loss_fn(model, batch, rng) -> metrics`` with a scalar "loss" (``jlic.train.losses``);
    ``frozen``: names of top-level submodules (e.g. ``("g_a",)``) that are not trained."""

    def rd_loss(params, quantiles, batch, rng):
        metrics = loss_fn(nnx.merge(graphdef, params, quantiles), batch, rng)
        return (metrics["loss"], metrics.get("entropy_model_loss", metrics["loss"])), metrics

    def zero_frozen(tree):
        return jax.tree_util.tree_map_with_path(  # path[0]: the submodule
            lambda path, g: jnp.zeros_like(g) if path[0].key in frozen else g, tree)

    def gradients(params, quantiles, batch, rng):
        grads, metrics = unfrozen_gradients(params, quantiles, batch, rng)
        return zero_frozen(grads), metrics

    def unfrozen_gradients(params, quantiles, batch, rng):
        losses, pullback, metrics = jax.vjp(
            lambda p: rd_loss(p, quantiles, batch, rng), params, has_aux=True)
        one, zero = jnp.ones_like(losses[0]), jnp.zeros_like(losses[0])
        (grads,) = pullback((one, zero))
        if "entropy_model_loss" not in metrics:  # static: a loss's metrics are fixed when traced
            return grads, metrics
        (entropy_grads,) = pullback((zero, one))
        modules = nnx.merge(graphdef, params, quantiles).entropy_model_modules
        return jax.tree_util.tree_map_with_path(
            lambda path, g, e: e if path[0].key in modules else g,  # path[0]: the submodule
            grads, entropy_grads), metrics

    def aux_loss(quantiles, params):
        model = nnx.merge(graphdef, params, quantiles)
        return model.entropy_bottleneck.aux_loss()

    def train_step(state: TrainState, batch, rng):
        if batch.dtype == jnp.uint8:
            batch = batch.astype(jnp.float32) / 255.0
        grads, metrics = gradients(state.params, state.quantiles, batch, rng)
        aux, aux_grads = jax.value_and_grad(aux_loss)(state.quantiles, state.params)
        aux_grads = zero_frozen(aux_grads)  # a frozen entropy_bottleneck keeps its quantiles
        ok = _all_finite((grads, aux_grads, metrics["loss"]))

        def apply(_):
            updates, opt_state = tx.update(grads, state.opt_state, state.params)
            updates = zero_frozen(updates)
            aux_updates, aux_opt_state = aux_tx.update(
                aux_grads, state.aux_opt_state, state.quantiles)
            aux_updates = zero_frozen(aux_updates)
            return state.replace(
                params=optax.apply_updates(state.params, updates), opt_state=opt_state,
                quantiles=optax.apply_updates(state.quantiles, aux_updates),
                aux_opt_state=aux_opt_state)

        def skip(_):
            return state.replace(skipped=state.skipped + 1)

        # lax.cond, not jnp.where over the trees: a select over every parameter stops XLA CPU
        # from handing the convolution gradients to its fast library kernels (2x slower step).
        new_state = jax.lax.cond(ok, apply, skip, None)
        new_state = new_state.replace(step=state.step + 1)
        metrics = dict(metrics, aux_loss=aux, skipped=new_state.skipped)
        return new_state, metrics

    return train_step
