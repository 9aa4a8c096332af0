"""Implicit-feedback alternating least squares (Hu, Koren & Volinsky 2008).

The weighted least-squares problem of every user (and item) is solved in
native code (``cpp/factorization/als*.cpp``), in parallel, with the Gram matrix
of the fixed side formed once per half-step so that the unobserved cells cost
nothing per row. See :class:`ImplicitALS` for the objective.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import scipy.sparse as sp

from .. import _core
from .._validation import (
    check_indices,
    check_k,
    check_nonnegative,
    check_positive,
    csr_arrays,
    seed_from,
)
from ._factorization import (
    FactorizationRecommender,
    check_bool,
    check_callback,
    check_eval_set,
    check_partial_fit,
    eval_ndcg,
    grow_ids,
    replace_rows,
)
from .base import _cosine_topk

__all__ = ["ImplicitALS"]

_SOLVERS = {"cg": 0, "cholesky": 1}
_CONFIDENCE = ("linear", "log")
_REG_SCALING = ("none", "frequency")


class ImplicitALS(FactorizationRecommender):
    """Matrix factorisation for implicit feedback by weighted alternating least squares.

    Minimises, over user factors ``x_u`` and item factors ``y_i``::

        sum_{(u,i) observed} c_ui (1 - x_u . y_i)^2
          + w0 * sum_{(u,i) unobserved} (x_u . y_i)^2
          + sum_u lambda_u |x_u|^2 + sum_i lambda_i |y_i|^2

    (Hu, Koren & Volinsky, ICDM 2008), alternating exact or conjugate-gradient
    solves for items given users and then users given items, so that after
    ``fit`` the user factors are the solution for the final item factors.

    Parameters
    ----------
    factors : int
        Dimension of the factors.
    regularization : float
        L2 weight ``lambda`` (>= 0).
    alpha : float
        Confidence scale. ``confidence="linear"``: ``c = 1 + alpha * r``;
        ``"log"``: ``c = 1 + alpha * log(1 + r / epsilon)``, where ``r`` is the
        stored interaction weight. Stored zeros count as unobserved.
    iterations : int
        Number of sweeps (items, then users).
    solver : {"cg", "cholesky"}
        ``"cg"``: ``cg_steps`` conjugate-gradient steps per row, warm-started at
        the previous factors (Takacs et al. 2011), fast and nearly exact after a
        few sweeps. ``"cholesky"``: exact solve of the ``factors x factors``
        system of every row.
    cg_steps : int
        Conjugate-gradient steps per row and sweep.
    confidence : {"linear", "log"}
        How interaction weights become confidences (see ``alpha``).
    epsilon : float
        Scale of the ``"log"`` confidence.
    unobserved_weight : float
        ``w0``, the weight of every unobserved cell (iALS++ style; 1 in the
        original paper). 0 fits the observed cells only.
    reg_scaling : {"none", "frequency"}
        ``"frequency"`` scales the regularisation of each row by its number of
        terms, ``lambda_u = regularization * (n_u + w0 * n_items)`` (Rendle et
        al., "Revisiting the Performance of iALS", RecSys 2021, with nu = 1);
        use a much smaller ``regularization`` with it.
    calculate_training_loss : bool
        Compute the objective (divided by the total weight of all cells) after
        every sweep, for callbacks and ``history_``; costs about one extra CG
        step per user.
    num_threads : int
        Threads (0 = all cores). Results are identical for any thread count.
        The native code is the only parallel layer (no BLAS call and no
        nested threading inside ``fit``), so it cannot oversubscribe.
    random_state : int, numpy Generator or None
        Seed of the initial factors, N(0, 0.01 / factors) drawn per row from
        a counter-based generator.

    Attributes
    ----------
    user_factors_ : ndarray of float32, shape (n_users, factors)
    item_factors_ : ndarray of float32, shape (n_items, factors)
    history_ : dict of lists
        Per sweep: ``iteration``, ``seconds`` (solver time), ``loss`` (None
        unless ``calculate_training_loss``) and ``ndcg@10`` when ``fit`` got an
        ``eval_set``.
    """

    _state_attrs = ("user_factors_", "item_factors_")

    def __init__(
        self,
        factors: int = 64,
        regularization: float = 0.01,
        alpha: float = 1.0,
        iterations: int = 15,
        solver: str = "cg",
        cg_steps: int = 3,
        confidence: str = "linear",
        epsilon: float = 1.0,
        unobserved_weight: float = 1.0,
        reg_scaling: str = "none",
        calculate_training_loss: bool = False,
        num_threads: int = 0,
        random_state: Any = None,
    ):
        self.factors = factors
        self.regularization = regularization
        self.alpha = alpha
        self.iterations = iterations
        self.solver = solver
        self.cg_steps = cg_steps
        self.confidence = confidence
        self.epsilon = epsilon
        self.unobserved_weight = unobserved_weight
        self.reg_scaling = reg_scaling
        self.calculate_training_loss = calculate_training_loss
        self.num_threads = num_threads
        self.random_state = random_state

    # ------------------------------------------------------------------ fit
    def _validate_params(self) -> None:
        super()._validate_params()
        check_positive(self.factors, "factors", integer=True)
        check_nonnegative(self.regularization, "regularization")
        check_nonnegative(self.alpha, "alpha")
        check_positive(self.iterations, "iterations", integer=True)
        check_positive(self.cg_steps, "cg_steps", integer=True)
        check_positive(self.epsilon, "epsilon")
        check_nonnegative(self.unobserved_weight, "unobserved_weight")
        _check_choice(self.solver, _SOLVERS, "solver")
        _check_choice(self.confidence, _CONFIDENCE, "confidence")
        _check_choice(self.reg_scaling, _REG_SCALING, "reg_scaling")
        check_bool(self.calculate_training_loss, "calculate_training_loss")

    def _fit(self, X: sp.csr_matrix, callback: Any = None, eval_set: Any = None) -> None:
        callback = check_callback(callback)
        eval_data = check_eval_set(eval_set, X.shape)
        d = int(self.factors)
        threads = self._threads
        seed = seed_from(self.random_state)
        user_conf = self._confidence(X)
        item_conf = user_conf.T.tocsr()
        user_ptr, user_idx = csr_arrays(user_conf)
        item_ptr, item_idx = csr_arrays(item_conf)
        item_counts = np.diff(item_ptr)
        scale = 0.1 / np.sqrt(d)
        self.user_factors_ = _core.init_factors(X.shape[0], d, seed, 0, scale, threads)
        self.item_factors_ = _core.init_factors(X.shape[1], d, seed, 1, scale, threads)
        self._gram_cache = None
        self.history_: dict[str, list] = {"iteration": [], "seconds": [], "loss": []}
        if eval_data is not None:
            self.history_["ndcg@10"] = []
        w0 = float(self.unobserved_weight)
        for iteration in range(int(self.iterations)):
            start = time.perf_counter()
            gram = _core.als_gram(self.user_factors_, w0, threads)
            self._solve(
                item_ptr, item_idx, item_conf.data, self.user_factors_, gram, self.item_factors_
            )
            gram = _core.als_gram(self.item_factors_, w0, threads)
            self._solve(
                user_ptr, user_idx, user_conf.data, self.item_factors_, gram, self.user_factors_
            )
            seconds = time.perf_counter() - start
            self._gram_cache = gram
            loss = None
            if self.calculate_training_loss:
                loss = _core.als_loss(
                    user_ptr,
                    user_idx,
                    user_conf.data,
                    self.item_factors_,
                    item_counts,
                    gram,
                    self.user_factors_,
                    w0,
                    float(self.regularization),
                    self.reg_scaling == "frequency",
                    threads,
                )
            self.history_["iteration"].append(iteration)
            self.history_["seconds"].append(seconds)
            self.history_["loss"].append(loss)
            if eval_data is not None:
                self.history_["ndcg@10"].append(eval_ndcg(self, eval_data))
            if callback is not None and callback(iteration, seconds, loss) is False:
                break

    def _confidence(self, X: sp.csr_matrix) -> sp.csr_matrix:
        """Confidences of the stored (non-zero) cells, same layout as ``X``."""
        if X.nnz and not X.data.all():
            X = X.copy()
            X.eliminate_zeros()
        with np.errstate(over="ignore"):  # reported below, with the culprit named
            alpha = np.float32(self.alpha)
            # in place: one array of nnz floats at a time, not two
            if self.confidence == "log":
                data = X.data / np.float32(self.epsilon)
                np.log1p(data, out=data)
                data *= alpha
            else:
                data = X.data * alpha
            data += np.float32(1)
        if data.size and not np.isfinite(data.max()):
            raise ValueError(
                f"alpha: the confidences 1 + alpha * r overflow float32 (alpha={self.alpha}, "
                f"largest weight {X.data.max():g})"
            )
        return sp.csr_matrix(
            (data.astype(np.float32, copy=False), X.indices, X.indptr), shape=X.shape
        )

    def _solve(
        self,
        indptr: np.ndarray,
        indices: np.ndarray,
        confidence: np.ndarray,
        other: np.ndarray,
        gram: np.ndarray,
        factors: np.ndarray,
        solver: str | None = None,
    ) -> None:
        _core.als_solve(
            indptr,
            indices,
            confidence,
            other,
            gram,
            factors,
            float(self.unobserved_weight),
            float(self.regularization),
            self.reg_scaling == "frequency",
            _SOLVERS[solver or self.solver],
            int(self.cg_steps),
            self._threads,
        )

    def _item_gram(self) -> np.ndarray:
        gram = getattr(self, "_gram_cache", None)
        if gram is None:
            gram = _core.als_gram(self.item_factors_, float(self.unobserved_weight), self._threads)
            self._gram_cache = gram
        return gram

    def _fold_in(self, rows: sp.csr_matrix, other: np.ndarray, gram: np.ndarray) -> np.ndarray:
        """Exact least-squares factors of ``rows`` against the fixed ``other`` side."""
        conf = self._confidence(rows)
        ptr, idx = csr_arrays(conf)
        out = np.zeros((rows.shape[0], other.shape[1]), np.float32)
        self._solve(ptr, idx, conf.data, other, gram, out, solver="cholesky")
        return out

    # ------------------------------------------------------------ queries
    def _user_vectors(self, users: np.ndarray, user_items: sp.csr_matrix | None) -> np.ndarray:
        if user_items is None:
            return self.user_factors_[users]
        return self._fold_in(user_items, self.item_factors_, self._item_gram())

    def _item_vectors(self) -> tuple[np.ndarray, np.ndarray | None]:
        return self.item_factors_, None

    def similar_users(self, users: Any, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` users most similar to each of ``users`` (cosine of user factors, self excluded).

        Returns
        -------
        user_ids, scores : ndarrays, shape (k,) or (len(users), k)
        """
        self._check_fitted()
        k = check_k(k)
        idx, single = check_indices(users, self.n_users_, "users")
        ids, scores = _cosine_topk(self.user_factors_, idx, k, self._threads)
        if single:
            return ids[0], scores[0]
        return ids, scores

    # --------------------------------------------------------- partial fit
    def partial_fit_users(self, user_ids: Any, user_items: Any) -> ImplicitALS:
        """Add or refresh users without refitting the items.

        Each user's factors are solved exactly from its row of ``user_items``
        against the fitted item factors; ids beyond the current table grow it
        (rows in between start at zero with no history). The rows also replace
        the users' history in ``user_items_`` (used to exclude seen items).

        Parameters
        ----------
        user_ids : array of int
            User indices (distinct, any value >= 0).
        user_items : sparse matrix, shape (len(user_ids), n_items)

        Returns
        -------
        self
        """
        self._check_fitted()
        ids, rows = check_partial_fit(user_ids, user_items, self.n_items_, "user_ids", "user_items")
        vectors = self._fold_in(rows, self.item_factors_, self._item_gram())
        n = max(self.n_users_, int(ids.max()) + 1) if ids.size else self.n_users_
        user_map = grow_ids(self.user_ids_, n, "user_ids")
        self.user_factors_ = _grow(self.user_factors_, n)
        self.user_factors_[ids] = vectors
        self.user_items_ = replace_rows(self.user_items_, ids, rows, n)
        self.n_users_ = n
        self.user_ids_ = user_map
        return self

    def partial_fit_items(self, item_ids: Any, item_users: Any) -> ImplicitALS:
        """Add or refresh items without refitting the users.

        Parameters
        ----------
        item_ids : array of int
            Item indices (distinct, any value >= 0); ids beyond the catalogue
            grow it.
        item_users : sparse matrix, shape (len(item_ids), n_users)
            The interactions of each item, one row per item (items x users).

        Returns
        -------
        self
        """
        self._check_fitted()
        ids, rows = check_partial_fit(item_ids, item_users, self.n_users_, "item_ids", "item_users")
        gram = _core.als_gram(self.user_factors_, float(self.unobserved_weight), self._threads)
        vectors = self._fold_in(rows, self.user_factors_, gram)
        n = max(self.n_items_, int(ids.max()) + 1) if ids.size else self.n_items_
        item_map = grow_ids(self.item_ids_, n, "item_ids")
        self.item_factors_ = _grow(self.item_factors_, n)
        self.item_factors_[ids] = vectors
        transposed = replace_rows(self.user_items_.T.tocsr(), ids, rows, n)
        self.user_items_ = transposed.T.tocsr()
        self.user_items_.sort_indices()
        self.n_items_ = n
        self.item_ids_ = item_map
        self._gram_cache = None
        return self


def _grow(table: np.ndarray, n: int) -> np.ndarray:
    if table.shape[0] >= n:
        return table
    grown = np.zeros((n, table.shape[1]), np.float32)
    grown[: table.shape[0]] = table
    return grown


def _check_choice(value: Any, choices: Any, name: str) -> None:
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name}: expected one of {sorted(choices)}, got {value!r}")
