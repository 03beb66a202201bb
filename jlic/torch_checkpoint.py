"""Reads PyTorch checkpoint files (``torch.save``) into numpy arrays, without PyTorch.

    read_state_dict(path) -> {"g_a.0.weight": float32 array (out, in, k, k), ...}

Both of torch's formats are read: the zip archive (``ARCHIVE/data.pkl`` plus one raw record per
storage, torch >= 1.6) and the older single-stream format (magic number, protocol, system
info, the pickle, the storage keys, then each storage as an 8-byte element count and its raw
bytes). A checkpoint that wraps the state dict (``{"state_dict": ...}``, as CompressAI's
training script saves it) is unwrapped.

The pickle is read by a restricted unpickler: it builds only plain containers
(``collections.OrderedDict``) and tensors (``torch._utils._rebuild_tensor_v2`` /
``_rebuild_parameter`` over typed storages); any other global, such as a function a
malicious file would call, is refused with ``CheckpointError`` before anything runs. Storage
sizes are checked against the bytes actually present before an array is allocated.
"""

from __future__ import annotations

import collections
import io
import os
import pickle
import struct
import zipfile
import zlib

import numpy as np

from jlic.errors import JlicError

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
MAX_CHECKPOINT_BYTES = 4 << 30  # refuse larger archives (CompressAI's largest zoo file: ~100 MB)

_STORAGE_DTYPES = {
    "FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16,
    "LongStorage": np.int64, "IntStorage": np.int32, "ShortStorage": np.int16,
    "CharStorage": np.int8, "ByteStorage": np.uint8, "BoolStorage": np.bool_,
}


class CheckpointError(JlicError):
    """A checkpoint file that is not a readable, safe PyTorch state dict."""


class _StorageType:
    def __init__(self, name):
        self.dtype = np.dtype(_STORAGE_DTYPES[name])


class _Storage:
    """One storage: a flat array, filled when its bytes are read (legacy files: after the
    pickle)."""

    def __init__(self, dtype: np.dtype, numel: int):
        self.dtype, self.numel, self.array = dtype, numel, None


class _Tensor:
    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset, self.size, self.stride = storage, offset, size, stride

    def resolve(self) -> np.ndarray:
        s = self.storage
        if s.array is None:
            raise CheckpointError("a tensor refers to a storage the file does not contain")
        size, stride = tuple(self.size), tuple(self.stride)
        if any(not isinstance(v, int) or v < 0 for v in (*size, *stride, self.offset)) or \
                len(size) != len(stride):
            raise CheckpointError("a tensor has an invalid shape or stride")
        last = self.offset - 1
        if all(size):
            last = self.offset + sum((n - 1) * st for n, st in zip(size, stride, strict=True))
        if last >= s.numel:
            raise CheckpointError("a tensor reaches past the end of its storage")
        if not all(size):
            return np.zeros(size, s.dtype)
        item = s.dtype.itemsize
        view = np.lib.stride_tricks.as_strided(
            s.array[self.offset:], size, tuple(st * item for st in stride), writeable=False)
        return np.array(view)


def _rebuild_tensor(storage, offset, size, stride, requires_grad=False, hooks=None,
                    metadata=None):
    if not isinstance(storage, _Storage):
        raise CheckpointError("a tensor is built from something that is not a storage")
    return _Tensor(storage, offset, size, stride)


def _rebuild_parameter(data, requires_grad=False, hooks=None):
    return data


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, file, storage_loader):
        super().__init__(file)
        self._storage_loader = storage_loader

    def find_class(self, module, name):
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _rebuild_tensor
        if (module, name) == ("torch._utils", "_rebuild_parameter"):
            return _rebuild_parameter
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(name)
        raise CheckpointError(f"the checkpoint's pickle asks for {module}.{name}, which is not "
                              "a tensor or a plain container; refusing to load it")

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage"
                and isinstance(pid[1], _StorageType)):
            raise CheckpointError(f"unsupported persistent id in the checkpoint: {pid!r:.80}")
        return self._storage_loader(pid[1].dtype, str(pid[2]), pid[4], pid[5:])


def _resolve(obj):
    if isinstance(obj, _Tensor):
        return obj.resolve()
    if isinstance(obj, dict):
        return {k: _resolve(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_resolve(v) for v in obj)
    return obj


def _unpickle(data: bytes, loader):
    try:
        return _RestrictedUnpickler(io.BytesIO(data), loader).load()
    except CheckpointError:
        raise
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError,
            IndexError, KeyError, struct.error, RecursionError) as e:
        raise CheckpointError(f"the checkpoint's pickle is damaged ({type(e).__name__})") from None


def _read_zip(raw: bytes):
    try:
        archive = zipfile.ZipFile(io.BytesIO(raw))
        infos = {i.filename: i for i in archive.infolist()}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError):
        raise CheckpointError("the file is a damaged zip archive") from None
    pkl = [n for n in infos if n.endswith("/data.pkl") or n == "data.pkl"]
    if len(pkl) != 1:
        raise CheckpointError("the zip archive is not a PyTorch checkpoint (no data.pkl)")
    prefix = pkl[0][: -len("data.pkl")]
    if sum(i.file_size for i in infos.values()) > MAX_CHECKPOINT_BYTES:
        raise CheckpointError("the archive declares more than 4 GiB of content")
    byteorder = "little"
    if prefix + "byteorder" in infos:
        byteorder = archive.read(prefix + "byteorder").decode(errors="replace")
    storages = {}

    def load_storage(dtype, key, numel, _view):
        info = infos.get(f"{prefix}data/{key}")
        if info is None:
            raise CheckpointError(f"the archive lacks the record of storage {key!r}")
        if not isinstance(numel, int) or numel < 0 or info.file_size != numel * dtype.itemsize:
            raise CheckpointError(f"storage {key!r} does not hold {numel} elements")
        if key not in storages:
            s = _Storage(dtype, numel)
            s.array = np.frombuffer(archive.read(info), dtype.newbyteorder(
                "<" if byteorder == "little" else ">")).astype(dtype)
            storages[key] = s
        return storages[key]

    try:
        obj = _unpickle(archive.read(pkl[0]), load_storage)
        return _resolve(obj)
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error):
        raise CheckpointError("the zip archive is truncated or damaged") from None


def _read_legacy(raw: bytes):
    f = io.BytesIO(raw)
    storages = {}

    def load_storage(dtype, key, numel, view):
        if not isinstance(numel, int) or numel < 0:
            raise CheckpointError(f"storage {key!r} has an invalid size")
        if view and view[0] is not None:
            raise CheckpointError("storage views of old PyTorch checkpoints are not supported")
        if key not in storages:
            storages[key] = _Storage(dtype, numel)
        return storages[key]

    try:
        if _unpickle_plain(f) != LEGACY_MAGIC:
            raise CheckpointError("the file is not a PyTorch checkpoint (no zip archive, no "
                                  "magic number)")
        _unpickle_plain(f)  # protocol version
        _unpickle_plain(f)  # system info
        unpickler = _RestrictedUnpickler(f, load_storage)
        obj = unpickler.load()
        keys = _unpickle_plain(f)
    except CheckpointError:
        raise
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError,
            IndexError, KeyError, struct.error, RecursionError):
        raise CheckpointError("the file is not a PyTorch checkpoint or is damaged") from None
    if not isinstance(keys, list):
        raise CheckpointError("the checkpoint's storage list is damaged")
    for key in keys:
        s = storages.get(str(key))
        head = f.read(8)
        if s is None or len(head) != 8:
            raise CheckpointError("the checkpoint's storages are truncated or damaged")
        (count,) = struct.unpack("<q", head)
        nbytes = count * s.dtype.itemsize
        if count != s.numel or nbytes > len(raw) - f.tell():
            raise CheckpointError(f"storage {key!r} is truncated")
        s.array = np.frombuffer(f.read(nbytes), s.dtype.newbyteorder("<")).astype(s.dtype)
    return _resolve(obj)


class _PlainUnpickler(_RestrictedUnpickler):
    def persistent_load(self, pid):
        raise CheckpointError("unexpected persistent id in a checkpoint header")


def _unpickle_plain(f):
    return _PlainUnpickler(f, None).load()


def read_state_dict(path: str) -> dict[str, np.ndarray]:
    """The state dict of a ``torch.save`` file as {name: numpy array}."""
    try:
        size = os.path.getsize(path)
        if size > MAX_CHECKPOINT_BYTES:
            raise CheckpointError(f"{path!r} is larger than 4 GiB")
        with open(path, "rb") as f:
            raw = f.read(MAX_CHECKPOINT_BYTES + 1)
    except OSError as e:
        raise CheckpointError(f"cannot read {path!r}: {e.strerror}") from None
    try:
        if zipfile.is_zipfile(io.BytesIO(raw)):
            obj = _read_zip(raw)
        elif raw.startswith(b"\x80"):  # the older stream opens with a pickle PROTO opcode
            obj = _read_legacy(raw)
        else:
            raise CheckpointError("not a PyTorch checkpoint (neither a zip archive nor a "
                                  "torch.save stream)")
    except CheckpointError as e:
        raise CheckpointError(f"{path!r}: {e}") from None
    if isinstance(obj, dict) and isinstance(obj.get("state_dict"), dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict) or not obj:
        raise CheckpointError(f"{path!r} holds no state dict")
    arrays = {k: v for k, v in obj.items() if isinstance(v, np.ndarray)}
    if not arrays or not all(isinstance(k, str) for k in arrays):
        raise CheckpointError(f"{path!r} holds no named tensors")
    if all(k.startswith("module.") for k in arrays):  # saved from nn.DataParallel
        arrays = {k[len("module."):]: v for k, v in arrays.items()}
    return arrays
