"""Neighbourhood collaborative filtering: ItemKNN, UserKNN and RP3beta.

All three learn a sparse similarity matrix with at most ``k`` neighbours per
row, computed natively with sparse products (never a dense n x n matrix; see
``cpp/similarity/neighbours.hpp``), and rank with one native sparse product
(``cpp/similarity/scoring.hpp``):

* ItemKNN / RP3beta: ``scores = history @ similarity_`` where row ``j`` of
  ``similarity_`` holds the neighbours of item ``j`` (Deshpande & Karypis 2004).
* UserKNN: ``scores = similarity_[u] @ user_items_`` (the neighbours' rows).

Similarities (``x`` = the vectors being compared: item columns for ItemKNN, user
rows for UserKNN, after the optional TF-IDF/BM25 weighting):

====================  ==========================================================
``cosine``            ``<x_a, x_b> / (|x_a| |x_b| + shrinkage)``
``adjusted_cosine``   cosine after subtracting each feature's mean (Sarwar et al.
                      2001: item vectors centred by user means)
``pearson``           cosine after subtracting each vector's own mean
``jaccard``           ``|A & B| / (|A| + |B| - |A & B| + shrinkage)`` on the
                      interaction pattern (weights ignored, so no ``weighting``)
``asymmetric_cosine`` ``<x_a, x_b> / (|x_a|^(2 alpha) |x_b|^(2 (1 - alpha)) +
                      shrinkage)`` (Aiolli 2013); alpha = 0.5 is cosine
``dot``               ``<x_a, x_b>`` (implicit's BM25Recommender with ``weighting="bm25"``)
====================  ==========================================================

Means and norms run over the stored entries of a vector (missing entries are
not zero-filled ratings). Weighting follows the implicit library: documents are
the compared vectors, terms the features; ``tfidf`` is
``sqrt(x) * (log N - log1p(df))`` and ``bm25`` is
``x (k1 + 1) / (k1 (1 - b + b len / avg_len) + x) * (log N - log1p(df))``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from .. import _core
from .._validation import (
    check_fraction,
    check_indices,
    check_nonnegative,
    check_positive,
)
from ._sparse_state import SparseStateMixin, csr_from_native, native_csr
from .base import QueryFilter, Recommender

__all__ = ["ItemKNN", "UserKNN", "RP3Beta"]

_SIMILARITIES = ("cosine", "adjusted_cosine", "pearson", "jaccard", "asymmetric_cosine", "dot")
_WEIGHTINGS = (None, "tfidf", "bm25")
_BASELINES = ("mean", "baseline", "none")


def _without_zeros(X: sp.csr_matrix) -> sp.csr_matrix:
    """Stored zeros would count as co-occurrences; drop them (copying only if present)."""
    if X.nnz and not np.all(X.data):
        X = X.copy()
        X.eliminate_zeros()
    return X


def _check_choice(value: Any, name: str, choices: tuple) -> Any:
    if value not in choices:
        raise ValueError(f"{name}: expected one of {list(choices)}, got {value!r}")
    return value


def _check_bool(value: Any, name: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name}: expected True or False, got {type(value).__name__} {value!r}")
    return bool(value)


def _rank_topk(
    S: sp.csr_matrix, rows: np.ndarray, k: int, num_threads: int, exclude: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Best ``k`` stored entries of ``rows`` of ``S``, padded with -1 / -inf."""
    indptr, indices, data = native_csr(S)
    return _core.csr_rows_topk(
        indptr,
        indices,
        data,
        S.shape[1],
        np.ascontiguousarray(rows, dtype=np.int64),
        None if exclude is None else np.ascontiguousarray(exclude, dtype=np.int64),
        k,
        num_threads,
    )


def _score_with(
    H: sp.csr_matrix,
    rows: np.ndarray | None,
    S: sp.csr_matrix,
    k: int,
    filt: QueryFilter,
    normalize: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Top-k of ``H[rows] @ S`` with the query filters (native sparse product)."""
    h_indptr, h_indices, h_data = native_csr(H)
    s_indptr, s_indices, s_data = native_csr(S)
    return _core.knn_score_topk(
        h_indptr,
        h_indices,
        h_data,
        None if rows is None else np.ascontiguousarray(rows, dtype=np.int64),
        s_indptr,
        s_indices,
        s_data,
        S.shape[1],
        normalize,
        k,
        **filt.kernel_args(),
    )


def _topk_matrix(
    ids: np.ndarray, scores: np.ndarray, n_cols: int, num_threads: int
) -> sp.csr_matrix:
    return csr_from_native(_core.topk_to_csr(ids, scores, num_threads), (ids.shape[0], n_cols))


#: query rows per native call of an all-pairs fit: bounds the padded n x k
#: intermediate (8 bytes per slot) next to the compact CSR result
_CHUNK_ROWS = 1 << 20


def _all_pairs(
    queries: tuple[np.ndarray, np.ndarray, np.ndarray],
    base: tuple[np.ndarray, np.ndarray, np.ndarray],
    n_base: int,
    denominator: str,
    query_factor: np.ndarray | None,
    base_factor: np.ndarray | None,
    shrinkage: float,
    k: int,
    num_threads: int,
) -> sp.csr_matrix:
    """Top-k similarity CSR of every query row against the base, the row's own index excluded."""
    q_indptr, q_indices, q_data = queries
    n = q_indptr.size - 1
    k = min(int(k), max(1, n_base - 1))
    blocks = []
    for start in range(0, n, _CHUNK_ROWS):
        stop = min(n, start + _CHUNK_ROWS)
        lo, hi = q_indptr[start], q_indptr[stop]
        ids, scores = _core.knn_neighbours(
            q_indptr[start : stop + 1] - lo,
            q_indices[lo:hi],
            q_data[lo:hi],
            *base,
            n_base,
            denominator,
            None if query_factor is None else np.ascontiguousarray(query_factor[start:stop]),
            base_factor,
            float(shrinkage),
            np.arange(start, stop, dtype=np.int64),
            k,
            num_threads,
        )
        blocks.append(_topk_matrix(ids, scores, n_base, num_threads))
    if len(blocks) == 1:
        return blocks[0]
    out = sp.vstack(blocks, format="csr")
    out.has_sorted_indices = True
    return out


def _baselines(
    X: sp.csr_matrix, reg_user: float = 15.0, reg_item: float = 10.0, n_epochs: int = 10
) -> tuple[float, np.ndarray, np.ndarray]:
    """Regularised user and item biases by alternating least squares (Koren 2010, as Surprise)."""
    users = np.repeat(np.arange(X.shape[0]), np.diff(X.indptr))
    items = X.indices
    r = X.data.astype(np.float64)
    mu = float(r.mean())
    n_u = np.bincount(users, minlength=X.shape[0])
    n_i = np.bincount(items, minlength=X.shape[1])
    b_u = np.zeros(X.shape[0])
    b_i = np.zeros(X.shape[1])
    for _ in range(n_epochs):
        b_i = np.bincount(items, weights=r - mu - b_u[users], minlength=X.shape[1]) / (
            reg_item + n_i
        )
        b_u = np.bincount(users, weights=r - mu - b_i[items], minlength=X.shape[0]) / (
            reg_user + n_u
        )
    return mu, b_u.astype(np.float32), b_i.astype(np.float32)


def _row_sums(indptr: np.ndarray, data: np.ndarray) -> np.ndarray:
    """Sum of the stored values of each CSR row, in float64."""
    n_rows = indptr.size - 1
    rows = np.repeat(np.arange(n_rows), np.diff(indptr))
    return np.bincount(rows, weights=data.astype(np.float64), minlength=n_rows)


def _means(X: sp.csr_matrix, fallback: float) -> np.ndarray:
    """Mean of the stored values of each row (``fallback`` for empty rows)."""
    counts = np.diff(X.indptr)
    sums = _row_sums(X.indptr, X.data)
    return np.where(counts > 0, sums / np.maximum(counts, 1), fallback).astype(np.float32)


class _NeighbourhoodModel(SparseStateMixin, Recommender):
    """Shared parameters, preparation and rating prediction of ItemKNN / UserKNN."""

    _sparse_state_attrs = ("similarity_",)
    #: True when the compared vectors are the rows (users) of the training matrix
    _vectors_are_rows = False

    def __init__(
        self,
        k: int = 100,
        similarity: str = "cosine",
        shrinkage: float = 0.0,
        asymmetric_alpha: float = 0.5,
        weighting: str | None = None,
        bm25_k1: float = 1.2,
        bm25_b: float = 0.75,
        normalize_scores: bool = False,
        rating_baseline: str = "mean",
        num_threads: int = 0,
    ):
        self.k = k
        self.similarity = similarity
        self.shrinkage = shrinkage
        self.asymmetric_alpha = asymmetric_alpha
        self.weighting = weighting
        self.bm25_k1 = bm25_k1
        self.bm25_b = bm25_b
        self.normalize_scores = normalize_scores
        self.rating_baseline = rating_baseline
        self.num_threads = num_threads

    # ---------------------------------------------------------------- params
    def _validate_params(self) -> None:
        super()._validate_params()
        check_positive(self.k, "k", integer=True)
        _check_choice(self.similarity, "similarity", _SIMILARITIES)
        check_nonnegative(self.shrinkage, "shrinkage")
        check_fraction(self.asymmetric_alpha, "asymmetric_alpha", inclusive=True)
        _check_choice(self.weighting, "weighting", _WEIGHTINGS)
        check_nonnegative(self.bm25_k1, "bm25_k1")
        check_fraction(self.bm25_b, "bm25_b", inclusive=True)
        _check_bool(self.normalize_scores, "normalize_scores")
        _check_choice(self.rating_baseline, "rating_baseline", _BASELINES)
        if self.similarity == "jaccard" and self.weighting is not None:
            raise ValueError(
                f"weighting: jaccard compares interaction patterns, so weighting={self.weighting!r} "
                "would be ignored; use weighting=None"
            )
        if self.similarity == "dot" and self.shrinkage != 0:
            raise ValueError(
                f"shrinkage: similarity='dot' has no denominator to shrink, got {self.shrinkage}"
            )

    def _prepare_options(self) -> dict[str, Any]:
        centering = {"adjusted_cosine": "feature", "pearson": "vector"}.get(self.similarity, "none")
        return {
            "weighting": self.weighting or "none",
            "bm25_k1": float(self.bm25_k1),
            "bm25_b": float(self.bm25_b),
            "centering": centering,
            "binary": self.similarity == "jaccard",
        }

    def _factors(self, sq_norm: np.ndarray, side: str) -> np.ndarray | None:
        sq = np.asarray(sq_norm, dtype=np.float64)
        if self.similarity == "dot":
            return None
        if self.similarity == "jaccard":
            return sq.astype(np.float32)
        if self.similarity == "asymmetric_cosine":
            alpha = float(self.asymmetric_alpha)
            return np.power(sq, alpha if side == "query" else 1.0 - alpha).astype(np.float32)
        return np.sqrt(sq).astype(np.float32)

    def _denominator(self) -> str:
        return {"dot": "none", "jaccard": "jaccard"}.get(self.similarity, "product")

    # ------------------------------------------------------------------- fit
    def _prepare(self) -> dict[str, Any]:
        """Weighted/centred vectors in both orientations (cached, rebuilt after load)."""
        cached = getattr(self, "_prepared", None)
        if cached is not None and cached["source"] is self.user_items_:
            return cached
        X = _without_zeros(self.user_items_)
        indptr, indices, data = native_csr(X)
        prep = _core.knn_prepare(
            indptr,
            indices,
            data,
            X.shape[1],
            self._vectors_are_rows,
            num_threads=self._threads,
            **self._prepare_options(),
        )
        prep["source"] = self.user_items_
        prep["x"] = (indptr, indices, prep["x_values"])
        self._prepared = prep
        return prep

    def _fit(self, X: sp.csr_matrix) -> None:
        self._prepared = None
        prep = self._prepare()
        x_parts = prep["x"]
        t_parts = prep["transpose"]
        # queries = the vectors (rows of their own orientation), base = features x vectors
        if self._vectors_are_rows:
            queries, base = x_parts, t_parts
        else:
            queries, base = t_parts, x_parts
        n = X.shape[0] if self._vectors_are_rows else X.shape[1]
        self.similarity_ = _all_pairs(
            queries,
            base,
            n,
            self._denominator(),
            self._factors(prep["sq_norm"], "query"),
            self._factors(prep["sq_norm"], "base"),
            float(self.shrinkage),
            int(self.k),
            self._threads,
        )
        if not self._vectors_are_rows:
            self._prepared = None  # only fold-in of user-based models needs it later

    # ------------------------------------------------------- rating predict
    def predict(self, users: Any, items: Any) -> np.ndarray:
        """Predicted ratings for the pairs ``(users[i], items[i])`` (explicit feedback).

        k-NN with means / baselines (Herlocker et al. 1999, Sarwar et al. 2001,
        Koren 2010): ``r(u, i) = b(u, i) + sum_n s * (r_n - b_n) / sum_n s`` over
        the stored neighbours ``n`` of the target (item ``i`` for ItemKNN, user
        ``u`` for UserKNN) that have a rating on the other side, counting only
        positive similarities. ``b`` is chosen by ``rating_baseline``:
        ``"mean"`` (the neighbour's mean rating), ``"baseline"`` (``mu + b_u + b_i``,
        regularised least squares) or ``"none"`` (plain weighted average; the
        global mean when no neighbour rated). Predictions are clipped to the
        range of the training values.

        Parameters
        ----------
        users, items : array of int
            Pairs to score, same length.

        Returns
        -------
        ndarray of float32
        """
        self._check_fitted()
        u, single_u = check_indices(users, self.n_users_, "users")
        i, single_i = check_indices(items, self.n_items_, "items")
        if u.shape != i.shape:
            raise ValueError(f"users, items: expected the same length, got {u.size} and {i.size}")
        X = self.user_items_
        if X.nnz == 0:
            raise ValueError("predict: the training matrix holds no ratings")
        mu = float(X.data.mean())
        targets, others = (u, i) if self._vectors_are_rows else (i, u)
        ratings = self._ratings_by_other()
        centred = self.rating_baseline != "none"
        target_bias = other_bias = None
        global_mean = mu
        if self.rating_baseline == "mean":
            by_target = X if self._vectors_are_rows else _ratings_t(self)
            target_bias = _means(by_target, mu)
            global_mean = 0.0
        elif self.rating_baseline == "baseline":
            mu, b_u, b_i = _baselines(X)
            global_mean = mu
            target_bias, other_bias = (b_u, b_i) if self._vectors_are_rows else (b_i, b_u)
        s_indptr, s_indices, s_data = native_csr(self.similarity_)
        out = _core.knn_predict(
            s_indptr,
            s_indices,
            s_data,
            *ratings,
            np.ascontiguousarray(targets),
            np.ascontiguousarray(others),
            centred,
            float(global_mean),
            target_bias,
            other_bias,
            float(X.data.min()),
            float(X.data.max()),
            self._threads,
        )
        return out[0] if (single_u and single_i) else out

    def _ratings_by_other(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Ratings as rows of the non-target side, columns = the similarity's index space."""
        if self._vectors_are_rows:
            return _transpose_parts(self)
        return native_csr(self.user_items_)


def _transpose_parts(model: Recommender) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    cached = getattr(model, "_raw_transpose", None)
    if cached is None or cached[0] is not model.user_items_:
        indptr, indices, data = native_csr(model.user_items_)
        parts = _core.csr_transpose(indptr, indices, data, model.user_items_.shape[1])
        cached = (model.user_items_, parts)
        model._raw_transpose = cached
    return cached[1]


def _ratings_t(model: Recommender) -> sp.csr_matrix:
    """Items x users view of the training matrix (cached)."""
    return csr_from_native(_transpose_parts(model), model.user_items_.shape[::-1])


class ItemKNN(_NeighbourhoodModel):
    """Item-based k-nearest-neighbour collaborative filtering.

    Learns ``similarity_`` (items x items CSR, at most ``k`` neighbours per row,
    the item itself excluded) and scores ``history @ similarity_``. Users folded
    in with ``user_items`` need nothing else. See the module docstring for the
    similarity and weighting formulas.

    Parameters
    ----------
    k : int
        Neighbours kept per item.
    similarity : {"cosine", "adjusted_cosine", "pearson", "jaccard", "asymmetric_cosine", "dot"}
    shrinkage : float
        Added to the denominator; damps similarities supported by few users.
    asymmetric_alpha : float in [0, 1]
        Exponent of ``asymmetric_cosine``.
    weighting : {None, "tfidf", "bm25"}
        Reweighting of the interactions before the similarity (items are the
        documents, users the terms, as in implicit).
    bm25_k1, bm25_b : float
        BM25 saturation and length normalisation.
    normalize_scores : bool
        Divide each score by the sum of |similarity| that contributed to it
        (a weighted average instead of a weighted sum).
    rating_baseline : {"mean", "baseline", "none"}
        Baseline of :meth:`predict` (explicit ratings only).
    num_threads : int
        Threads (0 = all cores). Results do not depend on it.

    Attributes
    ----------
    similarity_ : scipy.sparse.csr_matrix of float32, shape (n_items, n_items)
    """

    _vectors_are_rows = False

    def _recommend(
        self, users: np.ndarray, k: int, filt: QueryFilter, user_items: sp.csr_matrix | None
    ) -> tuple[np.ndarray, np.ndarray]:
        if user_items is None:
            return _score_with(
                self.user_items_, users, self.similarity_, k, filt, self.normalize_scores
            )
        return _score_with(user_items, None, self.similarity_, k, filt, self.normalize_scores)

    def _similar_items(self, items: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        return _rank_topk(self.similarity_, items, k, self._threads)


class UserKNN(_NeighbourhoodModel):
    """User-based k-nearest-neighbour collaborative filtering.

    Learns ``similarity_`` (users x users CSR, at most ``k`` neighbours per user,
    the user excluded); the score of item ``i`` for user ``u`` is
    ``sum over neighbours v of similarity_[u, v] * user_items_[v, i]``. Users
    folded in with ``user_items`` get their neighbours computed on the fly with
    the training statistics (weights, means), excluding their own index when it
    is a training user. Parameters as :class:`ItemKNN`, with users as the
    documents and items as the terms of the weighting.

    ``similar_items`` ranks items by the cosine of their columns in the
    training matrix (there is no item-item model here).

    Attributes
    ----------
    similarity_ : scipy.sparse.csr_matrix of float32, shape (n_users, n_users)
    """

    _vectors_are_rows = True

    def _recommend(
        self, users: np.ndarray, k: int, filt: QueryFilter, user_items: sp.csr_matrix | None
    ) -> tuple[np.ndarray, np.ndarray]:
        if user_items is None:
            return _score_with(
                self.similarity_, users, self.user_items_, k, filt, self.normalize_scores
            )
        return _score_with(
            self._fold_in(users, user_items), None, self.user_items_, k, filt, self.normalize_scores
        )

    def _fold_in(self, users: np.ndarray, user_items: sp.csr_matrix) -> sp.csr_matrix:
        """Neighbour rows (n_queries x n_users) of new histories."""
        prep = self._prepare()
        rows = _without_zeros(user_items)
        indptr, indices, data = native_csr(rows)
        values, sq_norm = _core.knn_prepare_rows(
            indptr,
            indices,
            data,
            self.n_items_,
            idf=prep["idf"] if prep["idf"].size else np.zeros(self.n_items_, np.float32),
            avg_length=float(prep["avg_length"]),
            feature_mean=prep["feature_mean"]
            if prep["feature_mean"].size
            else np.zeros(self.n_items_, np.float32),
            n_vectors=int(prep["n_vectors"]),
            num_threads=self._threads,
            **self._prepare_options(),
        )
        exclude = np.where(users < self.n_users_, users, -1).astype(np.int64)
        k = min(int(self.k), max(1, self.n_users_))
        ids, scores = _core.knn_neighbours(
            indptr,
            indices,
            values,
            *prep["transpose"],
            self.n_users_,
            self._denominator(),
            self._factors(sq_norm, "query"),
            self._factors(prep["sq_norm"], "base"),
            float(self.shrinkage),
            exclude,
            k,
            self._threads,
        )
        return _topk_matrix(ids, scores, self.n_users_, self._threads)

    def _similar_items(self, items: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        # cosine of the queried item columns against all items, computed on demand
        XT = _without_zeros(_ratings_t(self))
        sub = XT[items]
        sub.has_sorted_indices = True
        q_indptr, q_indices, q_data = native_csr(sub)
        X = _without_zeros(self.user_items_)
        norms = np.sqrt(_row_sums(XT.indptr, XT.data.astype(np.float64) ** 2)).astype(np.float32)
        ids, scores = _core.knn_neighbours(
            q_indptr,
            q_indices,
            q_data,
            *native_csr(X),
            self.n_items_,
            "product",
            norms[items],
            norms,
            0.0,
            items.astype(np.int64),
            k,
            self._threads,
        )
        # neighbour rows come sorted by item index: rank them
        S = _topk_matrix(ids, scores, self.n_items_, self._threads)
        return _rank_topk(S, np.arange(items.size), k, self._threads)


class RP3Beta(SparseStateMixin, Recommender):
    """RP3beta: 3-step random walks with a popularity penalty (Paudel et al. 2017).

    With ``P_ui`` the users x items matrix with rows normalised to sum 1 and
    ``P_iu`` the binary items x users matrix with rows normalised to sum 1 (as in
    Dacrema et al. 2019), the item-item weight is
    ``W[i, j] = sum_u P_iu[i, u]^alpha P_ui[u, j]^alpha / pop_j^beta`` where
    ``pop_j`` is the number of users of ``j``. Each row keeps its ``k`` largest
    weights (the item itself excluded) and, with ``normalize``, is rescaled to
    sum 1. Scores are ``history @ similarity_``.

    Parameters
    ----------
    alpha : float > 0
        Exponent of the transition probabilities.
    beta : float >= 0
        Popularity penalty.
    k : int
        Neighbours kept per item.
    normalize : bool
        L1-normalise each row of the kept weights.
    num_threads : int
        Threads (0 = all cores). Results do not depend on it.

    Attributes
    ----------
    similarity_ : scipy.sparse.csr_matrix of float32, shape (n_items, n_items)
    """

    _sparse_state_attrs = ("similarity_",)

    def __init__(
        self,
        alpha: float = 1.0,
        beta: float = 0.6,
        k: int = 100,
        normalize: bool = True,
        num_threads: int = 0,
    ):
        self.alpha = alpha
        self.beta = beta
        self.k = k
        self.normalize = normalize
        self.num_threads = num_threads

    def _validate_params(self) -> None:
        super()._validate_params()
        check_positive(self.alpha, "alpha")
        check_nonnegative(self.beta, "beta")
        check_positive(self.k, "k", integer=True)
        _check_bool(self.normalize, "normalize")

    def _fit(self, X: sp.csr_matrix) -> None:
        X = _without_zeros(X)
        n_users, n_items = X.shape
        alpha, beta = float(self.alpha), float(self.beta)
        indptr, indices, data = native_csr(X)
        row_of = np.repeat(np.arange(n_users), np.diff(indptr))
        p_ui = np.power(data / _row_sums(indptr, data)[row_of], alpha).astype(np.float32)
        t_indptr, t_indices, _ = _core.csr_transpose(indptr, indices, data, n_items)
        degree = np.diff(t_indptr).astype(np.float64)
        p_iu = np.power(1.0 / np.maximum(degree, 1.0), alpha)
        p_iu = np.repeat(p_iu, np.diff(t_indptr)).astype(np.float32)
        penalty = np.power(np.maximum(degree, 1.0), beta).astype(np.float32)
        W = _all_pairs(
            (t_indptr, t_indices, p_iu),
            (indptr, indices, p_ui),
            n_items,
            "product",
            np.ones(n_items, np.float32),
            penalty,
            0.0,
            int(self.k),
            self._threads,
        )
        if self.normalize and W.nnz:
            lengths = np.diff(W.indptr)
            sums = _row_sums(W.indptr, W.data)
            W.data = (W.data / np.repeat(np.where(sums != 0, sums, 1.0), lengths)).astype(
                np.float32
            )
        self.similarity_ = W

    def _recommend(
        self, users: np.ndarray, k: int, filt: QueryFilter, user_items: sp.csr_matrix | None
    ) -> tuple[np.ndarray, np.ndarray]:
        if user_items is None:
            return _score_with(self.user_items_, users, self.similarity_, k, filt)
        return _score_with(user_items, None, self.similarity_, k, filt)

    def _similar_items(self, items: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        return _rank_topk(self.similarity_, items, k, self._threads)
