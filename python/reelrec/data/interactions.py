"""Interaction data with two-way id maps (users x items, CSR float32).

:class:`Interactions` is what every reelrec model, split and metric consumes:
a canonical users x items float32 CSR matrix plus the caller's ids for each
row and column, optional per-pair timestamps and optional user/item metadata
tables kept aligned with the index.

Building from raw rows (:meth:`Interactions.from_arrays`,
:meth:`~Interactions.from_frame`, :meth:`~Interactions.from_events`) is
vectorised: ids are factorised with a dense lookup table (integer ids in a
compact range) or a hash (strings, via pandas), and rows are put in CSR order
with a linear-time radix sort, so tens of millions of rows load in seconds.
Duplicate (user, item) rows are aggregated (``"sum"``, ``"max"`` or ``"last"``
by timestamp); the pair keeps the time of its latest event.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from typing import Any

import numpy as np
import scipy.sparse as sp

from ._ids import IdMap, as_1d, describe, factorize

__all__ = ["Interactions"]

_AGGREGATES = ("sum", "max", "last")


# --------------------------------------------------------------------------- helpers
def _check_aggregate(aggregate: Any) -> str:
    if aggregate not in _AGGREGATES:
        raise ValueError(f"aggregate: expected one of {list(_AGGREGATES)}, got {aggregate!r}")
    return aggregate


def _as_weights(values: Any, name: str, length: int) -> np.ndarray:
    arr = as_1d(values, name, length=length)
    if arr.dtype == object:
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError):
            raise TypeError(
                f"{name}: expected numeric weights, got dtype object with non-numeric values"
            ) from None
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_) or np.iscomplexobj(arr):
        raise TypeError(f"{name}: expected numeric weights, got dtype {arr.dtype}")
    arr = arr.astype(np.float64, copy=False)
    if arr.size and not np.isfinite(arr).all():
        bad = np.flatnonzero(~np.isfinite(arr))
        raise ValueError(
            f"{name}: weights must be finite; {bad.size} NaN/inf values, first at row {int(bad[0])}"
        )
    return arr


def _as_timestamps(values: Any, name: str, length: int | None) -> np.ndarray | None:
    """float64 timestamps; datetimes become seconds since the Unix epoch."""
    if values is None:
        return None
    if hasattr(values, "dt") and hasattr(values, "to_numpy"):  # pandas datetime Series
        if getattr(values.dt, "tz", None) is not None:
            values = values.dt.tz_convert("UTC").dt.tz_localize(None)
        values = values.to_numpy()
    arr = as_1d(values, name, length=length)
    if arr.dtype.kind == "M":
        if np.isnat(arr).any():
            raise ValueError(f"{name}: timestamps must not be missing (NaT)")
        return arr.astype("datetime64[ns]").astype(np.int64).astype(np.float64) / 1e9
    if arr.dtype.kind == "m":
        return arr.astype("timedelta64[ns]").astype(np.int64).astype(np.float64) / 1e9
    if arr.dtype.kind not in "iuf":
        raise TypeError(
            f"{name}: expected numeric timestamps (e.g. Unix seconds) or datetime64, got dtype {arr.dtype}"
        )
    arr = arr.astype(np.float64, copy=False)
    if arr.size and not np.isfinite(arr).all():
        bad = np.flatnonzero(~np.isfinite(arr))
        raise ValueError(
            f"{name}: timestamps must be finite; {bad.size} NaN/inf values, first at row {int(bad[0])}"
        )
    return arr


def _column(table: Any, col: str, what: str) -> Any:
    """One column of a DataFrame or a mapping of arrays, with a precise KeyError."""
    try:
        columns = list(table.columns) if hasattr(table, "columns") else list(table.keys())
    except AttributeError:
        raise TypeError(
            f"{what}: expected a pandas DataFrame or a mapping of column -> array, got {describe(table)}"
        ) from None
    if col not in columns:
        shown = ", ".join(repr(c) for c in columns[:20])
        raise KeyError(f"{what}: no column {col!r}; available columns: {shown}")
    return table[col]


def _table_length(table: Any) -> int:
    if hasattr(table, "columns"):
        return len(table)
    lengths = {len(np.asarray(v)) for v in table.values()} if table else {0}
    if len(lengths) > 1:
        raise ValueError(f"table: columns have different lengths {sorted(lengths)}")
    return lengths.pop()


def _universe(ids: Any, name: str) -> np.ndarray:
    arr = as_1d(ids, name)
    _, uniques = factorize(arr, name)
    if uniques.size != arr.size:
        raise ValueError(f"{name}: ids must be unique; {arr.size - uniques.size} duplicates")
    return arr


def _codes_for(
    values: np.ndarray, ids: np.ndarray | None, name: str, what: str
) -> tuple[np.ndarray, np.ndarray]:
    """Index codes of ``values``: factorised, or looked up in a fixed universe ``ids``."""
    if ids is None:
        return factorize(values, name)
    universe = _universe(ids, f"{what}_ids")
    codes = IdMap(universe, what).index(values, name)
    return np.atleast_1d(codes), universe


def _sort_by_row_then_col(
    rows: np.ndarray, cols: np.ndarray, n_rows: int, n_cols: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Order of coordinates by (row, col): ``(order, indptr, sorted cols)``.

    Rows are grouped by a linear-time stable counting sort (skipped when they
    already are, as in logs sorted by user) run by scipy's compiled CSR -> CSC
    conversion: all pairs placed in one CSR row with ``rows`` as the column
    indices come out of the conversion grouped by ``rows``, in input order.
    Columns are then ordered inside each row by scipy's in-place per-row index
    sort, which touches one row's memory at a time. Equal (row, col) pairs may
    come out in any order; the caller restores their input order.
    """
    n = rows.size
    if n < 2 or bool(np.all(rows[1:] >= rows[:-1])):
        positions = np.arange(n, dtype=np.int64)
        indptr = np.zeros(n_rows + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows, minlength=n_rows), out=indptr[1:])
        row_cols = cols
    else:
        one_row = sp.csr_matrix(
            (np.arange(n, dtype=np.int64), rows, np.array([0, n], dtype=np.int64)),
            shape=(1, max(n_rows, 1)),
        )
        by_row = one_row.tocsc()
        positions = by_row.data
        indptr = by_row.indptr.astype(np.int64)[: n_rows + 1]
        row_cols = cols[positions]
    # sort_indices works in place: the caller's `cols` must not be handed to it
    own_cols = row_cols.astype(np.int32 if n_cols < 2**31 else np.int64)
    grouped = sp.csr_matrix((positions, own_cols, indptr), shape=(max(n_rows, 1), max(n_cols, 1)))
    grouped.sort_indices()
    return grouped.data, indptr, grouped.indices


def _expand_ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Concatenation of ``arange(s, s + l)`` for each start ``s`` and length ``l``."""
    total = int(lengths.sum())
    offsets = np.repeat(starts - (np.cumsum(lengths) - lengths), lengths)
    return offsets + np.arange(total, dtype=np.int64)


def _canonical_csr(
    rows: np.ndarray,
    cols: np.ndarray,
    shape: tuple[int, int],
    weights: np.ndarray | None,
    timestamps: np.ndarray | None,
    aggregate: str,
) -> tuple[sp.csr_matrix, np.ndarray | None]:
    """Canonical float32 CSR (and aligned timestamps) from coordinate rows.

    Duplicates are aggregated: ``sum``/``max`` of weights, or the weight of the
    ``last`` event (latest timestamp; ties and missing timestamps: later row).
    Timestamps keep the latest event of each pair. Only the duplicated rows
    take the slow path, so the common no-duplicate case is a few linear passes.
    """
    n_users, n_items = shape
    n = rows.size
    rows = rows.astype(np.int64, copy=False)
    cols = cols.astype(np.int64, copy=False)
    first = np.ones(n, dtype=bool)  # first pair of each run of equal (row, col)
    presorted = n < 2 or bool(np.all(rows[1:] >= rows[:-1]))
    if presorted and n >= 2:
        same_row = rows[1:] == rows[:-1]
        presorted = not bool(np.any(same_row & (cols[1:] < cols[:-1])))
    if presorted:
        order = None
        sorted_cols = cols
        indptr = np.zeros(n_users + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows, minlength=n_users), out=indptr[1:])
        if n >= 2:
            first[1:] = ~same_row | (cols[1:] != cols[:-1])
    else:
        order, indptr, sorted_cols = _sort_by_row_then_col(rows, cols, n_users, n_items)
        np.not_equal(sorted_cols[1:], sorted_cols[:-1], out=first[1:])
        row_starts = indptr[:-1]
        first[row_starts[row_starts < n]] = True
    starts = np.flatnonzero(first)
    has_dups = starts.size != n
    if has_dups and order is not None:
        # the per-row sort is not stable: restore input order inside duplicate groups
        sizes = np.diff(np.r_[starts, n])
        multi = np.flatnonzero(sizes > 1)
        lengths = sizes[multi]
        members = _expand_ranges(starts[multi], lengths)
        labels = np.repeat(multi, lengths)
        order[members] = order[members][np.lexsort((order[members], labels))]
    if has_dups:
        # a boolean compress reads no index array: cheaper than gathering by `starts`
        leaders = first if order is None else order[first]
        out_cols = sorted_cols[first]
        indptr = np.searchsorted(starts, indptr, side="left")  # leaders before each row start
    else:
        leaders = order  # None: identity
        out_cols = sorted_cols
    if weights is None:
        data = np.ones(starts.size, np.float64)
        if has_dups and aggregate == "sum":
            data = np.diff(np.r_[starts, n]).astype(np.float64)
    else:
        data = weights if leaders is None else weights[leaders]
    ts = None if timestamps is None else (timestamps if leaders is None else timestamps[leaders])
    if has_dups:
        dup_sorted = np.flatnonzero(~first)
        dup_rows = dup_sorted if order is None else order[dup_sorted]
        dup_group = np.searchsorted(starts, dup_sorted, side="right") - 1
        if weights is not None and aggregate != "last":
            ufunc = np.add if aggregate == "sum" else np.maximum
            ufunc.at(data, dup_group, weights[dup_rows])
        elif weights is not None:  # last
            # candidates: every row of a duplicated group, in sorted (stable) order
            groups = np.unique(dup_group)
            member_sorted = np.sort(np.concatenate([starts[groups], dup_sorted]))
            member_group = np.searchsorted(starts, member_sorted, side="right") - 1
            member_rows = member_sorted if order is None else order[member_sorted]
            if timestamps is None:
                is_last = np.ones(member_sorted.size, dtype=bool)
                np.not_equal(member_group[1:], member_group[:-1], out=is_last[:-1])
                winners = member_rows[is_last]
                win_group = member_group[is_last]
            else:
                member_ts = timestamps[member_rows]
                latest = np.full(starts.size, -np.inf)
                np.maximum.at(latest, member_group, member_ts)
                cand = np.flatnonzero(member_ts == latest[member_group])
                cgroup = member_group[cand]
                is_last = np.ones(cand.size, dtype=bool)
                np.not_equal(cgroup[1:], cgroup[:-1], out=is_last[:-1])
                winners = member_rows[cand[is_last]]
                win_group = cgroup[is_last]
            data[win_group] = weights[winners]
        if ts is not None:
            np.maximum.at(ts, dup_group, timestamps[dup_rows])
    idx_dtype = np.int32 if max(n_items, data.size) < 2**31 else np.int64
    matrix = sp.csr_matrix(
        (
            data.astype(np.float32),
            out_cols.astype(idx_dtype, copy=out_cols is cols),
            indptr.astype(idx_dtype),
        ),
        shape=shape,
    )
    matrix.has_sorted_indices = True
    matrix.has_canonical_format = True
    if ts is not None and ts is timestamps:
        ts = ts.copy()
    return matrix, ts


def _canonicalise(matrix: Any, timestamps: Any) -> tuple[sp.csr_matrix, np.ndarray | None]:
    if not sp.issparse(matrix):
        raise TypeError(
            f"matrix: expected a users x items scipy.sparse matrix, got {describe(matrix)}"
        )
    if matrix.ndim != 2:
        raise ValueError(f"matrix: expected a 2-d users x items matrix, got shape {matrix.shape}")
    if not (np.issubdtype(matrix.dtype, np.number) or matrix.dtype == np.bool_) or np.iscomplexobj(
        matrix
    ):
        raise TypeError(f"matrix: expected real numeric values, got dtype {matrix.dtype}")
    if matrix.nnz and not np.isfinite(matrix.data).all():
        raise ValueError("matrix: contains NaN or infinite values")
    if timestamps is not None and matrix.format not in ("csr", "coo"):
        raise ValueError(
            f"timestamps: aligned timestamps need a CSR or COO matrix (aligned with its .data), got {matrix.format.upper()}"
        )
    ts = _as_timestamps(timestamps, "timestamps", matrix.nnz if timestamps is not None else None)
    if matrix.format == "csr" and matrix.dtype == np.float32 and matrix.has_canonical_format:
        return matrix, ts
    if matrix.format == "csr" and matrix.has_canonical_format:
        return matrix.astype(np.float32), ts
    coo = matrix.tocoo()
    return _canonical_csr(
        coo.row.astype(np.int64),
        coo.col.astype(np.int64),
        matrix.shape,
        coo.data.astype(np.float64),
        ts,
        "sum",
    )


def _metadata_columns(table: Any, on: Any, what: str) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """``(keys, {column: values})`` from a DataFrame (index or ``on`` column),
    a mapping of columns with ``on`` naming the key column, or a mapping
    ``id -> {column: value}``."""
    if hasattr(table, "columns") and hasattr(table, "index"):
        if on is None:
            keys = as_1d(table.index, f"{what}.index")
            cols = {str(c): as_1d(table[c], f"{what}[{c!r}]") for c in table.columns}
        else:
            keys = as_1d(_column(table, on, what), f"{what}[{on!r}]")
            cols = {str(c): as_1d(table[c], f"{what}[{c!r}]") for c in table.columns if c != on}
        return keys, cols
    if not isinstance(table, Mapping):
        raise TypeError(
            f"{what}: expected a pandas DataFrame, a mapping of column -> array (with on=) "
            f"or a mapping id -> dict of fields, got {describe(table)}"
        )
    if on is not None:
        keys = as_1d(_column(table, on, what), f"{what}[{on!r}]")
        cols = {
            str(c): as_1d(v, f"{what}[{c!r}]", length=keys.size)
            for c, v in table.items()
            if c != on
        }
        return keys, cols
    keys_list = list(table.keys())
    rows = list(table.values())
    if rows and not all(isinstance(r, Mapping) for r in rows):
        raise TypeError(
            f"{what}: a mapping without on= must map each id to a dict of fields; "
            "for a mapping of columns, name the id column with on="
        )
    names: list[str] = []
    for r in rows:
        for c in r:
            if c not in names:
                names.append(c)
    keys = _object_array(keys_list)
    cols = {}
    for c in names:
        values = [r.get(c) for r in rows]
        scalars = all(v is not None and np.ndim(v) == 0 for v in values)
        cols[str(c)] = np.asarray(values) if scalars else _object_array(values)
    return keys, cols


def _object_array(values: list[Any]) -> np.ndarray:
    """A 1-d object array holding ``values`` as they are (tuples and lists stay elements)."""
    out = np.empty(len(values), dtype=object)
    for i, v in enumerate(values):
        out[i] = v
    return out


def _align(values: np.ndarray, positions: np.ndarray, found: np.ndarray, n: int) -> np.ndarray:
    """Scatter ``values[found]`` to ``positions``; fill the rest with a missing marker."""
    if found.all() and positions.size == n:  # keys are unique, so this is a permutation
        out = np.empty(n, dtype=values.dtype)
        out[positions] = values
        return out
    kind = values.dtype.kind
    if kind == "f":
        out = np.full(n, np.nan, dtype=values.dtype)
    elif kind in "iu":
        out = np.full(n, np.nan, dtype=np.float64)
    elif kind == "M":
        out = np.full(n, np.datetime64("NaT"), dtype=values.dtype)
    else:
        out = np.full(n, None, dtype=object)
    out[positions[found]] = values[found]
    return out


# ----------------------------------------------------------------------------- class
class Interactions:
    """Users x items interactions with the caller's ids.

    Parameters
    ----------
    matrix : scipy.sparse matrix, users x items
        Used as is when already a canonical float32 CSR (sorted indices, no
        duplicates); otherwise converted (duplicates summed).
    user_ids, item_ids : array-like, optional
        The caller's id of each row / column (unique). Default: ``0..n-1``.
    timestamps : array-like of float or datetime64, optional
        Aligned with ``matrix.data`` (CSR or COO input): time of the latest
        event of each pair. Datetimes become seconds since the Unix epoch.
    user_metadata, item_metadata : dict of column -> array, optional
        Tables already aligned with the index (length ``n_users`` / ``n_items``).

    Attributes
    ----------
    matrix : scipy.sparse.csr_matrix
        float32, users x items, canonical (sorted indices, no duplicates).
        Explicitly stored zeros are kept: they are interactions of weight 0.
    user_ids, item_ids : ndarray
        Index -> caller's id.
    timestamps : ndarray of float64 or None
        Aligned with ``matrix.data``: time of the latest event of each pair.
    user_metadata, item_metadata : dict of str -> ndarray
        Metadata columns aligned with the user / item index.

    Examples
    --------
    >>> data = Interactions.from_arrays(["ann", "bob", "ann"], ["v1", "v1", "v2"])
    >>> data.shape, data.user_index("bob"), data.item_ids.tolist()
    ((2, 2), 1, ['v1', 'v2'])
    """

    def __init__(
        self,
        matrix: sp.spmatrix,
        user_ids: Any = None,
        item_ids: Any = None,
        timestamps: Any = None,
        *,
        user_metadata: Mapping[str, Any] | None = None,
        item_metadata: Mapping[str, Any] | None = None,
    ):
        matrix, ts = _canonicalise(matrix, timestamps)
        n_users, n_items = matrix.shape
        self.matrix = matrix
        self.user_ids = (
            np.arange(n_users) if user_ids is None else as_1d(user_ids, "user_ids", length=n_users)
        )
        self.item_ids = (
            np.arange(n_items) if item_ids is None else as_1d(item_ids, "item_ids", length=n_items)
        )
        if user_ids is not None:
            _universe(self.user_ids, "user_ids")
        if item_ids is not None:
            _universe(self.item_ids, "item_ids")
        self.timestamps = ts
        self.user_metadata = self._check_aligned(user_metadata, n_users, "user_metadata")
        self.item_metadata = self._check_aligned(item_metadata, n_items, "item_metadata")
        self._maps: dict[str, IdMap] = {}

    @staticmethod
    def _check_aligned(meta: Mapping[str, Any] | None, n: int, name: str) -> dict[str, np.ndarray]:
        if meta is None:
            return {}
        if not isinstance(meta, Mapping):
            raise TypeError(
                f"{name}: expected a dict of column -> array aligned with the index, got {describe(meta)}"
            )
        return {str(k): as_1d(v, f"{name}[{k!r}]", length=n) for k, v in meta.items()}

    @classmethod
    def _from_parts(
        cls,
        matrix: sp.csr_matrix,
        user_ids: np.ndarray,
        item_ids: np.ndarray,
        timestamps: np.ndarray | None,
        user_metadata: dict[str, np.ndarray],
        item_metadata: dict[str, np.ndarray],
    ) -> Interactions:
        """Trusted constructor (no validation) for derived objects."""
        obj = cls.__new__(cls)
        obj.matrix = matrix
        obj.user_ids = user_ids
        obj.item_ids = item_ids
        obj.timestamps = timestamps
        obj.user_metadata = dict(user_metadata)
        obj.item_metadata = dict(item_metadata)
        obj._maps = {}
        return obj

    # ------------------------------------------------------------------ builders
    @classmethod
    def from_arrays(
        cls,
        users: Any,
        items: Any,
        weights: Any = None,
        timestamps: Any = None,
        *,
        aggregate: str = "sum",
        user_ids: Any = None,
        item_ids: Any = None,
    ) -> Interactions:
        """Build from one row per event.

        Parameters
        ----------
        users, items : array-like of hashable ids
            The caller's ids (ints, strings, ...), one per row.
        weights : array-like of float, optional
            Per-row weight (default 1: counts).
        timestamps : array-like of float or datetime64, optional
            Per-row event time; each pair keeps its latest time.
        aggregate : {"sum", "max", "last"}
            How duplicate (user, item) rows combine: sum or max of the weights,
            or the weight of the latest row (by timestamp; ties and no
            timestamps: the later row).
        user_ids, item_ids : array-like, optional
            The full id universe in index order (ids with no rows stay as empty
            rows/columns). Rows with ids outside it raise ``KeyError``. Default:
            the sorted distinct ids that occur.

        Returns
        -------
        Interactions
        """
        return cls._build(users, items, weights, timestamps, aggregate, user_ids, item_ids)

    @classmethod
    def _build(
        cls,
        users: Any,
        items: Any,
        weights: Any,
        timestamps: Any,
        aggregate: str,
        user_ids: Any,
        item_ids: Any,
        names: tuple[str, str, str, str] = ("users", "items", "weights", "timestamps"),
    ) -> Interactions:
        """:meth:`from_arrays` with the argument names used in error messages."""
        aggregate = _check_aggregate(aggregate)
        users_arr = as_1d(users, names[0])
        items_arr = as_1d(items, names[1], length=users_arr.size)
        n = users_arr.size
        w = None if weights is None else _as_weights(weights, names[2], n)
        ts = _as_timestamps(timestamps, names[3], n)
        if n == 0 and (user_ids is None or item_ids is None):
            raise ValueError(f"{names[0]}: expected at least one interaction, got an empty input")
        ucodes, uids = _codes_for(users_arr, user_ids, names[0], "user")
        icodes, iids = _codes_for(items_arr, item_ids, names[1], "item")
        return cls._from_codes(ucodes, icodes, uids, iids, w, ts, aggregate)

    @classmethod
    def _from_codes(
        cls,
        user_codes: np.ndarray,
        item_codes: np.ndarray,
        user_ids: np.ndarray,
        item_ids: np.ndarray,
        weights: np.ndarray | None,
        timestamps: np.ndarray | None,
        aggregate: str = "sum",
    ) -> Interactions:
        """Trusted builder from validated index codes (no id lookups)."""
        shape = (user_ids.size, item_ids.size)
        matrix, ts = _canonical_csr(user_codes, item_codes, shape, weights, timestamps, aggregate)
        return cls._from_parts(matrix, user_ids, item_ids, ts, {}, {})

    @classmethod
    def from_frame(
        cls,
        df: Any,
        user_col: str = "user",
        item_col: str = "item",
        weight_col: str | None = None,
        timestamp_col: str | None = None,
        event_col: str | None = None,
        aggregate: str = "sum",
        *,
        event_weights: Mapping[Any, float] | None = None,
        user_ids: Any = None,
        item_ids: Any = None,
    ) -> Interactions:
        """Build from a table of events (pandas DataFrame or dict of arrays).

        Parameters
        ----------
        df : pandas.DataFrame or mapping of column -> array
            One row per event.
        user_col, item_col : str
            Columns holding the caller's user and item ids.
        weight_col : str, optional
            Column of per-event weights (default 1 per event).
        timestamp_col : str, optional
            Column of event times (numbers or datetimes).
        event_col : str, optional
            Column of event types (e.g. "view", "like"); each event's weight is
            multiplied by ``event_weights[type]``. Types missing from
            ``event_weights`` raise ``ValueError``.
        aggregate : {"sum", "max", "last"}
            See :meth:`from_arrays`.
        event_weights : mapping, optional
            Event type -> weight; required with ``event_col``.
        user_ids, item_ids : array-like, optional
            Fixed id universes, see :meth:`from_arrays`.
        """
        if not (hasattr(df, "columns") or isinstance(df, Mapping)):
            raise TypeError(
                f"df: expected a pandas DataFrame or a mapping of column -> array, got {describe(df)}"
            )
        n = _table_length(df)
        users = as_1d(_column(df, user_col, "df"), f"df[{user_col!r}]")
        items = as_1d(_column(df, item_col, "df"), f"df[{item_col!r}]", length=n)
        weights = None
        if weight_col is not None:
            weights = _as_weights(_column(df, weight_col, "df"), f"df[{weight_col!r}]", n)
        if event_col is not None:
            if event_weights is None or not isinstance(event_weights, Mapping):
                raise ValueError(
                    f"event_weights: event_col={event_col!r} needs a mapping event type -> weight, got {describe(event_weights)}"
                )
            events = as_1d(_column(df, event_col, "df"), f"df[{event_col!r}]", length=n)
            codes, kinds = factorize(events, f"df[{event_col!r}]")
            unknown = [k for k in kinds.tolist() if k not in event_weights]
            if unknown:
                raise ValueError(
                    f"event_weights: no weight for event types {unknown[:10]} found in df[{event_col!r}]"
                )
            per_kind = _as_weights(
                [event_weights[k] for k in kinds.tolist()], "event_weights", kinds.size
            )
            weights = per_kind[codes] if weights is None else weights * per_kind[codes]
        timestamps = None
        if timestamp_col is not None:
            timestamps = _as_timestamps(
                _column(df, timestamp_col, "df"), f"df[{timestamp_col!r}]", n
            )
        names = (
            f"df[{user_col!r}]",
            f"df[{item_col!r}]",
            f"df[{weight_col!r}]",
            f"df[{timestamp_col!r}]",
        )
        return cls._build(users, items, weights, timestamps, aggregate, user_ids, item_ids, names)

    @classmethod
    def from_events(
        cls,
        events: Any,
        user_col: str = "user",
        item_col: str = "item",
        timestamp_col: str | None = "timestamp",
        *,
        watch_time_col: str | None = "watch_time",
        duration_col: str | None = "duration",
        completion_col: str | None = None,
        liked_col: str | None = "liked",
        shared_col: str | None = "shared",
        skipped_col: str | None = "skipped",
        weights: Any = None,
        aggregate: str = "sum",
        user_ids: Any = None,
        item_ids: Any = None,
    ) -> Interactions:
        """Build implicit feedback from a video event log.

        Each event's confidence comes from
        :func:`reelrec.data.video_event_confidence` with ``weights`` (a
        :class:`~reelrec.data.VideoEventWeights`, defaults when ``None``);
        repeated events of a pair are combined with ``aggregate`` (default: sum,
        so rewatches add up).

        Parameters
        ----------
        events : pandas.DataFrame or mapping of column -> array
            One row per impression/view.
        watch_time_col, duration_col : str or None
            Seconds watched and video length; used when ``completion_col`` is
            None.
        completion_col : str, optional
            Column with the watched fraction (``watch_time / duration``) instead.
        liked_col, shared_col, skipped_col : str or None
            Flag (or count) columns; pass ``None`` when the log has none.
        """
        from .weighting import video_event_confidence

        if not (hasattr(events, "columns") or isinstance(events, Mapping)):
            raise TypeError(
                f"events: expected a pandas DataFrame or a mapping of column -> array, got {describe(events)}"
            )

        def col(name: str | None) -> Any:
            return None if name is None else _column(events, name, "events")

        if completion_col is None and (watch_time_col is None or duration_col is None):
            raise ValueError(
                "completion_col: give completion_col, or both watch_time_col and duration_col"
            )
        confidence = video_event_confidence(
            watch_time=None if completion_col is not None else col(watch_time_col),
            duration=None if completion_col is not None else col(duration_col),
            completion=col(completion_col),
            liked=col(liked_col),
            shared=col(shared_col),
            skipped=col(skipped_col),
            weights=weights,
        )
        names = (
            f"events[{user_col!r}]",
            f"events[{item_col!r}]",
            "confidence",
            f"events[{timestamp_col!r}]",
        )
        return cls._build(
            col(user_col),
            col(item_col),
            confidence,
            col(timestamp_col),
            aggregate,
            user_ids,
            item_ids,
            names,
        )

    @classmethod
    def from_sparse(cls, matrix: Any, user_ids: Any = None, item_ids: Any = None) -> Interactions:
        """Wrap a users x items scipy.sparse matrix (converted to canonical float32 CSR)."""
        return cls(matrix, user_ids, item_ids)

    # ------------------------------------------------------------------ basics
    @property
    def shape(self) -> tuple[int, int]:
        return self.matrix.shape

    @property
    def n_users(self) -> int:
        return int(self.matrix.shape[0])

    @property
    def n_items(self) -> int:
        return int(self.matrix.shape[1])

    @property
    def nnz(self) -> int:
        """Number of stored (user, item) pairs."""
        return int(self.matrix.nnz)

    @property
    def weights(self) -> np.ndarray:
        """Pair weights, aligned with ``matrix.data`` (a view)."""
        return self.matrix.data

    def __len__(self) -> int:
        return self.nnz

    def __repr__(self) -> str:
        density = self.nnz / max(1, self.n_users * self.n_items)
        parts = [
            f"n_users={self.n_users}",
            f"n_items={self.n_items}",
            f"nnz={self.nnz}",
            f"density={density:.3%}",
        ]
        if self.timestamps is not None and self.timestamps.size:
            parts.append(f"timestamps=[{self.timestamps.min():g}, {self.timestamps.max():g}]")
        else:
            parts.append(f"timestamps={'[]' if self.timestamps is not None else None}")
        if self.user_metadata:
            parts.append(f"user_metadata={list(self.user_metadata)}")
        if self.item_metadata:
            parts.append(f"item_metadata={list(self.item_metadata)}")
        return f"Interactions({', '.join(parts)})"

    def copy(self) -> Interactions:
        return Interactions._from_parts(
            self.matrix.copy(),
            self.user_ids.copy(),
            self.item_ids.copy(),
            None if self.timestamps is None else self.timestamps.copy(),
            {k: v.copy() for k, v in self.user_metadata.items()},
            {k: v.copy() for k, v in self.item_metadata.items()},
        )

    # ------------------------------------------------------------------ id maps
    def _map(self, what: str) -> IdMap:
        ids = self.user_ids if what == "user" else self.item_ids
        m = self._maps.get(what)
        if m is None or m.ids is not ids:
            m = self._maps[what] = IdMap(ids, what)
        return m

    def user_index(self, ids: Any) -> Any:
        """Row index of each user id (vectorised).

        Parameters
        ----------
        ids : hashable or array-like of hashables

        Returns
        -------
        int or ndarray of int64
            An int for a scalar id, else an array. ``KeyError`` names unknown ids.
        """
        return self._map("user").index(ids, "user_index")

    def item_index(self, ids: Any) -> Any:
        """Column index of each item id (vectorised); see :meth:`user_index`."""
        return self._map("item").index(ids, "item_index")

    # ---------------------------------------------------------------- views
    def entries(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
        """``(user index, item index, weight, timestamp or None)`` per stored pair, CSR order."""
        rows = np.repeat(np.arange(self.n_users, dtype=np.int64), np.diff(self.matrix.indptr))
        return rows, self.matrix.indices.astype(np.int64), self.matrix.data, self.timestamps

    def user_counts(self) -> np.ndarray:
        """Number of stored pairs per user."""
        return np.diff(self.matrix.indptr).astype(np.int64)

    def item_counts(self) -> np.ndarray:
        """Number of stored pairs per item."""
        return np.bincount(self.matrix.indices, minlength=self.n_items).astype(np.int64)

    def to_frame(self) -> Any:
        """Long DataFrame ``(user, item, weight[, timestamp])`` with the caller's ids."""
        from .._pandas import require_pandas

        pd = require_pandas("Interactions.to_frame")
        rows, cols, w, ts = self.entries()
        data = {"user": self.user_ids[rows], "item": self.item_ids[cols], "weight": w}
        if ts is not None:
            data["timestamp"] = ts
        return pd.DataFrame(data)

    def _meta_frame(
        self, ids: np.ndarray, meta: dict[str, np.ndarray], id_name: str, what: str
    ) -> Any:
        from .._pandas import require_pandas

        pd = require_pandas(f"Interactions.{what}_frame")
        data = {id_name: ids}
        data.update(meta)
        return pd.DataFrame(data)

    def item_frame(self) -> Any:
        """DataFrame with one row per item index: ``item_id`` plus metadata columns."""
        return self._meta_frame(self.item_ids, self.item_metadata, "item_id", "item")

    def user_frame(self) -> Any:
        """DataFrame with one row per user index: ``user_id`` plus metadata columns."""
        return self._meta_frame(self.user_ids, self.user_metadata, "user_id", "user")

    # ----------------------------------------------------------------- metadata
    def _attach(self, table: Any, on: Any, what: str) -> None:
        name = f"{what}_metadata"
        keys, cols = _metadata_columns(table, on, name)
        if keys.size == 0:
            return
        codes, uniques = factorize(keys, f"{name} ids")
        if uniques.size != keys.size:
            raise ValueError(
                f"{name}: ids must be unique; {keys.size - uniques.size} duplicate ids"
            )
        positions, _ = self._map(what).lookup(keys, name)
        found = positions >= 0
        n = self.n_users if what == "user" else self.n_items
        target = self.user_metadata if what == "user" else self.item_metadata
        for col, values in cols.items():
            target[col] = _align(values, positions, found, n)

    def add_item_metadata(self, table: Any, on: Any = None) -> Interactions:
        """Attach item metadata keyed by the caller's item ids (in place; returns self).

        Parameters
        ----------
        table : pandas.DataFrame or mapping
            A DataFrame indexed by item id (or with the id column named by
            ``on``); a mapping of column -> array with ``on`` naming the id
            column; or a mapping item id -> dict of fields.
        on : str, optional
            The id column.

        Rows for ids outside the index are ignored; items without a row get a
        missing value (NaN for numbers, None otherwise).
        """
        self._attach(table, on, "item")
        return self

    def add_user_metadata(self, table: Any, on: Any = None) -> Interactions:
        """Attach user metadata keyed by the caller's user ids; see :meth:`add_item_metadata`."""
        self._attach(table, on, "user")
        return self

    # ------------------------------------------------------------------ subsets
    def with_weights(self, weights: Any) -> Interactions:
        """Same pairs, ids and metadata with new weights (aligned with ``matrix.data``)."""
        w = _as_weights(weights, "weights", self.nnz)
        m = sp.csr_matrix(
            (w.astype(np.float32), self.matrix.indices, self.matrix.indptr), shape=self.shape
        )
        m.has_sorted_indices = True
        m.has_canonical_format = True
        return self._from_parts(
            m, self.user_ids, self.item_ids, self.timestamps, self.user_metadata, self.item_metadata
        )

    def subset(self, entries: Any) -> Interactions:
        """Keep some stored pairs; same shape, ids and metadata.

        Parameters
        ----------
        entries : bool mask of length ``nnz`` or integer positions into ``matrix.data``
        """
        arr = np.asarray(entries)
        if arr.dtype == np.bool_:
            if arr.shape != (self.nnz,):
                raise ValueError(
                    f"entries: a boolean mask needs shape ({self.nnz},), got {arr.shape}"
                )
            mask = arr
        elif np.issubdtype(arr.dtype, np.integer) or arr.size == 0:
            arr = arr.astype(np.int64).ravel()
            if arr.size and (arr.min() < 0 or arr.max() >= self.nnz):
                raise IndexError(
                    f"entries: positions must lie in [0, {self.nnz}), got [{arr.min()}, {arr.max()}]"
                )
            mask = np.zeros(self.nnz, dtype=bool)
            mask[arr] = True
        else:
            raise TypeError(
                f"entries: expected a boolean mask or integer positions, got {describe(entries)}"
            )
        kept_before = np.zeros(self.nnz + 1, dtype=np.int64)  # kept pairs before each position
        np.cumsum(mask, out=kept_before[1:])
        indptr = kept_before[self.matrix.indptr]
        m = sp.csr_matrix(
            (
                self.matrix.data[mask],
                self.matrix.indices[mask],
                indptr.astype(self.matrix.indptr.dtype),
            ),
            shape=self.shape,
        )
        m.has_sorted_indices = True
        m.has_canonical_format = True
        ts = None if self.timestamps is None else self.timestamps[mask]
        return self._from_parts(
            m, self.user_ids, self.item_ids, ts, self.user_metadata, self.item_metadata
        )

    def filter(
        self,
        users: Any = None,
        items: Any = None,
        *,
        min_weight: float | None = None,
        start: float | None = None,
        end: float | None = None,
    ) -> Interactions:
        """Keep the pairs that pass every given condition; same shape and ids.

        Parameters
        ----------
        users, items : array of int indices or bool mask, optional
            Keep pairs of these users / items.
        min_weight : float, optional
            Keep pairs with weight >= min_weight.
        start, end : float, optional
            Keep pairs with ``start <= timestamp < end`` (needs timestamps).
        """
        from .._validation import check_item_mask

        rows, cols, w, ts = self.entries()
        keep = np.ones(self.nnz, dtype=bool)
        if users is not None:
            keep &= check_item_mask(users, self.n_users, "users")[rows].astype(bool)
        if items is not None:
            keep &= check_item_mask(items, self.n_items, "items")[cols].astype(bool)
        if min_weight is not None:
            if (
                isinstance(min_weight, bool)
                or not isinstance(min_weight, numbers.Real)
                or not np.isfinite(min_weight)
            ):
                raise TypeError(f"min_weight: expected a finite number, got {describe(min_weight)}")
            keep &= w >= min_weight
        if start is not None or end is not None:
            if ts is None:
                raise ValueError("start/end: filtering by time needs timestamps")
            for value, name in ((start, "start"), (end, "end")):
                if value is not None and (
                    isinstance(value, bool)
                    or not isinstance(value, numbers.Real)
                    or not np.isfinite(value)
                ):
                    raise TypeError(
                        f"{name}: expected a finite number (same units as the timestamps), got {describe(value)}"
                    )
            if start is not None:
                keep &= ts >= start
            if end is not None:
                keep &= ts < end
        return self.subset(keep)

    def select(self, users: Any = None, items: Any = None) -> Interactions:
        """Restrict to some users and/or items, reindexing (shape changes).

        Parameters
        ----------
        users, items : array of int indices or bool mask, optional
            Rows / columns to keep, in the given order (all when None).
        """
        from .._validation import check_indices

        def positions(sel: Any, n: int, name: str) -> np.ndarray:
            if sel is None:
                return np.arange(n, dtype=np.int64)
            arr = np.asarray(sel)
            if arr.dtype == np.bool_:
                if arr.shape != (n,):
                    raise ValueError(f"{name}: a boolean mask needs shape ({n},), got {arr.shape}")
                return np.flatnonzero(arr)
            idx, _ = check_indices(arr, n, name)
            if np.unique(idx).size != idx.size:
                raise ValueError(f"{name}: indices must be unique")
            return idx

        urows = positions(users, self.n_users, "users")
        icols = positions(items, self.n_items, "items")
        rows, cols, w, ts = self.entries()
        new_row = np.full(self.n_users, -1, np.int64)
        new_row[urows] = np.arange(urows.size)
        new_col = np.full(self.n_items, -1, np.int64)
        new_col[icols] = np.arange(icols.size)
        r, c = new_row[rows], new_col[cols]
        keep = (r >= 0) & (c >= 0)
        matrix, new_ts = _canonical_csr(
            r[keep],
            c[keep],
            (urows.size, icols.size),
            w[keep].astype(np.float64),
            None if ts is None else ts[keep],
            "sum",
        )
        return self._from_parts(
            matrix,
            self.user_ids[urows],
            self.item_ids[icols],
            new_ts,
            {k: v[urows] for k, v in self.user_metadata.items()},
            {k: v[icols] for k, v in self.item_metadata.items()},
        )

    def compact(self) -> Interactions:
        """Drop users and items without any stored pair (reindexes)."""
        return self.select(self.user_counts() > 0, self.item_counts() > 0)

    def k_core(
        self, min_user_interactions: int = 1, min_item_interactions: int = 1
    ) -> Interactions:
        """Iteratively drop users/items with fewer pairs than the minimums (reindexes)."""
        from .._validation import check_positive

        umin = check_positive(min_user_interactions, "min_user_interactions", integer=True)
        imin = check_positive(min_item_interactions, "min_item_interactions", integer=True)
        rows, cols, _, _ = self.entries()
        alive = np.ones(self.nnz, dtype=bool)
        while True:
            ucount = np.bincount(rows[alive], minlength=self.n_users)
            icount = np.bincount(cols[alive], minlength=self.n_items)
            next_alive = alive & (ucount[rows] >= umin) & (icount[cols] >= imin)
            if next_alive.sum() == alive.sum():
                break
            alive = next_alive
        ucount = np.bincount(rows[alive], minlength=self.n_users)
        icount = np.bincount(cols[alive], minlength=self.n_items)
        return self.subset(alive).select(ucount > 0, icount > 0)
