"""Range coding of integer symbols with indexed tables (constriction's range coder).

    IndexedCoder(tables).encode(values (n,) int, table_index (n,) int) -> bytes
    IndexedCoder(tables).decode(data, table_index (n,) int) -> values (n,) int32

Symbols are coded grouped by table (all symbols of table 0 in raster order, then table 1,
...), which the decoder can reproduce because it knows every symbol's table index. A value
outside its table's range is coded as the escape symbol, and after all groups the escaped
values follow (``ESCAPE_GAMMA``, files of format 2): for each, one bit for the side of the
table it fell off and the distance d >= 0 beyond that edge as an Elias-gamma code of d + 1
(its bit length k + 1 with probability 2^-(k+1), then its k low bits), so a value just past
its table costs about 2 bits. Format-1 files used ``ESCAPE_FIXED32``: the zigzag code of the
value as two uniform 16-bit halves (32 bits each). Any int32 codes exactly either way.

The coder only sees integer frequency tables; another range coder can be added behind the
same two methods.
"""

from __future__ import annotations

import constriction
import numpy as np

from jlic.entropy.tables import TableSet


class CorruptStreamError(ValueError):
    """A stream that cannot be decoded with the given tables."""


_UNIFORM16 = constriction.stream.model.Uniform(2**16)
_BIT = constriction.stream.model.Uniform(2)
_MAX_ESCAPE = 2**30  # |value| bound: larger values can only come from a broken model
_GAMMA_LENGTHS = 32  # bit lengths 1..32 of d + 1 (d <= 2^31)
_GAMMA = constriction.stream.model.Categorical(
    np.append(2.0 ** -np.arange(1, _GAMMA_LENGTHS), 2.0 ** -(_GAMMA_LENGTHS - 1)), perfect=False)
ESCAPE_FIXED32, ESCAPE_GAMMA = "fixed32", "gamma"


def _unzigzag(u: np.ndarray) -> np.ndarray:
    u = u.astype(np.int64)
    return np.where(u % 2 == 0, u // 2, -(u + 1) // 2)


def _encode_escapes(encoder, rel: np.ndarray, escape: np.ndarray) -> None:
    """Escaped values relative to their table's offset (rel < 0 or rel >= escape, the table's
    escape symbol): side bits, then Elias-gamma codes of the distance past the edge + 1."""
    above = rel >= escape
    d = np.where(above, rel - escape, -rel - 1).astype(np.int64)  # >= 0
    g = (d + 1).astype(np.uint64)
    k = np.floor(np.log2(g.astype(np.float64))).astype(np.int64)
    k += (np.left_shift(np.uint64(1), (k + 1).astype(np.uint64)) <= g)  # exact bit length - 1
    k -= (np.left_shift(np.uint64(1), k.astype(np.uint64)) > g)
    encoder.encode(above.astype(np.int32), _BIT)
    encoder.encode(k.astype(np.int32), _GAMMA)
    if k.sum():
        shifts = np.concatenate([np.arange(n - 1, -1, -1) for n in k]).astype(np.uint64)
        owners = np.repeat(g, k)
        encoder.encode(((owners >> shifts) & np.uint64(1)).astype(np.int32), _BIT)


def _decode_escapes(decoder, escape: np.ndarray) -> np.ndarray:
    n = escape.size
    above = np.asarray(decoder.decode(_BIT, n), np.int64)
    k = np.asarray(decoder.decode(_GAMMA, n), np.int64)
    g = np.ones(n, np.int64)
    if k.sum():
        bits = np.asarray(decoder.decode(_BIT, int(k.sum())), np.int64)
        owners = np.repeat(np.arange(n), k)
        shifts = np.concatenate([np.arange(m - 1, -1, -1) for m in k])
        g = (np.left_shift(np.int64(1), k)
             + np.bincount(owners, weights=bits << shifts, minlength=n).astype(np.int64))
    d = g - 1
    return np.where(above == 1, escape + d, -d - 1)


class IndexedCoder:
    """Range coding (constriction's queue coder) of integer symbols, each with one of a set of
    frozen integer tables (``TableSet``: T tables of frequencies with 16-bit precision, their
    offsets and lengths; the last entry of each table is the escape).

    ``encode(values, table_index)``: values int (n,), table_index int (n,) in [0, T) -> bytes
    (a whole number of uint32 words). Symbols are coded grouped by table in a stable order;
    values outside a table are coded as its escape plus (format 2) a side bit and an
    Elias-gamma code of the distance past the table's end.
    ``decode(data, table_index, escapes)`` -> values int64 (n,); ``CorruptStreamError`` for
    streams that cannot be the coding of n symbols.
    """

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
        escaped_rel, escaped_len = [], []
        start = 0
        for table, count in enumerate(counts):
            if not count:
                continue
            v = sorted_values[start: start + count] - t.offsets[table]
            escape = t.lengths[table] - 1
            outside = (v < 0) | (v >= escape)
            if outside.any():
                escaped_rel.append(v[outside])
                escaped_len.append(np.full(int(outside.sum()), escape))
                v = np.where(outside, escape, v)
            encoder.encode(v.astype(np.int32), self._models[table])
            start += count
        if escaped_rel:
            _encode_escapes(encoder, np.concatenate(escaped_rel), np.concatenate(escaped_len))
        return encoder.get_compressed().astype("<u4").tobytes()

    def decode(self, data: bytes, table_index: np.ndarray,
               escapes: str = ESCAPE_GAMMA) -> np.ndarray:
        if len(data) % 4:
            raise CorruptStreamError("stream length is not a multiple of 4 bytes")
        order, counts = self._groups(table_index)
        t = self.tables
        words = np.frombuffer(data, dtype="<u4").astype(np.uint32)
        try:
            decoder = constriction.stream.queue.RangeDecoder(words)
            sorted_values = np.empty(order.size, np.int64)
            escape_slots, escape_len, escape_offset = [], [], []
            start = 0
            for table, count in enumerate(counts):
                if not count:
                    continue
                v = np.asarray(decoder.decode(self._models[table], int(count)), np.int64)
                escape = t.lengths[table] - 1
                hit = np.nonzero(v == escape)[0]
                if hit.size:
                    escape_slots.append(start + hit)
                    escape_len.append(np.full(hit.size, escape))
                    escape_offset.append(np.full(hit.size, t.offsets[table]))
                sorted_values[start: start + count] = v + t.offsets[table]
                start += count
            if escape_slots:
                slots = np.concatenate(escape_slots)
                if escapes == ESCAPE_FIXED32:
                    halves = np.asarray(decoder.decode(_UNIFORM16, 2 * slots.size), np.int64)
                    sorted_values[slots] = _unzigzag((halves[0::2] << 16) | halves[1::2])
                else:
                    rel = _decode_escapes(decoder, np.concatenate(escape_len))
                    sorted_values[slots] = rel + np.concatenate(escape_offset)
        except (ValueError, RuntimeError, AssertionError) as e:
            raise CorruptStreamError(f"range decoding failed: {e}") from None
        values = np.empty(order.size, np.int32)
        values[order] = np.clip(sorted_values, -_MAX_ESCAPE, _MAX_ESCAPE)
        return values
