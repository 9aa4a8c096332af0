r"""Reward regression for the direct method and the doubly robust estimators.

The model (native: ``cpp/ope/reward_model.cpp``) is one generalised linear
model per action on the features

.. math:: \phi(x, p) = [1, x_1, \dots, x_d, \mathbb 1\{p = 1\}, \dots, \mathbb 1\{p = P-1\}]

shrunk towards a pooled model fitted on every round:

.. math::
    \beta_0 = \arg\min_\beta \sum_i \ell(r_i, \phi_i^\top\beta) + \tfrac{l_2}{2}\|\beta\|^2, \qquad
    \beta_a = \arg\min_\beta \sum_{i: a_i = a} \ell(r_i, \phi_i^\top\beta)
              + \tfrac{l_2}{2}\|\beta - \beta_0\|^2

with the squared loss :math:`\ell = (r - f)^2/2` (``kind="ridge"``, predictions
:math:`\phi^\top\beta_a`) or the logistic log-loss (``kind="logistic"``,
rewards in [0, 1], predictions :math:`\sigma(\phi^\top\beta_a)`). This is ridge
on "one-hot action crossed with :math:`\phi`" plus a shared block, fitted in two
stages: actions with few rounds borrow strength from the pooled model, and
actions never logged predict exactly the pooled model. Ridge is solved in
closed form, logistic by Newton's method; both with Cholesky factorisations.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from .. import _core
from .._validation import (
    _describe,
    all_finite,
    check_magnitude,
    check_num_threads,
    check_positive,
    rng_from,
)
from ..exceptions import ConvergenceWarning, NotFittedError
from ._log import BanditLog, _float_matrix

__all__ = ["RewardModel", "ConvergenceWarning"]

_KINDS = {"ridge": 0, "logistic": 1}


class RewardModel:
    """Per-action ridge or logistic reward model with K-fold cross-fitting.

    Parameters
    ----------
    kind : {"ridge", "logistic"}, default "ridge"
        Squared loss (any real rewards) or logistic log-loss (rewards in [0, 1]).
    l2 : float, default 1.0
        L2 penalty (> 0) on every coefficient, towards 0 for the pooled model
        and towards the pooled model for each action.
    n_folds : int, default 3
        Cross-fitting folds for :meth:`fit_predict`: each round's prediction
        comes from a model fitted without its fold, as DR's unbiasedness needs
        (Chernozhukov et al. 2018). 1 = fit and predict on all rounds.
    max_iter : int, default 100
        Newton iterations per model (logistic).
    tol : float, default 1e-10
        Newton stops when no coefficient moves by more than ``tol * (1 + max|beta|)``.
    random_state : None, int or numpy Generator
        Fold assignment.
    num_threads : int, default 0
        0 = all cores.

    Raises
    ------
    ValueError
        From :meth:`fit`, :meth:`predict` and :meth:`fit_predict`: contexts or
        rewards beyond +-1e30, or coefficients or predictions that come out
        NaN or infinite (the inputs are too large or too ill-conditioned for
        ``l2``: rescale them) -- never NaN predictions.

    Warns
    -----
    ConvergenceWarning
        A logistic model used all ``max_iter`` Newton iterations.

    Attributes
    ----------
    coef_ : ndarray of shape (n_actions, dim + n_positions)
        Per-action coefficients ``[intercept, context..., position 1.., ]`` after :meth:`fit`.
    pooled_coef_ : ndarray of shape (dim + n_positions,)
        The pooled model.
    n_positions_ : int
        Positions of the training log (1 without positions).
    n_iter_ : int
        Largest number of Newton iterations any model needed (0 for ridge).
    fold_of_round_ : ndarray of int
        Fold of every round, after :meth:`fit_predict`.
    """

    def __init__(
        self,
        kind: str = "ridge",
        l2: float = 1.0,
        n_folds: int = 3,
        *,
        max_iter: int = 100,
        tol: float = 1e-10,
        random_state: Any = None,
        num_threads: int = 0,
    ) -> None:
        self.kind = kind
        self.l2 = l2
        self.n_folds = n_folds
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state
        self.num_threads = num_threads

    # ------------------------------------------------------------------ helpers
    def _check_params(self) -> None:
        if self.kind not in _KINDS:
            raise ValueError(f"kind: expected 'ridge' or 'logistic', got {self.kind!r}")
        check_positive(self.l2, "l2")
        check_positive(self.n_folds, "n_folds", integer=True)
        check_positive(self.max_iter, "max_iter", integer=True)
        check_positive(self.tol, "tol")
        check_num_threads(self.num_threads)

    def _check_log(self, log: Any) -> BanditLog:
        if not isinstance(log, BanditLog):
            raise TypeError(f"log: expected a reelrec.ope.BanditLog, got {_describe(log)}")
        if self.kind == "logistic":
            lo, hi = float(log.rewards.min()), float(log.rewards.max())
            if lo < 0 or hi > 1:
                raise ValueError(
                    f"rewards: the logistic reward model needs rewards in [0, 1], got range [{lo:g}, {hi:g}]"
                )
        check_magnitude(log.contexts, "contexts")
        check_magnitude(log.rewards, "rewards")
        return log

    def _check_coef(self, coef: np.ndarray, log: BanditLog) -> None:
        if not np.isfinite(coef).all():
            cx = float(np.abs(log.contexts).max()) if log.contexts.size else 0.0
            raise ValueError(
                "contexts: the reward model's coefficients came out NaN or infinite; the "
                f"contexts (largest magnitude {cx:g}) or rewards (largest magnitude "
                f"{float(np.abs(log.rewards).max()):g}) are too large or too ill-conditioned "
                f"for l2={float(self.l2):g} -- rescale the contexts (e.g. standardise each "
                "column) or raise l2"
            )

    @staticmethod
    def _check_predictions(q: np.ndarray, contexts: np.ndarray) -> np.ndarray:
        if not all_finite(q):
            cx = float(np.abs(contexts).max()) if contexts.size else 0.0
            raise ValueError(
                "contexts: the reward model's predictions came out NaN or infinite (largest "
                f"context magnitude {cx:g}); rescale the contexts"
            )
        return q

    def _warn_convergence(self, n_iter: int) -> None:
        # the native solver returns max_iter both when it converged on the last
        # iteration and when it ran out; like scikit-learn, warn on either
        if self.kind == "logistic" and n_iter >= int(self.max_iter):
            warnings.warn(
                f"RewardModel: Newton's method stopped at max_iter={self.max_iter} before the "
                f"coefficients settled within tol={self.tol:g}; raise max_iter",
                ConvergenceWarning,
                stacklevel=3,
            )

    def _fit_rows(self, log: BanditLog, rows: np.ndarray) -> tuple[np.ndarray, int]:
        try:
            return _core.ope_fit_reward_model(
                log.contexts,
                log.rewards,
                log.actions,
                log.positions,
                log.n_actions,
                log.n_positions,
                np.ascontiguousarray(rows, dtype=np.int64),
                _KINDS[self.kind],
                float(self.l2),
                int(self.max_iter),
                float(self.tol),
                int(self.num_threads),
            )
        except RuntimeError as ex:
            # the Cholesky factorisation failed: with finite, bounded inputs only
            # a penalty too small for collinear or constant columns does that
            if "not positive definite" not in str(ex):
                raise
            raise ValueError(
                f"l2: the reward model's normal equations are not positive definite with "
                f"l2={float(self.l2):g} (collinear or constant context columns); raise l2 or "
                "rescale the contexts"
            ) from ex

    def _predict_rows(
        self,
        contexts: np.ndarray,
        rows: np.ndarray,
        coef: np.ndarray,
        n_actions: int,
        n_positions: int,
    ) -> np.ndarray:
        return _core.ope_predict_reward_model(
            contexts,
            np.ascontiguousarray(rows, dtype=np.int64),
            coef,
            n_actions,
            n_positions,
            _KINDS[self.kind],
            int(self.num_threads),
        )

    @staticmethod
    def _shape_output(q: np.ndarray, with_positions: bool) -> np.ndarray:
        return q if with_positions else q[:, :, 0]

    # ------------------------------------------------------------------ API
    def fit(self, log: BanditLog) -> RewardModel:
        """Fit on every round of ``log``; returns self."""
        self._check_params()
        log = self._check_log(log)
        coef, n_iter = self._fit_rows(log, np.arange(log.n_rounds))
        self._check_coef(coef, log)
        self._warn_convergence(int(n_iter))
        self._fit_kind = self.kind
        self.coef_ = coef[:-1]
        self.pooled_coef_ = coef[-1]
        self._coef_all = coef
        self.n_actions_ = log.n_actions
        self.n_positions_ = log.n_positions
        self.dim_ = log.dim
        self.has_positions_ = log.positions is not None
        self.n_iter_ = int(n_iter)
        return self

    def predict(self, contexts: Any) -> np.ndarray:
        """Expected rewards for every action (and position).

        Returns ``(n, n_actions)``, or ``(n, n_actions, n_positions)`` when the
        training log had positions.
        """
        if not hasattr(self, "coef_"):
            raise NotFittedError(
                "RewardModel: call fit before predict (fit_predict keeps only fold models)"
            )
        threads = check_num_threads(self.num_threads)
        X = _float_matrix(contexts, "contexts", None, row_name="rounds")
        if X.shape[1] != self.dim_:
            raise ValueError(
                f"contexts: expected {self.dim_} columns (as in fit), got {X.shape[1]}"
            )
        check_magnitude(X, "contexts")
        # the kind fit used: a kind changed since would apply the wrong link function
        q = _core.ope_predict_reward_model(
            X,
            np.arange(X.shape[0], dtype=np.int64),
            self._coef_all,
            self.n_actions_,
            self.n_positions_,
            _KINDS[self._fit_kind],
            threads,
        )
        return self._shape_output(self._check_predictions(q, X), self.has_positions_)

    def fit_predict(self, log: BanditLog) -> np.ndarray:
        """Cross-fitted expected rewards of every round for every action.

        Rounds are split at random into ``n_folds`` folds of (nearly) equal size;
        the predictions for a fold come from a model fitted on the other folds.
        Returns ``(n_rounds, n_actions)``, or ``(n_rounds, n_actions,
        n_positions)`` when the log has positions -- the shape the estimators
        take as ``estimated_rewards``. Keeps the fold models in ``fold_coef_``;
        :meth:`predict` needs :meth:`fit`.
        """
        self._check_params()
        log = self._check_log(log)
        n, k = log.n_rounds, int(self.n_folds)
        if k > n:
            raise ValueError(f"n_folds: expected at most n_rounds={n} folds, got {k}")
        A, P = log.n_actions, log.n_positions
        out = np.empty((n, A, P))
        if k == 1:
            folds = np.zeros(n, dtype=np.int64)
        else:
            folds = np.empty(n, dtype=np.int64)
            folds[rng_from(self.random_state).permutation(n)] = np.arange(n) % k
        fold_coef, n_iter = [], 0
        for f in range(k):
            test = np.flatnonzero(folds == f)
            train = np.arange(n) if k == 1 else np.flatnonzero(folds != f)
            coef, it = self._fit_rows(log, train)
            self._check_coef(coef, log)
            fold_coef.append(coef)
            n_iter = max(n_iter, int(it))
            out[test] = self._predict_rows(log.contexts, test, coef, A, P)
        self._check_predictions(out, log.contexts)
        self._warn_convergence(n_iter)
        self.fold_coef_ = np.stack(fold_coef)
        self.fold_of_round_ = folds
        self.n_iter_ = n_iter
        return self._shape_output(out, log.positions is not None)

    def __repr__(self) -> str:
        return f"RewardModel(kind={self.kind!r}, l2={self.l2!r}, n_folds={self.n_folds!r})"
