"""PureSVD (Cremonesi, Koren & Turrin 2010) by randomized truncated SVD.

``X ~ U S V^T`` truncated to ``factors``; a user's scores are ``x_u V V^T``, so
the user vector ``x_u V`` is an exact projection and new users fold in for free.
The SVD is computed natively (``cpp/mf/puresvd.cpp``) with the randomized range
finder of Halko, Martinsson & Tropp (2011, Alg. 4.4 with power iterations
re-orthonormalised by a parallel Householder TSQR) using only
sparse-times-dense products: ``X`` is never densified and no NumPy/BLAS call
runs during the fit, so BLAS threads never compete with our OpenMP threads.
Cost ``O((q + 1) * nnz * l + (n_users + n_items) * l^2)`` for ``l = factors +
oversampling`` and ``q`` power iterations; memory ``O((n_users + n_items) * l)``
float64. The result is identical for any ``num_threads``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from .. import _core
from .._validation import check_nonnegative, check_positive, csr_arrays, seed_from
from .base import Recommender, _csr_rows

__all__ = ["PureSVD", "randomized_svd"]


def randomized_svd(
    X: sp.spmatrix,
    rank: int,
    oversampling: int = 10,
    power_iterations: int = 4,
    random_state: Any = None,
    num_threads: int = 0,
    compute_u: bool = True,
) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
    """Top-``rank`` singular triplets ``(U, s, Vt)`` of sparse ``X`` (Halko et al. 2011).

    Parameters
    ----------
    X : sparse matrix, shape (m, n)
        Converted to CSR float32 (the kernel accumulates in float64).
    rank : int
        Number of triplets, ``1 <= rank <= min(m, n)``.
    oversampling, power_iterations : int
        Extra sketch columns and power iterations of the range finder.
    random_state : int, numpy Generator or None
        Seed of the Gaussian test matrix.
    num_threads : int
        Threads (0 = all cores); the result does not depend on it.
    compute_u : bool
        Return ``U`` (else ``None``).

    Returns
    -------
    U : ndarray of float64, shape (m, rank), or None
    s : ndarray of float64, shape (rank,), descending
    Vt : ndarray of float64, shape (rank, n)
        Signs are fixed so that the largest-magnitude entry of every right
        singular vector is positive.
    """
    X = sp.csr_matrix(X, dtype=np.float32)
    X.sum_duplicates()
    X.sort_indices()
    indptr, indices = csr_arrays(X)
    U, s, V = _core.mf_randomized_svd(
        indptr,
        indices,
        X.data,
        X.shape[1],
        int(rank),
        int(oversampling),
        int(power_iterations),
        seed_from(random_state),
        bool(compute_u),
        int(num_threads),
    )
    return U, s, V.T


class PureSVD(Recommender):
    """PureSVD: truncated SVD of the users x items matrix, scores ``x_u V V^T``.

    Parameters
    ----------
    factors : int
        Rank of the truncated SVD (at most ``min(n_users, n_items)``).
    oversampling : int
        Extra random directions of the range finder (accuracy of the top
        ``factors`` singular vectors).
    power_iterations : int
        Power iterations of the range finder (accuracy when the spectrum decays slowly).
    random_state : int, numpy Generator or None
        Seed of the random test matrix.
    num_threads : int
        Threads for the fit and for ranking (0 = all cores); the fitted model
        does not depend on it.

    Attributes
    ----------
    item_factors_ : ndarray of float32, shape (n_items, factors)
        Right singular vectors ``V``.
    singular_values_ : ndarray of float64, shape (factors,)
        Largest singular values of the training matrix, descending.

    Notes
    -----
    Values are used as given (binary or weighted). ``similar_items`` is the
    cosine of the rows of ``V``.
    """

    _state_attrs = ("item_factors_", "singular_values_")

    def __init__(
        self,
        factors: int = 50,
        oversampling: int = 10,
        power_iterations: int = 4,
        random_state: Any = None,
        num_threads: int = 0,
    ):
        self.factors = factors
        self.oversampling = oversampling
        self.power_iterations = power_iterations
        self.random_state = random_state
        self.num_threads = num_threads

    def _validate_params(self) -> None:
        super()._validate_params()
        check_positive(self.factors, "factors", integer=True)
        check_nonnegative(self.oversampling, "oversampling", integer=True)
        check_nonnegative(self.power_iterations, "power_iterations", integer=True)

    def _fit(self, X: sp.csr_matrix) -> None:
        limit = min(X.shape)
        if self.factors > limit:
            raise ValueError(
                f"factors: expected at most min(n_users, n_items) = {limit}, got {self.factors}"
            )
        _, s, Vt = randomized_svd(
            X,
            int(self.factors),
            int(self.oversampling),
            int(self.power_iterations),
            self.random_state,
            self._threads,
            compute_u=False,
        )
        self.item_factors_ = np.ascontiguousarray(Vt.T, dtype=np.float32)
        self.singular_values_ = s

    def _user_vectors(self, users: np.ndarray, user_items: sp.csr_matrix | None) -> np.ndarray:
        rows = _csr_rows(self.user_items_, users) if user_items is None else user_items
        return np.ascontiguousarray(rows @ self.item_factors_, dtype=np.float32)

    def _item_vectors(self) -> tuple[np.ndarray, np.ndarray | None]:
        return self.item_factors_, None
