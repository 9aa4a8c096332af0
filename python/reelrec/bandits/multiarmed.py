"""Non-contextual bandits: epsilon-greedy, UCB1, Thompson sampling, softmax.

All four keep, per arm, a prior, the number of observed rewards and their sum
(native kernel: ``cpp/bandits/counting.cpp``). Updates are O(1) per reward and
their result does not depend on the order of a batch.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import _core
from ._base import MAX_ABS, BanditPolicy, _check_n_mc, _check_real

__all__ = ["EpsilonGreedy", "UCB1", "ThompsonSampling", "Softmax"]

_KIND = {"EpsilonGreedy": 0, "UCB1": 1, "Softmax": 2, "bernoulli": 3, "gaussian": 4}


def _pair(value: Any, name: str) -> tuple[float, float]:
    if isinstance(value, (str, bytes)) or not hasattr(value, "__len__") or len(value) != 2:
        raise TypeError(f"{name}: expected a pair of numbers, got {value!r}")
    return tuple(_check_real(value[i], f"{name}[{i}]", low=-MAX_ABS, high=MAX_ABS) for i in (0, 1))


class _CountingPolicy(BanditPolicy):
    """Shared plumbing of the counting policies."""

    #: prior used when ``prior=None``
    _default_prior: tuple[float, float] = (0.0, 0.0)
    _structural = ("n_arms", "prior", "likelihood")

    def _kind(self) -> int:
        return _KIND[type(self).__name__]

    def _check_prior(self, prior: Any, name: str) -> tuple[float, float]:
        """(mean, pseudo-count >= 0) for greedy, UCB1 and softmax."""
        mean, count = _pair(prior, name)
        if count < 0:
            raise ValueError(f"{name}: the pseudo-count (second value) must be >= 0, got {count}")
        return mean, count

    def _prior(self) -> tuple[float, float]:
        # the live state's default: a pending change applies at the next fit
        prior = self._param("prior") if hasattr(self, "prior") else None
        return self._default_prior if prior is None else self._check_prior(prior, "prior")

    def _validate_params(self) -> None:
        self._prior()
        self._hyper()

    def _hyper(self) -> dict[str, float]:
        return {
            "epsilon": 0.0,
            "decay": 0.0,
            "alpha": 1.0,
            "temperature": 1.0,
            "noise_std": 1.0,
            "n_mc": 0,
        }

    def _make_native(self, seed: int) -> Any:
        a, b = self._prior()
        return _core.CountingBandit(self._kind(), int(self.n_arms), a, b, seed)

    def _select(self, native, X, n, k, mask, per_request):
        return native.select(n, k, mask, per_request, **self._hyper(), **self._exploration())

    def _update(self, native, arms, rewards, X):
        native.update(arms, rewards)

    def _fit(self, native, arms, rewards, X, seed):
        native.fit(arms, rewards, seed)

    def _add_arm(self, native, features, prior):
        a, b = self._prior() if prior is None else self._check_prior(prior, "prior")
        return native.add_arm(a, b)

    # ----------------------------------------------------------- attributes
    @property
    def reward_sums_(self) -> np.ndarray:
        """Sum of observed rewards per slot."""
        return self._native_state()["count.sum"]

    @property
    def priors_(self) -> np.ndarray:
        """Prior per slot, shape (n_slots_, 2), in the policy's prior form."""
        s = self._native_state()
        return np.stack([s["count.prior_a"], s["count.prior_b"]], axis=1)


class EpsilonGreedy(_CountingPolicy):
    """Epsilon-greedy: the best mean reward, or with probability epsilon_t a uniform arm.

    Parameters
    ----------
    n_arms : int
        Initial number of arms (ids ``0..n_arms-1``); more with :meth:`add_arm`.
    epsilon : float in [0, 1]
        Exploration probability.
    decay : float >= 0, optional
        ``epsilon_t = epsilon / (1 + decay * t)`` with ``t`` the number of
        rewards observed so far; ``None`` keeps epsilon constant.
    prior : (mean, pseudo_count), optional
        Every arm starts with ``pseudo_count`` virtual rewards equal to
        ``mean``; default ``(0, 0)`` (unobserved arms estimate 0).
    new_arm_share : float in [0, 1]
        Probability of filling a slot uniformly among arms with fewer than
        ``new_arm_pulls`` observed rewards (when any is available).
    new_arm_pulls : int
        Threshold for ``new_arm_share``.
    random_state : int, numpy Generator or None
    num_threads : int
        Most threads a call may use; 0 uses all cores (honours
        ``OMP_NUM_THREADS``). Calls with little work (below about 1 ms) use
        fewer, down to one. Results do not depend on the thread count.

    Notes
    -----
    Propensities are exact: ``epsilon_t / n + (1 - epsilon_t) / n_ties`` for
    an arm among the ``n_ties`` best of the ``n`` candidates, ``epsilon_t / n``
    otherwise. Ties are broken uniformly at random.
    """

    def __init__(
        self,
        n_arms: int,
        epsilon: float = 0.1,
        decay: float | None = None,
        prior: Any = None,
        new_arm_share: float = 0.0,
        new_arm_pulls: int = 10,
        random_state: Any = None,
        num_threads: int = 0,
    ) -> None:
        self._store_params(locals())

    def _hyper(self) -> dict[str, float]:
        h = super()._hyper()
        h["epsilon"] = _check_real(self.epsilon, "epsilon", low=0.0, high=1.0)
        h["decay"] = 0.0 if self.decay is None else _check_real(self.decay, "decay", low=0.0)
        return h

    @property
    def means_(self) -> np.ndarray:
        """Current mean-reward estimate per slot (the greedy criterion)."""
        return self._state.values(1.0, 1.0)[0]


class UCB1(_CountingPolicy):
    """UCB1 (Auer et al. 2002): the arm with the best upper confidence bound.

    ``score_a = mean_a + alpha * sqrt(2 ln T / n_a)`` with ``T`` the rewards
    observed in total and ``n_a`` those of arm ``a`` (plus its prior
    pseudo-count). Arms never observed score ``+inf``, so each is tried first.

    Parameters
    ----------
    n_arms : int
    alpha : float in [0, 1e12]
        Width of the confidence bound (1 is the classical UCB1).
    prior : (mean, pseudo_count), optional
        As in :class:`EpsilonGreedy`.
    new_arm_share, new_arm_pulls, random_state, num_threads
        As in :class:`EpsilonGreedy`.

    Notes
    -----
    Deterministic given the statistics: the propensity is 1 for a unique best
    arm and ``1 / n_ties`` among ties (broken uniformly at random).
    """

    def __init__(
        self,
        n_arms: int,
        alpha: float = 1.0,
        prior: Any = None,
        new_arm_share: float = 0.0,
        new_arm_pulls: int = 10,
        random_state: Any = None,
        num_threads: int = 0,
    ) -> None:
        self._store_params(locals())

    def _hyper(self) -> dict[str, float]:
        h = super()._hyper()
        h["alpha"] = _check_real(self.alpha, "alpha", low=0.0, high=1e12)
        return h

    @property
    def scores_(self) -> np.ndarray:
        """Current UCB score per slot."""
        return self._state.values(self._hyper()["alpha"], 1.0)[0]


class Softmax(_CountingPolicy):
    """Softmax (Boltzmann) exploration: ``P(a) proportional to exp(mean_a / temperature)``.

    Parameters
    ----------
    n_arms : int
    temperature : float in [1e-12, 1e12]
        Lower is greedier.
    prior : (mean, pseudo_count), optional
        As in :class:`EpsilonGreedy`.
    new_arm_share, new_arm_pulls, random_state, num_threads
        As in :class:`EpsilonGreedy`.

    Notes
    -----
    Propensities are exact. Slates are sampled without replacement
    (Plackett-Luce): slot ``j`` renormalises over the arms not yet shown.
    """

    def __init__(
        self,
        n_arms: int,
        temperature: float = 1.0,
        prior: Any = None,
        new_arm_share: float = 0.0,
        new_arm_pulls: int = 10,
        random_state: Any = None,
        num_threads: int = 0,
    ) -> None:
        self._store_params(locals())

    def _hyper(self) -> dict[str, float]:
        h = super()._hyper()
        h["temperature"] = _check_real(self.temperature, "temperature", low=1e-12, high=1e12)
        return h

    @property
    def means_(self) -> np.ndarray:
        """Current mean-reward estimate per slot."""
        return self._state.values(1.0, 1.0)[0]


class ThompsonSampling(_CountingPolicy):
    """Thompson sampling with a Beta-Bernoulli or a Gaussian model per arm.

    Parameters
    ----------
    n_arms : int
    likelihood : {"bernoulli", "gaussian"}
        ``"bernoulli"``: rewards in [0, 1] (clicks, completed views), prior
        Beta(alpha0, beta0), fractional rewards update ``alpha += r``,
        ``beta += 1 - r``. ``"gaussian"``: real rewards with known noise
        standard deviation ``noise_std`` and a Normal prior on each arm's mean.
    prior : pair, optional
        ``(alpha0, beta0) >= 0.001`` for Bernoulli (default ``(1, 1)``);
        ``(mu0, tau0)`` for Gaussian, ``tau0`` in [1e-12, 1e12] the prior
        precision (default ``(0, 1)``).
    noise_std : float in [1e-12, 1e12]
        Reward noise of the Gaussian model.
    n_mc : int in [1, 100000] or "exact"
        Monte Carlo draws for the propensities; ``"exact"`` (Gaussian
        likelihood only) computes each decision's probability exactly.
    new_arm_share, new_arm_pulls, random_state, num_threads
        As in :class:`EpsilonGreedy`.

    Notes
    -----
    Each slot draws one posterior sample per candidate arm and takes the best.
    The propensity is the Monte Carlo estimate ``(1 + wins) / (1 + n_mc)``:
    ``wins`` counts the ``n_mc`` pooled posterior draws (one pool per
    ``select`` call, seeded) in which the chosen arm is the best candidate; the
    decision's own draw is the extra sample, so estimates are never 0. Its
    standard error is about ``sqrt(p (1 - p) / n_mc)``, and ``1 / p``, the
    importance weight that off-policy estimators divide by, is biased for
    small ``p`` (with ``n_mc = 100`` and ``p = 0.02``, ``E[1 / p_hat]`` is
    about 43.5 instead of 50).

    ``n_mc="exact"`` (Gaussian posteriors) reports the exact probability
    instead: conditioned on the chosen arm's draw the other draws are
    independent, so ``P(arm a wins) = int phi(z) prod_c Phi((m_a - m_c + w_a z)
    / w_c) dz``, a one-dimensional integral whatever the number of arms,
    computed to a relative error below about 1e-8 (trapezoidal rule around the
    integrand's mode, adaptive Gauss-Legendre where narrow posteriors make it
    steep). No pool is drawn; each decision costs about 70 evaluations of
    ``log Phi`` per candidate arm (LinTS on one core: 7-9 us per request for
    10 arms, 80-100 us for 100; ``benchmarks/bench_propensities.py``, which
    also shows the Monte Carlo estimates biasing IPS on 50 arms). Decisions
    are the same as with Monte Carlo propensities.

    Cost: a Beta draw is two gamma variates (Marsaglia & Tsang), a Gaussian
    draw one normal; with ``k = 1`` the draws of 2-8 requests run side by
    side in SIMD lanes (AVX-512, AVX2 or portable code, chosen at run time),
    bit for bit the draws of the scalar sampler, so results do not depend on
    the CPU or the thread count. The propensity pool costs ``n_mc`` draws per
    candidate arm once per ``select`` call. With one candidate set for every
    request (no ``available`` or a 1-d one) and ``k = 1`` the wins are
    counted once per call; with a mask per request each request walks the
    pooled draws' rankings (about ``n_mc`` / share of available arms steps;
    rows with few available arms scan just those); slates (``k > 1``) and
    masks with under 1 in 16 arms available take the general slate builder,
    which scans every candidate's pooled draws per slot. Every path gives
    the same arms and propensities.
    """

    def __init__(
        self,
        n_arms: int,
        likelihood: str = "bernoulli",
        prior: Any = None,
        noise_std: float = 1.0,
        n_mc: int | str = 100,
        new_arm_share: float = 0.0,
        new_arm_pulls: int = 10,
        random_state: Any = None,
        num_threads: int = 0,
    ) -> None:
        self._store_params(locals())

    def _kind(self) -> int:
        return _KIND[self.likelihood]

    @property
    def _unit_rewards(self) -> bool:  # type: ignore[override]
        return self._param("likelihood") == "bernoulli"

    @property
    def _default_prior(self) -> tuple[float, float]:  # type: ignore[override]
        return (1.0, 1.0) if self._param("likelihood") == "bernoulli" else (0.0, 1.0)

    def _check_prior(self, prior: Any, name: str) -> tuple[float, float]:
        a, b = _pair(prior, name)
        if self._param("likelihood") == "bernoulli":
            # Shapes far below 1 put most of a Beta draw's mass below float
            # resolution: pooled draws then tie at 0 or 1 and the Monte Carlo
            # propensities stop describing the decisions.
            if a < 1e-3 or b < 1e-3:
                raise ValueError(f"{name}: Beta prior parameters must be >= 0.001, got ({a}, {b})")
        elif not 1e-12 <= b <= 1e12:
            raise ValueError(
                f"{name}: the prior precision tau0 (second value) must lie in [1e-12, 1e12], got {b}"
            )
        return a, b

    def _validate_params(self) -> None:
        if self.likelihood not in ("bernoulli", "gaussian"):
            raise ValueError(
                f"likelihood: expected 'bernoulli' or 'gaussian', got {self.likelihood!r}"
            )
        super()._validate_params()

    def _hyper(self) -> dict[str, float]:
        h = super()._hyper()
        h["noise_std"] = _check_real(self.noise_std, "noise_std", low=1e-12, high=1e12)
        h["n_mc"] = _check_n_mc(self.n_mc, exact=self._param("likelihood") == "gaussian")
        return h

    @property
    def posterior_(self) -> np.ndarray:
        """Posterior per slot, shape (n_slots_, 2): (alpha, beta) for Bernoulli,
        (mean, standard deviation) of the arm's mean reward for Gaussian."""
        m, w = self._state.values(1.0, self._hyper()["noise_std"])
        return np.stack([m, w], axis=1)
