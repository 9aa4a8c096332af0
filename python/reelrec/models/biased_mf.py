"""Biased matrix factorisation for explicit ratings ("SVD" and "SVD++").

The model (Koren, Bell & Volinsky 2009; Koren 2008 for SVD++) predicts

    r_ui = mu + b_u + b_i + q_i . (p_u + |N(u)|^-1/2 * sum_{j in N(u)} y_j)

where the ``y_j`` term is the optional implicit feedback of SVD++ and ``N(u)``
are the items ``u`` rated. Both solvers minimise the squared error plus
``regularization`` times the squared norms, counted once per rating. The
kernels live in ``cpp/mf/biased_mf.cpp`` (see the note there for the parallel
SGD scheme and why it is thread-count deterministic).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from .. import _core
from .._validation import (
    check_indices,
    check_nonnegative,
    check_positive,
    check_user_items,
    csr_arrays,
    seed_from,
)
from .base import Recommender, _csr_rows

__all__ = ["BiasedMF"]

_SOLVERS = ("sgd", "als")


class BiasedMF(Recommender):
    """Biased matrix factorisation of explicit ratings (Surprise's "SVD", optionally SVD++).

    Every stored entry of the training matrix is a rating (explicit zeros
    included); missing entries are unknown, not negative. Ratings may be
    negative (e.g. centred).

    Parameters
    ----------
    factors : int
        Dimension ``d`` of the user and item factors.
    learning_rate : float
        SGD step size (ignored by ALS).
    regularization : float
        Weight of the squared norms of biases and factors, counted once per
        rating (the same objective for both solvers; ALS therefore uses the
        weighted-lambda penalty ``regularization * n_ratings`` per row). Must
        be positive: the fold-in solve needs a ridge.
    iterations : int
        SGD epochs or ALS sweeps.
    solver : {"sgd", "als"}
        ``"sgd"``: stochastic gradient descent in a seeded random order, run as
        DSGD strata (Gemulla et al. 2011): users and items are hashed into a
        ``B x B`` grid, ``B = floor(sqrt(nnz / 4096))`` at most 64 (1, i.e. plain serial
        SGD, below 16384 ratings; 4 on MovieLens-100K), and the ``B`` cells of
        a stratum share no user and no item, so they run in parallel. The
        ratings are shuffled once per fit inside each cell; every epoch visits
        the strata in a seeded random order and each cell from a seeded random
        offset. The grid depends on the data only, so the model is the same
        for any ``num_threads``. SVD++ always runs serially. ``"als"``:
        alternating closed-form ridge solves of ``(p_u, b_u)`` and ``(q_i, b_i)``
        (deterministic, parallel over rows); not available with
        ``implicit_feedback``.
    init_std : float
        Standard deviation of the Gaussian initial factors (biases start at 0).
    implicit_feedback : bool
        Add the SVD++ implicit term ``y_j`` (Koren 2008). SGD only.
    num_threads : int
        Threads (0 = all cores).
    random_state : int, numpy Generator or None
        Seed of the initial factors and of the SGD order.

    Attributes
    ----------
    global_mean_ : float
        Mean training rating ``mu``.
    user_factors_, item_factors_ : ndarray of float32, shape (n, factors)
        ``p_u`` and ``q_i``; rows of users / items without training ratings
        are zero, so their predictions fall back to ``mu`` plus the other
        side's bias.
    user_bias_, item_bias_ : ndarray of float32
        ``b_u`` and ``b_i`` (zero for users / items without ratings).
    implicit_factors_ : ndarray of float32 or None
        ``y_j`` (SVD++ only).
    rating_range_ : ndarray of float32, shape (2,)
        Smallest and largest training rating, used by ``predict(clip=True)``.

    Notes
    -----
    ``recommend`` ranks by predicted rating through the shared factor path:
    the returned scores are ``b_i + q_i . u`` (``u`` the user's vector), i.e.
    the predicted rating minus the user's constant ``mu + b_u``, which does not
    change the order. Use :meth:`predict` for ratings. ``recommend(...,
    user_items=...)`` folds a new user in from their ratings with the ALS
    closed form for ``(p_u, b_u)`` given the fitted items. ``similar_items`` is
    the cosine of ``q_i``.
    """

    _state_attrs = (
        "global_mean_",
        "user_factors_",
        "item_factors_",
        "user_bias_",
        "item_bias_",
        "implicit_factors_",
        "rating_range_",
    )
    _allow_negative = True

    def __init__(
        self,
        factors: int = 100,
        learning_rate: float = 0.005,
        regularization: float = 0.02,
        iterations: int = 20,
        solver: str = "sgd",
        init_std: float = 0.1,
        implicit_feedback: bool = False,
        num_threads: int = 0,
        random_state: Any = None,
    ):
        self.factors = factors
        self.learning_rate = learning_rate
        self.regularization = regularization
        self.iterations = iterations
        self.solver = solver
        self.init_std = init_std
        self.implicit_feedback = implicit_feedback
        self.num_threads = num_threads
        self.random_state = random_state

    def _validate_params(self) -> None:
        super()._validate_params()
        check_positive(self.factors, "factors", integer=True)
        check_positive(self.learning_rate, "learning_rate")
        check_positive(self.regularization, "regularization")
        check_positive(self.iterations, "iterations", integer=True)
        check_nonnegative(self.init_std, "init_std")
        if self.solver not in _SOLVERS:
            raise ValueError(f"solver: expected one of {_SOLVERS}, got {self.solver!r}")
        if not isinstance(self.implicit_feedback, (bool, np.bool_)):
            raise TypeError(f"implicit_feedback: expected a bool, got {self.implicit_feedback!r}")
        if self.implicit_feedback and self.solver != "sgd":
            raise ValueError("implicit_feedback: SVD++ is only implemented with solver='sgd'")

    def _fit(self, X: sp.csr_matrix) -> None:
        n_users, n_items = X.shape
        d = int(self.factors)
        seed = seed_from(self.random_state)
        rng = np.random.default_rng(seed)
        std = np.float32(self.init_std)
        cold_users = np.diff(X.indptr) == 0
        cold_items = np.bincount(X.indices, minlength=n_items) == 0
        P = rng.standard_normal((n_users, d), dtype=np.float32) * std
        Q = rng.standard_normal((n_items, d), dtype=np.float32) * std
        Y = (
            rng.standard_normal((n_items, d), dtype=np.float32) * std
            if self.implicit_feedback
            else None
        )
        P[cold_users] = 0
        Q[cold_items] = 0
        if Y is not None:
            Y[cold_items] = 0
        bu = np.zeros(n_users, np.float32)
        bi = np.zeros(n_items, np.float32)
        mu = float(X.data.mean(dtype=np.float64))
        indptr, indices = csr_arrays(X)
        if self.solver == "sgd":
            P, Q, bu, bi, Y = _core.mf_fit_sgd(
                indptr,
                indices,
                X.data,
                n_items,
                mu,
                P,
                Q,
                bu,
                bi,
                Y,
                float(self.learning_rate),
                float(self.regularization),
                int(self.iterations),
                seed,
                self._threads,
            )
        else:
            P, Q, bu, bi, Y = _core.mf_fit_als(
                indptr,
                indices,
                X.data,
                n_items,
                mu,
                P,
                Q,
                bu,
                bi,
                float(self.regularization),
                int(self.iterations),
                self._threads,
            )
        self.global_mean_ = mu
        self.user_factors_, self.item_factors_ = P, Q
        self.user_bias_, self.item_bias_ = bu, bi
        self.implicit_factors_ = Y
        self.rating_range_ = np.array([X.data.min(), X.data.max()], np.float32)

    # ------------------------------------------------------------- prediction
    def predict(self, users: Any, items: Any, clip: bool = True) -> np.ndarray:
        """Predicted ratings of ``(users[k], items[k])`` pairs.

        Parameters
        ----------
        users, items : int or 1-d array of int
            Training user / item indices, same length (a scalar is broadcast
            against an array). Users or items without training ratings get the
            fallback ``mu + b_i`` / ``mu + b_u`` (``mu`` for both).
        clip : bool
            Clip to the range of the training ratings.

        Returns
        -------
        ndarray of float32, shape (n_pairs,) (a float32 scalar when both are scalars)
        """
        self._check_fitted()
        u, u_single = check_indices(users, self.n_users_, "users")
        i, i_single = check_indices(items, self.n_items_, "items")
        if u_single and not i_single:
            u = np.full(i.size, u[0], np.int64)
        elif i_single and not u_single:
            i = np.full(u.size, i[0], np.int64)
        if u.size != i.size:
            raise ValueError(
                f"users and items: expected arrays of the same length, got {u.size} and {i.size}"
            )
        if self.implicit_factors_ is None:
            vectors, bias, rows = self.user_factors_, self.user_bias_, u
        else:
            uniq, rows = np.unique(u, return_inverse=True)
            vectors = self._user_vectors(uniq, None)
            bias = self.user_bias_[uniq]
        out = _core.mf_predict(
            vectors,
            bias,
            rows.astype(np.int64, copy=False),
            self.item_factors_,
            self.item_bias_,
            i,
            float(self.global_mean_),
            self._threads,
        )
        if clip:
            np.clip(out, self.rating_range_[0], self.rating_range_[1], out=out)
        if u_single and i_single:
            return out[0]
        return out

    def fold_in(self, user_items: Any) -> tuple[np.ndarray, np.ndarray]:
        """Closed-form ``(user factors, user biases)`` for new users' ratings.

        Parameters
        ----------
        user_items : sparse matrix, shape (n_new_users, n_items)
            One row of ratings per new user (same columns as the training data).

        Returns
        -------
        factors : ndarray of float32, shape (n_new_users, factors)
            ``p_u`` (without the SVD++ implicit term).
        bias : ndarray of float32, shape (n_new_users,)
        """
        self._check_fitted()
        rows, _ = check_user_items(
            user_items, "user_items", allow_negative=True, allow_empty=True, n_items=self.n_items_
        )
        factors, bias, _ = self._solve_new_users(rows)
        return factors, bias

    def _solve_new_users(
        self, rows: sp.csr_matrix
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        indptr, indices = csr_arrays(rows)
        implicit = None
        if self.implicit_factors_ is not None:
            implicit = _core.mf_implicit_sums(
                indptr, indices, self.implicit_factors_, self._threads
            )
        factors, bias = _core.mf_solve_rows(
            indptr,
            indices,
            rows.data,
            self.item_factors_,
            self.item_bias_,
            float(self.global_mean_),
            implicit,
            float(self.regularization),
            self._threads,
        )
        return factors, bias, implicit

    # ---------------------------------------------------------- factor hooks
    def _user_vectors(self, users: np.ndarray, user_items: sp.csr_matrix | None) -> np.ndarray:
        if user_items is not None:
            factors, _, implicit = self._solve_new_users(user_items)
            return factors if implicit is None else factors + implicit
        vectors = self.user_factors_[users]
        if self.implicit_factors_ is not None:
            indptr, indices = csr_arrays(_csr_rows(self.user_items_, users))
            vectors += _core.mf_implicit_sums(
                indptr, indices, self.implicit_factors_, self._threads
            )
        return vectors

    def _item_vectors(self) -> tuple[np.ndarray, np.ndarray | None]:
        return self.item_factors_, self.item_bias_
