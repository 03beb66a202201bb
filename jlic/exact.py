"""The exact side-information path: an integer hyper-synthesis for coding.

Everything that decides how y is coded (scale-table index, SCR mask) and the means must come out
identical on the encoder and the decoder, on any CPU, instruction set, thread count or library
version. Float convolutions do not guarantee that (DESIGN.md: 8 of 11.8 million scale indexes
flipped between two instruction sets). At freeze time the float h_s (and SCR importance head) is
converted to fixed point, as in Balle et al. 2019 (integer networks):

    activations  A = round(a * 2^F), F = 12 fraction bits, clipped to |A| <= 2^24
    weights      W = round(w * 2^G), G = 14;  biases B = round(b * 2^(F+G))
    conv         A' = floor((sum A*W + B) / 2^G)      (polyphase stride-1 form for tconvs)
    ReLU         max(A, 0);  LeakyReLU  A if A > 0 else floor(A * 655 / 2^16)  (slope ~0.01)
    AFB          s = floor(sum over H, W of A / (H W));  r = round(rate * 2^F)  (rate: the
                 float32 target stored in the file, bpp);  h = ReLU(dense([s, r]));
                 v = dense(h);  a = T[clip(v, -V, V) + V], T the stored table of
                 round(2 sigmoid(v / 2^F) * 2^F) (V = 12 * 2^F: 2 sigmoid(12) rounds to 2);
                 A' = floor(A * a / 2^F)       (dense: a 1x1 conv on the (1, 1, C+1) map)

The sums run as float64 matrix products on integer values whose every partial sum stays below
2^53 (checked at conversion from the weights and the activation clip), so they are exact in any
summation order: the result is a function of the integers alone. SCR quality is snapped to a grid
(1/256 of a level; files frozen before 2026-11-24 hold 1/64, and the grid is read from the stored
arrays) and the gains (QV, IQV) and mask thresholds of every grid point are computed once at
freeze time and stored, so decoding evaluates no exp/log either. The grid is fine enough that a
step of it changes a file's size by well under 1%, so ``--bpp-strict`` finds a file in its 1%
band (at 1/64 a step changed a Kodak file by up to 2.5%). The rate cost of the
approximation is measured in BENCHMARKS.md. AFB models (rate input in bpp) run their
hyper-decoder's attention blocks in the same arithmetic, the rate entering as an integer.
"""

from __future__ import annotations

import jax
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from jlic.entropy.gaussian import SCALE_BOUND, scale_midpoints
from jlic.errors import ModelFileError
from jlic.layers import Conv, TransposedConv
from jlic.layers.attention import RateAttention
from jlic.layers.conv import polyphase_kernel
from jlic.models.scr import MASK_EPS, interpolate_levels
from jlic.rate import BPP_TARGET, QUALITY, SCR_LEVELS

F_BITS, G_BITS = 12, 14
ACT_CLIP = 2**24
LEAKY_NUM = 655  # / 2^16 ~ 0.01, jax.nn.leaky_relu's slope
QUALITY_STEPS = 256  # grid of SCR qualities frozen into new model files: 1 + k / 256
MAX_QUALITY_STEPS = 1024  # the finest grid a model file may hold
GATE_RANGE = 12 * 2**F_BITS  # AFB gate inputs beyond +-12 give 2 sigmoid = 0 or 2 at F bits


def _sum_bound(w: np.ndarray, b: np.ndarray) -> float:
    """The largest |sum| a layer with integer weights w (in, out) and bias b can produce from
    activations clipped to ACT_CLIP: below 2^53, float64 products and sums are exact."""
    return ACT_CLIP * np.abs(w.astype(np.float64)).sum(axis=0).max() + \
        np.abs(b.astype(np.float64)).max()


def _conv_layer(layer):
    """(kind, int weights (T*T*ci, co'), int bias (co',), lo, hi, stride) of a conv layer or
    of a dense layer (``nnx.Linear``, as a 1x1 conv)."""
    k = np.asarray(layer.kernel.get_value(), np.float64)
    b = np.asarray(layer.bias.get_value(), np.float64)
    if k.ndim == 2:  # dense (in, out)
        k = k[None, None]
    s = getattr(layer, "stride", 1)
    if isinstance(layer, TransposedConv):
        sub, lo, hi = polyphase_kernel(k, s)  # (T, T, sy, sx, ci, co)
        t, ci, co = sub.shape[0], sub.shape[4], sub.shape[5]
        w = sub.transpose(0, 1, 4, 2, 3, 5).reshape(t * t * ci, s * s * co)
        bias = np.tile(b, s * s)
        kind = "up"
    else:
        assert s == 1, "the hyper-synthesis only has stride-1 plain convs"
        t = k.shape[0]
        lo = hi = t // 2
        w = k.reshape(-1, k.shape[-1])
        bias, kind, s = b, "conv", 1
    wi = np.round(w * 2.0**G_BITS)
    bi = np.round(bias * 2.0**(F_BITS + G_BITS))
    if _sum_bound(wi, bi) >= 2.0**53:
        raise ValueError("integer hyper-synthesis would overflow float64's exact range")
    return {"kind": kind, "w": wi.astype(np.int64), "b": bi.astype(np.int64), "lo": lo,
            "hi": hi, "stride": s, "taps": t}


def _activation(fn):
    if fn is jax.nn.relu:
        return {"kind": "relu"}
    if fn is jax.nn.leaky_relu:
        return {"kind": "leaky"}
    raise ValueError(f"no integer version of {fn}")


def _attention_layer(block: RateAttention) -> dict:
    """An AFB as two dense layers; its gate table is stored once per model (``gate_table``)."""
    fc1, fc2 = _conv_layer(block.fc1), _conv_layer(block.fc2)
    return {"kind": "attention", **{k + "1": fc1[k] for k in ("w", "b")},
            **{k + "2": fc2[k] for k in ("w", "b")}}


def gate_table() -> np.ndarray:
    """round(2 sigmoid(v / 2^F) * 2^F) for v = -V..V, uint16 (computed once at freeze time
    and stored: the decoder evaluates no exp)."""
    v = np.arange(-GATE_RANGE, GATE_RANGE + 1, dtype=np.float64) / 2.0**F_BITS
    return np.round(2.0 / (1.0 + np.exp(-v)) * 2.0**F_BITS).astype(np.uint16)


def convert_layers(seq_layers) -> list[dict]:
    out = []
    for l in seq_layers:
        if isinstance(l, (Conv, TransposedConv)):
            out.append(_conv_layer(l))
        elif isinstance(l, RateAttention):
            out.append(_attention_layer(l))
        else:
            out.append(_activation(l))
    return out


def _dense(v: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    acc = np.clip(v, -ACT_CLIP, ACT_CLIP).astype(np.float64) @ w.astype(np.float64) + b
    return np.floor(acc / 2.0**G_BITS).astype(np.int64)


def _attention(layer: dict, a: np.ndarray, rate_int: int, gates: np.ndarray) -> np.ndarray:
    a = np.clip(a, -ACT_CLIP, ACT_CLIP)
    s = np.floor_divide(a.sum(axis=(0, 1)), a.shape[0] * a.shape[1])
    h = np.maximum(_dense(np.append(s, rate_int), layer["w1"], layer["b1"]), 0)
    v = _dense(h, layer["w2"], layer["b2"])
    gate = gates[np.clip(v, -GATE_RANGE, GATE_RANGE) + GATE_RANGE].astype(np.int64)
    return np.floor_divide(a * gate, 2**F_BITS)


def rate_to_int(rate) -> int:
    """The AFB rate input in fixed point, from its float32 value (as stored in files)."""
    return int(np.clip(np.round(np.float64(np.float32(rate)) * 2.0**F_BITS), -ACT_CLIP,
                       ACT_CLIP))


def run_layers(layers: list[dict], a: np.ndarray, rate_int: int = 0,
               gates: np.ndarray | None = None) -> np.ndarray:
    """Integer activations (H, W, C) int64 -> (H', W', C') int64, exactly. AFB layers need
    the rate (``rate_to_int``) and the gate table."""
    for layer in layers:
        kind = layer["kind"]
        if kind == "attention":
            a = _attention(layer, a, rate_int, gates)
            continue
        if kind == "relu":
            a = np.maximum(a, 0)
            continue
        if kind == "leaky":
            a = np.where(a > 0, a, np.floor_divide(a * LEAKY_NUM, 2**16))
            continue
        a = np.clip(a, -ACT_CLIP, ACT_CLIP)
        h, w, c = a.shape
        t = layer["taps"]
        x = np.pad(a.astype(np.float64), ((layer["lo"], layer["hi"]), (layer["lo"], layer["hi"]),
                                          (0, 0)))
        cols = sliding_window_view(x, (t, t), axis=(0, 1))  # (H, W, C, T, T)
        cols = cols.transpose(0, 1, 3, 4, 2).reshape(h * w, t * t * c)
        acc = cols @ layer["w"].astype(np.float64) + layer["b"].astype(np.float64)
        out = np.floor(acc / 2.0**G_BITS).astype(np.int64).reshape(h, w, -1)
        if kind == "up":
            s = layer["stride"]
            co = out.shape[-1] // (s * s)
            out = out.reshape(h, w, s, s, co).transpose(0, 2, 1, 3, 4).reshape(h * s, w * s, co)
        a = out
    return a


def quality_grid(steps: int) -> np.ndarray:
    """SCR qualities 1 + k / steps, k = 0 .. (SCR_LEVELS - 1) * steps."""
    return 1.0 + np.arange((SCR_LEVELS - 1) * steps + 1) / steps


def snap_quality(q: float, steps: int) -> int:
    """Index of the grid point used for quality q (round to the nearest 1 / steps)."""
    return int(np.clip(np.round((float(q) - 1.0) * steps), 0, (SCR_LEVELS - 1) * steps))


def scr_grids(log_qv, log_iqv, log_gamma):
    """Per grid point and channel: QV, IQV (float32) and the integer importance threshold:
    mask = I > thr  <=>  clip(I + 1/2, MASK_EPS, 1) ** gamma > 1/2  (I = importance conv
    output; the clip at MASK_EPS is the float model's, so where MASK_EPS ** gamma > 1/2, below
    gamma = 0.05, every element is coded, those with I <= -1/2 included)."""
    q = quality_grid(QUALITY_STEPS)
    qv = np.asarray(interpolate_levels(log_qv, q), np.float32)
    iqv = np.asarray(interpolate_levels(log_iqv, q), np.float32)
    out = {"qv": qv, "iqv": iqv}
    if log_gamma is not None:
        gamma = np.asarray(interpolate_levels(log_gamma, q), np.float64)
        thr = np.floor((0.5 ** (1.0 / gamma) - 0.5) * 2.0**F_BITS).astype(np.int64)
        out["threshold"] = np.where(MASK_EPS ** gamma > 0.5, np.iinfo(np.int64).min, thr)
    return out


LAYER_KEYS = ("w", "b", "lo", "hi", "stride", "taps", "w1", "b1", "w2", "b2")


def build(model) -> dict[str, np.ndarray]:
    """Flat arrays (for the model file) describing the integer path of a hyperprior, SCR or
    AFB model: ``build_layers`` and ``build_tables``."""
    return {**build_layers(model), **build_tables(model)}


def build_layers(model) -> dict[str, np.ndarray]:
    """The integer layers (h_s, SCR's importance head, AFB's hyper-decoder blocks): integers
    rounded from the float32 weights with exact float64 products, so a loader can derive them
    from the parameters alone, identically on every machine (compact model files do)."""
    trunk = convert_layers(model.hyper_trunk())
    tail = convert_layers(model.h_s.layers[-model.head_layers:])
    arrays = {}

    def store(prefix, layer):
        for key in LAYER_KEYS:
            if key in layer:
                arrays[prefix + key] = np.asarray(layer[key], np.int64)

    for name, layers in (("trunk", trunk), ("head", tail)):
        for i, l in enumerate(layers):
            arrays[f"exact/{name}/{i}/kind"] = np.frombuffer(l["kind"].encode(), np.uint8)
            store(f"exact/{name}/{i}/", l)
    if model.rate_spec is QUALITY and model.selective:
        store("exact/importance/", _conv_layer(model.importance))
    return arrays


def build_tables(model) -> dict[str, np.ndarray]:
    """The tables that need transcendental functions (SCR's gains and mask thresholds per
    quality, AFB's gate): computed once here and always stored, as libm results may differ
    between machines."""
    arrays = {}
    if model.rate_spec is BPP_TARGET:
        arrays["exact/gate_table"] = gate_table()
    if model.rate_spec is QUALITY:
        selective = model.selective
        grids = scr_grids(model.log_qv.get_value(), model.log_iqv.get_value(),
                          model.log_gamma.get_value() if selective else None)
        arrays.update({f"exact/grid/{k}": v for k, v in grids.items()})
    return arrays


LAYER_KINDS = ("conv", "up", "relu", "leaky", "attention")


def _layer_from(arrays, prefix, kind):
    """One layer dict from the arrays stored under ``prefix`` (scalars back to int), checked:
    a known kind, integer arrays of consistent shapes, sums inside float64's exact range."""
    if kind not in LAYER_KINDS:
        raise ModelFileError(f"exact path layer {prefix!r} has unknown kind {kind[:20]!r}")
    l = {"kind": kind}
    if kind in ("relu", "leaky"):
        return l
    if kind == "attention":
        return _attention_from(arrays, prefix)
    for key, v in _integers(arrays, prefix, ("w", "b", "lo", "hi", "stride", "taps")).items():
        l[key] = v if v.ndim else int(v)
    w, b = l["w"], l["b"]
    if any(isinstance(l[k], np.ndarray) or not 0 <= l[k] <= 16 for k in
           ("lo", "hi", "stride", "taps")) or w.ndim != 2 or b.shape != (w.shape[1],) or \
            l["taps"] < 1 or w.shape[0] % (l["taps"] ** 2) or \
            (kind == "up" and (l["stride"] < 1 or w.shape[1] % l["stride"] ** 2)):
        raise ModelFileError(f"exact path layer {prefix!r} has inconsistent shapes")
    if _sum_bound(w, b) >= 2.0**53:
        raise ModelFileError(f"exact path layer {prefix!r} would overflow exact arithmetic")
    return l


def _integers(arrays, prefix, keys) -> dict:
    """The integer arrays ``prefix + key`` of a stored layer, or a ModelFileError naming the
    first one that is missing or not integer."""
    out = {}
    for key in keys:
        v = arrays.get(prefix + key)
        if v is None or v.dtype.kind not in "iu":
            raise ModelFileError(f"exact path layer {prefix!r} lacks integer {key!r}")
        out[key] = v
    return out


def _attention_from(arrays, prefix):
    l = {"kind": "attention", **_integers(arrays, prefix, ("w1", "b1", "w2", "b2"))}
    w1, b1, w2, b2 = l["w1"], l["b1"], l["w2"], l["b2"]
    if w1.ndim != 2 or w2.ndim != 2 or b1.shape != (w1.shape[1],) or \
            w2.shape[0] != w1.shape[1] or b2.shape != (w2.shape[1],) or \
            w1.shape[0] != w2.shape[1] + 1:
        raise ModelFileError(f"exact path layer {prefix!r} has inconsistent shapes")
    for w, b in ((w1, b1), (w2, b2)):
        if _sum_bound(w, b) >= 2.0**53:
            raise ModelFileError(f"exact path layer {prefix!r} would overflow exact arithmetic")
    return l


def _layers_from(arrays, name):
    layers, i = [], 0
    while f"exact/{name}/{i}/kind" in arrays:
        prefix = f"exact/{name}/{i}/"
        layers.append(_layer_from(arrays, prefix, arrays[prefix + "kind"].tobytes().decode()))
        i += 1
    return layers


class IntegerCodingParams:
    """The decoder-side function z_sym -> {scale_index, mean, qv, iqv, mask}, exactly."""

    def __init__(self, arrays: dict, medians: np.ndarray, M: int, mean_scale: bool):
        self.trunk = _layers_from(arrays, "trunk")
        self.head = _layers_from(arrays, "head")
        self.importance = None
        if "exact/importance/w" in arrays:
            self.importance = _layer_from(arrays, "exact/importance/", "conv")
        self.grid = {k[len("exact/grid/"):]: v for k, v in arrays.items()
                     if k.startswith("exact/grid/")}
        self.gates = arrays.get("exact/gate_table")
        self.takes_rate = any(l["kind"] == "attention" for l in self.trunk + self.head)
        if self.takes_rate and (self.gates is None or self.gates.dtype != np.uint16 or
                                self.gates.shape != (2 * GATE_RANGE + 1,)):
            raise ModelFileError("the exact path's AFB gate table is missing or invalid")
        if not np.isfinite(medians).all():
            raise ModelFileError("the model's quantiles are not finite")
        self.med_int = np.round(np.asarray(medians, np.float64) * 2.0**F_BITS).astype(np.int64)
        self.M = M
        self.mean_scale = mean_scale
        self.midpoints = scale_midpoints()
        self._check_shapes()

    def _check_shapes(self):
        """One pass over a 1x1 z map: the stored layers must chain and end in the channels
        the model needs (2M for mean-scale, M for scale)."""
        try:
            feat = run_layers(self.trunk, np.zeros((1, 1, self.med_int.size), np.int64), 0,
                              self.gates)
            out = run_layers(self.head, feat, 0, self.gates)
            if self.importance is not None:
                run_layers([self.importance], feat)
        except (ValueError, IndexError) as e:
            raise ModelFileError(f"the exact path's layers do not chain ({e})") from None
        if out.shape[-1] != (2 if self.mean_scale else 1) * self.M:
            raise ModelFileError("the exact path's output does not match the model's M")
        points = {v.shape[0] for v in self.grid.values() if v.ndim == 2}
        steps = (points.pop() - 1) // (SCR_LEVELS - 1) if len(points) == 1 else 0
        self.quality_steps = steps
        for name, v in self.grid.items():
            if name not in ("qv", "iqv", "threshold") or not 1 <= steps <= MAX_QUALITY_STEPS or \
                    v.shape != (quality_grid(steps).size, self.M) or (
                    v.dtype.kind == "f" and not (np.isfinite(v).all() and (v > 0).all())):
                raise ModelFileError(f"the exact path's quality grid {name!r} is invalid")

    def __call__(self, z_sym: np.ndarray, rate) -> dict:
        return self.at_rate(self.hyper_synthesis(z_sym, rate), rate)

    def hyper_synthesis(self, z_sym: np.ndarray, rate) -> tuple:
        """z symbols (1, h, w, N) int -> (scale float64 (4h, 4w, M), mean float32 (4h, 4w, M),
        SCR importance int64 (4h, 4w, M) or None), read-only: the part of the coding parameters
        that an SCR model's quality does not change (an AFB model's rate input does:
        ``takes_rate``). The integer layers take 0.08-0.13 s for a 768x512 image, so an
        encoder that probes several qualities of one z keeps this (``codec.Encoder``)."""
        r = rate_to_int(rate) if self.takes_rate else 0
        a = z_sym[0].astype(np.int64) * 2**F_BITS + self.med_int
        feat = run_layers(self.trunk, a, r, self.gates)
        out = run_layers(self.head, feat, r, self.gates).astype(np.float64) / 2.0**F_BITS
        scale = np.maximum(out[..., : self.M], SCALE_BOUND)
        mean = out[..., self.M:].astype(np.float32) if self.mean_scale else np.zeros(
            scale.shape, np.float32)
        imp = None if self.importance is None else run_layers([self.importance], feat)
        for v in (scale, mean, imp):
            if v is not None:
                v.flags.writeable = False
        return scale, mean, imp

    def at_rate(self, hyper: tuple, rate) -> dict:
        """``hyper_synthesis``'s output -> {scale_index, mean, qv, iqv, mask} at ``rate``."""
        scale, mean, imp = hyper
        shape = (1, 1, 1, self.M)
        mask = np.ones((1, *scale.shape), bool)
        if self.grid:
            k = snap_quality(rate, self.quality_steps)
            qv = self.grid["qv"][k].reshape(shape)
            iqv = self.grid["iqv"][k].reshape(shape)
            if imp is not None:
                mask = (imp > self.grid["threshold"][k])[None]
        else:
            qv = iqv = np.ones(shape, np.float32)
        index = np.searchsorted(self.midpoints, scale / qv[0].astype(np.float64), side="left")
        return {"scale_index": index[None].astype(np.int32), "mean": mean[None], "qv": qv,
                "iqv": iqv, "mask": mask}
