"""EASE: Embarrassingly Shallow Autoencoders (Steck 2019).

A closed-form item-item model: ``B = argmin |X - X B|^2 + l2 |B|^2`` subject to
``diag(B) = 0``, i.e. ``P = (X^T X + l2 I)^-1`` and ``B_ij = -P_ij / P_jj``. The
Gram matrix, the Cholesky factorisation and the inverse run natively in float64
(``cpp/mf/ease.cpp``); ``B`` is kept in float32.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .. import _core
from .._validation import check_positive, csr_arrays
from .base import QueryFilter, Recommender, _csr_rows

__all__ = ["EASE", "ease_memory_bytes"]


def ease_memory_bytes(n_items: int) -> int:
    """Peak memory of an EASE fit: a float64 Gram matrix plus the float32 weights, n_items^2 each."""
    return 12 * int(n_items) ** 2


class EASE(Recommender):
    """Embarrassingly Shallow Autoencoder: a closed-form item-item regression.

    Parameters
    ----------
    l2 : float
        Ridge penalty ``lambda`` (Steck uses a few hundred on MovieLens-sized data).
    max_memory_gb : float
        Refuse to fit (``ValueError``) when the dense ``n_items x n_items``
        matrices would need more than this many GB (10^9 bytes); see
        :func:`ease_memory_bytes`.
    num_threads : int
        Threads (0 = all cores).

    Attributes
    ----------
    weights_ : ndarray of float32, shape (n_items, n_items)
        ``B`` with a zero diagonal; a user's scores are ``x_u @ B``.

    Notes
    -----
    The interaction values are used as given (binarise them first for Steck's
    setting). Fold-in is exact: ``recommend(..., user_items=rows)`` scores
    ``rows @ B``. ``similar_items(i)`` ranks row ``i`` of ``B``, i.e. the scores
    the model gives a user whose only interaction is item ``i``.
    """

    _state_attrs = ("weights_",)

    def __init__(self, l2: float = 500.0, max_memory_gb: float = 4.0, num_threads: int = 0):
        self.l2 = l2
        self.max_memory_gb = max_memory_gb
        self.num_threads = num_threads

    def _validate_params(self) -> None:
        super()._validate_params()
        check_positive(self.l2, "l2")
        check_positive(self.max_memory_gb, "max_memory_gb")

    def _fit(self, X: sp.csr_matrix) -> None:
        n_items = X.shape[1]
        need = ease_memory_bytes(n_items) / 1e9
        if need > self.max_memory_gb:
            raise ValueError(
                f"max_memory_gb: EASE on {n_items} items needs about {need:.2f} GB (a dense "
                f"{n_items} x {n_items} float64 Gram matrix plus float32 weights), more than "
                f"max_memory_gb={self.max_memory_gb:g}; raise max_memory_gb or reduce the catalogue"
            )
        indptr, indices = csr_arrays(X)
        self.weights_ = _core.ease_weights(
            indptr, indices, X.data, n_items, float(self.l2), self._threads
        )

    def _recommend(
        self, users: np.ndarray, k: int, filt: QueryFilter, user_items: sp.csr_matrix | None
    ) -> tuple[np.ndarray, np.ndarray]:
        return self._recommend_dense(users, k, filt, user_items)

    def _score_rows(self, users: np.ndarray, user_items: sp.csr_matrix | None) -> np.ndarray:
        rows = _csr_rows(self.user_items_, users) if user_items is None else user_items
        return np.asarray(rows @ self.weights_, dtype=np.float32)

    def _similar_items(self, items: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        scores = np.ascontiguousarray(self.weights_[items])
        return _core.topk_dense(
            scores,
            k,
            allow=None,
            deny=None,
            seen_indptr=np.arange(items.size + 1, dtype=np.int64),
            seen_indices=items.astype(np.int32),
            num_threads=self._threads,
        )
