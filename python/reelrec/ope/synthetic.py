"""A synthetic contextual bandit with known expected rewards, for testing estimators."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from .._validation import _describe, check_nonnegative, check_positive, rng_from
from ._log import BanditLog, _float_matrix
from .estimators import check_target_probs

__all__ = ["SyntheticBanditEnvironment"]

_REWARDS = ("logistic", "linear")
_POLICIES = ("softmax", "uniform", "epsilon_greedy", "greedy")


class SyntheticBanditEnvironment:
    r"""Contexts, actions and rewards from a known linear model.

    Contexts are standard normal, :math:`x \sim N(0, I_d)`. Each action has a
    weight vector :math:`\theta_a \sim N(0, I_d / d)` and an intercept
    :math:`b_a \sim N(\mu, 0.5^2)` (drawn once from ``random_state``), and

    * ``reward="logistic"``: :math:`q(x, a) = \sigma(x^\top\theta_a + b_a)`
      (:math:`\mu = -1`), rewards Bernoulli(:math:`q`);
    * ``reward="linear"``: :math:`q(x, a) = x^\top\theta_a + b_a`
      (:math:`\mu = 0`), rewards :math:`q + \text{noise} \cdot N(0, 1)`.

    The behaviour policy (see :meth:`policy`) logs the actions and their propensities.

    Parameters
    ----------
    n_actions : int, default 10
    dim : int, default 5
    reward : {"logistic", "linear"}, default "logistic"
    behavior_policy : {"softmax", "uniform", "epsilon_greedy", "greedy"}, default "softmax"
        ``greedy`` is deterministic, so its propensities are 1 for the taken
        action and IPS cannot evaluate other policies from it.
    beta : float, default 1.0
        Inverse temperature of the softmax behaviour policy (may be negative).
    epsilon : float, default 0.1
        Exploration rate of the epsilon-greedy behaviour policy.
    noise : float, default 0.1
        Standard deviation of the linear rewards' noise.
    random_state : None, int or numpy Generator
        Draws the reward model; also the default stream of :meth:`sample`.

    Attributes
    ----------
    coef_ : ndarray of shape (n_actions, dim)
    intercept_ : ndarray of shape (n_actions,)
    """

    def __init__(
        self,
        n_actions: int = 10,
        dim: int = 5,
        reward: str = "logistic",
        behavior_policy: str = "softmax",
        beta: float = 1.0,
        epsilon: float = 0.1,
        noise: float = 0.1,
        random_state: Any = None,
    ) -> None:
        self.n_actions = n_actions
        self.dim = dim
        self.reward = reward
        self.behavior_policy = behavior_policy
        self.beta = beta
        self.epsilon = epsilon
        self.noise = noise
        self.random_state = random_state
        check_positive(n_actions, "n_actions", integer=True)
        check_positive(dim, "dim", integer=True)
        if reward not in _REWARDS:
            raise ValueError(f"reward: expected one of {_REWARDS}, got {reward!r}")
        self._check_policy(behavior_policy, beta, epsilon)
        check_nonnegative(noise, "noise")
        self._rng = rng_from(random_state)
        self.coef_ = self._rng.normal(size=(n_actions, dim)) / np.sqrt(dim)
        self.intercept_ = self._rng.normal(
            -1.0 if reward == "logistic" else 0.0, 0.5, size=n_actions
        )

    @staticmethod
    def _check_policy(kind: str, beta: Any, epsilon: Any) -> None:
        if kind not in _POLICIES:
            raise ValueError(f"policy: expected one of {_POLICIES}, got {kind!r}")
        if isinstance(beta, bool) or not isinstance(beta, numbers.Real):
            raise TypeError(f"beta: expected a finite number, got {_describe(beta)}")
        if not np.isfinite(beta):
            raise ValueError(f"beta: expected a finite number, got {beta}")
        if (
            isinstance(epsilon, bool)
            or not isinstance(epsilon, numbers.Real)
            or not 0 <= epsilon <= 1
        ):
            raise ValueError(f"epsilon: expected a number in [0, 1], got {epsilon!r}")

    def _contexts(self, contexts: Any) -> np.ndarray:
        X = _float_matrix(contexts, "contexts", None, row_name="rounds")
        if X.shape[1] != self.dim:
            raise ValueError(f"contexts: expected {self.dim} columns, got {X.shape[1]}")
        return X

    def expected_rewards(self, contexts: Any) -> np.ndarray:
        """True :math:`q(x, a)` for every context row and action: ``(n, n_actions)``."""
        f = self._contexts(contexts) @ self.coef_.T + self.intercept_
        return 1.0 / (1.0 + np.exp(-f)) if self.reward == "logistic" else f

    def policy(
        self, contexts: Any, kind: str = "softmax", beta: float = 1.0, epsilon: float = 0.1
    ) -> np.ndarray:
        r"""Action probabilities ``(n, n_actions)`` of a policy built on the true :math:`q`.

        ``softmax``: :math:`\propto \exp(\beta q(x, a))`; ``uniform``;
        ``greedy``: all mass on :math:`\arg\max_a q(x, a)` (lowest index on
        ties); ``epsilon_greedy``: ``(1 - epsilon) * greedy + epsilon * uniform``.
        """
        self._check_policy(kind, beta, epsilon)
        q = self.expected_rewards(contexts)
        n, A = q.shape
        if kind == "uniform":
            return np.full((n, A), 1.0 / A)
        if kind == "softmax":
            if beta == 0:
                return np.full((n, A), 1.0 / A)
            # shift q by the row's best action for this beta before scaling:
            # beta * q alone overflows for a large beta and inf - inf is NaN,
            # while beta * (q - ref) <= 0, at worst -inf, which exp maps to 0
            ref = q.max(axis=1, keepdims=True) if beta > 0 else q.min(axis=1, keepdims=True)
            with np.errstate(over="ignore"):
                z = beta * (q - ref)
            e = np.exp(z)
            return e / e.sum(axis=1, keepdims=True)
        greedy = np.zeros((n, A))
        greedy[np.arange(n), np.argmax(q, axis=1)] = 1.0
        if kind == "greedy":
            return greedy
        return (1.0 - epsilon) * greedy + epsilon / A

    def behavior_probs(self, contexts: Any) -> np.ndarray:
        """The behaviour policy's action probabilities ``(n, n_actions)``."""
        return self.policy(contexts, self.behavior_policy, self.beta, self.epsilon)

    def sample(self, n_rounds: int, random_state: Any = None) -> BanditLog:
        """Draw ``n_rounds`` logged rounds from the behaviour policy.

        ``random_state`` None continues the environment's own stream.
        """
        n_rounds = check_positive(n_rounds, "n_rounds", integer=True)
        rng = self._rng if random_state is None else rng_from(random_state)
        X = rng.normal(size=(n_rounds, self.dim))
        probs = self.behavior_probs(X)
        cdf = np.cumsum(probs, axis=1)
        u = rng.random(n_rounds) * cdf[:, -1]
        actions = np.minimum((cdf < u[:, None]).sum(axis=1), self.n_actions - 1)
        # never pick a zero-probability action through rounding at the cdf's edges
        rows = np.arange(n_rounds)
        zero = probs[rows, actions] <= 0
        if zero.any():
            actions[zero] = np.argmax(probs[zero], axis=1)
        q = self.expected_rewards(X)[rows, actions]
        if self.reward == "logistic":
            rewards = (rng.random(n_rounds) < q).astype(np.float64)
        else:
            rewards = q + self.noise * rng.normal(size=n_rounds)
        return BanditLog(X, actions, rewards, probs[rows, actions], n_actions=self.n_actions)

    def policy_value(self, target_probs: Any, contexts: Any) -> float:
        r"""Ground truth :math:`\frac1n \sum_i \sum_a \pi(a|x_i) q(x_i, a)` on the given contexts.

        ``target_probs`` is ``(n, n_actions)`` (one row per context).
        """
        q = self.expected_rewards(contexts)
        pi = check_target_probs(target_probs, q.shape[0], self.n_actions)
        if pi.ndim != 2:
            raise ValueError(f"target_probs: expected shape (n, n_actions), got {pi.shape}")
        return float(np.einsum("ij,ij->", pi, q) / q.shape[0])

    def __repr__(self) -> str:
        return (
            f"SyntheticBanditEnvironment(n_actions={self.n_actions}, dim={self.dim}, reward={self.reward!r}, "
            f"behavior_policy={self.behavior_policy!r})"
        )
