"""Range coding of integer symbols with indexed tables (constriction's range coder).

    IndexedCoder(tables).encode(values (n,) int, table_index (n,) int) -> bytes
    IndexedCoder(tables).decode(data, table_index (n,) int) -> values (n,) int32

Symbols are coded grouped by table (all symbols of table 0 in raster order, then table 1,
...), which the decoder can reproduce because it knows every symbol's table index. A value
outside its table's range is coded as the escape symbol, and after all groups the escaped
values follow as two uniform 16-bit halves of their zigzag code, so any int32 codes exactly.

The coder only sees integer frequency tables; another range coder can be added behind the
same two methods.
"""

from __future__ import annotations

import numpy as np

import constriction

from jlic.entropy.tables import TableSet


class CorruptStreamError(ValueError):
    """A stream that cannot be decoded with the given tables."""


_UNIFORM16 = constriction.stream.model.Uniform(2**16)
_MAX_ESCAPE = 2**30  # |value| bound: larger values can only come from a broken model


def _zigzag(v: np.ndarray) -> np.ndarray:
    v = v.astype(np.int64)
    return np.where(v >= 0, 2 * v, -2 * v - 1).astype(np.uint64)


def _unzigzag(u: np.ndarray) -> np.ndarray:
    u = u.astype(np.int64)
    return np.where(u % 2 == 0, u // 2, -(u + 1) // 2)


class IndexedCoder:
    def __init__(self, tables: TableSet):
        if tables.freqs.shape[0] > 2**16:
            raise ValueError("at most 65536 tables per coder")
        self.tables = tables
        self._models = [
            constriction.stream.model.Categorical(
                tables.freqs[t, : tables.lengths[t]].astype(np.float64), perfect=False)
            for t in range(tables.freqs.shape[0])]

    def _groups(self, table_index: np.ndarray):
        table_index = np.asarray(table_index).reshape(-1)
        if table_index.size and (table_index.min() < 0
                                 or table_index.max() >= len(self._models)):
            raise ValueError("table index out of range")
        # uint16 keys: numpy sorts them stably with a radix sort (5x faster than int32 keys)
        order = np.argsort(table_index.astype(np.uint16), kind="stable")
        counts = np.bincount(table_index, minlength=len(self._models))
        return order, counts

    def encode(self, values: np.ndarray, table_index: np.ndarray) -> bytes:
        values = np.asarray(values).reshape(-1)
        if np.any(np.abs(values.astype(np.int64)) > _MAX_ESCAPE):
            raise ValueError(f"symbol magnitude above {_MAX_ESCAPE}: the model produced "
                             "non-finite or absurd latents")
        order, counts = self._groups(table_index)
        sorted_values = values[order].astype(np.int64)
        t = self.tables
        encoder = constriction.stream.queue.RangeEncoder()
        escaped = []
        start = 0
        for table, count in enumerate(counts):
            if not count:
                continue
            v = sorted_values[start: start + count] - t.offsets[table]
            escape = t.lengths[table] - 1
            outside = (v < 0) | (v >= escape)
            if outside.any():
                escaped.append(sorted_values[start: start + count][outside])
                v = np.where(outside, escape, v)
            encoder.encode(v.astype(np.int32), self._models[table])
            start += count
        if escaped:
            u = _zigzag(np.concatenate(escaped))
            halves = np.stack([u >> 16, u & 0xFFFF], axis=1).reshape(-1).astype(np.int32)
            encoder.encode(halves, _UNIFORM16)
        return encoder.get_compressed().astype("<u4").tobytes()

    def decode(self, data: bytes, table_index: np.ndarray) -> np.ndarray:
        if len(data) % 4:
            raise CorruptStreamError("stream length is not a multiple of 4 bytes")
        order, counts = self._groups(table_index)
        t = self.tables
        words = np.frombuffer(data, dtype="<u4").astype(np.uint32)
        try:
            decoder = constriction.stream.queue.RangeDecoder(words)
            sorted_values = np.empty(order.size, np.int64)
            escape_slots = []
            start = 0
            for table, count in enumerate(counts):
                if not count:
                    continue
                v = np.asarray(decoder.decode(self._models[table], int(count)), np.int64)
                escape = t.lengths[table] - 1
                hit = np.nonzero(v == escape)[0]
                if hit.size:
                    escape_slots.append(start + hit)
                sorted_values[start: start + count] = v + t.offsets[table]
                start += count
            if escape_slots:
                slots = np.concatenate(escape_slots)
                halves = np.asarray(decoder.decode(_UNIFORM16, 2 * slots.size), np.int64)
                u = (halves[0::2] << 16) | halves[1::2]
                sorted_values[slots] = _unzigzag(u)
        except (ValueError, RuntimeError, AssertionError) as e:
            raise CorruptStreamError(f"range decoding failed: {e}") from None
        values = np.empty(order.size, np.int32)
        values[order] = np.clip(sorted_values, -_MAX_ESCAPE, _MAX_ESCAPE)
        return values
