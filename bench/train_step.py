"""Training-step time of jlic's mean-scale hyperprior against CompressAI's, in one process.

    bench/setup                                         # torch + CompressAI, once
    .venv/bin/python bench/train_step.py [--N 128 --M 192 --batch 8 --crop 128 --steps 20]

Both sides run the same architecture (mbt2018-mean), the same loss (lmbda * 255^2 * MSE + bpp
with uniform-noise rates), Adam, the same batch of random images and all cores; their steps
alternate, so both see the same machine. Prints the median steady-state step time of each and,
last, the ratio jlic / CompressAI (< 1: jlic faster).
"""

import argparse
import os
import time

import bootstrap  # bench/, the script's own directory

from timing import paired_medians

bootstrap.start("train")


def jlic_step(args, images):
    """-> (run one step and wait, compile seconds)."""
    import jax
    import jax.numpy as jnp
    import optax
    from flax import nnx

    from jlic.models import build_model
    from jlic.train.losses import rate_distortion_loss
    from jlic.train.step import init_train_state, make_train_step

    model = build_model("mean_scale", nnx.Rngs(0), N=args.N, M=args.M)
    tx = optax.chain(optax.clip_by_global_norm(1.0), optax.adam(1e-4))
    aux_tx = optax.adam(1e-3)
    graphdef, state = init_train_state(model, tx, aux_tx)
    step = jax.jit(make_train_step(graphdef, tx, aux_tx, rate_distortion_loss(0.013)),
                   donate_argnums=0)
    x = jnp.asarray(images)
    box = {"state": state, "i": 0}

    def run():
        box["i"] += 1
        box["state"], m = step(box["state"], x, jax.random.key(box["i"]))
        jax.block_until_ready((box["state"], m))

    t0 = time.perf_counter()
    run()
    return run, time.perf_counter() - t0


def compressai_step(args, images):
    import torch
    from compressai.models import MeanScaleHyperprior

    torch.manual_seed(0)
    torch.set_num_threads(os.cpu_count())
    net = MeanScaleHyperprior(args.N, args.M)
    params = [p for n, p in net.named_parameters() if not n.endswith("quantiles")]
    aux_params = [p for n, p in net.named_parameters() if n.endswith("quantiles")]
    opt, aux_opt = torch.optim.Adam(params, 1e-4), torch.optim.Adam(aux_params, 1e-3)
    x = torch.from_numpy(images).permute(0, 3, 1, 2).contiguous()
    num_pixels = x.shape[0] * x.shape[2] * x.shape[3]

    def run():
        opt.zero_grad()
        aux_opt.zero_grad()
        out = net(x)
        bpp = sum(-torch.log2(l).sum() for l in out["likelihoods"].values()) / num_pixels
        loss = 0.013 * 255**2 * torch.mean((out["x_hat"] - x) ** 2) + bpp
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        aux = net.aux_loss()
        aux.backward()
        aux_opt.step()

    return run


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--N", type=int, default=128)
    p.add_argument("--M", type=int, default=192)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--crop", type=int, default=128)
    p.add_argument("--steps", type=int, default=20)
    args = p.parse_args()
    import numpy as np

    images = np.random.default_rng(0).random((args.batch, args.crop, args.crop, 3), np.float32)
    print(f"mean-scale hyperprior N={args.N} M={args.M}, batch {args.batch} of "
          f"{args.crop}x{args.crop}, {os.cpu_count()} cores, median of {args.steps} steps")
    jlic_run, compile_s = jlic_step(args, images)
    torch_run = compressai_step(args, images)
    jlic_s, torch_s = paired_medians(jlic_run, torch_run, args.steps, warmup=3)
    print(f"jlic (JAX/Flax):        {jlic_s:.3f} s/step (compile {compile_s:.1f} s)")
    print(f"CompressAI (PyTorch):   {torch_s:.3f} s/step")
    print(f"ratio jlic/CompressAI: {jlic_s / torch_s:.3f}")


if __name__ == "__main__":
    main()
