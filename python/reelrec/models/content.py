"""Content-based recommendation from item features (text and categorical metadata).

``ContentKNN`` represents items by feature rows (TF-IDF of text columns,
multi-hot of categorical columns, or any CSR the caller passes), ranks users'
candidates by the cosine between the user profile (the interaction-weighted
mean of the watched items' unit feature vectors) and every item's unit feature
vector, and keeps an item-item cosine top-k matrix for ``similar_items``
computed by the same native kernel as :class:`~reelrec.ItemKNN`. Items without
interactions are scored like any other (cold start).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from .. import _core
from .._validation import check_nonnegative, check_positive
from ..features import TfidfFeaturizer, encode_categorical
from ._sparse_state import SparseStateMixin, csr_from_native, native_csr
from .base import QueryFilter, Recommender
from .neighbours import _all_pairs, _rank_topk, _row_sums, _score_with

__all__ = ["ContentKNN"]


def _as_tuple(value: Any) -> Any:
    # JSON (save/load) turns tuples into lists; keep one canonical form so that
    # parameters compare equal after a round trip.
    return tuple(value) if isinstance(value, list) else value


def _l2_rows(m: sp.csr_matrix) -> sp.csr_matrix:
    norms = np.sqrt(_row_sums(m.indptr, m.data.astype(np.float64) ** 2))
    norms[norms == 0] = 1.0
    out = m.copy()
    out.data = (m.data / np.repeat(norms, np.diff(m.indptr))).astype(np.float32)
    return out


def _canonical_features(F: Any, n_items: int) -> sp.csr_matrix:
    if isinstance(F, np.ndarray):
        if F.ndim != 2:
            raise ValueError(
                f"item_features: expected a 2-d n_items x n_features matrix, got shape {F.shape}"
            )
        F = sp.csr_matrix(F)
    if not sp.issparse(F):
        raise TypeError(
            f"item_features: expected a scipy.sparse or 2-d NumPy n_items x n_features matrix, got {type(F).__name__}"
        )
    if F.shape[0] != n_items:
        raise ValueError(f"item_features: expected {n_items} rows (one per item), got {F.shape[0]}")
    if not (np.issubdtype(F.dtype, np.number) or F.dtype == np.bool_) or np.iscomplexobj(F):
        raise TypeError(f"item_features: expected real numeric values, got dtype {F.dtype}")
    F = sp.csr_matrix(F, dtype=np.float32, copy=True)
    F.sum_duplicates()
    F.eliminate_zeros()
    if F.nnz and not np.isfinite(F.data).all():
        raise ValueError("item_features: contains NaN or infinite values")
    return F


class ContentKNN(SparseStateMixin, Recommender):
    """Content-based k-NN on item features.

    Parameters
    ----------
    k : int
        Neighbours kept per item in ``similarity_`` (``similar_items``).
    text_weight, categorical_weight : float
        Weights of the text and categorical blocks when features are built from
        metadata; each block is L2-normalised per item before weighting.
    text_columns, categorical_columns : sequence of str
        Metadata columns used when ``fit`` gets a
        :class:`~reelrec.data.Interactions` with ``item_metadata``; columns it
        lacks are skipped (``feature_columns_`` lists the ones used). Text
        columns are joined per item and TF-IDF encoded; categorical columns are
        multi-hot encoded (strings split on ``sep``, or lists of values).
    ngram_range, min_df : as :class:`~reelrec.features.TfidfFeaturizer`
    sep : str
        Separator of multi-valued categorical strings.
    shrinkage : float
        Added to the cosine denominator of ``similarity_``.
    num_threads : int
        Threads (0 = all cores). Results do not depend on it.

    Sequence parameters are stored as tuples.

    Attributes
    ----------
    item_features_ : csr_matrix of float32, n_items x n_features, rows L2-normalised
    similarity_ : csr_matrix of float32, n_items x n_items (cosine top-k)
    feature_names_ : ndarray of str, or None when features were passed in
    """

    _sparse_state_attrs = ("similarity_", "item_features_")
    _state_attrs = ("feature_names_",)
    #: Hybrid uses this model's scores for items without interactions
    _scores_cold_items = True

    def __init__(
        self,
        k: int = 100,
        text_weight: float = 1.0,
        categorical_weight: float = 1.0,
        text_columns: Any = ("title",),
        categorical_columns: Any = ("tags", "topic"),
        ngram_range: Any = (1, 2),
        min_df: float = 1,
        sep: str = "|",
        shrinkage: float = 0.0,
        num_threads: int = 0,
    ):
        self.k = k
        self.text_weight = text_weight
        self.categorical_weight = categorical_weight
        self.text_columns = _as_tuple(text_columns)
        self.categorical_columns = _as_tuple(categorical_columns)
        self.ngram_range = _as_tuple(ngram_range)
        self.min_df = min_df
        self.sep = sep
        self.shrinkage = shrinkage
        self.num_threads = num_threads

    def fit(self, X: Any, item_features: Any = None) -> ContentKNN:
        """Learn from interactions ``X`` and item features.

        Parameters
        ----------
        X : Interactions or sparse users x items matrix
        item_features : sparse or dense (n_items, n_features), optional
            Used as given (rows are L2-normalised). Without it, ``X`` must be an
            :class:`~reelrec.data.Interactions` carrying ``item_metadata``.
        """
        from ..data.interactions import Interactions

        self._metadata = getattr(X, "item_metadata", None) if isinstance(X, Interactions) else None
        try:
            return super().fit(X, item_features=item_features)
        finally:
            del self._metadata

    def _validate_params(self) -> None:
        super()._validate_params()
        check_positive(self.k, "k", integer=True)
        check_nonnegative(self.text_weight, "text_weight")
        check_nonnegative(self.categorical_weight, "categorical_weight")
        check_nonnegative(self.shrinkage, "shrinkage")
        for name in ("text_columns", "categorical_columns"):
            cols = getattr(self, name)
            if isinstance(cols, str) or not all(isinstance(c, str) for c in cols):
                raise TypeError(f"{name}: expected a sequence of column names, got {cols!r}")

    def _fit(self, X: sp.csr_matrix, item_features: Any = None) -> None:
        n_items = X.shape[1]
        if item_features is not None:
            F = _canonical_features(item_features, n_items)
            self.feature_names_ = None
            self.feature_columns_ = ()
        elif self._metadata is not None:
            F, self.feature_names_, self.feature_columns_ = self._features_from_metadata(
                self._metadata, n_items
            )
        else:
            raise ValueError(
                "item_features: ContentKNN needs item features; pass item_features=... or fit on a "
                "reelrec.data.Interactions that carries item_metadata"
            )
        self.item_features_ = _l2_rows(F)
        self.item_features_.has_sorted_indices = True
        self._features_t = None
        self.similarity_ = self._item_similarity()

    def _features_from_metadata(
        self, metadata: dict, n_items: int
    ) -> tuple[sp.csr_matrix, np.ndarray, tuple]:
        if not isinstance(metadata, dict):
            raise TypeError(
                f"item_metadata: expected a dict column -> array, got {type(metadata).__name__}"
            )
        for col, values in metadata.items():
            if len(values) != n_items:
                raise ValueError(
                    f"item_metadata[{col!r}]: expected {n_items} values (one per item), got {len(values)}"
                )
        blocks, names, used = [], [], []
        text_cols = [c for c in self.text_columns if c in metadata]
        if text_cols and self.text_weight > 0:
            columns = [
                [
                    "" if v is None or (isinstance(v, float) and v != v) else str(v)
                    for v in metadata[c]
                ]
                for c in text_cols
            ]
            docs = [" ".join(parts) for parts in zip(*columns)]
            featurizer = TfidfFeaturizer(
                ngram_range=self.ngram_range, min_df=self.min_df, num_threads=self.num_threads
            )
            try:
                T = featurizer.fit_transform(docs)
                blocks.append(self.text_weight * T)
                names.extend(f"text:{t}" for t in featurizer.get_feature_names_out())
            except ValueError as exc:
                if "vocabulary" not in str(exc) and "no terms remain" not in str(exc):
                    raise
            used.extend(text_cols)
        cat_cols = [c for c in self.categorical_columns if c in metadata]
        if cat_cols and self.categorical_weight > 0:
            parts = []
            for c in cat_cols:
                M, vocab = encode_categorical(metadata[c], multi=True, sep=self.sep)
                parts.append(M)
                names.extend(f"{c}:{v}" for v in vocab)
            blocks.append(self.categorical_weight * _l2_rows(sp.hstack(parts, format="csr")))
            used.extend(cat_cols)
        if not used:
            raise ValueError(
                f"item_metadata: none of the columns {list(self.text_columns) + list(self.categorical_columns)} "
                f"is present (available: {sorted(metadata)})"
            )
        if not blocks:
            F = sp.csr_matrix((n_items, 0), dtype=np.float32)
        else:
            F = sp.hstack(blocks, format="csr", dtype=np.float32)
        F.sum_duplicates()
        return F, np.asarray(names, dtype=str), tuple(used)

    def _transposed_features(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        cached = getattr(self, "_features_t", None)
        if cached is None or cached[0] is not self.item_features_:
            F = self.item_features_
            parts = _core.csr_transpose(*native_csr(F), F.shape[1])
            cached = (F, parts)
            self._features_t = cached
        return cached[1]

    def _item_similarity(self) -> sp.csr_matrix:
        F = self.item_features_
        n_items = F.shape[0]
        norms = np.sqrt(_row_sums(F.indptr, F.data.astype(np.float64) ** 2)).astype(np.float32)
        return _all_pairs(
            native_csr(F),
            self._transposed_features(),
            n_items,
            "product",
            norms,
            norms,
            float(self.shrinkage),
            int(self.k),
            self._threads,
        )

    def _profiles(self, users: np.ndarray, user_items: sp.csr_matrix | None) -> sp.csr_matrix:
        """Interaction-weighted mean of the watched items' unit feature vectors."""
        H = self.user_items_[users] if user_items is None else user_items
        P = sp.csr_matrix(H @ self.item_features_, dtype=np.float32)
        weights = _row_sums(H.indptr, np.abs(H.data))
        weights[weights == 0] = 1.0
        P.data = (P.data / np.repeat(weights, np.diff(P.indptr))).astype(np.float32)
        return P

    def _recommend(
        self, users: np.ndarray, k: int, filt: QueryFilter, user_items: sp.csr_matrix | None
    ) -> tuple[np.ndarray, np.ndarray]:
        P = self._profiles(users, user_items)
        FT = csr_from_native(self._transposed_features(), self.item_features_.shape[::-1])
        return _score_with(P, None, FT, k, filt)

    def _similar_items(self, items: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        return _rank_topk(self.similarity_, items, k, self._threads)
