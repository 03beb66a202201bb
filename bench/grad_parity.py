"""One training step's maths, jlic against CompressAI: the same weights, batch and noise.

    bench/setup                                     # torch + CompressAI, once
    .venv/bin/python bench/grad_parity.py [--N 64 --M 96 --batch 8 --crop 128 --lmbda 0.013]

CompressAI's initial MeanScaleHyperprior (seed 0), or trained weights (--weights: where more
scales and likelihoods sit at their bounds), is converted to jlic (jlic.compressai_weights);
both sides take the same batch of training crops and the **same uniform noise** (one draw, fed
to both: CompressAI's ``EntropyModel.quantize`` and jlic's ``quantize.add_uniform_noise`` are
replaced by "add this array"). Then each computes the training loss (lmbda * 255^2 * MSE + bpp,
training quantization "noise") and its gradients, and the aux loss of the quantiles and its
gradients. Printed: both losses and, per parameter array, the relative difference of the
gradients (max |g_jlic - g_torch| / max |g_torch|), worst first. Float32 on both sides: ~1e-5 is
agreement; anything that differs in the maths (a bound's gradient, a reparameterisation, a
normalisation) shows as 1e-2 or more on the arrays it touches. Then ``--steps`` whole training
steps on each side's own loop (jlic: train.py's optimizers and jitted step; CompressAI: its
example's Adam, aux Adam and clipping) and the distance of the parameters, relative to the
size of torch's update.
"""

from __future__ import annotations

import argparse

import bootstrap  # bench/, the script's own directory

bootstrap.start("train")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--N", type=int, default=64)
    p.add_argument("--M", type=int, default=96)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--crop", type=int, default=128)
    p.add_argument("--lmbda", type=float, default=0.013)
    p.add_argument("--steps", type=int, default=3,
                   help="then this many whole training steps on both sides (optimizers, "
                        "clipping and schedule of configs/parity.py)")
    p.add_argument("--weights", default="",
                   help="a CompressAI state dict (.pt) to start from, e.g. a trained parity run's "
                        "compressai.pt (default: the seed-0 initialisation)")
    args = p.parse_args()

    import compressai_recipe
    import jax
    import jax.numpy as jnp
    import numpy as np
    import torch
    from compressai.entropy_models import EntropyModel
    from compressai.models import MeanScaleHyperprior
    from flax import nnx

    import jlic.quantize
    from configs import parity
    from jlic.compressai_weights import from_compressai, to_compressai
    from jlic.entropy.factorized import Quantiles
    from jlic.frozen import flat_arrays, flat_variables
    from jlic.models import build_model
    from jlic.train import data as data_lib
    from jlic.train.loop import make_optimizers
    from jlic.train.losses import rate_distortion_loss
    from jlic.train.step import init_train_state, make_train_step

    torch.manual_seed(0)
    net = MeanScaleHyperprior(args.N, args.M)
    if args.weights:
        net.load_state_dict(torch.load(args.weights))
    model = build_model("mean_scale", nnx.Rngs(0), N=args.N, M=args.M)
    flat = from_compressai(model, {k: v.detach().numpy() for k, v in net.state_dict().items()})
    for key, var in flat_variables(nnx.state(model)):
        var.set_value(jnp.asarray(flat[key]))

    folder = data_lib.scan_images("../shared/data/train", args.crop)
    x = np.asarray(next(data_lib.make_iterator(data_lib.make_dataset(
        folder, crop=args.crop, batch_size=args.batch, seed=0), 1)), np.float32) / 255.0
    n, h, w = x.shape[0], x.shape[1] // 16, x.shape[2] // 16
    rng = np.random.default_rng(0)
    noise = {  # NHWC, keyed by the latent's jlic shape
        (n, h, w, args.M): rng.uniform(-0.5, 0.5, (n, h, w, args.M)).astype(np.float32),
        (n, h // 4, w // 4, args.N): rng.uniform(-0.5, 0.5, (n, h // 4, w // 4, args.N))
        .astype(np.float32)}
    noise_t = {(a, d, b, c): torch.from_numpy(v.transpose(0, 3, 1, 2).copy())
               for (a, b, c, d), v in noise.items()}
    z_noise = noise[(n, h // 4, w // 4, args.N)]  # the bottleneck quantizes (C, 1, B*H*W)
    noise_t[(args.N, 1, z_noise.size // args.N)] = torch.from_numpy(
        z_noise.transpose(3, 0, 1, 2).reshape(args.N, 1, -1).copy())

    quantize = EntropyModel.quantize

    def quantize_same_noise(self, inputs, mode, means=None):
        if mode == "noise":
            return inputs + noise_t[tuple(inputs.shape)]
        return quantize(self, inputs, mode, means)

    EntropyModel.quantize = quantize_same_noise
    jlic.quantize.add_uniform_noise = lambda v, _rng: v + jnp.asarray(noise[tuple(v.shape)])

    # CompressAI: the loss of its example train.py, then the aux loss
    xt = torch.from_numpy(x.transpose(0, 3, 1, 2).copy())
    net.train()
    loss_t = compressai_recipe.rd_loss(net, xt, args.lmbda)
    loss_t.backward()
    aux_t = net.aux_loss()
    grads_t = {k: p.grad.numpy().copy() for k, p in net.named_parameters()
               if p.grad is not None and not k.endswith(".quantiles")}
    net.zero_grad()
    aux_t.backward()
    grads_t["entropy_bottleneck.quantiles"] = net.entropy_bottleneck.quantiles.grad.numpy()

    # jlic: the loss train.py optimises, and the aux loss of its train step
    loss_fn = rate_distortion_loss(args.lmbda, "noise")
    loss_j, grads = nnx.value_and_grad(lambda m: loss_fn(m, jnp.asarray(x),
                                                         jax.random.key(0))["loss"])(model)
    aux_j, aux_grads = nnx.value_and_grad(lambda m: m.entropy_bottleneck.aux_loss(),
                                          argnums=nnx.DiffState(0, Quantiles))(model)
    grads_j = flat_arrays(grads)
    grads_j["entropy_bottleneck/quantiles"] = flat_arrays(aux_grads)["entropy_bottleneck/quantiles"]
    grads_j = to_compressai(model, grads_j)

    loss_j, loss_t, aux_j, aux_t = (float(v) for v in (loss_j, loss_t.detach(), aux_j,
                                                        aux_t.detach()))
    print(f"loss: jlic {loss_j:.6f}, CompressAI {loss_t:.6f} "
          f"(relative difference {abs(loss_j / loss_t - 1):.1e})")
    print(f"aux loss: jlic {aux_j:.4f}, CompressAI {aux_t:.4f}")
    rel = {k: float(np.max(np.abs(grads_j[k] - g)) / max(np.max(np.abs(g)), 1e-30))
           for k, g in grads_t.items()}
    print(f"gradients of {len(rel)} arrays, relative difference (worst first):")
    for k in sorted(rel, key=rel.get, reverse=True)[:8]:
        print(f"  {rel[k]:.1e}  {k}")
    print(f"median over all arrays: {np.median(list(rel.values())):.1e}")

    # whole steps: each side's own loop (jlic: train.py's optimizers and jitted step)
    config = parity.get_config()
    config.lmbda = args.lmbda
    start = {k: v.detach().clone() for k, v in net.state_dict().items()}
    net.load_state_dict(start)
    main_params = [q for k, q in net.named_parameters() if not k.endswith(".quantiles")]
    opt = torch.optim.Adam(main_params, lr=config.learning_rate)
    aux_opt = torch.optim.Adam([net.entropy_bottleneck.quantiles], lr=config.aux_learning_rate)
    tx, aux_tx = make_optimizers(config)
    graphdef, state = init_train_state(model, tx, aux_tx)
    step = jax.jit(make_train_step(graphdef, tx, aux_tx, loss_fn))
    for _ in range(args.steps):
        compressai_recipe.train_step(net, opt, aux_opt, xt, args.lmbda, config.grad_clip)
        state, _ = step(state, jnp.asarray(x), jax.random.key(0))
    after_j = to_compressai(model, {**flat_arrays(state.params), **flat_arrays(state.quantiles)})
    after_t = {k: v.detach().numpy() for k, v in net.state_dict().items()}
    moved = {k: float(np.linalg.norm(v - after_t[k])
                      / max(np.linalg.norm(after_t[k] - start[k].numpy()), 1e-30))
             for k, v in after_j.items()}
    print(f"after {args.steps} steps, |jlic - torch| / |torch's update| per array (worst first):")
    for k in sorted(moved, key=moved.get, reverse=True)[:5]:
        print(f"  {moved[k]:.1e}  {k}")
    print(f"median over all arrays: {np.median(list(moved.values())):.1e}")


if __name__ == "__main__":
    main()
