"""Helpers shared by the implicit-feedback factorization models (ImplicitALS, BPR).

Private: training-loop plumbing (callbacks, evaluation sets, history) and the
sparse bookkeeping behind ``partial_fit_users`` / ``partial_fit_items``.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import scipy.sparse as sp

from .._validation import check_indices, check_user_items
from .base import Recommender

__all__ = [
    "FactorizationRecommender",
    "check_bool",
    "check_callback",
    "check_eval_set",
    "eval_ndcg",
    "replace_rows",
    "check_partial_fit",
    "grow_ids",
]

EVAL_K = 10


class FactorizationRecommender(Recommender):
    """Base of the factor models trained in sweeps (``ImplicitALS``, ``BPR``): one
    ``fit`` with per-sweep callbacks and an optional evaluation set."""

    def fit(
        self,
        X: Any,
        callback: Callable[[int, float, float | None], Any] | None = None,
        eval_set: Any = None,
    ):
        """Learn factors from ``X`` (users x items interaction weights).

        Parameters
        ----------
        X : Interactions or scipy.sparse matrix
            Non-negative interaction weights (the model's docstring says how
            they count). float32 CSR avoids a copy; other dtypes are converted
            (a copy) and other sparse formats are converted with a ``CopyWarning``.
        callback : callable, optional
            Called after every sweep (ALS) or epoch (BPR) as
            ``callback(iteration, seconds, loss)``, ``iteration`` from 0;
            returning ``False`` stops training.
        eval_set : Interactions or scipy.sparse matrix, optional
            Held-out interactions of the same users and items; NDCG@10 (training
            items excluded) is recorded in ``history_["ndcg@10"]`` every sweep.

        Returns
        -------
        self
        """
        return super().fit(X, callback=callback, eval_set=eval_set)


def check_bool(value: Any, name: str) -> None:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name}: expected a bool, got {type(value).__name__}")


def check_callback(callback: Any) -> Callable | None:
    if callback is not None and not callable(callback):
        raise TypeError(
            f"callback: expected a callable (iteration, seconds, loss) -> bool | None, got {type(callback).__name__}"
        )
    return callback


def check_eval_set(
    eval_set: Any, shape: tuple[int, int]
) -> tuple[np.ndarray, sp.csr_matrix] | None:
    """``(users with held-out items, held-out rows)`` or None."""
    if eval_set is None:
        return None
    test, _ = check_user_items(eval_set, "eval_set", allow_empty=True, n_items=shape[1])
    if test.shape[0] != shape[0]:
        raise ValueError(
            f"eval_set: expected {shape[0]} user rows (the training users), got {test.shape[0]}"
        )
    users = np.flatnonzero(np.diff(test.indptr) > 0)
    if users.size == 0:
        raise ValueError("eval_set: holds no interactions to evaluate against")
    return users, test[users]


def eval_ndcg(model: Any, eval_data: tuple[np.ndarray, sp.csr_matrix]) -> float:
    """NDCG@10 (:func:`reelrec.metrics.ndcg_at_k`, stored values as gains) of the model's
    current factors on the evaluation users, training items excluded."""
    from ..metrics import ndcg_at_k

    users, relevant = eval_data
    ids, _ = model.recommend(users, k=EVAL_K, exclude_seen=True)
    return float(ndcg_at_k(ids, relevant, EVAL_K, num_threads=model._threads))


def check_partial_fit(
    ids: Any, rows: Any, n_cols: int, id_name: str, rows_name: str
) -> tuple[np.ndarray, sp.csr_matrix]:
    """Validate the ``(ids, rows)`` pair of a partial fit."""
    idx, _ = check_indices(ids, None, id_name)
    if np.unique(idx).size != idx.size:
        raise ValueError(f"{id_name}: contains duplicate indices")
    csr, _ = check_user_items(rows, rows_name, allow_empty=True)
    if csr.shape[1] != n_cols:
        raise ValueError(f"{rows_name}: expected {n_cols} columns, got {csr.shape[1]}")
    if csr.shape[0] != idx.size:
        raise ValueError(
            f"{rows_name}: expected one row per entry of {id_name} ({idx.size}), got {csr.shape[0]}"
        )
    return idx, csr


def replace_rows(
    X: sp.csr_matrix, rows: np.ndarray, new_rows: sp.csr_matrix, n_rows: int
) -> sp.csr_matrix:
    """``X`` grown to ``n_rows`` rows with rows ``rows`` replaced by ``new_rows``; O(nnz)."""
    keep = np.ones(X.shape[0], dtype=bool)
    keep[rows[rows < X.shape[0]]] = False
    old_rows = np.repeat(np.arange(X.shape[0]), np.diff(X.indptr))
    mask = keep[old_rows]
    new_row_ids = np.repeat(rows, np.diff(new_rows.indptr))
    r = np.concatenate([old_rows[mask], new_row_ids])
    c = np.concatenate([X.indices[mask], new_rows.indices])
    v = np.concatenate([X.data[mask], new_rows.data]).astype(np.float32, copy=False)
    out = sp.csr_matrix((v, (r, c)), shape=(n_rows, X.shape[1]), dtype=np.float32)
    out.sum_duplicates()
    return out


def grow_ids(ids: np.ndarray | None, n: int, name: str) -> np.ndarray | None:
    """Extend an index -> caller id map to ``n`` entries (identity maps only)."""
    if ids is None or ids.size >= n:
        return ids
    if not np.array_equal(ids, np.arange(ids.size)):
        raise ValueError(
            f"{name}: the model was fitted on Interactions with custom ids, so new indices beyond "
            f"{ids.size - 1} have no id; refit, or add them to the id map before growing"
        )
    return np.arange(n)
