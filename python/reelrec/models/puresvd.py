"""PureSVD (Cremonesi, Koren & Turrin 2010) by randomized truncated SVD.

``X ~ U S V^T`` truncated to ``factors``; a user's scores are ``x_u V V^T``, so
the user vector ``x_u V`` is an exact projection and new users fold in for free.
The SVD is computed with the randomized range finder of Halko, Martinsson &
Tropp (2011, Alg. 4.4 with QR re-orthonormalised power iterations) using only
sparse-times-dense products: ``X`` is never densified. Cost
``O((q + 1) * nnz * l + (n_users + n_items) * l^2)`` for ``l = factors +
oversampling`` and ``q`` power iterations; memory ``O((n_users + n_items) * l)``
float64.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from .._validation import check_nonnegative, check_positive, rng_from
from .base import Recommender, _csr_rows

__all__ = ["PureSVD", "randomized_svd"]


def _orthonormal(Y: np.ndarray) -> np.ndarray:
    Q, _ = np.linalg.qr(Y)
    return Q


def randomized_svd(
    X: sp.spmatrix, rank: int, oversampling: int, power_iterations: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Top-``rank`` singular triplets ``(U, s, Vt)`` of sparse ``X`` (Halko et al. 2011).

    Signs are fixed so that the largest-magnitude entry of every right singular
    vector is positive, which makes the output deterministic given ``rng``.
    """
    m, n = X.shape
    width = min(rank + oversampling, m, n)
    Xd = X.astype(np.float64)
    Xt = Xd.T.tocsr()
    Q = _orthonormal(Xd @ rng.standard_normal((n, width)))
    for _ in range(power_iterations):
        Q = _orthonormal(Xd @ _orthonormal(Xt @ Q))
    # B = Q^T X is width x n; we factor its transpose (n x width), which is tall.
    W, s, Zt = np.linalg.svd(np.asarray(Xt @ Q), full_matrices=False)
    V = W[:, :rank]
    U = Q @ Zt.T[:, :rank]
    s = s[:rank]
    flip = np.sign(V[np.abs(V).argmax(axis=0), np.arange(V.shape[1])])
    flip[flip == 0] = 1
    return U * flip, s, (V * flip).T


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
        Threads for ranking (0 = all cores).

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
        rng = rng_from(self.random_state)
        _, s, Vt = randomized_svd(X, int(self.factors), int(self.oversampling), int(self.power_iterations), rng)
        self.item_factors_ = np.ascontiguousarray(Vt.T, dtype=np.float32)
        self.singular_values_ = s

    def _user_vectors(self, users: np.ndarray, user_items: sp.csr_matrix | None) -> np.ndarray:
        rows = _csr_rows(self.user_items_, users) if user_items is None else user_items
        return np.ascontiguousarray(rows @ self.item_factors_, dtype=np.float32)

    def _item_vectors(self) -> tuple[np.ndarray, np.ndarray | None]:
        return self.item_factors_, None
