"""CompressAI's training step as its example train.py takes it, for the bench scripts that set it
beside jlic's (train_parity, grad_parity). Import after ``bootstrap.start``; needs torch and
CompressAI (``bench/setup``).

    loss = rd_loss(net, x, lmbda)                      # x: (B, 3, H, W) float in [0, 1]
    train_step(net, opt, aux_opt, x, lmbda, grad_clip)
"""

import math

import torch
import torch.nn.functional as F


def rd_loss(net, x, lmbda):
    """lmbda * 255^2 * MSE + bpp (bits of every latent per pixel of the batch) of ``net(x)``."""
    out = net(x)
    num_pixels = x.shape[0] * x.shape[2] * x.shape[3]
    bpp = sum(torch.log(lik).sum() for lik in out["likelihoods"].values()) / (
        -math.log(2) * num_pixels)
    return lmbda * 255**2 * F.mse_loss(out["x_hat"], x) + bpp


def train_step(net, opt, aux_opt, x, lmbda, grad_clip):
    """One step of CompressAI's example: main Adam on the clipped gradient of ``rd_loss``, then
    the aux loss (the quantiles) on its own Adam, after the main step."""
    opt.zero_grad()
    aux_opt.zero_grad()
    rd_loss(net, x, lmbda).backward()
    torch.nn.utils.clip_grad_norm_(net.parameters(), grad_clip)
    opt.step()
    net.aux_loss().backward()
    aux_opt.step()
