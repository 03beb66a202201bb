"""Writes the CompressAI fixtures of tests/test_import.py (run once, in the peer environment).

    bench/setup && .venv/bin/python tests/data/make_compressai_fixtures.py

Small CompressAI models (N=16, M=24) from a random start, trained for 300 steps so that file
sizes mean something (an untrained prior puts nearly all bits in z), saved with ``torch.save`` as
the zoo
saves them (a state dict; mbt2018-mean in torch's zip format, bmshj2018-hyperprior in the older
single-stream format), a variable-rate model that jlic must refuse, and CompressAI's own outputs
on a 256x256 crop of kodim23: the eval-mode forward (x_hat, likelihoods) and the byte counts of
``update()`` + ``compress``.
"""

import os

import numpy as np
import torch
from compressai.models import MeanScaleHyperprior, ScaleHyperprior
from compressai.models.vbr import MeanScaleHyperpriorVbr
from PIL import Image

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "compressai")
KODIM23 = os.path.join(os.path.dirname(HERE), "..", "..", "..", "shared", "data", "kodak",
                       "kodim23.png")


def briefly_trained(net, steps=300):
    """Adam on random 128x128 crops of the training photos, lambda 0.013, as in CompressAI's
    example (aux loss on the quantiles)."""
    import glob

    paths = sorted(glob.glob(os.path.join(os.path.dirname(KODIM23), "..", "train", "cid22",
                                          "*", "*.png")))
    rng = np.random.default_rng(0)
    main = [p for n, p in net.named_parameters() if not n.endswith(".quantiles")]
    aux = [p for n, p in net.named_parameters() if n.endswith(".quantiles")]
    opt, aux_opt = torch.optim.Adam(main, 1e-3), torch.optim.Adam(aux, 1e-3)
    for _ in range(steps):
        crops = []
        for p in rng.choice(paths, 8):
            img = np.asarray(Image.open(p).convert("RGB"))
            t, l = rng.integers(0, img.shape[0] - 128), rng.integers(0, img.shape[1] - 128)
            crops.append(img[t:t + 128, l:l + 128])
        xb = torch.from_numpy(np.stack(crops)).permute(0, 3, 1, 2).float() / 255.0
        opt.zero_grad()
        aux_opt.zero_grad()
        out = net(xb)
        bpp = sum(torch.log(v).sum() for v in out["likelihoods"].values()) / (
            -np.log(2) * 8 * 128 * 128)
        (0.013 * 255**2 * torch.mean((out["x_hat"] - xb) ** 2) + bpp).backward()
        opt.step()
        net.aux_loss().backward()
        aux_opt.step()
    return net


def main():
    os.makedirs(HERE, exist_ok=True)
    image = np.asarray(Image.open(KODIM23).convert("RGB"))[128:384, 256:512]
    x = torch.from_numpy(image.copy()).permute(2, 0, 1)[None].float() / 255.0
    ref = {"image": image}
    for name, cls, legacy in (("mbt2018-mean", MeanScaleHyperprior, False),
                              ("bmshj2018-hyperprior", ScaleHyperprior, True)):
        torch.manual_seed(1)
        net = briefly_trained(cls(16, 24))
        torch.save(net.state_dict(), os.path.join(HERE, f"{name}.pth.tar"),
                   _use_new_zipfile_serialization=not legacy)
        net.eval()
        with torch.no_grad():
            out = net(x)
            net.update(force=True)
            enc = net.compress(x)
        ref[f"{name}/x_hat"] = out["x_hat"][0].permute(1, 2, 0).numpy()
        for k in ("y", "z"):
            ref[f"{name}/likelihoods_{k}"] = out["likelihoods"][k][0].permute(1, 2, 0).numpy()
        ref[f"{name}/bytes"] = np.array([len(s[0]) for s in enc["strings"]])  # y, z
    torch.manual_seed(1)
    torch.save(MeanScaleHyperpriorVbr(16, 24).state_dict(),
               os.path.join(HERE, "mbt2018-mean-vbr.pth.tar"))
    np.savez_compressed(os.path.join(HERE, "reference.npz"), **ref)


if __name__ == "__main__":
    main()
