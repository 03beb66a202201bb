"""Frozen models: a trained codec plus everything needed to code with it, in one file.

A model file (``.jlicm``, a NumPy ``.npz`` archive read with ``allow_pickle=False``) holds

    format            int, MODEL_FORMAT
    config            JSON: {"model": {"name", "N", "M", ...}, "label": str, "objective": ...}
    param/<path>      every nnx.Param and Quantiles array of the model
    z/freqs,offsets,lengths   factorized-prior tables, one per channel of z
    y/freqs,offsets,lengths   Gaussian tables, one per scale-table entry
    exact/...         the exact side-information path (``jlic.exact``)
    fingerprint       first 8 bytes of SHA-256 over config, parameters and tables

Compact files (``freeze(..., compact=True)``, ``jlic export --compact``; the bundled model)
store every kernel of at least COMPACT_MIN_SIZE values in float16 (the model *is* the rounded
weights: tables and the exact path are computed from them) and no integer layers: the loader
derives those from the parameters (``config["exact_layers"] == "derived"``), which is exact on
every machine. They are about a quarter of the size.

``config["objective"]`` records the training objective's distortion weight, which only the
encoder uses (``jlic.refine``): ``{"lmbda": l}`` for a single-rate model, ``{"lambda_min": a,
"lambda_max": b}`` for an SCR model (lambda_q geometric from q = 1 to 8, ``scr_lambdas``), MSE on
0..255. Decoding does not depend on it, so the fingerprint leaves it out: adding it to an existing
file keeps that file's .jlic files decodable.

Tables are computed once by ``freeze`` and stored; loading never recomputes them and checks the
fingerprint, so a damaged file is refused. The jitted coding functions are

    analyze(x (1,H,W,3) in [0,1], rate) -> y, z        (float, before quantization)
    coding_params(z_hat, rate) -> {scale_index, mean, qv, iqv, mask}: how each element of y
        is coded ("coding parameters"; coding_params_from_symbols is the exact path's)
    synthesize(y_hat, rate) -> uint8 image (1,H,W,3), rounded from the [0,1] reconstruction

``rate`` is the model's rate input (None, an SCR quality or an AFB bpp target), as float32.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
import zlib
from functools import cached_property

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from jlic.entropy.coder import IndexedCoder
from jlic.entropy.factorized import Quantiles
from jlic.entropy.gaussian import scale_index, scale_table
from jlic.entropy.tables import TableSet, factorized_tables, gaussian_tables
from jlic.errors import ModelFileError, RateError
from jlic.exact import IntegerCodingParams, build, build_layers, build_tables
from jlic.files import InputError, atomic_write, read_bounded
from jlic.models import MODELS, build_model
from jlic.rate import scr_lambdas

MODEL_FORMAT = 1
SYNTHESIS_BAND_ROWS = 64  # latent rows per synthesis band (1024 pixels)
SYNTHESIS_HALO = 4  # latent rows of context on each side of a band (g_s's reach: 2), + 1 a block
COMPACT_MIN_SIZE = 4096  # kernels at least this large are stored in float16 by compact files
MAX_MODEL_BYTES = 1 << 30  # file size and declared array bytes; the largest real model is ~100 MB


OBJECTIVE_KEYS = {"none": frozenset({"lmbda"}),  # the objective entry by rate input kind
                  "quality": frozenset({"lambda_min", "lambda_max"})}


def objective_of(train_config) -> dict | None:
    """The ``objective`` entry of a model file from a training config (None for AFB, whose
    rate term is not a lambda)."""
    if train_config.loss == "rd":
        return {"lmbda": float(train_config.lmbda)}
    if train_config.loss == "scr":
        return {"lambda_min": float(train_config.scr.lambda_min),
                "lambda_max": float(train_config.scr.lambda_max)}
    return None


def _check_config(config) -> None:
    """The stored config must name a known model with positive integer sizes."""
    if not isinstance(config, dict) or not isinstance(config.get("model"), dict):
        raise ModelFileError("its config is not a JSON object with a 'model' object")
    model = config["model"]
    if model.get("name") not in MODELS:
        raise ModelFileError(f"it names an unknown model {str(model.get('name'))[:40]!r}")
    for k in ("N", "M"):
        v = model.get(k)
        if v is not None and (not isinstance(v, int) or isinstance(v, bool) or not
                              0 < v <= 4096):
            raise ModelFileError(f"its config has an invalid {k} ({str(v)[:20]})")
    if not isinstance(config.get("label", ""), str):
        raise ModelFileError("its label is not a string")
    if config.get("exact_layers", "stored") not in ("stored", "derived"):
        raise ModelFileError("its config has an invalid exact_layers")
    objective = config.get("objective", {})
    if not (isinstance(objective, dict)
            and (not objective or frozenset(objective) in OBJECTIVE_KEYS.values())
            and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                    and np.isfinite(v) and v > 0 for v in objective.values())):
        raise ModelFileError("its config has an invalid objective (positive lambdas expected)")


def flat_variables(state) -> list[tuple[str, nnx.Variable]]:
    """(key, variable) for every variable of an nnx state, keyed as model files are
    ("g_a/layers/0/kernel": the path's parts joined by "/")."""
    return [("/".join(map(str, path)), var) for path, var in nnx.to_flat_state(state)]


def flat_arrays(state) -> dict[str, np.ndarray]:
    """An nnx state as {"a/b/c": numpy array} (the keys of model files)."""
    return {key: np.asarray(var.get_value()) for key, var in flat_variables(state)}


def fingerprint_of(config: dict, params: dict[str, np.ndarray], z: TableSet, y: TableSet,
                   exact: dict | None = None) -> bytes:
    decoding = {k: v for k, v in config.items() if k != "objective"} \
        if isinstance(config, dict) else config  # the objective is encoder-only
    h = hashlib.sha256(json.dumps(decoding, sort_keys=True).encode())
    arrays = {**{f"param/{k}": v for k, v in params.items()}, **(exact or {}),
              "z/freqs": z.freqs, "z/offsets": z.offsets, "z/lengths": z.lengths,
              "y/freqs": y.freqs, "y/offsets": y.offsets, "y/lengths": y.lengths}
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(f"{name}|{a.dtype.str}|{a.shape}".encode())
        h.update(a.tobytes())
    return h.digest()[:8]


class FrozenModel:
    """A codec ready to code: parameters, integer tables and jitted transforms.

    Args:
      config: ``{"model": {"name": ..., **constructor kwargs}, "class": ..., "rate_input": ...}``.
      params: flat parameter arrays by "/"-joined nnx path (float32).
      z_tables, y_tables: the frozen integer tables of the factorized prior (one per channel
        of z) and of the Gaussian conditional (one per scale bin).
      exact: the integer side-information path's arrays (``jlic.exact``), if any.

    Transforms take images in [0, 1], (1, H, W, 3) float32 with H, W multiples of
    ``downsampling`` (64): ``analyze`` -> (y (1, H/16, W/16, M), z (1, H/64, W/64, N));
    ``coding_params_from_symbols`` -> the scale index, mean, gains and mask of y;
    ``synthesize`` -> uint8 pixels. ``rate`` is the model's rate input (``rate_spec``).
    """

    def __init__(self, config: dict, params: dict[str, np.ndarray], z_tables: TableSet,
                 y_tables: TableSet, exact: dict | None = None):
        self.config = config
        self.params = params
        self.z_tables = z_tables
        self.y_tables = y_tables
        self.exact_arrays = exact or {}
        self.fingerprint = fingerprint_of(config, params, z_tables, y_tables, exact)
        model_cfg = dict(config["model"])
        name = model_cfg.pop("name")
        abstract = nnx.eval_shape(lambda: build_model(name, nnx.Rngs(0), **model_cfg))
        graphdef, state = nnx.split(abstract)
        for key, var in flat_variables(state):
            if key not in params or params[key].shape != var.get_value().shape:
                raise ModelFileError(f"model parameters do not match the {name} architecture "
                                     f"(at {key})")
            var.set_value(jnp.asarray(params[key], var.get_value().dtype))
        self.model = nnx.merge(graphdef, state)
        for key, actual in (("class", type(self.model).__name__),
                            ("rate_input", self.model.rate_spec.kind)):
            if config.get(key, actual) != actual:  # (files before format 1.1 omit them)
                raise ModelFileError(f"the model file says {key} {config[key]!r}, but its "
                                     f"config builds {actual!r}")
        self.downsampling = self.model.downsampling
        self.medians = np.asarray(params["entropy_bottleneck/quantiles"][:, 1], np.float32)
        self._graphdef, self._state = nnx.split(self.model)
        self.integer_coding_params = None  # the exact side-information path (jlic.exact), if any
        derived = config.get("exact_layers") == "derived"
        if self.exact_arrays or derived:
            arrays = {**build_layers(self.model), **self.exact_arrays} if derived else \
                self.exact_arrays
            self.integer_coding_params = IntegerCodingParams(
                arrays, self.medians, self.model.M, self.model.predicts_mean)

    @property
    def label(self) -> str:
        """The stored description, with control characters (terminal escapes) replaced."""
        return "".join(c if c.isprintable() else "?" for c in self.config.get("label", ""))

    @cached_property
    def coders(self):
        """(z coder, y coder): range coders over the stored tables (``jlic.entropy.coder``)."""
        return IndexedCoder(self.z_tables), IndexedCoder(self.y_tables)

    # ---- jitted transforms -------------------------------------------------------------
    @cached_property
    def _analyze(self):
        g = self._graphdef

        def f(state, x, rate):
            m = nnx.merge(g, state)
            y = m.analysis(x, rate)
            return y, m.hyper_analysis(y, rate)

        return jax.jit(f)

    @cached_property
    def _coding_params(self):
        g = self._graphdef

        def f(state, z_hat, rate):
            p = nnx.merge(g, state).coding_params(z_hat, rate)
            mask = p["mask"]
            mask = jnp.ones(p["scale"].shape, bool) if mask is None else mask > 0.5
            return {"scale_index": scale_index(p["scale"] / p["qv"]), "mean": p["mean"],
                    "qv": p["qv"], "iqv": p["iqv"], "mask": mask}

        return jax.jit(f)

    @cached_property
    def _synthesize(self):
        g = self._graphdef
        def f(state, y_hat, rate):
            x_hat = nnx.merge(g, state).synthesis(y_hat, rate)
            return jnp.round(jnp.clip(jnp.nan_to_num(x_hat), 0.0, 1.0) * 255.0).astype(jnp.uint8)

        return jax.jit(f)

    @property
    def rate_spec(self):
        """The model's rate input (``jlic.rate``: NONE, QUALITY or BPP_TARGET)."""
        return self.model.rate_spec

    def rd_lambda(self, rate=None) -> float:
        """The training objective's lambda at ``rate`` (MSE on 0..255; ``objective`` above):
        the single-rate model's, or lambda_q of the SCR ladder (geometric in q, fractional q
        included). Raises ``RateError`` when the file does not record it."""
        objective = self.config.get("objective")
        if not objective or frozenset(objective) != OBJECTIVE_KEYS.get(self.rate_spec.kind):
            raise RateError("this model file does not record the lambda it was trained with, "
                            "which refinement needs (files from 'jlic export' of a single-rate "
                            "or SCR training run do; 'jlic import --lmbda' records it)")
        if "lmbda" in objective:
            return float(objective["lmbda"])
        return float(scr_lambdas(self.rate_spec.check(rate), objective["lambda_min"],
                                 objective["lambda_max"]))

    def _rate(self, rate):
        return None if rate is None else jnp.asarray(np.float32(rate)).reshape(1)

    def analyze(self, x, rate=None):
        """x float32 (1, H, W, 3) in [0, 1] -> (y (1, H/16, W/16, M), z (1, H/64, W/64, N))."""
        y, z = self._analyze(self._state, jnp.asarray(x, jnp.float32), self._rate(rate))
        return np.asarray(y), np.asarray(z)

    def coding_params(self, z_hat, rate=None) -> dict:
        """z_hat -> {scale_index, mean, qv, iqv, mask} as numpy arrays (see coding_params)."""
        out = self._coding_params(self._state, jnp.asarray(z_hat, jnp.float32), self._rate(rate))
        return {k: np.asarray(v) for k, v in out.items()}

    def coding_params_from_symbols(self, z_sym, rate=None) -> dict:
        """The coding parameters of y from the z symbols: through the exact integer path when
        the model file has one (always, for files written by jlic's freeze), else in float."""
        if self.integer_coding_params is not None:
            return self.integer_coding_params(z_sym, rate)
        return self.coding_params(z_sym.astype(np.float32) + self.medians, rate)

    def synthesize(self, y_hat, rate=None, band_rows: int = SYNTHESIS_BAND_ROWS) -> np.ndarray:
        """y_hat (1, H/16, W/16, M) -> the decoded image, uint8 (1, H, W, 3) (rounded, clipped).

        Maps taller than ``band_rows`` latent rows are synthesized in bands of that many rows,
        each with ``SYNTHESIS_HALO`` rows of its neighbours on both sides plus one per
        residual block of the decoder (g_s reaches 2 latent rows past a band, and each block,
        two 3x3 convolutions at 1/8 resolution, one more), so memory follows the band, not the
        image; the result is the whole-map synthesis up to float reassociation."""
        rate = self._rate(rate)
        halo = SYNTHESIS_HALO + self.config["model"].get("synthesis_blocks", 0)
        rows = y_hat.shape[1]
        if rows <= band_rows:
            return np.asarray(self._synthesize(self._state, jnp.asarray(y_hat, jnp.float32),
                                               rate))
        s = self.downsampling // 4  # pixels per latent row (16)
        out = np.empty((1, rows * s, y_hat.shape[2] * s, 3), np.uint8)
        for top in range(0, rows, band_rows):
            lo, hi = max(0, top - halo), min(rows, top + band_rows + halo)
            band = np.asarray(self._synthesize(
                self._state, jnp.asarray(y_hat[:, lo:hi], jnp.float32), rate))
            end = min(rows, top + band_rows)
            out[:, top * s: end * s] = band[:, (top - lo) * s: (end - lo) * s]
        return out

    # ---- files ---------------------------------------------------------------------------
    def save(self, path: str) -> None:
        """Writes the model file atomically (compressed .npz; temporary file + rename)."""
        arrays = {f"param/{k}": v for k, v in self.params.items()}
        for name, t in (("z", self.z_tables), ("y", self.y_tables)):
            arrays.update({f"{name}/freqs": t.freqs, f"{name}/offsets": t.offsets,
                           f"{name}/lengths": t.lengths})
        arrays.update(self.exact_arrays)
        arrays["format"] = np.asarray(MODEL_FORMAT)
        arrays["config"] = np.frombuffer(json.dumps(self.config).encode(), np.uint8)
        arrays["fingerprint"] = np.frombuffer(self.fingerprint, np.uint8)
        buf = io.BytesIO()
        np.savez_compressed(buf, **arrays)
        atomic_write(path, buf.getvalue())

    @classmethod
    def load(cls, path: str) -> "FrozenModel":
        """Reads and checks a model file. Bounded: the file may be at most MAX_MODEL_BYTES and
        declare at most MAX_MODEL_BYTES of arrays (zip entries are checked before any is
        inflated); every failure is a ``ModelFileError`` naming the problem."""
        try:
            raw = read_bounded(path, MAX_MODEL_BYTES, "model file")
        except InputError as e:
            raise ModelFileError(str(e)) from None
        try:
            with zipfile.ZipFile(io.BytesIO(raw)) as z:
                declared = sum(i.file_size for i in z.infolist())
            if declared > MAX_MODEL_BYTES:
                raise ModelFileError(f"{path!r} declares {declared} bytes of arrays, more than "
                                     f"a model file may hold ({MAX_MODEL_BYTES})")
            with np.load(io.BytesIO(raw), allow_pickle=False) as npz:
                arrays = {k: npz[k] for k in npz.files}
        except (ValueError, OSError, zipfile.BadZipFile, EOFError, zlib.error):
            if raw.startswith(b"PK\x03\x04"):  # a zip archive's first entry, as model files begin
                raise ModelFileError(f"{path!r} is a damaged or truncated model file (an "
                                     "unreadable zip archive)") from None
            raise ModelFileError(f"{path!r} is not a jlic model file") from None
        try:
            if int(arrays["format"]) != MODEL_FORMAT:
                raise ModelFileError(f"{path!r} has model format {int(arrays['format'])}; this "
                                     f"jlic reads format {MODEL_FORMAT}")
            config = json.loads(arrays["config"].tobytes().decode())
            _check_config(config)
            params = {k[len("param/"):]: v for k, v in arrays.items() if k.startswith("param/")}
            tables = [TableSet(arrays[f"{n}/freqs"], arrays[f"{n}/offsets"],
                               arrays[f"{n}/lengths"]) for n in ("z", "y")]
            stored = arrays["fingerprint"].tobytes()
            exact = {k: v for k, v in arrays.items() if k.startswith("exact/")}
        except ModelFileError:
            raise
        except (KeyError, ValueError, TypeError, UnicodeDecodeError) as e:
            raise ModelFileError(f"{path!r} is not a valid jlic model file ({e})") from None
        if fingerprint_of(config, params, *tables, exact) != stored:
            raise ModelFileError(f"{path!r} is corrupted: its fingerprint does not match its "
                                 "contents")
        bad = [k for k, v in params.items() if v.dtype.kind != "f" or not np.isfinite(v).all()]
        if bad:
            raise ModelFileError(f"{path!r}: parameter {bad[0]!r} is not finite floating point")
        try:
            return cls(config, params, *tables, exact)
        except ModelFileError:
            raise
        except (KeyError, ValueError, TypeError, IndexError) as e:
            raise ModelFileError(f"{path!r} does not describe a usable model "
                                 f"({type(e).__name__}: {e})") from None


def _round_kernels_to_float16(params_state) -> set[str]:
    """Rounds every kernel of at least COMPACT_MIN_SIZE values to float16 precision in place
    (kept float32 in the model); returns their keys."""
    keys = set()
    for key, var in flat_variables(params_state):
        v = var.get_value()
        if key.endswith("kernel") and v.size >= COMPACT_MIN_SIZE:
            var.set_value(v.astype(jnp.float16).astype(v.dtype))
            keys.add(key)
    return keys


def freeze(model: nnx.Module, model_config: dict, label: str = "",
           exact: bool = True, compact: bool = False,
           objective: dict | None = None) -> FrozenModel:
    """Computes the integer tables of a trained model (and, with ``exact``, its integer
    hyper-synthesis, ``jlic.exact``) and returns it frozen for coding. ``compact`` rounds the
    large kernels of ``model`` to float16 (in place) and stores them so (see the module
    docstring); ``objective`` is recorded for refinement (``objective_of``)."""
    _, params_state, quantiles_state = nnx.split(model, nnx.Param, Quantiles)
    half = _round_kernels_to_float16(params_state) if compact else set()
    if compact:
        nnx.update(model, params_state)
    params = {**flat_arrays(params_state), **flat_arrays(quantiles_state)}
    params = {k: v.astype(np.float16) if k in half else v for k, v in params.items()}
    eb = model.entropy_bottleneck
    quantiles = np.asarray(eb.quantiles.get_value(), np.float64)

    def logits_cdf(values):
        c, n = values.shape
        out = eb.logits_cumulative(jnp.asarray(values, jnp.float32).reshape(c, 1, n))
        return np.asarray(out).reshape(c, n)

    z_tables = factorized_tables(logits_cdf, quantiles[:, 1], quantiles)
    y_tables = gaussian_tables(scale_table())
    # the model describes itself: its class and rate input are recorded beside the
    # constructor arguments, and checked against the rebuilt model on load
    config = {"model": dict(model_config), "label": label,
              "class": type(model).__name__, "rate_input": model.rate_spec.kind}
    if objective:
        config["objective"] = dict(objective)
    exact_arrays = None
    if exact and compact:
        config["exact_layers"] = "derived"
        exact_arrays = build_tables(model)
    elif exact:
        exact_arrays = build(model)
    return FrozenModel(config, params, z_tables, y_tables, exact_arrays)
