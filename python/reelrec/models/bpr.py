"""Bayesian Personalised Ranking (Rendle et al., UAI 2009) by stratified parallel SGD.

The SGD runs in native code (``cpp/factorization/bpr.cpp``). Instead of
Hogwild (lock-free updates that race), every epoch is split into rounds of
strata that touch disjoint users and items, so the result is the same for any
thread count; see :class:`BPR`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from .. import _core
from .._validation import check_nonnegative, check_positive, csr_arrays, seed_from
from ._factorization import (
    FactorizationRecommender,
    check_bool,
    check_callback,
    check_eval_set,
    eval_ndcg,
)

__all__ = ["BPR"]


class BPR(FactorizationRecommender):
    """Matrix factorisation trained on pairwise rankings of implicit feedback.

    Maximises ``sum log sigmoid(x_u . (y_i - y_j) + b_i - b_j)`` minus an L2
    penalty over triples of a user ``u``, an item ``i`` the user interacted with
    and an item ``j`` the user did not, by stochastic gradient descent. Every
    epoch draws ``nnz`` positives uniformly from the stored interactions (with
    replacement) and, for each, a negative uniformly from the catalogue.

    Parallelism without races (stratified SGD, Gemulla et al. 2011): every
    epoch users and items are hashed into ``S`` blocks (``S`` depends on the
    matrix size only, see ``reelrec._core.bpr_strata``) and the epoch runs in
    ``S`` rounds of ``S`` strata that share no user and no item; a stratum's
    negatives come from its item block, and the hash changes every epoch so
    negatives are uniform over the catalogue in expectation. Each stratum has
    its own seeded random stream, so results are identical for any
    ``num_threads`` (unlike Hogwild SGD).

    Parameters
    ----------
    factors : int
        Dimension of the factors.
    learning_rate : float
        SGD step size.
    regularization : float
        L2 weight, applied to the factors and the item biases of every sample.
    iterations : int
        Epochs.
    num_threads : int
        Threads (0 = all cores). Results do not depend on it.
    random_state : int, numpy Generator or None
        Seed of the initial factors (N(0, 0.01 / factors)) and of the sampling.
    verify_negative_samples : bool
        Re-draw a negative (up to 32 times, then skip the sample) while the user
        has interacted with it. Without it, seen items are used as negatives.

    Attributes
    ----------
    user_factors_ : ndarray of float32, shape (n_users, factors)
    item_factors_ : ndarray of float32, shape (n_items, factors)
    item_biases_ : ndarray of float32, shape (n_items,)
    history_ : dict of lists
        Per epoch: ``iteration``, ``seconds``, ``loss`` (mean
        ``-log sigmoid`` of the epoch's samples, before their update),
        ``skipped`` (samples without an unseen negative) and ``ndcg@10`` when
        ``fit`` got an ``eval_set``.

    Notes
    -----
    ``recommend(..., user_items=rows)`` folds new users in by ``iterations``
    passes of SGD over their row with the items fixed, starting from zero and
    seeded by the model seed and the requested user index.
    """

    _state_attrs = ("user_factors_", "item_factors_", "item_biases_", "seed_")

    def __init__(
        self,
        factors: int = 64,
        learning_rate: float = 0.05,
        regularization: float = 0.01,
        iterations: int = 100,
        num_threads: int = 0,
        random_state: Any = None,
        verify_negative_samples: bool = True,
    ):
        self.factors = factors
        self.learning_rate = learning_rate
        self.regularization = regularization
        self.iterations = iterations
        self.num_threads = num_threads
        self.random_state = random_state
        self.verify_negative_samples = verify_negative_samples

    def _validate_params(self) -> None:
        super()._validate_params()
        check_positive(self.factors, "factors", integer=True)
        check_positive(self.learning_rate, "learning_rate")
        check_nonnegative(self.regularization, "regularization")
        check_positive(self.iterations, "iterations", integer=True)
        if self.learning_rate * self.regularization >= 1:
            raise ValueError(
                "learning_rate * regularization must be < 1 (otherwise every step flips the "
                f"factors' sign), got {self.learning_rate} * {self.regularization}"
            )
        check_bool(self.verify_negative_samples, "verify_negative_samples")

    def _fit(self, X: sp.csr_matrix, callback: Any = None, eval_set: Any = None) -> None:
        callback = check_callback(callback)
        eval_data = check_eval_set(eval_set, X.shape)
        if X.shape[0] >= 2**31:
            raise ValueError(f"X: at most 2**31 - 1 users are supported, got {X.shape[0]}")
        if X.nnz and not X.data.all():
            X = X.copy()
            X.eliminate_zeros()
        d = int(self.factors)
        threads = self._threads
        self.seed_ = np.int64(seed_from(self.random_state))
        seed = int(self.seed_)
        scale = 0.1 / np.sqrt(d)
        self.user_factors_ = _core.init_factors(X.shape[0], d, seed, 0, scale, threads)
        self.item_factors_ = _core.init_factors(X.shape[1], d, seed, 1, scale, threads)
        self.item_biases_ = np.zeros(X.shape[1], np.float32)
        indptr, indices = csr_arrays(X)
        buckets = np.empty(2 * X.nnz, np.int32)  # the epoch's cells grouped by stratum
        verify = bool(self.verify_negative_samples)
        seen = _core.bpr_seen_filter(indptr, indices, X.shape[1], threads) if verify else None
        self.history_: dict[str, list] = {"iteration": [], "seconds": [], "loss": [], "skipped": []}
        if eval_data is not None:
            self.history_["ndcg@10"] = []
        args = (
            indptr,
            indices,
            self.user_factors_,
            self.item_factors_,
            self.item_biases_,
            float(self.learning_rate),
            float(self.regularization),
            verify,
            seed,
        )
        n_epochs = int(self.iterations)
        # Without a per-epoch hook the epochs run in one native call (one
        # parallel region); otherwise one call per epoch.
        step = n_epochs if callback is None and eval_data is None else 1
        for first in range(0, n_epochs, step):
            losses, skipped, seconds = _core.bpr_epochs(*args, first, step, buckets, seen, threads)
            for offset in range(step):
                epoch, loss = first + offset, float(losses[offset])
                if not np.isfinite(loss):
                    raise FloatingPointError(
                        f"BPR diverged in epoch {epoch} (non-finite loss); lower learning_rate "
                        f"(got {self.learning_rate})"
                    )
                self.history_["iteration"].append(epoch)
                self.history_["seconds"].append(float(seconds[offset]))
                self.history_["loss"].append(loss)
                self.history_["skipped"].append(int(skipped[offset]))
            if eval_data is not None:
                self.history_["ndcg@10"].append(eval_ndcg(self, eval_data))
            if (
                callback is not None
                and callback(first, float(seconds[0]), float(losses[0])) is False
            ):
                break

    def _user_vectors(self, users: np.ndarray, user_items: sp.csr_matrix | None) -> np.ndarray:
        if user_items is None:
            return self.user_factors_[users]
        indptr, indices = csr_arrays(user_items)
        if user_items.nnz and not user_items.data.all():  # stored zeros are not positives
            rows = user_items.copy()
            rows.eliminate_zeros()
            indptr, indices = csr_arrays(rows)
        return _core.bpr_fold_in(
            indptr,
            indices,
            self.item_factors_,
            self.item_biases_,
            float(self.learning_rate),
            float(self.regularization),
            bool(self.verify_negative_samples),
            int(self.seed_),
            users.astype(np.int64),
            int(self.iterations),
            self._threads,
        )

    def _item_vectors(self) -> tuple[np.ndarray, np.ndarray | None]:
        return self.item_factors_, self.item_biases_
