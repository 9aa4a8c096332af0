"""Hybrid LinUCB (Li et al. 2010, Algorithm 2): arm-specific plus shared coefficients.

Native kernel: ``cpp/bandits/hybrid.cpp``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import _core
from ._base import BanditPolicy, _check_int, _check_real, _FeaturedArms, _float_array

__all__ = ["HybridLinUCB"]


class HybridLinUCB(_FeaturedArms, BanditPolicy):
    """LinUCB with a model shared by all arms and one per arm.

    The expected reward of arm ``a`` for request features ``x`` is
    ``z . beta + x . theta_a`` where ``f_a`` are the arm's features,
    ``z = vec(f_a x^T)`` (their outer product, as in the paper's Yahoo!
    experiments; ``z[i * d + j] = f_a[i] * x[j]``), ``beta`` is shared by all
    arms and ``theta_a`` is the arm's own. The score adds
    ``alpha * sqrt(s)`` with Algorithm 2's variance ``s``. A new arm with
    features is scored through ``beta`` before its first reward, which is the
    cold-start prior for new videos. Include a constant 1 in the request
    features to learn the arm features' main effects.

    Parameters
    ----------
    n_arms : int
    n_shared_features : int
        Length d of the request features (``contexts`` columns); every arm sees
        them and ``theta_a`` has d values.
    n_arm_features : int
        Length m of each arm's feature vector; ``beta`` has ``m * d`` values.
    alpha : float in [0, 1e12]
        Width of the confidence bound.
    l2 : float in [1e-12, 1e12]
        Ridge penalty of the shared and the per-arm models.
    new_arm_share, new_arm_pulls, random_state, num_threads
        As in :class:`EpsilonGreedy`.

    Notes
    -----
    Arm features come from :meth:`set_arm_features` (initial arms) or
    ``add_arm(features=...)``; arms without features have ``f_a = 0`` and only
    use ``theta_a``. Set an arm's features before its first reward.
    ``add_arm(prior=theta0)`` centres its own ridge penalty on ``theta0``.
    Updates are sequential in log order (the shared model couples arms).
    Cost per reward O(k^2 + d k + d^2) with ``k = m d``; per ``select`` call
    O(n_arms k^2 d) to fold the shared model into one d x d matrix per arm when
    the batch has at least d requests (then O(d^2) per request and arm),
    otherwise O(k^2) per request and arm.
    """

    _contextual = True
    _uses_features = True

    def __init__(
        self,
        n_arms: int,
        n_shared_features: int,
        n_arm_features: int,
        alpha: float = 1.0,
        l2: float = 1.0,
        new_arm_share: float = 0.0,
        new_arm_pulls: int = 10,
        random_state: Any = None,
        num_threads: int = 0,
    ) -> None:
        self._store_params(locals())

    _structural = ("n_arms", "n_shared_features", "n_arm_features", "l2")
    #: -1 picks the variance path by batch size; 0/1 force the folded/direct path (tests)
    _direct = -1

    @property
    def _n_context(self) -> int:
        return int(self._param("n_shared_features"))

    @property
    def _m(self) -> int:
        return int(self._param("n_arm_features"))

    def _validate_params(self) -> None:
        _check_int(self.n_shared_features, "n_shared_features", minimum=1)
        _check_int(self.n_arm_features, "n_arm_features", minimum=1)
        _check_real(self.l2, "l2", low=1e-12, high=1e12)
        _check_real(self.alpha, "alpha", low=0.0, high=1e12)

    def _make_native(self, seed: int) -> Any:
        return _core.HybridBandit(
            int(self.n_arms),
            int(self.n_shared_features),
            self._m,
            float(self.l2),
            seed,
        )

    def _select(self, native, X, n, k, mask, per_request):
        alpha = _check_real(self.alpha, "alpha", low=0.0, high=1e12)
        return native.select(X, k, mask, per_request, alpha, self._direct, **self._exploration())

    def _update(self, native, arms, rewards, X):
        native.update(arms, rewards, X)

    def _fit(self, native, arms, rewards, X, seed):
        native.fit(arms, rewards, X, seed)

    def _check_features(self, features: Any, native: Any, name: str, ndim: int) -> np.ndarray:
        F = _float_array(features, name, ndim)
        m = self._m
        if F.shape[-1] != m:
            raise ValueError(
                f"{name}: expected {m} arm features (n_arm_features), got {F.shape[-1]}"
            )
        return F

    def _add_arm(self, native, features, prior):
        F = None if features is None else self._check_features(features, native, "features", 1)
        return native.add_arm(self._prior_mean(prior), F)

    def _set_features(self, native, ids, F):
        # An arm's features enter the shared model with each of its rewards:
        # changing them afterwards would leave A0 and b0 describing other data.
        pulls = native.pulls()
        known = ids[(ids >= 0) & (ids < pulls.size)]
        seen = known[pulls[known] > 0]
        if seen.size:
            raise ValueError(
                f"arm_ids: arm {int(seen[0])} already has rewards; HybridLinUCB needs an arm's "
                "features before its first reward (add a new arm for new features)"
            )
        native.set_features(ids, F)

    # ----------------------------------------------------------- attributes
    def _get(self, name: str) -> np.ndarray:
        return self._native_state()[name]

    @property
    def beta_(self) -> np.ndarray:
        """Shared coefficients, shape (n_arm_features * n_shared_features,)."""
        return self._get("hyb.beta")

    @property
    def A0_inv_(self) -> np.ndarray:
        """Inverse of the shared Gram matrix A0, shape (k, k)."""
        k = self._m * self._n_context
        return self._get("hyb.C").reshape(k, k)

    @property
    def b0_(self) -> np.ndarray:
        """Shared response vector b0, shape (k,)."""
        return self._get("hyb.b0")

    @property
    def A_inv_(self) -> np.ndarray:
        """Per-slot inverse Gram matrices, shape (n_slots_, d, d)."""
        d = self._n_context
        return self._get("hyb.P").reshape(-1, d, d)

    @property
    def B_(self) -> np.ndarray:
        """Per-slot cross terms ``sum x z^T``, shape (n_slots_, d, k)."""
        d = self._n_context
        return self._get("hyb.B").reshape(-1, d, d * self._m)

    @property
    def b_(self) -> np.ndarray:
        """Per-slot response vectors, shape (n_slots_, d)."""
        return self._get("hyb.b").reshape(-1, self._n_context)

    @property
    def theta_(self) -> np.ndarray:
        """Per-slot coefficients ``A_a^-1 (b_a - B_a beta)``, shape (n_slots_, d)."""
        return np.einsum("aij,aj->ai", self.A_inv_, self.b_ - self.B_ @ self.beta_)
