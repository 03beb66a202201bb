"""Equal-budget training parity: jlic's mbt2018-mean against CompressAI's, same start, same data.

    bench/setup                                           # torch + CompressAI, once
    .venv/bin/python bench/train_parity.py [--lambdas 0.0035 0.0067 0.013 0.025]
        [--second-seed-at 0.013] [--quantization noise] [--steps 3156] [--out results/train_parity]

For every lambda (and a second seed at one lambda) both sides train the recipe of
configs/parity.py (N=64 M=96, 128x128 crops, batch 8, Adam 1e-3 with x0.1 at 90%, aux Adam 1e-3,
clip 1.0) from the same initial weights: CompressAI's initialisation for the seed, converted to
jlic with ``jlic.compressai_weights``. Both read the same batches (jlic's grain pipeline with the
run's seed). jlic trains through its own ``train.py``; CompressAI through the loop of its
example train.py (main Adam on everything but the quantiles, aux Adam on the quantiles).
Both are then evaluated on Kodak with real bitstreams from their own codecs (jlic: export +
``codec``; CompressAI: ``update()``, ``compress``/``decompress``): bpp from the coded bytes,
PSNR of the decoded 8-bit image. Each side also records its model's own rate estimate
(likelihoods of the rounded latents, no coding): BD-rate on the files compares the whole codecs,
BD-rate on the estimates compares training alone (CompressAI's coder takes the next scale-table
entry up, jlic's the nearest: a coding difference, not a training one).

Each run is a subprocess with its own workdir under runs/train_parity/ (resumable: a finished
run's result is kept, an unfinished jlic run resumes from its checkpoint). Prints both curves,
the BD-rates of jlic against CompressAI (files; estimates), each side's coding overhead and the
seed-to-seed spread of each side, and writes
CompressAI-format JSON curves (``name``, ``results.bpp``, ``results.psnr-rgb``) to --out.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import bootstrap  # bench/, the script's own directory
from bootstrap import KODAK, ROOT

bootstrap.start("codec")  # the parent's own work (evaluation); each side trains in a subprocess
SIDES = ("jlic", "compressai")


def _config(args, lmbda, seed):
    from configs import parity

    c = parity.get_config()
    c.lmbda, c.seed, c.steps, c.quantization = lmbda, seed, args.steps, args.quantization
    return c


def _workdir(args, lmbda, seed):
    return os.path.join(args.runs, f"{args.quantization}_s{args.steps}_l{lmbda}_seed{seed}")


# ---- one run per subprocess ---------------------------------------------------------------
def make_init(args, lmbda, seed):
    """CompressAI's initialisation for ``seed``, saved for both sides (init.pt, init.jlicm)."""
    import torch
    from compressai.models import MeanScaleHyperprior
    from flax import nnx

    from jlic.compressai_weights import from_compressai
    from jlic.frozen import flat_variables, freeze
    from jlic.models import build_model

    c = _config(args, lmbda, seed)
    wd = _workdir(args, lmbda, seed)
    os.makedirs(wd, exist_ok=True)
    torch.manual_seed(seed)
    net = MeanScaleHyperprior(c.model.N, c.model.M)
    torch.save(net.state_dict(), os.path.join(wd, "init.pt"))
    model = build_model("mean_scale", nnx.Rngs(0), N=c.model.N, M=c.model.M)
    flat = from_compressai(model, {k: v.numpy() for k, v in net.state_dict().items()})
    for key, var in flat_variables(nnx.state(model)):
        var.set_value(flat[key])
    freeze(model, c.model.to_dict(), label="CompressAI init", exact=False).save(
        os.path.join(wd, "init.jlicm"))


def _kodak():
    from jlic.evaluate.run import list_images

    return list_images(KODAK)


def run_jlic(args, lmbda, seed):
    from jlic.evaluate.run import evaluate_model
    from jlic.export import export_workdir

    wd = _workdir(args, lmbda, seed)
    train_wd = os.path.join(wd, "jlic")
    t0 = time.perf_counter()
    subprocess.run([sys.executable, os.path.join(ROOT, "train.py"), "--config",
                    os.path.join(ROOT, "configs", "parity.py"), "--workdir", train_wd,
                    f"--config.lmbda={lmbda}", f"--config.seed={seed}",
                    f"--config.steps={args.steps}", f"--config.quantization={args.quantization}",
                    f"--config.init_from={os.path.join(wd, 'init.jlicm')}"],
                   check=True, cwd=ROOT)
    train_s = time.perf_counter() - t0
    model = export_workdir(train_wd, os.path.join(wd, "jlic.jlicm"))
    records = evaluate_model(model, _kodak(), [None], "jlic", progress=False)
    return {"bpp": [r.bpp for r in records], "psnr": [r.psnr for r in records],
            "images": [r.image for r in records], "train_s": train_s,
            "bpp_estimate": jlic_estimates(os.path.join(wd, "jlic.jlicm"))}


def jlic_estimates(model_path) -> list[float]:
    """The model's own rate of each Kodak image (bpp of the rounded latents' likelihoods, no
    coding): set beside the file's bpp, it tells training from coding."""
    import jax.numpy as jnp

    from jlic.evaluate.run import read_rgb
    from jlic.frozen import FrozenModel
    from jlic.train.losses import bits

    model = FrozenModel.load(model_path).model
    out = []
    for path in _kodak():
        image = read_rgb(path)
        x = jnp.asarray(image, jnp.float32)[None] / 255.0
        out.append(float(bits(model(x, None, training=False)["likelihoods"])[0])
                   / (image.shape[0] * image.shape[1]))
    return out


def run_compressai(args, lmbda, seed):
    import compressai_recipe
    import numpy as np
    import torch
    from compressai.models import MeanScaleHyperprior

    from jlic.evaluate.metrics import psnr
    from jlic.evaluate.run import read_rgb
    from jlic.train import data as data_lib

    torch.set_num_threads(os.cpu_count())
    torch.manual_seed(seed)
    c = _config(args, lmbda, seed)
    wd = _workdir(args, lmbda, seed)
    net = MeanScaleHyperprior(c.model.N, c.model.M)
    net.load_state_dict(torch.load(os.path.join(wd, "init.pt")))
    main = [p for n, p in net.named_parameters() if not n.endswith(".quantiles")]
    aux = [p for n, p in net.named_parameters() if n.endswith(".quantiles")]
    opt = torch.optim.Adam(main, lr=c.learning_rate)
    aux_opt = torch.optim.Adam(aux, lr=c.aux_learning_rate)
    sched = torch.optim.lr_scheduler.MultiStepLR(opt, [int(c.steps * 0.9)], 0.1)
    folder = data_lib.scan_images(c.data.train_dir, c.data.crop)
    batches = data_lib.make_iterator(data_lib.make_dataset(
        folder, crop=c.data.crop, batch_size=c.data.batch_size, seed=seed), 2)
    t0 = time.perf_counter()
    net.train()
    for step in range(c.steps):
        if step % 500 == 0:
            print(f"compressai step {step} of {c.steps}, {time.perf_counter() - t0:.0f} s",
                  flush=True)
        x = torch.from_numpy(np.asarray(next(batches))).permute(0, 3, 1, 2).float() / 255.0
        compressai_recipe.train_step(net, opt, aux_opt, x, lmbda, c.grad_clip)
        sched.step()
    train_s = time.perf_counter() - t0
    torch.save(net.state_dict(), os.path.join(wd, "compressai.pt"))
    net.eval()
    net.update(force=True)
    result = {"bpp": [], "psnr": [], "images": [], "train_s": train_s, "bpp_estimate": []}
    with torch.no_grad():
        for path in _kodak():
            image = read_rgb(path)
            x = torch.from_numpy(image).permute(2, 0, 1)[None].float() / 255.0
            likelihoods = net(x)["likelihoods"].values()
            result["bpp_estimate"].append(float(sum(-torch.log2(lik).sum() for lik in likelihoods))
                                          / (image.shape[0] * image.shape[1]))
            enc = net.compress(x)
            nbytes = sum(len(s[0]) for s in enc["strings"])
            rec = net.decompress(enc["strings"], enc["shape"])["x_hat"].clamp(0, 1)
            decoded = (rec[0].permute(1, 2, 0).numpy() * 255.0).round().astype(np.uint8)
            result["bpp"].append(8 * nbytes / (image.shape[0] * image.shape[1]))
            result["psnr"].append(psnr(image, decoded))
            result["images"].append(os.path.basename(path))
    return result


# ---- driver ----------------------------------------------------------------------------------
def _run_sub(args, what, lmbda, seed):
    cmd = [sys.executable, os.path.abspath(__file__), "--run", what, "--lmbda", str(lmbda),
           "--seed", str(seed), "--steps", str(args.steps), "--quantization", args.quantization,
           "--runs", args.runs]
    subprocess.run(cmd, check=True, cwd=ROOT)


def _mean(v):
    return sum(v) / len(v)


def _one_run(args):
    """The subprocess side: one init, or one side's training and evaluation."""
    if args.run == "init":
        make_init(args, args.lmbda, args.seed)
        return
    fn = run_jlic if args.run == "jlic" else run_compressai
    result = fn(args, args.lmbda, args.seed)
    path = os.path.join(_workdir(args, args.lmbda, args.seed), f"{args.run}.json")
    with open(path + ".tmp", "w") as f:
        json.dump(result, f, indent=1)
    os.replace(path + ".tmp", path)


def _all_runs(args, runs) -> dict:
    """Runs (or reuses) every run: -> {(side, lambda, seed): result}."""
    from jlic.files import atomic_write

    results = {}
    for lmbda, seed in runs:
        wd = _workdir(args, lmbda, seed)
        if not os.path.exists(os.path.join(wd, "init.jlicm")):
            _run_sub(args, "init", lmbda, seed)
        for side in args.sides:
            path = os.path.join(wd, f"{side}.json")
            if not os.path.exists(path):
                print(f"training {side} at lambda {lmbda}, seed {seed} ...", flush=True)
                _run_sub(args, side, lmbda, seed)
            with open(path) as f:
                results[(side, lmbda, seed)] = json.load(f)
            if side == "jlic" and "bpp_estimate" not in results[(side, lmbda, seed)]:
                # runs from before the estimate was recorded: computed from the kept model file
                results[(side, lmbda, seed)]["bpp_estimate"] = jlic_estimates(
                    os.path.join(wd, "jlic.jlicm"))
                atomic_write(path, json.dumps(results[(side, lmbda, seed)], indent=1).encode())
    return results


def _report(args, runs, results):
    from jlic.evaluate.bdrate import bd_rate
    from jlic.evaluate.report import write_json

    print(f"\nKodak (24 images, real files), quantization={args.quantization}, "
          f"{args.steps} steps")
    print("(bpp: coded files; est: the model's likelihoods, no coding; nan: not recorded)")
    print(f"{'lambda':>8} {'seed':>4} " + " ".join(
        f"{s + ' bpp':>15} {s + ' est':>15} {s + ' dB':>15}" for s in args.sides))
    for lmbda, seed in runs:
        cells = []
        for side in args.sides:
            r = results[(side, lmbda, seed)]
            est = _mean(r["bpp_estimate"]) if r.get("bpp_estimate") else float("nan")
            cells.append(f"{_mean(r['bpp']):15.4f} {est:15.4f} {_mean(r['psnr']):15.3f}")
        print(f"{lmbda:8.4f} {seed:4d} " + " ".join(cells))
    curves = {}
    os.makedirs(args.out, exist_ok=True)
    for side in args.sides:
        pts = sorted((_mean(results[(side, lm, 0)]["bpp"]), _mean(results[(side, lm, 0)]["psnr"]))
                     for lm in args.lambdas)
        curves[side] = {"bpp": [b for b, _ in pts], "psnr-rgb": [q for _, q in pts]}
        write_json(os.path.join(args.out, f"{side}_{args.quantization}.json"),
                   f"{side} mbt2018-mean N=64 M=96 ({args.quantization}, {args.steps} steps)",
                   "bench/train_parity.py: equal budget, same initial weights and batches",
                   curves[side])
    for side in args.sides if (args.second_seed_at, 1) in runs else ():
        a, b = (results[(side, args.second_seed_at, s)] for s in (0, 1))
        print(f"seed spread ({side}, lambda {args.second_seed_at}): "
              f"{_mean(b['bpp']) - _mean(a['bpp']):+.4f} bpp, "
              f"{_mean(b['psnr']) - _mean(a['psnr']):+.3f} dB")
    if len(args.sides) == 2 and len(args.lambdas) >= 4:
        ref, test = curves["compressai"], curves["jlic"]
        print(f"BD-rate jlic vs CompressAI, files: "
              f"{bd_rate(ref['bpp'], ref['psnr-rgb'], test['bpp'], test['psnr-rgb']):+.2f}%")
        est = {side: [_mean(results[(side, lm, 0)].get("bpp_estimate") or [float("nan")])
                      for lm in args.lambdas] for side in args.sides}
        if all(b == b for side in args.sides for b in est[side]):  # every estimate recorded
            psnr = {side: [_mean(results[(side, lm, 0)]["psnr"]) for lm in args.lambdas]
                    for side in args.sides}
            bd = bd_rate(est["compressai"], psnr["compressai"], est["jlic"], psnr["jlic"])
            print(f"BD-rate jlic vs CompressAI, the models' estimates (training alone): "
                  f"{bd:+.2f}%")
            for side in args.sides:
                over = [_mean(results[(side, lm, 0)]["bpp"]) / b - 1
                        for lm, b in zip(args.lambdas, est[side], strict=True)]
                print(f"coding overhead ({side}, files over estimate): "
                      + " ".join(f"{100 * o:+.1f}%" for o in over))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--lambdas", type=float, nargs="+", default=[0.0035, 0.0067, 0.013, 0.025])
    p.add_argument("--second-seed-at", type=float, default=0.013,
                   help="a lambda of --lambdas to train again with seed 1 (else none)")
    p.add_argument("--steps", type=int, default=3156)
    p.add_argument("--quantization", default="noise")
    p.add_argument("--sides", nargs="+", default=list(SIDES), choices=SIDES)
    p.add_argument("--runs", default=os.path.join(ROOT, "runs", "train_parity"))
    p.add_argument("--out", default=os.path.join(ROOT, "results", "train_parity"))
    p.add_argument("--run", choices=("init", *SIDES), help=argparse.SUPPRESS)
    p.add_argument("--lmbda", type=float, help=argparse.SUPPRESS)
    p.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.run:
        _one_run(args)
        return
    runs = [(lm, 0) for lm in args.lambdas]
    if args.second_seed_at in args.lambdas:
        runs.append((args.second_seed_at, 1))
    _report(args, runs, _all_runs(args, runs))


if __name__ == "__main__":
    main()
