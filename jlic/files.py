"""Reading and writing the files users name: bounded reads, outputs that never destroy.

    read_bounded(path, limit, what) -> bytes         refuses non-regular files and files over
                                                      ``limit`` bytes before reading them
    check_output(path, inputs=()) -> str             the real file an output will replace,
                                                      checked before any work is done
    atomic_write(path, data, inputs=())              writes through a temporary file in the same
                                                      folder, fsync, rename, fsync of the folder

Outputs: a symlink is written through (its target is replaced, the link stays); a device,
FIFO, socket or folder is refused, and so is an output that is one of the inputs (also through
links or hard links). An existing file keeps its permission bits; a new one gets 0666 & ~umask.
The destination is either untouched or complete.
"""

from __future__ import annotations

import os
import stat
import tempfile

from jlic.errors import JlicError


class OutputError(JlicError):
    """An output path that cannot or must not be written."""


class InputError(JlicError):
    """An input path that cannot be read safely."""


def read_bounded(path: str, limit: int, what: str) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes; ``what`` names it in errors."""
    try:
        with open(path, "rb") as f:
            st = os.fstat(f.fileno())
            if not stat.S_ISREG(st.st_mode):
                raise InputError(f"{what} {path!r} is not a regular file")
            if st.st_size > limit:
                raise InputError(f"{what} {path!r} is {st.st_size} bytes, more than the "
                                 f"{limit} a {what} may have")
            data = f.read(limit + 1)
    except FileNotFoundError:
        raise InputError(f"no such file: {path!r}") from None
    except IsADirectoryError:
        raise InputError(f"{what} {path!r} is a directory") from None
    except OSError as e:
        raise InputError(f"cannot read {what} {path!r}: {e.strerror}") from None
    if len(data) > limit:
        raise InputError(f"{what} {path!r} grew beyond {limit} bytes while being read")
    return data


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def check_output(path: str, inputs=()) -> str:
    """Validates an output path before the work that produces it; returns the real path that
    will be replaced (symlinks resolved)."""
    if not path:
        raise OutputError("the output path is empty")
    real = os.path.realpath(path)
    if os.path.lexists(real) or os.path.exists(path):
        try:
            st = os.stat(real)
        except OSError as e:
            raise OutputError(f"cannot use output {path!r}: {e.strerror}") from None
        if stat.S_ISDIR(st.st_mode):
            raise OutputError(f"output {path!r} is a directory")
        if not stat.S_ISREG(st.st_mode):
            raise OutputError(f"output {path!r} is not a regular file (a device, FIFO or "
                              "socket); refusing to replace it")
        for i in inputs:
            if _same_file(real, i):
                raise OutputError(f"output {path!r} is the input {i!r}; refusing to "
                                  "overwrite it")
    folder = os.path.dirname(real) or "."
    if not os.path.isdir(folder):
        raise OutputError(f"cannot write {path!r}: folder {folder!r} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(f"cannot write {path!r}: folder {folder!r} is not writable")
    return real


def atomic_write(path: str, data: bytes, inputs=()) -> None:
    """Writes ``data`` to ``path`` (see the module docstring); errors name ``path``."""
    real = check_output(path, inputs)
    folder = os.path.dirname(real) or "."
    try:
        mode = stat.S_IMODE(os.stat(real).st_mode)
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".jlic-tmp-")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, real)
        tmp = None
        dir_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError as e:
        raise OutputError(f"cannot write {path!r}: {e.strerror or e}") from None
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.remove(tmp)
