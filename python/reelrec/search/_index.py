"""Vector indexes: exact search and HNSW, both native.

Both indexes share one vocabulary:

* **ids** are non-negative int64 values chosen by the user (default: the next
  ``0, 1, 2, ...``); ``-1`` is reserved for padding. Adding an id that is
  already present raises ``ValueError``: delete it first to replace a vector.
* **scores** are "higher is better": the inner product for ``metric="ip"``,
  the cosine similarity for ``"cosine"`` and the *negative squared* Euclidean
  distance for ``"l2"``. Results are sorted by score, equal scores by lower id,
  and padded with ``-1`` / ``-inf`` when fewer than ``k`` vectors qualify
  (an empty index returns only padding; it never raises).
* **filters** run inside the native search: ``filter=IdFilter(allow=...,
  deny=...)`` applies to every query, ``exclude=`` lists ids to drop per query
  (e.g. what a user has already seen). Ids in a filter that are not in the
  index are ignored.
* **threads**: searches release the GIL and hold only a shared lock, so any
  number of Python threads may search one index at once. ``add`` and
  ``delete`` take the lock exclusively: a search that overlaps them waits and
  then sees the index either before or after the change, never half of it.
"""

from __future__ import annotations

import numbers
import os
from typing import Any

import numpy as np
import scipy.sparse as sp

from .. import _core
from .._validation import check_k, check_num_threads, check_positive, seed_from

__all__ = ["ExactIndex", "HNSWIndex", "IdFilter"]

_METRICS = ("ip", "cosine", "l2")


def _describe(x: Any) -> str:
    if isinstance(x, np.ndarray):
        return f"ndarray(dtype={x.dtype}, shape={x.shape})"
    return f"{type(x).__name__} {x!r}"[:120]


def _check_dim(dim: Any) -> int:
    if isinstance(dim, bool) or not isinstance(dim, numbers.Integral):
        raise TypeError(f"dim: expected a positive integer, got {_describe(dim)}")
    if not 1 <= dim <= 65536:
        raise ValueError(f"dim: expected an integer in 1..65536, got {dim}")
    return int(dim)


def _check_metric(metric: Any, allowed: tuple[str, ...] = _METRICS) -> str:
    if metric not in allowed:
        raise ValueError(f"metric: expected one of {', '.join(map(repr, allowed))}, got {metric!r}")
    return metric


def _as_id_array(values: Any, name: str) -> np.ndarray:
    """1-d int64 array of ids from a scalar, list or integer array."""
    if isinstance(values, (bool, np.bool_)):
        raise TypeError(f"{name}: expected integer ids, got a bool")
    arr = np.asarray(values)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.integer) or arr.size == 0):
        raise TypeError(f"{name}: expected integer ids, got {_describe(values)}")
    if arr.ndim > 1:
        raise ValueError(f"{name}: expected a scalar or a 1-d array of ids, got shape {arr.shape}")
    return np.ascontiguousarray(np.atleast_1d(arr), dtype=np.int64)


def _check_vectors(
    vectors: Any, dim: int, name: str, *, cosine: bool, single_ok: bool
) -> tuple[np.ndarray, bool]:
    """C-contiguous float32 (n, dim) matrix; ``single`` when a 1-d vector was given."""
    if sp.issparse(vectors):
        raise TypeError(f"{name}: expected a dense array, got {type(vectors).__name__}")
    arr = np.asarray(vectors)
    if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise TypeError(f"{name}: expected a float array, got {_describe(vectors)}")
    single = arr.ndim == 1 and single_ok
    if single:
        arr = arr[None, :]
    if arr.ndim != 2:
        expected = f"({dim},) or (n, {dim})" if single_ok else f"(n, {dim})"
        raise ValueError(f"{name}: expected shape {expected}, got {arr.shape}")
    if arr.shape[1] != dim:
        raise ValueError(
            f"{name}: expected vectors of dimension {dim} (the index's dim), got {arr.shape[1]}"
        )
    arr = np.ascontiguousarray(arr, dtype=np.float32)
    if not np.isfinite(arr).all():
        bad = int(np.flatnonzero(~np.isfinite(arr).all(axis=1))[0])
        raise ValueError(f"{name}: row {bad} contains NaN or infinite values")
    if cosine and arr.shape[0]:
        zero = np.flatnonzero(~(np.abs(arr).max(axis=1) > 0))
        if zero.size:
            raise ValueError(
                f"{name}: row {int(zero[0])} is a zero vector; cosine similarity is undefined for it "
                "(use metric='ip' or 'l2', or drop the row)"
            )
    return arr, single


class IdFilter:
    """Which ids a search may return; evaluated inside the native search.

    Parameters
    ----------
    allow : array of int, optional
        Only these ids may be returned (an empty array allows nothing).
    deny : array of int, optional
        These ids are never returned. With ``allow`` too, both apply.

    Notes
    -----
    Ids that are not in the index are ignored. HNSW walks through
    filtered-out vectors but never returns them; when the filter leaves so few
    vectors that the walk would cost more than scoring them all (see
    :meth:`HNSWIndex.uses_exact_search`), the query is answered exactly.
    """

    __slots__ = ("allow", "deny")

    def __init__(self, allow: Any = None, deny: Any = None):
        self.allow = None if allow is None else _as_id_array(allow, "allow")
        self.deny = None if deny is None else _as_id_array(deny, "deny")

    def __repr__(self) -> str:
        def fmt(a: np.ndarray | None) -> str:
            return "None" if a is None else f"<{a.size} ids>"

        return f"IdFilter(allow={fmt(self.allow)}, deny={fmt(self.deny)})"


def _filter_arrays(filter: Any) -> tuple[np.ndarray | None, np.ndarray | None]:
    if filter is None:
        return None, None
    if not isinstance(filter, IdFilter):
        raise TypeError(
            f"filter: expected None or a reelrec.search.IdFilter(allow=..., deny=...), got {_describe(filter)}"
        )
    return filter.allow, filter.deny


def _exclude_arrays(exclude: Any, n_q: int) -> tuple[np.ndarray | None, np.ndarray | None]:
    """CSR (indptr, ids) of per-query exclusions from a sparse matrix or a list of id arrays."""
    if exclude is None:
        return None, None
    if sp.issparse(exclude):
        csr = sp.csr_matrix(exclude)
        if csr.shape[0] != n_q:
            raise ValueError(f"exclude: expected one row per query ({n_q}), got {csr.shape[0]}")
        return csr.indptr.astype(np.int64), csr.indices.astype(np.int64)
    if isinstance(exclude, (str, bytes)) or not hasattr(exclude, "__len__"):
        raise TypeError(
            f"exclude: expected a sparse matrix or a sequence of id arrays, got {_describe(exclude)}"
        )
    if len(exclude) != n_q:
        raise ValueError(f"exclude: expected one entry per query ({n_q}), got {len(exclude)}")
    rows = [_as_id_array(row, f"exclude[{i}]") for i, row in enumerate(exclude)]
    indptr = np.zeros(n_q + 1, np.int64)
    indptr[1:] = np.cumsum([r.size for r in rows])
    ids = np.concatenate(rows) if rows else np.empty(0, np.int64)
    return indptr, np.ascontiguousarray(ids, dtype=np.int64)


class _VectorIndex:
    """What ExactIndex and HNSWIndex share: ids, validation, delete, save/load."""

    _native: Any
    dim: int
    metric: str
    num_threads: int
    _kind = "index"

    # ------------------------------------------------------------- contents
    def __len__(self) -> int:
        return int(self._native.size())

    def __contains__(self, id: Any) -> bool:
        if isinstance(id, (bool, np.bool_)) or not isinstance(id, (numbers.Integral, np.integer)):
            return False
        return bool(self._native.contains(int(id)))

    @property
    def ids(self) -> np.ndarray:
        """The ids currently in the index (int64)."""
        return self._native.ids()

    def get_vectors(self, ids: Any) -> np.ndarray:
        """Stored vectors of ``ids`` (unit length under ``metric="cosine"``).

        Raises
        ------
        KeyError
            If an id is not in the index.
        """
        arr = _as_id_array(ids, "ids")
        return self._native.get_vectors(arr)

    def _prepare_add(self, vectors: Any, ids: Any) -> tuple[np.ndarray, np.ndarray]:
        X, _ = _check_vectors(
            vectors, self.dim, "vectors", cosine=self.metric == "cosine", single_ok=False
        )
        if ids is None:
            start = int(self._native.next_id())
            id_arr = np.arange(start, start + X.shape[0], dtype=np.int64)
        else:
            id_arr = _as_id_array(ids, "ids")
            if id_arr.size != X.shape[0]:
                raise ValueError(
                    f"ids: expected one id per vector ({X.shape[0]}), got {id_arr.size}"
                )
            if id_arr.size and id_arr.min() < 0:
                raise ValueError(f"ids: must be >= 0 (-1 marks padding), got {int(id_arr.min())}")
            uniq, counts = np.unique(id_arr, return_counts=True)
            if uniq.size != id_arr.size:
                raise ValueError(f"ids: repeated within this call: {uniq[counts > 1][:5].tolist()}")
        return X, id_arr

    def delete(self, ids: Any) -> None:
        """Remove ``ids`` from the index.

        Raises
        ------
        KeyError
            If any id is not in the index (then nothing is removed).
        """
        arr = _as_id_array(ids, "ids")
        self._native.remove(arr)

    # --------------------------------------------------------------- search
    def _prepare_search(self, queries: Any, k: Any, filter: Any, exclude: Any):
        Q, single = _check_vectors(
            queries, self.dim, "queries", cosine=self.metric == "cosine", single_ok=True
        )
        k = check_k(k)
        allow, deny = _filter_arrays(filter)
        excl_indptr, excl_ids = _exclude_arrays(exclude, Q.shape[0])
        return Q, single, k, allow, deny, excl_indptr, excl_ids

    @staticmethod
    def _finish(ids: np.ndarray, scores: np.ndarray, single: bool) -> tuple[np.ndarray, np.ndarray]:
        if single:
            return ids[0], scores[0]
        return ids, scores

    # ---------------------------------------------------------- persistence
    def save(self, path: str | os.PathLike) -> None:
        """Write the index to ``path`` (versioned binary with a checksum).

        Every constructor parameter is stored and restored by :meth:`load`.
        """
        self._native_save(os.fspath(path))

    @classmethod
    def _open_check(cls, path: str | os.PathLike) -> str:
        p = os.fspath(path)
        if not os.path.isfile(p):
            raise FileNotFoundError(f"path: no such file {p!r}")
        return p

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self._params().items())}) with {len(self)} vectors"

    def _params(self) -> dict[str, Any]:  # pragma: no cover - overridden
        raise NotImplementedError


class ExactIndex(_VectorIndex):
    """Exact nearest-neighbour search: blocked GEMM with a fused top-k.

    Parameters
    ----------
    dim : int
        Vector dimension.
    metric : {"ip", "cosine", "l2"}
        Scores are the inner product, the cosine similarity, or the negative
        squared Euclidean distance (higher is always better).
    num_threads : int
        Threads per search (0 = all cores, honouring ``OMP_NUM_THREADS``).

    Notes
    -----
    Vectors are stored in 16-vector panels that the search kernel reads
    directly (AVX2/AVX-512 chosen at run time); per-query heaps are fed from
    registers, so no queries x items score matrix is ever built. Cost is
    ``O(n_queries * n * dim)``; results do not depend on the thread count.
    ``l2`` scores use ``2<q, x> - |x|^2 - |q|^2``, so near-duplicates carry
    float32 cancellation error of order ``1e-6 * |x|^2``.
    """

    _kind = "ExactIndex"

    def __init__(self, dim: int, metric: str = "ip", num_threads: int = 0):
        self.dim = _check_dim(dim)
        self.metric = _check_metric(metric)
        self.num_threads = check_num_threads(num_threads)
        self._native = _core.ExactIndex(self.dim, self.metric)

    def _params(self) -> dict[str, Any]:
        return {"dim": self.dim, "metric": self.metric, "num_threads": self.num_threads}

    def add(self, vectors: Any, ids: Any = None) -> ExactIndex:
        """Add ``vectors`` (n x dim) under ``ids`` (default: the next unused integers).

        Raises
        ------
        ValueError
            Wrong dimension, NaN/inf values, a zero vector under cosine,
            negative ids, or ids already in the index / repeated.

        Returns
        -------
        self
        """
        X, ids = self._prepare_add(vectors, ids)
        if X.shape[0]:
            self._native.add(X, ids)
        return self

    def search(
        self, queries: Any, k: int = 10, filter: IdFilter | None = None, exclude: Any = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` best vectors for each query.

        Parameters
        ----------
        queries : array, shape (dim,) or (n, dim)
        k : int
        filter : IdFilter, optional
            Ids every query may (``allow``) or may not (``deny``) return.
        exclude : sparse matrix or sequence of id arrays, optional
            Per-query ids never returned (row ``i`` for query ``i``).

        Returns
        -------
        ids : ndarray of int64, shape (k,) or (n, k)
            Best first; ``-1`` where fewer than ``k`` vectors qualify.
        scores : ndarray of float32, same shape
            See the class notes; ``-inf`` for padding.
        """
        Q, single, k, allow, deny, ip, ie = self._prepare_search(queries, k, filter, exclude)
        ids, scores = self._native.search(Q, k, allow, deny, ip, ie, self.num_threads)
        return self._finish(ids, scores, single)

    def _native_save(self, path: str) -> None:
        self._native.save(path, self.num_threads)

    def to_bytes(self) -> bytes:
        """The index in the format of :meth:`save`, as bytes."""
        return self._native.to_bytes(self.num_threads)

    @classmethod
    def load(cls, path: str | os.PathLike) -> ExactIndex:
        """Read an index written by :meth:`save`.

        Raises
        ------
        FileNotFoundError
            If ``path`` does not exist.
        ValueError
            If the file is not an ExactIndex file, has an unsupported version,
            is truncated or corrupt.
        """
        native, num_threads = _core.ExactIndex.load(cls._open_check(path))
        return cls._wrap(native, num_threads)

    @classmethod
    def from_bytes(cls, data: bytes) -> ExactIndex:
        """Inverse of :meth:`to_bytes`; errors as for :meth:`load`."""
        native, num_threads = _core.ExactIndex.from_bytes(bytes(data))
        return cls._wrap(native, num_threads)

    @classmethod
    def _wrap(cls, native: Any, num_threads: int) -> ExactIndex:
        obj = cls.__new__(cls)
        obj.dim, obj.metric, obj.num_threads = int(native.dim), str(native.metric), int(num_threads)
        obj._native = native
        return obj


class HNSWIndex(_VectorIndex):
    """Approximate nearest-neighbour search on a Hierarchical Navigable Small World graph.

    Our own implementation of Malkov & Yashunin (2018).

    Parameters
    ----------
    dim : int
        Vector dimension.
    metric : {"cosine", "ip", "l2"}
        As for :class:`ExactIndex`. ``"ip"`` walks the graph with ``-<q, x>``
        as the distance, which is not a metric; for maximum inner product
        search over vectors of very different norms prefer the MIPS-to-L2
        reduction that :class:`~reelrec.search.ANNRecommender` applies.
    M : int
        Links per node on the upper levels (``2 * M`` on level 0).
    ef_construction : int
        Candidate list size while inserting.
    ef : int
        Default candidate list size while searching (``search(ef=...)``
        overrides it per call; the walk always keeps at least ``k``).
    max_elements : int, optional
        Hard capacity, reserved up front; ``None`` grows by doubling.
    random_state : int, numpy Generator or None
        Seeds the level assignment.
    num_threads : int
        Threads for ``add`` and batched ``search`` (0 = all cores).

    Notes
    -----
    **Determinism.** Levels come from one seeded stream in insertion order, so
    with ``num_threads=1`` the graph, and every search, is a pure function of
    ``random_state`` and the sequence of ``add``/``delete`` calls. With more
    threads the insertion order inside a batch varies and so do the links.

    **Deletion** marks vectors: they are never returned but still route
    searches. Later adds reuse deleted slots, and the neighbours of a reused
    slot re-select their links before it is inserted again.

    **Filters.** With ``filter``/``exclude`` the walk skips disallowed vectors
    when collecting results. If ``n_allowed**2 <= max(ef, k) * 2M * len(self)``
    (a walk would visit more vectors than are allowed), or ``n_allowed <=
    max(ef, k)``, the query is answered by an exact scan of the allowed
    vectors instead; :meth:`uses_exact_search` reports the decision.

    **Threads.** ``search`` runs concurrently from any number of Python
    threads; ``add``/``delete`` wait for running searches and block new ones
    until done.
    """

    _kind = "HNSWIndex"

    def __init__(
        self,
        dim: int,
        metric: str = "cosine",
        M: int = 16,
        ef_construction: int = 200,
        ef: int = 50,
        max_elements: int | None = None,
        random_state: Any = None,
        num_threads: int = 0,
    ):
        self.dim = _check_dim(dim)
        self.metric = _check_metric(metric)
        self.M = check_positive(M, "M", integer=True)
        if not 2 <= self.M <= 1024:
            raise ValueError(f"M: expected an integer in 2..1024, got {M}")
        self.ef_construction = check_positive(ef_construction, "ef_construction", integer=True)
        ef = check_positive(ef, "ef", integer=True)
        if max_elements is not None:
            max_elements = check_positive(max_elements, "max_elements", integer=True)
            if max_elements >= 2**31:
                raise ValueError(f"max_elements: expected at most 2**31 - 1, got {max_elements}")
        self.max_elements = max_elements
        self.random_state = random_state
        self.num_threads = check_num_threads(num_threads)
        seed = seed_from(random_state)
        self._native = _core.HnswIndex(
            self.dim,
            self.metric,
            self.M,
            self.ef_construction,
            ef,
            -1 if max_elements is None else max_elements,
            seed,
        )

    @property
    def ef(self) -> int:
        """Default search candidate list size (settable)."""
        return int(self._native.ef)

    @ef.setter
    def ef(self, value: int) -> None:
        self._native.ef = check_positive(value, "ef", integer=True)

    def _params(self) -> dict[str, Any]:
        return {
            "dim": self.dim,
            "metric": self.metric,
            "M": self.M,
            "ef_construction": self.ef_construction,
            "ef": self.ef,
            "max_elements": self.max_elements,
            "random_state": self.random_state,
            "num_threads": self.num_threads,
        }

    @property
    def n_deleted(self) -> int:
        """Deleted slots awaiting reuse by a later ``add``."""
        return int(self._native.n_deleted())

    def add(self, vectors: Any, ids: Any = None) -> HNSWIndex:
        """Insert ``vectors`` (n x dim) under ``ids`` (default: the next unused integers).

        Insertions run in parallel on ``num_threads`` threads (batches of 64
        or more). Deleted slots are reused first.

        Raises
        ------
        ValueError
            Wrong dimension, NaN/inf values, a zero vector under cosine,
            negative, repeated or already present ids, or more vectors than
            ``max_elements``.

        Returns
        -------
        self
        """
        X, ids = self._prepare_add(vectors, ids)
        if X.shape[0]:
            self._native.add(X, ids, self.num_threads)
        return self

    def search(
        self,
        queries: Any,
        k: int = 10,
        ef: int | None = None,
        filter: IdFilter | None = None,
        exclude: Any = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Approximate ``k`` best vectors for each query.

        Parameters
        ----------
        queries : array, shape (dim,) or (n, dim)
        k : int
        ef : int, optional
            Candidate list size for this call (default: ``self.ef``); the
            walk keeps ``max(ef, k)``.
        filter : IdFilter, optional
            Ids every query may (``allow``) or may not (``deny``) return.
        exclude : sparse matrix or sequence of id arrays, optional
            Per-query ids never returned (row ``i`` for query ``i``).

        Returns
        -------
        ids : ndarray of int64, shape (k,) or (n, k)
            Best first; ``-1`` where fewer than ``k`` vectors were found.
        scores : ndarray of float32, same shape
            As for :class:`ExactIndex`; ``-inf`` for padding.
        """
        Q, single, k, allow, deny, ip, ie = self._prepare_search(queries, k, filter, exclude)
        ef_call = 0 if ef is None else check_positive(ef, "ef", integer=True)
        ids, scores = self._native.search(Q, k, ef_call, allow, deny, ip, ie, self.num_threads)
        return self._finish(ids, scores, single)

    def uses_exact_search(self, filter: IdFilter, k: int = 10, ef: int | None = None) -> bool:
        """Whether a search with ``filter`` is answered by an exact scan (see the class notes)."""
        allow, deny = _filter_arrays(filter)
        k = check_k(k)
        ef_call = 0 if ef is None else check_positive(ef, "ef", integer=True)
        return bool(self._native.uses_exact(allow, deny, k, ef_call))

    def _random_state_param(self) -> int:
        rs = self.random_state
        if rs is None:
            return -1
        if isinstance(rs, (numbers.Integral, np.integer)) and not isinstance(rs, bool):
            return int(rs)
        return -1  # a Generator is not persisted; the RNG state itself is

    def _native_save(self, path: str) -> None:
        self._native.save(path, self._random_state_param(), self.num_threads)

    def to_bytes(self) -> bytes:
        """The index in the format of :meth:`save`, as bytes."""
        return self._native.to_bytes(self._random_state_param(), self.num_threads)

    @classmethod
    def load(cls, path: str | os.PathLike) -> HNSWIndex:
        """Read an index written by :meth:`save`, with all its parameters (``ef`` included).

        Raises
        ------
        FileNotFoundError
            If ``path`` does not exist.
        ValueError
            If the file is not an HNSWIndex file, has an unsupported version,
            is truncated or corrupt (checksum and graph structure are checked).
        """
        return cls._wrap(*_core.HnswIndex.load(cls._open_check(path)))

    @classmethod
    def from_bytes(cls, data: bytes) -> HNSWIndex:
        """Inverse of :meth:`to_bytes`; errors as for :meth:`load`."""
        return cls._wrap(*_core.HnswIndex.from_bytes(bytes(data)))

    @classmethod
    def _wrap(cls, native: Any, random_state: int, num_threads: int) -> HNSWIndex:
        obj = cls.__new__(cls)
        obj.dim, obj.metric = int(native.dim), str(native.metric)
        obj.M, obj.ef_construction = int(native.M), int(native.ef_construction)
        obj.max_elements = None if native.max_elements < 0 else int(native.max_elements)
        obj.random_state = None if random_state < 0 else int(random_state)
        obj.num_threads = int(num_threads)
        obj._native = native
        return obj
