"""Resumable evaluation: each model measurement is kept on disk the moment it is made.

An evaluation of refined files runs for hours (Kodak, eight qualities, ``--refine 40``: 2.5
hours on a 2-core VM without AVX-512, 2026-12-06); an interrupted one would otherwise start
over. ``Journal`` appends every model record to ``records.jsonl`` in the output folder (one
JSON line, flushed and fsynced) and hands it back to a later run of the same measurement, which
then codes only what is missing.

A record is reused only when everything that determines it is the same::

    {"model": sha256 of the model file, "refine": refinement steps, "jlic": sha256 of jlic's
     source files, "image": sha256 of the image file, "codec": curve name, "rate": rate input}

so a changed model, image, option or jlic never mixes with old numbers. A reused record keeps
the encode and decode times of the run that measured it. A line cut off by the interruption is
dropped (that measurement is made again).

    journal = Journal(out_folder, Record)
    journal.lookup(key) -> Record | None;  journal.add(key, record);  journal.reused -> int
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
from dataclasses import asdict
from functools import cache

RECORDS_FILE = "records.jsonl"


def file_digest(path: str) -> str:
    """sha256 of a file's bytes (hex)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@cache
def code_digest() -> str:
    """sha256 over jlic's Python sources (paths and bytes): the code that made a record."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    h = hashlib.sha256()
    for path in sorted(glob.glob(os.path.join(root, "**", "*.py"), recursive=True)):
        h.update(os.path.relpath(path, root).encode() + b"\0")
        with open(path, "rb") as f:
            h.update(f.read())
    return h.hexdigest()


def _canonical(key: dict) -> str:
    return json.dumps(key, sort_keys=True)


class Journal:
    """The model records of an output folder (``records.jsonl``), read once and appended to."""

    def __init__(self, folder: str, record_type):
        self.path = os.path.join(folder, RECORDS_FILE)
        self.reused = 0  # lookups answered from earlier runs' records
        self._records = {}
        if os.path.exists(self.path):
            with open(self.path, "rb") as f:
                data = f.read()
            complete = data[:data.rfind(b"\n") + 1]
            if len(complete) < len(data):  # cut off mid-line: drop the tail before appending
                with open(self.path, "r+b") as f:
                    f.truncate(len(complete))
            for line in complete.decode("utf-8", "replace").splitlines():
                try:
                    entry = json.loads(line)
                    record = record_type(**entry["record"])
                    key = _canonical(entry["key"])
                except (ValueError, KeyError, TypeError):
                    continue  # not a record of this jlic: measured again
                self._records[key] = record
        self._earlier = set(self._records)  # the keys of earlier runs

    def lookup(self, key: dict):
        """The record measured earlier under ``key``, or None."""
        canonical = _canonical(key)
        record = self._records.get(canonical)
        if record is not None and canonical in self._earlier:
            self.reused += 1
        return record

    def add(self, key: dict, record) -> None:
        """Keeps ``record`` under ``key`` in memory and on disk before returning."""
        self._records[_canonical(key)] = record
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps({"key": key, "record": asdict(record)}) + "\n")
            f.flush()
            os.fsync(f.fileno())
