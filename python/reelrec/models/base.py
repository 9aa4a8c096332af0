"""The one interface every reelrec model implements.

Orientation is always users x items. Queries return ``(item_ids, scores)``:
1-d arrays for a single user, 2-d arrays (users x k) for a batch, padded with
``-1`` / ``-inf`` when fewer than ``k`` items remain after filtering. All
ranking goes through one native top-k kernel (``_core.topk_dot`` for factor
models, ``_core.topk_dense`` for models that produce score rows), so filters
and tie-breaking (equal scores: lower item index first) are identical for all
models.

Persistence is a versioned ``.npz`` (arrays) with a JSON header (class name,
parameters, format version); no pickled code is ever loaded.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

from .. import _core
from .._params import ParamsMixin
from .._persist import read_npz, write_npz
from .._validation import (
    check_indices,
    check_item_mask,
    check_k,
    check_num_threads,
    check_user_items,
    csr_arrays,
)
from ..exceptions import NotFittedError

__all__ = ["Recommender", "QueryFilter", "FORMAT_VERSION"]

FORMAT_VERSION = 1
# Rows of dense scores materialised at once by ``_recommend_dense``: bounds the
# scratch memory to ~256 MiB whatever the catalogue size.
_DENSE_BUDGET = 1 << 26


@dataclass
class QueryFilter:
    """What a query must not return, in the native kernels' representation."""

    allow: np.ndarray | None  # uint8 flags per item
    deny: np.ndarray | None  # uint8 flags per item
    seen_indptr: np.ndarray | None  # int64, one row per query
    seen_indices: np.ndarray | None  # int32, sorted within rows
    num_threads: int

    def rows(self, start: int, stop: int) -> QueryFilter:
        """The filter restricted to queries ``start:stop``."""
        if self.seen_indptr is None:
            return self
        ptr = self.seen_indptr[start : stop + 1]
        return QueryFilter(
            self.allow,
            self.deny,
            ptr - ptr[0],
            self.seen_indices[ptr[0] : ptr[-1]],
            self.num_threads,
        )

    def kernel_args(self) -> dict[str, Any]:
        return {
            "allow": self.allow,
            "deny": self.deny,
            "seen_indptr": self.seen_indptr,
            "seen_indices": self.seen_indices,
            "num_threads": self.num_threads,
        }


def _csr_rows(X: sp.csr_matrix, rows: np.ndarray) -> sp.csr_matrix:
    """Rows of a canonical CSR (row fancy-indexing keeps rows sorted)."""
    sub = X[rows]
    sub.has_sorted_indices = True
    return sub


def _save_ids(ids: np.ndarray) -> np.ndarray:
    arr = np.asarray(ids)
    if arr.dtype == object:
        arr = np.asarray(arr.tolist())
    if arr.dtype == object or arr.dtype.kind not in "iuUfb":
        raise ValueError("ids: only integer, float or string ids can be saved without pickle")
    return arr


class Recommender(ParamsMixin, ABC):
    """Abstract base of every reelrec model.

    Subclasses implement :meth:`_fit` and either the factor hooks
    (:meth:`_user_vectors`, :meth:`_item_vectors`) or :meth:`_score_rows`, and
    declare their learned arrays in ``_state_attrs`` for save/load.

    Fitted attributes common to all models: ``user_items_`` (the training
    matrix, float32 CSR), ``n_users_``, ``n_items_``, and ``user_ids_`` /
    ``item_ids_`` when fitted on :class:`reelrec.data.Interactions`.
    """

    _registry: ClassVar[dict[str, type[Recommender]]] = {}
    #: names of fitted attributes (arrays or scalars) persisted by ``save``
    _state_attrs: ClassVar[tuple[str, ...]] = ()
    #: whether negative values (e.g. centred ratings) are legal training input
    _allow_negative: ClassVar[bool] = False

    # --------------------------------------------------------------------- fit
    def fit(self, X: Any, **fit_params: Any) -> Recommender:
        """Learn from ``X``, an :class:`~reelrec.data.Interactions` or users x items matrix.

        Returns
        -------
        self
        """
        csr, interactions = check_user_items(X, "X", allow_negative=self._allow_negative)
        self._validate_params()
        self.user_items_ = csr
        self.n_users_, self.n_items_ = csr.shape
        if interactions is not None:
            self.user_ids_ = interactions.user_ids
            self.item_ids_ = interactions.item_ids
        else:
            self.user_ids_ = None
            self.item_ids_ = None
        self._fit(csr, **fit_params)
        return self

    def _validate_params(self) -> None:
        """Check constructor parameters; called at the start of ``fit``."""
        if "num_threads" in self._param_names():
            check_num_threads(self.num_threads)

    @abstractmethod
    def _fit(self, X: sp.csr_matrix, **fit_params: Any) -> None:
        """Learn from a canonical float32 CSR users x items matrix."""

    def _check_fitted(self) -> None:
        if not hasattr(self, "user_items_"):
            raise NotFittedError(
                f"This {type(self).__name__} is not fitted yet: call fit(X) before using it"
            )

    @property
    def _threads(self) -> int:
        return int(getattr(self, "num_threads", 0) or 0)

    # --------------------------------------------------------------- recommend
    def recommend(
        self,
        users: Any,
        k: int = 10,
        exclude_seen: bool = True,
        items: Any = None,
        exclude_items: Any = None,
        user_items: Any = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` items for ``users``.

        Parameters
        ----------
        users : int or array of int
            User indices (rows of the training matrix). With ``user_items``
            they may be new users (any index >= 0).
        k : int
            Number of items per user.
        exclude_seen : bool
            Drop items the user interacted with (in the training matrix, or in
            ``user_items`` when given).
        items : array of int or bool mask, optional
            Only rank these items.
        exclude_items : array of int or bool mask, optional
            Never return these items.
        user_items : sparse matrix, optional
            One row of interactions per requested user. The model represents each
            user by this row instead of the training data (fold-in), which is how
            users unseen at training time are served.

        Returns
        -------
        item_ids : ndarray of int32, shape (k,) or (n_users, k)
            Item indices, best first; ``-1`` where fewer than ``k`` items remain.
        scores : ndarray of float32, same shape
            Scores, ``-inf`` for padding.
        """
        self._check_fitted()
        k = check_k(k)
        users_arr, single = check_indices(
            users, None if user_items is not None else self.n_users_, "users"
        )
        history = self._history(users_arr, user_items)
        seen_indptr, seen_indices = csr_arrays(history) if exclude_seen else (None, None)
        filt = QueryFilter(
            check_item_mask(items, self.n_items_, "items"),
            check_item_mask(exclude_items, self.n_items_, "exclude_items"),
            seen_indptr,
            seen_indices,
            self._threads,
        )
        if users_arr.size == 0:
            ids = np.empty((0, k), np.int32)
            scores = np.empty((0, k), np.float32)
        else:
            ids, scores = self._recommend(
                users_arr, k, filt, history if user_items is not None else None
            )
        if single:
            return ids[0], scores[0]
        return ids, scores

    def _history(self, users: np.ndarray, user_items: Any) -> sp.csr_matrix:
        if user_items is None:
            return _csr_rows(self.user_items_, users)
        rows, _ = check_user_items(
            user_items,
            "user_items",
            allow_negative=self._allow_negative,
            allow_empty=True,
            n_items=self.n_items_,
        )
        if rows.shape[0] != users.size:
            raise ValueError(
                f"user_items: expected one row per requested user ({users.size}), got {rows.shape[0]}"
            )
        return rows

    def _recommend(
        self, users: np.ndarray, k: int, filt: QueryFilter, user_items: sp.csr_matrix | None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Rank for a batch. Default: inner product of user and item vectors."""
        queries = self._user_vectors(users, user_items)
        items, bias = self._item_vectors()
        return _core.topk_dot(queries, items, bias, k, **filt.kernel_args())

    def _recommend_dense(
        self, users: np.ndarray, k: int, filt: QueryFilter, user_items: sp.csr_matrix | None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Rank from :meth:`_score_rows` in chunks that bound scratch memory."""
        step = max(1, _DENSE_BUDGET // max(1, self.n_items_))
        ids = np.empty((users.size, k), np.int32)
        scores = np.empty((users.size, k), np.float32)
        for start in range(0, users.size, step):
            stop = min(users.size, start + step)
            rows = None if user_items is None else user_items[start:stop]
            dense = np.ascontiguousarray(
                self._score_rows(users[start:stop], rows), dtype=np.float32
            )
            ids[start:stop], scores[start:stop] = _core.topk_dense(
                dense, k, **filt.rows(start, stop).kernel_args()
            )
        return ids, scores

    def _user_vectors(self, users: np.ndarray, user_items: sp.csr_matrix | None) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} does not expose user vectors")

    def _item_vectors(self) -> tuple[np.ndarray, np.ndarray | None]:
        """``(item vectors n_items x d float32, item bias or None)``."""
        raise NotImplementedError(f"{type(self).__name__} does not expose item vectors")

    def _score_rows(self, users: np.ndarray, user_items: sp.csr_matrix | None) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} does not produce score rows")

    # ----------------------------------------------------------- similar items
    def similar_items(self, items: Any, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` items most similar to each of ``items`` (the item itself excluded).

        Factor models use cosine similarity of item vectors.

        Returns
        -------
        item_ids, scores : ndarrays, shape (k,) or (len(items), k)
        """
        self._check_fitted()
        k = check_k(k)
        idx, single = check_indices(items, self.n_items_, "items")
        ids, scores = self._similar_items(idx, k)
        if single:
            return ids[0], scores[0]
        return ids, scores

    def _similar_items(self, items: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        vectors, _ = self._item_vectors()
        return _cosine_topk(vectors, items, k, self._threads)

    # --------------------------------------------------------- pandas helpers
    def recommend_frame(self, users: Any = None, k: int = 10, **kwargs: Any) -> Any:
        """Recommendations as a long pandas DataFrame ``(user, item, score, rank)``.

        ``users`` are the user's own ids when the model was fitted on
        :class:`~reelrec.data.Interactions` (all users when ``None``); item ids
        are mapped back to the caller's ids too.
        """
        from .._pandas import require_pandas

        pd = require_pandas("Recommender.recommend_frame")
        self._check_fitted()
        if self.user_ids_ is not None:
            if users is None:
                index = np.arange(self.n_users_)
            else:
                lookup = {u: i for i, u in enumerate(self.user_ids_.tolist())}
                raw = np.atleast_1d(np.asarray(users, dtype=object)).tolist()
                missing = [u for u in raw if u not in lookup]
                if missing:
                    raise KeyError(f"users: unknown user ids {missing[:5]}")
                index = np.array([lookup[u] for u in raw], dtype=np.int64)
        else:
            index = (
                np.arange(self.n_users_)
                if users is None
                else check_indices(users, self.n_users_, "users")[0]
            )
        ids, scores = self.recommend(index, k=k, **kwargs)
        valid = ids >= 0
        user_col = np.repeat(index, k)[valid.ravel()]
        item_col = ids[valid]
        if self.user_ids_ is not None:
            user_col = self.user_ids_[user_col]
            item_col = self.item_ids_[item_col]
        rank = np.tile(np.arange(1, k + 1), index.size)[valid.ravel()]
        return pd.DataFrame(
            {"user": user_col, "item": item_col, "score": scores[valid], "rank": rank}
        )

    # ------------------------------------------------------------- save/load
    def _get_state(self) -> dict[str, np.ndarray]:
        state = {}
        for name in self._state_attrs:
            value = getattr(self, name)
            if value is None:
                continue
            state[name] = np.asarray(value)
        return state

    def _set_state(self, state: dict[str, np.ndarray]) -> None:
        for name in self._state_attrs:
            if name in state:
                value = state[name]
                setattr(self, name, value[()] if value.ndim == 0 else value)
            else:
                setattr(self, name, None)

    def save(self, path: str | os.PathLike) -> None:
        """Write the fitted model to ``path`` (a versioned ``.npz``; no pickle)."""
        self._check_fitted()
        arrays = {f"state.{k}": v for k, v in self._get_state().items()}
        X = self.user_items_
        arrays.update({"train.indptr": X.indptr, "train.indices": X.indices, "train.data": X.data})
        if self.user_ids_ is not None:
            arrays["ids.user"] = _save_ids(self.user_ids_)
            arrays["ids.item"] = _save_ids(self.item_ids_)
        write_npz(
            path,
            fmt="reelrec-model",
            version=FORMAT_VERSION,
            obj=self,
            params=self._save_params(),
            arrays=arrays,
            extra={"shape": [int(self.n_users_), int(self.n_items_)]},
        )

    def _save_params(self) -> dict[str, Any]:
        """Constructor parameters as ``save`` writes them (JSON); wrappers of models override it."""
        return self.get_params()

    @classmethod
    def load(cls, path: str | os.PathLike) -> Recommender:
        """Read a model written by :meth:`save`. ``Recommender.load`` works for any class."""
        with read_npz(
            path,
            fmt="reelrec-model",
            version=FORMAT_VERSION,
            registry=Recommender._registry,
            base=cls,
            file_kind="model",
            class_kind="model",
        ) as (klass, meta, data):
            model = klass(**meta["params"])
            n_users, n_items = meta["shape"]
            model.user_items_ = sp.csr_matrix(
                (data["train.data"], data["train.indices"], data["train.indptr"]),
                shape=(n_users, n_items),
            )
            model.n_users_, model.n_items_ = n_users, n_items
            model.user_ids_ = data["ids.user"] if "ids.user" in data.files else None
            model.item_ids_ = data["ids.item"] if "ids.item" in data.files else None
            state = {k[len("state.") :]: data[k] for k in data.files if k.startswith("state.")}
        model._set_state(state)
        return model


def _cosine_topk(
    vectors: np.ndarray, queries: np.ndarray, k: int, num_threads: int
) -> tuple[np.ndarray, np.ndarray]:
    """Cosine top-k of rows ``queries`` of ``vectors`` against all rows, excluding themselves."""
    norms = np.linalg.norm(vectors, axis=1)
    unit = (vectors / np.where(norms > 0, norms, 1)[:, None]).astype(np.float32)
    own = np.ascontiguousarray(queries.astype(np.int32))
    return _core.topk_dot(
        np.ascontiguousarray(unit[queries]),
        unit,
        None,
        k,
        allow=None,
        deny=None,
        seen_indptr=np.arange(queries.size + 1, dtype=np.int64),
        seen_indices=own,
        num_threads=num_threads,
    )
