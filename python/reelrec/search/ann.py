"""Serve a factor model's recommendations from a vector index.

A factor model scores ``<user_vector, item_vector> + item_bias``. Ranking all
items per request is ``O(n_items * d)``; :class:`ANNRecommender` answers from
an index instead:

* ``index="exact"``: :class:`~reelrec.search.ExactIndex` with ``metric="ip"``
  over ``[item_vector, item_bias]``; identical rankings to the model.
* ``index="hnsw"``: maximum inner product search reduced to nearest-neighbour
  search (Bachrach et al., "Speeding up the Xbox recommender system using a
  Euclidean transformation for inner-product spaces", RecSys 2014). Items
  become ``[x, sqrt(Phi^2 - |x|^2)]`` with ``Phi = max |x|`` and queries
  ``[q, 0]``, so ``|q' - x'|^2 = |q|^2 + Phi^2 - 2<q, x>``: the nearest
  item in L2 is the best item by inner product, and the HNSW graph is built
  on a true metric. Results are then re-scored with the exact inner product.

Filters (``exclude_seen``, ``items``, ``exclude_items``) are evaluated inside
the index search, so no over-fetching is needed and the filtering semantics
are the base class's: what must not be shown is never returned, and rows are
padded with ``-1`` / ``-inf`` when fewer than ``k`` items remain. Equal scores
rank the lower item index first, as everywhere in reelrec.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import scipy.sparse as sp

from .._validation import check_num_threads, seed_from
from ..models.base import QueryFilter, Recommender
from ._index import ExactIndex, HNSWIndex

__all__ = ["ANNRecommender"]

_INDEXES = ("hnsw", "exact")
_HNSW_PARAMS = ("M", "ef_construction", "ef")
# Users re-scored per step: bounds the (users x k x d) gather to ~64 MiB.
_RESCORE_BUDGET = 1 << 24


def _model_spec(model: Recommender) -> dict[str, Any]:
    return {"class": type(model).__name__, "params": model._save_params()}


def _model_from_spec(spec: Any) -> Recommender:
    if not isinstance(spec, dict) or "class" not in spec or "params" not in spec:
        raise ValueError(f"model: expected a Recommender or a saved model spec, got {spec!r}"[:200])
    klass = Recommender._registry.get(spec["class"])
    if klass is None:
        raise ValueError(f"model: unknown model class {spec['class']!r}")
    return klass(**spec["params"])


def _clone(model: Recommender) -> Recommender:
    return type(model)(**model.get_params())


class ANNRecommender(Recommender):
    """A fitted factor model served through an exact or HNSW index.

    Parameters
    ----------
    model : Recommender
        A factor model (one that exposes ``_user_vectors``/``_item_vectors``,
        e.g. :class:`reelrec.Random`). ``fit`` fits a fresh copy of it; use
        :meth:`from_fitted` to wrap a model that is already fitted.
    index : {"hnsw", "exact"}
        Which index serves the queries.
    index_params : dict, optional
        For ``"hnsw"``: any of ``M``, ``ef_construction``, ``ef`` (defaults
        16, 200, 50). Must be empty for ``"exact"``.
    random_state : int, numpy Generator or None
        Seeds the HNSW level assignment.
    num_threads : int
        Threads for index construction and search (0 = all cores).

    Attributes
    ----------
    model_ : Recommender
        The fitted model.
    index_ : ExactIndex or HNSWIndex
        The index over the item vectors (ids are item indices).

    Notes
    -----
    ``similar_items`` uses cosine similarity of the item vectors, as the base
    class does; its index (same kind, built on unit vectors with
    ``metric="ip"``) is built on first use. A model that defines its own
    ``similar_items`` (e.g. :class:`~reelrec.Popularity`) answers it itself.
    """

    def __init__(
        self,
        model: Any,
        index: str = "hnsw",
        index_params: dict[str, Any] | None = None,
        random_state: Any = None,
        num_threads: int = 0,
    ):
        self.model = model
        self.index = index
        self.index_params = index_params
        self.random_state = random_state
        self.num_threads = num_threads

    # ------------------------------------------------------------- building
    @classmethod
    def from_fitted(
        cls,
        model: Recommender,
        index: str = "hnsw",
        index_params: dict[str, Any] | None = None,
        random_state: Any = None,
        num_threads: int = 0,
    ) -> ANNRecommender:
        """Wrap an already fitted factor model without refitting it."""
        obj = cls(
            model,
            index=index,
            index_params=index_params,
            random_state=random_state,
            num_threads=num_threads,
        )
        if not isinstance(model, Recommender):
            raise TypeError(f"model: expected a reelrec Recommender, got {type(model).__name__}")
        model._check_fitted()
        obj._validate_params()
        obj.user_items_ = model.user_items_
        obj.n_users_, obj.n_items_ = model.n_users_, model.n_items_
        obj.user_ids_ = getattr(model, "user_ids_", None)
        obj.item_ids_ = getattr(model, "item_ids_", None)
        obj.model_ = model
        obj._build()
        return obj

    def _validate_params(self) -> None:
        super()._validate_params()
        if not isinstance(self.model, Recommender):
            raise TypeError(
                f"model: expected a reelrec Recommender, got {type(self.model).__name__}"
            )
        if self.index not in _INDEXES:
            raise ValueError(f"index: expected 'hnsw' or 'exact', got {self.index!r}")
        params = self.index_params or {}
        if not isinstance(params, dict):
            raise TypeError(f"index_params: expected a dict or None, got {type(params).__name__}")
        allowed = _HNSW_PARAMS if self.index == "hnsw" else ()
        unknown = sorted(set(params) - set(allowed))
        if unknown:
            raise ValueError(
                f"index_params: unknown for index={self.index!r}: {unknown}; allowed: {list(allowed)}"
            )

    def _fit(self, X: sp.csr_matrix, **fit_params: Any) -> None:
        # Recommender.fit validated X; the wrapped copy sees the same matrix.
        self.model_ = _clone(self.model).fit(X, **fit_params)
        self._build()

    def _build(self) -> None:
        items, bias = self._factors()
        self._sim_index = None
        self._sim_lock = threading.Lock()
        self.index_ = self._make_index(
            self._index_vectors(items, bias), "l2" if self.index == "hnsw" else "ip"
        )

    def _factors(self) -> tuple[np.ndarray, np.ndarray | None]:
        try:
            items, bias = self.model_._item_vectors()
        except NotImplementedError as exc:
            raise TypeError(
                f"model: {type(self.model_).__name__} is not a factor model (it exposes no item vectors)"
            ) from exc
        items = np.ascontiguousarray(items, dtype=np.float32)
        bias = None if bias is None else np.asarray(bias, dtype=np.float32)
        return items, bias

    def _index_vectors(self, items: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
        cols = [items]
        if bias is not None:
            cols.append(bias[:, None])
        if self.index == "hnsw":
            V = np.hstack(cols).astype(np.float64)
            sq = np.einsum("ij,ij->i", V, V)
            cols.append(np.sqrt(np.maximum(sq.max(initial=0.0) - sq, 0.0))[:, None])
        V = np.hstack(cols).astype(np.float32)
        if V.shape[1] == 0:  # no vectors and no bias: every item scores 0
            V = np.zeros((V.shape[0], 1), np.float32)
        return np.ascontiguousarray(V)

    def _make_index(self, vectors: np.ndarray, metric: str) -> ExactIndex | HNSWIndex:
        threads = check_num_threads(self.num_threads)
        if self.index == "exact":
            idx: ExactIndex | HNSWIndex = ExactIndex(vectors.shape[1], metric, num_threads=threads)
        else:
            idx = HNSWIndex(
                vectors.shape[1],
                metric,
                random_state=seed_from(self.random_state),
                num_threads=threads,
                **(self.index_params or {}),
            )
        return idx.add(vectors, np.arange(vectors.shape[0], dtype=np.int64))

    # ------------------------------------------------------------ recommend
    def _queries(self, Q: np.ndarray) -> np.ndarray:
        """Index-space queries from user vectors: [q, 1 (bias)] and the MIPS coordinate 0."""
        cols = [Q]
        if self._has_bias:
            cols.append(np.ones((Q.shape[0], 1), np.float32))
        if self.index == "hnsw":
            cols.append(np.zeros((Q.shape[0], 1), np.float32))
        Q = np.hstack(cols)
        if Q.shape[1] == 0:
            Q = np.zeros((Q.shape[0], 1), np.float32)
        return np.ascontiguousarray(Q, dtype=np.float32)

    @property
    def _has_bias(self) -> bool:
        return self.model_._item_vectors()[1] is not None

    def _recommend(
        self, users: np.ndarray, k: int, filt: QueryFilter, user_items: sp.csr_matrix | None
    ) -> tuple[np.ndarray, np.ndarray]:
        user_vecs = np.asarray(self.model_._user_vectors(users, user_items), dtype=np.float32)
        Q = self._queries(user_vecs)
        allow = None if filt.allow is None else np.flatnonzero(filt.allow).astype(np.int64)
        deny = None if filt.deny is None else np.flatnonzero(filt.deny).astype(np.int64)
        excl_ptr = None if filt.seen_indptr is None else filt.seen_indptr.astype(np.int64)
        excl_ids = None if filt.seen_indices is None else filt.seen_indices.astype(np.int64)
        native = self.index_._native
        threads = check_num_threads(self.num_threads)
        if self.index == "exact":
            ids, scores = native.search(Q, k, allow, deny, excl_ptr, excl_ids, threads)
            return ids.astype(np.int32), scores
        ids, _ = native.search(Q, k, 0, allow, deny, excl_ptr, excl_ids, threads)
        return self._rescore(user_vecs, ids)

    def _rescore(self, user_vecs: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Exact model scores for the candidates, re-sorted (score desc, item asc)."""
        items, bias = self._factors()
        n, k = ids.shape
        scores = np.full((n, k), -np.inf, np.float32)
        step = max(1, _RESCORE_BUDGET // max(1, k * max(1, items.shape[1])))
        for start in range(0, n, step):
            rows = slice(start, min(n, start + step))
            block = ids[rows]
            valid = block >= 0
            safe = np.where(valid, block, 0)
            s = (
                np.einsum("ukd,ud->uk", items[safe], user_vecs[rows])
                if items.shape[1]
                else np.zeros(block.shape, np.float32)
            )
            if bias is not None:
                s = s + bias[safe]
            scores[rows] = np.where(valid, s, -np.inf)
        order = np.lexsort((np.where(ids >= 0, ids, np.iinfo(np.int64).max), -scores), axis=-1)
        ids = np.take_along_axis(ids, order, axis=1)
        scores = np.take_along_axis(scores, order, axis=1)
        return ids.astype(np.int32), scores.astype(np.float32)

    # -------------------------------------------------------- similar items
    def _similar_items(self, items: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        if type(self.model_)._similar_items is not Recommender._similar_items:
            # the model defines its own notion of similarity (e.g. Popularity)
            return self.model_._similar_items(items, k)
        unit = self._unit_items()
        index = self._similarity_index(unit)
        Q = np.ascontiguousarray(unit[items])
        if Q.shape[1] == 0:
            Q = np.zeros((Q.shape[0], 1), np.float32)
        excl_ptr = np.arange(items.size + 1, dtype=np.int64)
        excl_ids = items.astype(np.int64)
        threads = check_num_threads(self.num_threads)
        if self.index == "exact":
            ids, scores = index._native.search(Q, k, None, None, excl_ptr, excl_ids, threads)
        else:
            ids, scores = index._native.search(Q, k, 0, None, None, excl_ptr, excl_ids, threads)
        return ids.astype(np.int32), scores

    def _unit_items(self) -> np.ndarray:
        items, _ = self._factors()
        norms = np.linalg.norm(items, axis=1)
        return (items / np.where(norms > 0, norms, 1)[:, None]).astype(np.float32)

    def _similarity_index(self, unit: np.ndarray) -> ExactIndex | HNSWIndex:
        with self._sim_lock:
            if self._sim_index is None:
                vectors = unit if unit.shape[1] else np.zeros((unit.shape[0], 1), np.float32)
                self._sim_index = self._make_index(np.ascontiguousarray(vectors), "ip")
            return self._sim_index

    # ---------------------------------------------------------- persistence
    def _save_params(self) -> dict[str, Any]:
        params = self.get_params()
        params["model"] = _model_spec(self.model)
        if params["random_state"] is not None and not isinstance(params["random_state"], int):
            params["random_state"] = None  # a Generator cannot be saved; the index keeps its graph
        return params

    def _get_state(self) -> dict[str, np.ndarray]:
        state = {f"model.{k}": v for k, v in self.model_._get_state().items()}
        state["index"] = np.frombuffer(self.index_.to_bytes(), np.uint8)
        if self._sim_index is not None:
            state["similar_index"] = np.frombuffer(self._sim_index.to_bytes(), np.uint8)
        return state

    def _set_state(self, state: dict[str, np.ndarray]) -> None:
        if not isinstance(self.model, Recommender):
            self.model = _model_from_spec(self.model)
        inner = _clone(self.model)
        inner.user_items_ = self.user_items_
        inner.n_users_, inner.n_items_ = self.n_users_, self.n_items_
        inner.user_ids_, inner.item_ids_ = self.user_ids_, self.item_ids_
        inner._set_state(
            {k[len("model.") :]: v for k, v in state.items() if k.startswith("model.")}
        )
        self.model_ = inner
        kind = ExactIndex if self.index == "exact" else HNSWIndex
        if "index" not in state:
            raise ValueError("path: the saved ANNRecommender has no index")
        self.index_ = kind.from_bytes(state["index"].tobytes())
        self._sim_lock = threading.Lock()
        self._sim_index = (
            kind.from_bytes(state["similar_index"].tobytes()) if "similar_index" in state else None
        )
