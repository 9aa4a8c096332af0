"""Id handling shared by the data layer: factorising ids and two-way id maps.

Everything here is vectorised: factorising 25M ids costs a few passes over the
arrays, never a Python loop per row (the only per-element loops are fallbacks
for ids of mixed Python types without pandas, and for Python lists of mixed
types, which are small by nature).
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["as_1d", "sequence_array", "factorize", "IdMap", "describe"]

# An integer id range at most this many times the number of values is mapped
# through a dense lookup table (O(n)) instead of a sort.
_DENSE_SPAN_FACTOR = 4
_DENSE_SPAN_MIN = 1 << 20


def describe(x: Any) -> str:
    if isinstance(x, np.ndarray):
        return f"ndarray(dtype={x.dtype}, shape={x.shape})"
    return f"{type(x).__name__} {x!r}"[:120]


def sequence_array(values: Any) -> np.ndarray:
    """``np.asarray``, except that a list mixing strings with other values, or
    holding tuples, becomes a 1-d object array instead of being coerced to
    strings (``[1, "a"]`` would silently become ``["1", "a"]``) or 2-d."""
    if isinstance(values, (list, tuple)) and values:
        kinds = {type(v) for v in values}
        has_text = any(issubclass(t, (str, bytes)) for t in kinds)
        if any(issubclass(t, tuple) for t in kinds) or (has_text and len(kinds) > 1):
            arr = np.empty(len(values), dtype=object)
            for i, v in enumerate(values):
                arr[i] = v
            return arr
    if hasattr(values, "to_numpy") and not isinstance(values, np.ndarray):
        return np.asarray(values.to_numpy())
    return np.asarray(values)


def as_1d(values: Any, name: str, *, length: int | None = None) -> np.ndarray:
    """A 1-d NumPy view of a list, array or pandas Series (no copy when possible)."""
    if values is None:
        raise TypeError(f"{name}: expected a 1-d array, got None")
    arr = sequence_array(values)
    if arr.ndim != 1:
        raise ValueError(f"{name}: expected a 1-d array, got shape {arr.shape}")
    if length is not None and arr.shape[0] != length:
        raise ValueError(f"{name}: expected {length} values (one per row), got {arr.shape[0]}")
    return arr


def _missing_mask(values: np.ndarray) -> np.ndarray | None:
    """Positions holding None/NaN/NaT, or None when there cannot be any."""
    kind = values.dtype.kind
    if kind == "f":
        return np.isnan(values)
    if kind in "mM":
        return np.isnat(values)
    if kind == "O":
        try:
            import pandas as pd
        except ImportError:  # pragma: no cover - pandas is a test dependency
            # elementwise: `x != x` is True only for NaN-like objects
            return np.asarray(values == None) | np.asarray(values != values)  # noqa: E711
        return np.asarray(pd.isna(values), dtype=bool)  # also pd.NA and NaT
    return None


def factorize(values: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray]:
    """``(codes int64, uniques)`` with ``uniques[codes] == values``.

    ``uniques`` are sorted (``np.unique`` order) whenever the ids can be
    ordered; ids of mixed Python types keep their order of first appearance.
    """
    if values.dtype.kind not in "iufbUSOmM":
        raise TypeError(
            f"{name}: ids must be integers, strings or other hashable values, got dtype {values.dtype}"
        )
    missing = _missing_mask(values)
    if missing is not None and missing.any():
        where = np.flatnonzero(missing)
        shown = ", ".join(str(i) for i in where[:5]) + (", ..." if where.size > 5 else "")
        raise ValueError(
            f"{name}: ids must not be missing (None/NaN); found {where.size} at positions [{shown}]"
        )
    if values.size == 0:
        return np.zeros(0, np.int64), values[:0].copy()
    kind = values.dtype.kind
    if kind in "iu" and (kind == "i" or int(values.max()) < 2**63):
        lo, hi = int(values.min()), int(values.max())
        span = hi - lo + 1
        if span <= max(_DENSE_SPAN_FACTOR * values.size, _DENSE_SPAN_MIN):
            shifted = values.astype(np.int64, copy=False) - lo
            present = np.zeros(span, dtype=bool)
            present[shifted] = True
            if present.all():  # ids are exactly lo..hi: the shift is the code
                return shifted, np.arange(lo, hi + 1).astype(values.dtype)
            uniques = (np.flatnonzero(present) + lo).astype(values.dtype)
            lookup = np.cumsum(present, dtype=np.int64) - 1
            return lookup[shifted], uniques
    if kind in "OUS":
        try:
            from .._pandas import require_pandas

            pd = require_pandas("factorize")
        except ImportError:  # pragma: no cover - pandas is a test dependency
            pd = None
        if pd is not None:
            try:
                try:
                    codes, uniques = pd.factorize(values, sort=True)
                except TypeError:  # mixed types cannot be ordered
                    codes, uniques = pd.factorize(values, sort=False)
            except TypeError as exc:
                raise TypeError(f"{name}: ids must be hashable ({exc})") from None
            uniques = np.asarray(uniques)
            if uniques.dtype != values.dtype and kind in "US":
                uniques = uniques.astype(values.dtype)
            return codes.astype(np.int64, copy=False), uniques
    try:
        uniques, codes = np.unique(values, return_inverse=True)
        return codes.reshape(-1).astype(np.int64, copy=False), uniques
    except TypeError:
        pass
    table: dict[Any, int] = {}
    try:
        codes = np.fromiter(
            (table.setdefault(v, len(table)) for v in values.tolist()), np.int64, values.size
        )
    except TypeError as exc:
        raise TypeError(f"{name}: ids must be hashable ({exc})") from None
    uniques = np.empty(len(table), dtype=object)
    uniques[:] = list(table)
    return codes, uniques


def _compatible(a: np.dtype, b: np.dtype) -> bool:
    numeric = "iufb"
    return (a.kind in numeric and b.kind in numeric) or (a.kind == b.kind and a.kind in "USmM")


class IdMap:
    """Caller's id -> index lookups for one axis (built lazily, cached)."""

    def __init__(self, ids: np.ndarray, what: str):
        self.ids = ids
        self.what = what
        self._sorted: np.ndarray | None = None
        self._sorter: np.ndarray | None = None
        self._hash: Any = None
        self._offset: int | None = None
        if ids.dtype.kind in "iu" and ids.size and int(ids[-1]) - int(ids[0]) == ids.size - 1:
            if ids.size == 1 or bool(np.all(np.diff(ids) == 1)):
                self._offset = int(ids[0])  # ids are a contiguous range: index = id - offset

    def _sorted_view(self) -> tuple[np.ndarray, np.ndarray | None]:
        if self._sorted is None:
            ids = self.ids
            if ids.size < 2 or bool(np.all(ids[1:] > ids[:-1])):
                self._sorted, self._sorter = ids, None
            else:
                sorter = np.argsort(ids, kind="stable")
                self._sorted, self._sorter = ids[sorter], sorter
        return self._sorted, self._sorter

    def _hash_lookup(self, query: np.ndarray) -> np.ndarray:
        try:
            from .._pandas import require_pandas

            pd = require_pandas("id lookup")
        except ImportError:  # pragma: no cover
            pd = None
        if pd is not None:
            if self._hash is None:
                self._hash = pd.Index(self.ids)
            return np.asarray(self._hash.get_indexer(query), dtype=np.int64)
        if self._hash is None:
            self._hash = {v: i for i, v in enumerate(self.ids.tolist())}
        table = self._hash
        out = np.empty(query.size, np.int64)
        for pos, value in enumerate(query.tolist()):
            try:
                out[pos] = table.get(value, -1)
            except TypeError:  # unhashable query value: unknown
                out[pos] = -1
        return out

    def lookup(self, query: Any, name: str) -> tuple[np.ndarray, bool]:
        """``(indices int64 with -1 for unknown ids, query_was_scalar)``."""
        if isinstance(query, tuple) and self.ids.dtype == object:
            q = np.empty(1, dtype=object)  # a tuple id, not a sequence of ids
            q[0] = query
            return self.lookup(q, name)[0], True
        q = sequence_array(query)
        scalar = q.ndim == 0
        if q.ndim > 1:
            raise ValueError(
                f"{name}: expected a scalar id or a 1-d array of ids, got shape {q.shape}"
            )
        q = np.atleast_1d(q)
        if q.size == 0:
            return np.zeros(0, np.int64), scalar
        if self._offset is not None and q.dtype.kind in "iu":
            shifted = q.astype(np.int64, copy=False) - self._offset
            inside = (shifted >= 0) & (shifted < self.ids.size)
            return np.where(inside, shifted, -1), scalar
        if self.ids.dtype != object and _compatible(self.ids.dtype, q.dtype):
            if self.ids.dtype.kind in "fc" or q.dtype.kind in "fc":
                bad = np.isnan(q.astype(np.float64, copy=False)) if q.dtype.kind in "iufb" else None
            else:
                bad = None
            sorted_ids, sorter = self._sorted_view()
            if sorted_ids.size == 0:
                return np.full(q.size, -1, np.int64), scalar
            pos = np.searchsorted(sorted_ids, q)
            pos = np.minimum(pos, sorted_ids.size - 1)
            found = sorted_ids[pos] == q
            if bad is not None:
                found &= ~bad
            idx = pos if sorter is None else sorter[pos]
            return np.where(found, idx, -1).astype(np.int64, copy=False), scalar
        return self._hash_lookup(q), scalar

    def index(self, query: Any, name: str) -> Any:
        """Indices of ``query``; ``KeyError`` naming the unknown ids."""
        idx, scalar = self.lookup(query, name)
        unknown = idx < 0
        if unknown.any():
            q = np.atleast_1d(sequence_array(query)).astype(object)
            if scalar:
                q = q[:1]
            bad = q[unknown]
            shown = ", ".join(repr(v) for v in bad[:10].tolist())
            more = f" (and {bad.size - 10} more)" if bad.size > 10 else ""
            raise KeyError(
                f"{name}: unknown {self.what} ids: {shown}{more}; {bad.size} of {q.size} not in the index"
            )
        if scalar:
            return int(idx[0])
        return idx
