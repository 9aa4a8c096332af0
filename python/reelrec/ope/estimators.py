r"""Off-policy estimators of a target policy's value from logged bandit feedback.

Notation (round ``i`` of ``n``): context :math:`x_i`, logged action :math:`a_i`,
reward :math:`r_i`, propensity :math:`\pi_b(a_i|x_i)` (``propensities``),
optional position (slot) :math:`p_i`, target policy :math:`\pi` given as
``target_probs`` and a reward model :math:`\hat q` given as
``estimated_rewards``. The importance weight is

.. math:: w_i = \pi(a_i | x_i, p_i) / \pi_b(a_i | x_i, p_i)

and the model's value of the target policy in round ``i`` is
:math:`\hat q(x_i, \pi) = \sum_a \pi(a | x_i, p_i)\, \hat q(x_i, a, p_i)`.

Shapes. ``target_probs`` is ``(n, n_actions)`` -- the same distribution at every
position -- or ``(n, n_actions, n_positions)`` like Open Bandit Pipeline's
``action_dist``, where slice ``[:, :, p]`` is the distribution for position
``p`` and must sum to 1 over actions. ``estimated_rewards`` follows the same
rule independently: ``(n, n_actions)`` or ``(n, n_actions, n_positions)``.
Round ``i`` uses slice ``positions[i]`` of any 3-d array; ``positions`` may be
omitted only when no 3-d array has more than one slice.

Every estimator has the form ``V = mean_i plain_i + sum_i num_i / sum_i den_i``
(the ratio term only for the self-normalised ones and replay), computed by the
native kernel ``reelrec._core.ope_round_terms``. The definitions follow Open
Bandit Pipeline's documented estimators (same names: ``ReplayMethod``,
``InverseProbabilityWeighting``, ``SelfNormalizedInverseProbabilityWeighting``,
``DirectMethod``, ``DoublyRobust``, ``SelfNormalizedDoublyRobust``,
``SwitchDoublyRobust``, ``DoublyRobustWithShrinkage``) and give the same values.

Each function returns an :class:`Estimate`: ``float(est)`` is the value,
``est.stderr`` / ``est.ci`` a CLT interval, ``est.bootstrap(...)`` a percentile
bootstrap interval computed natively.
"""

from __future__ import annotations

import numbers
import warnings
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import _core
from .._validation import (
    _describe,
    all_finite,
    as_plain_array,
    check_fraction,
    check_num_threads,
    check_positive,
    seed_from,
)
from ._log import _check_propensities, _float_vector, _indices, _is_time

__all__ = [
    "Estimate",
    "BootstrapInterval",
    "replay",
    "ips",
    "snips",
    "dm",
    "dr",
    "sndr",
    "switch_dr",
    "dr_os",
    "bootstrap_estimates",
]

_Z95 = 1.959963984540054  # standard normal 97.5% quantile
_ROW_SUM_TOL = 1e-6
_KINDS = {
    "replay": 0,
    "ips": 1,
    "snips": 2,
    "dm": 3,
    "dr": 4,
    "sndr": 5,
    "switch_dr": 6,
    "dr_os": 7,
}
RATIO_ESTIMATORS = frozenset({"replay", "snips", "sndr"})
MODEL_ESTIMATORS = frozenset({"dm", "dr", "sndr", "switch_dr", "dr_os"})
_BOOT_METHODS = {"auto": 0, "indices": 1, "counts": 2, "hybrid": 3}
_BOOT_NAMES = {0: "auto", 1: "indices", 2: "counts", 3: "hybrid"}


# ---------------------------------------------------------------------- results
@dataclass(frozen=True)
class BootstrapInterval:
    """Percentile bootstrap interval of an estimate.

    ``lower`` / ``upper`` are the ``alpha/2`` and ``1 - alpha/2`` percentiles
    (linear interpolation, as ``numpy.percentile``) of the ``n_boot``
    replicate estimates. ``method`` is the native sampler used ("hybrid",
    "indices" or "counts"); ``n_invalid`` counts replicates with an undefined ratio term
    (no positive weight drawn), left out of the percentiles. Unpacks as
    ``lower, upper = interval``.
    """

    lower: float
    upper: float
    alpha: float
    n_boot: int
    method: str
    replicates: np.ndarray = field(repr=False)
    n_invalid: int = 0

    def __iter__(self) -> Iterator[float]:
        yield self.lower
        yield self.upper


class Estimate:
    r"""An off-policy estimate with its uncertainty and diagnostics.

    Attributes
    ----------
    name : str
        Estimator label, e.g. ``"ips"`` or ``"switch_dr(tau=10)"``.
    value : float
        The estimate ``V`` (also ``float(estimate)``).
    n : int
        Number of logged rounds.
    stderr : float
        Standard error from the per-round values (:attr:`round_values`):
        ``std(round_values, ddof=1) / sqrt(n)``; NaN when ``n < 2``.
    ci : tuple of float
        CLT 95% interval ``value +- 1.96 * stderr``.
    ess : float or None
        Kish effective sample size of the raw importance weights,
        ``(sum w)^2 / sum w^2`` (replay: of the matching weights
        :math:`\pi(a_i|x_i)`); None for DM, which uses no weights.
    max_weight : float or None
        Largest raw importance weight (before clipping, switching or shrinkage).

    Notes
    -----
    :attr:`round_values` are the per-round terms for the plain estimators
    (their mean is the estimate, as Open Bandit Pipeline's round rewards). For
    the ratio estimators (replay, SNIPS, SNDR) they are the delta-method
    linearisation ``plain_i + R + (num_i - R den_i) / mean(den)`` with
    ``R = sum num / sum den``, whose mean is still the estimate and whose
    variance accounts for the random denominator.
    """

    def __init__(
        self,
        name: str,
        plain: np.ndarray,
        num: np.ndarray | None = None,
        den: np.ndarray | None = None,
        weights: np.ndarray | None = None,
        *,
        num_threads: int = 0,
    ) -> None:
        self.name = name
        self.n = int(plain.shape[0])
        self._plain = plain
        self._num = num
        self._den = den
        self._num_threads = num_threads
        mean_plain = float(np.sum(plain)) / self.n
        if num is not None:
            den_sum = float(np.sum(den))
            if den_sum == 0.0:
                warnings.warn(
                    f"{name}: every logged action has zero weight under the target policy; "
                    "the estimate is undefined (NaN)",
                    RuntimeWarning,
                    stacklevel=3,
                )
                ratio = float("nan")
                self._round_values = np.full(self.n, np.nan)
            else:
                ratio = float(np.sum(num)) / den_sum
                self._round_values = plain + ratio + (num - ratio * den) / (den_sum / self.n)
            self.value = mean_plain + ratio
        else:
            self.value = mean_plain
            self._round_values = plain
        if self.n >= 2 and np.isfinite(self.value):
            self.stderr = float(np.std(self._round_values, ddof=1)) / np.sqrt(self.n)
        else:
            self.stderr = float("nan")
        self.ci = (self.value - _Z95 * self.stderr, self.value + _Z95 * self.stderr)
        if weights is None:
            self.ess = None
            self.max_weight = None
        else:
            # einsum's own loop, not BLAS: a BLAS call here would wake its
            # thread pool, whose spinning threads then compete with the
            # bootstrap's OpenMP threads
            s2 = float(np.einsum("i,i->", weights, weights))
            s1 = float(np.sum(weights))
            self.max_weight = float(np.max(weights)) if weights.size else 0.0
            if not (np.isfinite(s1 * s1) and np.isfinite(s2)) and self.max_weight > 0:
                # weights near 1e154 and up: the squares overflow, the ratio
                # does not (Kish's ESS is scale-free)
                scaled = weights / self.max_weight
                s2 = float(np.einsum("i,i->", scaled, scaled))
                s1 = float(np.sum(scaled))
            self.ess = s1 * s1 / s2 if s2 > 0 else 0.0

    @property
    def round_values(self) -> np.ndarray:
        """Per-round values whose mean is the estimate (see Notes)."""
        return self._round_values

    @property
    def has_ratio(self) -> bool:
        """Whether the estimator has a self-normalised (ratio) term."""
        return self._num is not None

    def __float__(self) -> float:
        return float(self.value)

    def __repr__(self) -> str:
        lo, hi = self.ci
        return f"Estimate({self.name}={self.value:.6g}, 95% CI [{lo:.6g}, {hi:.6g}], n={self.n})"

    def clt_interval(self, alpha: float = 0.05) -> tuple[float, float]:
        """Normal-approximation interval ``value +- z_{1-alpha/2} stderr``."""
        from scipy.stats import norm

        alpha = check_fraction(alpha, "alpha")
        z = float(norm.ppf(1 - alpha / 2))
        return (self.value - z * self.stderr, self.value + z * self.stderr)

    def bootstrap(
        self,
        n_boot: int = 1000,
        alpha: float = 0.05,
        random_state: Any = None,
        *,
        num_threads: int | None = None,
        method: str = "auto",
    ) -> BootstrapInterval:
        """Percentile bootstrap interval, resampling rounds with replacement.

        Each replicate recomputes the whole estimator on a resample of the
        rounds -- the normalising sums of SNIPS, SNDR and replay included.
        (Open Bandit Pipeline's ``estimate_interval`` resamples the per-round
        values instead; for IPS, DM, DR, Switch-DR and DRos the two coincide.)
        Runs natively over OpenMP threads with one random stream per resample,
        so results depend on ``random_state`` but not on ``num_threads``.

        Parameters
        ----------
        n_boot : int, default 1000
            Number of resamples.
        alpha : float, default 0.05
            1 - confidence level.
        random_state : None, int or numpy Generator
        num_threads : int, optional
            0 = all cores; default the value the estimate was computed with.
        method : {"auto", "hybrid", "indices", "counts"}
            Native sampler, all exact samplers of the same resampling
            distribution that consume random numbers differently. "indices"
            draws n indices per resample (O(n)); "counts" draws multinomial
            counts of the distinct per-round rows by conditional binomials
            (O(distinct rows)); "hybrid" draws independent
            Poisson counts -- one per per-round value shared by many rounds
            (the zero terms of a click log), one per round for the others, in a
            streaming pass vectorised with AVX-512 where the CPU has it -- and
            conditions them on drawing n rounds in all (redraw if over, uniform
            top-up draws if under), which is exactly the multinomial resample.
            "auto" uses "hybrid" where the CPU has AVX-512; elsewhere "counts"
            when few per-round rows are distinct (click logs), else "indices".
        """
        threads = self._num_threads if num_threads is None else num_threads
        return bootstrap_estimates(
            [self],
            n_boot=n_boot,
            alpha=alpha,
            random_state=random_state,
            num_threads=threads,
            method=method,
        )[0]


def bootstrap_estimates(
    estimates: Sequence[Estimate],
    n_boot: int = 1000,
    alpha: float = 0.05,
    random_state: Any = None,
    *,
    num_threads: int = 0,
    method: str = "auto",
) -> list[BootstrapInterval]:
    """Bootstrap several estimates of the same log on shared resamples.

    All estimates must come from the same rounds (same ``n``). Each resample is
    used for every estimate, so differences between estimators are bootstrapped
    consistently. See :meth:`Estimate.bootstrap` for the parameters.

    Raises
    ------
    TypeError
        ``estimates`` is not an iterable of :class:`Estimate`.
    ValueError
        No estimates, or estimates of different lengths; bad ``n_boot``,
        ``alpha`` or ``method``.
    """
    if isinstance(estimates, Estimate):
        raise TypeError(
            "estimates: expected a sequence of Estimate objects, got a single Estimate "
            "(wrap it in a list, or call its bootstrap method)"
        )
    if isinstance(estimates, (str, bytes)) or not isinstance(estimates, Iterable):
        raise TypeError(
            f"estimates: expected a sequence of Estimate objects, got {_describe(estimates)}"
        )
    estimates = list(estimates)
    for i, e in enumerate(estimates):
        if not isinstance(e, Estimate):
            raise TypeError(f"estimates[{i}]: expected an Estimate, got {_describe(e)}")
    if not estimates:
        raise ValueError("estimates: expected at least one Estimate")
    n = estimates[0].n
    if any(e.n != n for e in estimates):
        raise ValueError("estimates: all estimates must come from logs of the same length")
    n_boot = check_positive(n_boot, "n_boot", integer=True)
    alpha = check_fraction(alpha, "alpha")
    num_threads = check_num_threads(num_threads)
    if method not in _BOOT_METHODS:
        raise ValueError(f"method: expected one of {sorted(_BOOT_METHODS)}, got {method!r}")
    seed = seed_from(random_state)
    plain = np.column_stack([e._plain for e in estimates])
    if any(e.has_ratio for e in estimates):
        zeros = np.zeros(n)
        num = np.column_stack([e._num if e.has_ratio else zeros for e in estimates])
        den = np.column_stack([e._den if e.has_ratio else zeros for e in estimates])
        flags = np.array([e.has_ratio for e in estimates], dtype=np.uint8)
    else:
        num = den = flags = None
    reps, used = _core.ope_bootstrap(
        plain, num, den, flags, n_boot, seed, _BOOT_METHODS[method], num_threads
    )
    out = []
    for j, e in enumerate(estimates):
        col = reps[:, j]
        finite = col[np.isfinite(col)]
        n_invalid = int(col.size - finite.size)
        if finite.size == 0:
            lo = hi = float("nan")
        else:
            lo, hi = (
                float(v) for v in np.percentile(finite, [100 * alpha / 2, 100 * (1 - alpha / 2)])
            )
        if n_invalid:
            warnings.warn(
                f"{e.name}: {n_invalid} of {n_boot} resamples drew no round with positive weight; "
                "the interval uses the others",
                RuntimeWarning,
                stacklevel=2,
            )
        out.append(
            BootstrapInterval(lo, hi, alpha, n_boot, _BOOT_NAMES[used], col.copy(), n_invalid)
        )
    return out


# ---------------------------------------------------------------------- validation
def _check_policy_array(values: Any, name: str, n: int | None, n_actions: int | None) -> np.ndarray:
    arr = as_plain_array(values, name)
    if (
        arr.dtype == object
        or _is_time(arr)
        or not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer))
    ):
        raise TypeError(f"{name}: expected a float array, got {_describe(values)}")
    if arr.ndim not in (2, 3):
        raise ValueError(
            f"{name}: expected shape (n_rounds, n_actions) or (n_rounds, n_actions, n_positions), "
            f"got shape {arr.shape}"
        )
    if n is not None and arr.shape[0] != n:
        raise ValueError(f"{name}: expected {n} rows (one per round), got shape {arr.shape}")
    if n_actions is not None and arr.shape[1] != n_actions:
        raise ValueError(f"{name}: expected {n_actions} actions (axis 1), got shape {arr.shape}")
    if arr.shape[0] == 0:
        raise ValueError(f"{name}: expected at least one round, got shape {arr.shape}")
    if arr.shape[1] == 0 or (arr.ndim == 3 and arr.shape[2] == 0):
        raise ValueError(
            f"{name}: expected at least one action and position, got shape {arr.shape}"
        )
    arr = np.ascontiguousarray(arr, dtype=np.float64)
    if not all_finite(arr):
        raise ValueError(f"{name}: contains NaN or infinite values")
    return arr


def check_target_probs(
    target_probs: Any, n: int | None = None, n_actions: int | None = None
) -> np.ndarray:
    """Validate a target policy: float64 ``(n, A)`` or ``(n, A, P)``, rows summing to 1."""
    pi = _check_policy_array(target_probs, "target_probs", n, n_actions)
    lo = float(pi.min())
    if lo < 0:
        raise ValueError(f"target_probs: probabilities must be >= 0, got {lo!r}")
    # Sums over actions without a multi-threaded BLAS call (its thread pool
    # would then spin beside the estimators' OpenMP threads): einsum for
    # (n, A), 4-5x faster than a reduction over axis 1; with positions a stack
    # of (A,) @ (A, P) products, each far below BLAS's threading sizes, which
    # took 0.5 ms at 10k x 46 x 3 against einsum's 1.7 ms (process CPU = wall).
    sums = np.einsum("na->n", pi) if pi.ndim == 2 else np.matmul(np.ones(pi.shape[1]), pi)
    dev = np.abs(sums - 1.0)
    if dev.max() > _ROW_SUM_TOL:
        i = int(np.unravel_index(np.argmax(dev), dev.shape)[0])
        raise ValueError(
            "target_probs: each round's probabilities must sum to 1 over actions (axis 1), "
            f"round {i} is off by {float(dev.max()):.3g}"
        )
    return pi


def check_estimated_rewards(estimated_rewards: Any, n: int, n_actions: int) -> np.ndarray:
    """Validate reward-model predictions: float64 ``(n, A)`` or ``(n, A, P)``."""
    return _check_policy_array(estimated_rewards, "estimated_rewards", n, n_actions)


def _check_positions(
    positions: Any, n: int, arrays: Sequence[tuple[str, np.ndarray | None]]
) -> np.ndarray | None:
    sliced = [
        (name, a.shape[2]) for name, a in arrays if a is not None and a.ndim == 3 and a.shape[2] > 1
    ]
    if positions is None:
        if sliced:
            name, p = sliced[0]
            raise ValueError(f"positions: required because {name} has {p} position slices (axis 2)")
        return None
    arr = as_plain_array(positions, "positions")
    if arr.ndim != 1 or arr.shape[0] != n:
        raise ValueError(f"positions: expected {n} values (one per round), got shape {arr.shape}")
    idx = _indices(arr, None, "positions")
    for name, p in sliced:
        hi = int(idx.max())
        if hi >= p:
            raise IndexError(
                f"positions: position {hi} has no slice in {name} ({p} slices on axis 2)"
            )
    return np.ascontiguousarray(idx)


def _same_rounds(arrays: Sequence[tuple[str, Any]]) -> dict[str, Any]:
    """The inputs as arrays, after checking they agree on the number of rounds.

    The length most of them share is taken as right (ties: the earliest
    argument's), so the message blames the odd one out rather than whichever
    array happened to be checked first.
    """
    out = {name: None if v is None else as_plain_array(v, name) for name, v in arrays}
    lengths = [(name, a.shape[0]) for name, a in out.items() if a is not None and a.ndim >= 1]
    if len({m for _, m in lengths}) > 1:
        n = Counter(m for _, m in lengths).most_common(1)[0][0]
        name, got = next((nm, m) for nm, m in lengths if m != n)
        agree = [nm for nm, m in lengths if m == n]
        others = ", ".join(agree[:-1]) + (" and " if len(agree) > 1 else "") + agree[-1]
        verb = "has" if len(agree) == 1 else "have"
        if name in ("target_probs", "estimated_rewards"):
            what = f"got shape {out[name].shape}"
            unit = "rows"
        else:
            what = f"got {got}"
            unit = "values"
        raise ValueError(
            f"{name}: expected {n} {unit} (one per round), {what} ({others} {verb} {n})"
        )
    return out


def _check_threshold(value: Any, name: str, *, positive: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: expected a number, got {_describe(value)}")
    value = float(value)
    if np.isnan(value) or value < 0 or (positive and value == 0):
        bound = "> 0" if positive else ">= 0"
        raise ValueError(f"{name}: expected a value {bound} (inf allowed), got {value}")
    return value


def _fmt_param(v: float) -> str:
    return "inf" if np.isinf(v) else f"{v:g}"


def _param_and_label(estimator: str, params: dict[str, Any]) -> tuple[float, str]:
    """The kernel parameter (clip, tau or lambda) and the estimate's label."""
    if estimator in ("ips", "dr"):
        clip = params.get("clip")
        if clip is None:
            return np.inf, estimator
        c = _check_threshold(clip, "clip", positive=True)
        return c, f"{estimator}(clip={_fmt_param(c)})"
    if estimator == "switch_dr":
        t = _check_threshold(params["tau"], "tau", positive=False)
        return t, f"switch_dr(tau={_fmt_param(t)})"
    if estimator == "dr_os":
        lam = _check_threshold(params["lambda_"], "lambda_", positive=False)
        return lam, f"dr_os(lambda={_fmt_param(lam)})"
    return np.inf, estimator


def _run(
    estimator: str,
    target_probs: Any,
    *,
    rewards: Any = None,
    actions: Any = None,
    propensities: Any = None,
    estimated_rewards: Any = None,
    positions: Any = None,
    param: float = np.inf,
    label: str | None = None,
    num_threads: Any = 0,
    prevalidated: bool = False,
    dm_terms: np.ndarray | None = None,
) -> Estimate:
    """Validate, run the native kernel, wrap in an Estimate.

    ``prevalidated``: the caller (OffPolicyEvaluator) already checked
    ``target_probs``, ``estimated_rewards`` and ``positions`` against the log,
    so the O(n * n_actions) checks run once per table instead of once per estimator;
    ``dm_terms`` (the per-round DM values of the same policy and model) spares the
    model-based kernels their O(n * n_actions) sum.
    """
    num_threads = check_num_threads(num_threads)
    if estimator == "dm":
        rewards = actions = propensities = None
    elif estimator == "replay":
        propensities = None
    if estimator not in MODEL_ESTIMATORS:
        estimated_rewards = None
    if not prevalidated:
        given = _same_rounds(
            [
                ("rewards", rewards),
                ("actions", actions),
                ("propensities", propensities),
                ("target_probs", target_probs),
                ("estimated_rewards", estimated_rewards),
                ("positions", positions),
            ]
        )
        rewards, actions, propensities = given["rewards"], given["actions"], given["propensities"]
        target_probs, estimated_rewards = given["target_probs"], given["estimated_rewards"]
        positions = given["positions"]
    n = None
    if estimator != "dm":
        rewards = _float_vector(rewards, "rewards", None)
        n = rewards.shape[0]
        if n == 0:
            raise ValueError("rewards: expected at least one round, got an empty log")
    pi = target_probs if prevalidated else check_target_probs(target_probs, n)
    n, n_actions = pi.shape[0], pi.shape[1]
    q = None
    if estimator in MODEL_ESTIMATORS:
        q = (
            estimated_rewards
            if prevalidated
            else check_estimated_rewards(estimated_rewards, n, n_actions)
        )
    if estimator != "dm":
        a = as_plain_array(actions, "actions")
        if a.ndim != 1 or a.shape[0] != n:
            raise ValueError(f"actions: expected {n} values (one per round), got shape {a.shape}")
        actions = _indices(a, n_actions, "actions")
        if estimator != "replay":
            propensities = _check_propensities(propensities, n)
    if not prevalidated:
        positions = _check_positions(positions, n, [("target_probs", pi), ("estimated_rewards", q)])
    plain, num, den, weights = _core.ope_round_terms(
        _KINDS[estimator],
        pi,
        rewards,
        actions,
        propensities,
        positions,
        q,
        float(param),
        dm_terms,
        num_threads,
    )
    return Estimate(label or estimator, plain, num, den, weights, num_threads=num_threads)


def _logged(
    estimator: str,
    rewards: Any,
    actions: Any,
    propensities: Any,
    target_probs: Any,
    estimated_rewards: Any,
    positions: Any,
    num_threads: int,
    **params: Any,
) -> Estimate:
    """The estimators of logged rewards with propensities (all but replay and DM):
    validate the estimator's parameter (``clip``, ``tau`` or ``lambda_``) and run."""
    param, label = _param_and_label(estimator, params)
    return _run(
        estimator,
        target_probs,
        rewards=rewards,
        actions=actions,
        propensities=propensities,
        estimated_rewards=estimated_rewards,
        positions=positions,
        param=param,
        label=label,
        num_threads=num_threads,
    )


# ---------------------------------------------------------------------- estimators
def replay(
    rewards: Any, actions: Any, target_probs: Any, *, positions: Any = None, num_threads: int = 0
) -> Estimate:
    r"""Replay method (Li, Chu, Langford, Wang 2011).

    .. math:: \hat V = \frac{\sum_i \pi(a_i|x_i,p_i)\, r_i}{\sum_i \pi(a_i|x_i,p_i)}

    For a deterministic target policy this is the mean reward over the rounds
    where the logged action is the one the target policy picks (Open Bandit
    Pipeline's ``ReplayMethod``). For a stochastic target policy each round is
    weighted by the probability that the target policy would have matched the
    logged action. Unbiased (consistent) only when the logging policy is
    uniform at random; propensities are not used.
    """
    return _run(
        "replay",
        target_probs,
        rewards=rewards,
        actions=actions,
        positions=positions,
        num_threads=num_threads,
    )


def ips(
    rewards: Any,
    actions: Any,
    propensities: Any,
    target_probs: Any,
    clip: float | None = None,
    *,
    positions: Any = None,
    num_threads: int = 0,
) -> Estimate:
    r"""Inverse propensity scoring (Horvitz-Thompson; Precup et al. 2000).

    .. math:: \hat V = \frac1n \sum_i \min(w_i, \lambda)\, r_i

    with the clipping threshold :math:`\lambda` = ``clip`` (None: no clipping).
    Unbiased without clipping when the propensities are correct and positive
    wherever the target policy is. Open Bandit Pipeline's
    ``InverseProbabilityWeighting(lambda_=clip)``.
    """
    return _logged(
        "ips", rewards, actions, propensities, target_probs, None, positions, num_threads, clip=clip
    )


def snips(
    rewards: Any,
    actions: Any,
    propensities: Any,
    target_probs: Any,
    *,
    positions: Any = None,
    num_threads: int = 0,
) -> Estimate:
    r"""Self-normalised IPS (Swaminathan and Joachims 2015).

    .. math:: \hat V = \frac{\sum_i w_i r_i}{\sum_i w_i}

    Slightly biased, much less variance than IPS; always within the range of
    the rewards. Open Bandit Pipeline's ``SelfNormalizedInverseProbabilityWeighting``.
    """
    return _logged(
        "snips", rewards, actions, propensities, target_probs, None, positions, num_threads
    )


def dm(
    target_probs: Any, estimated_rewards: Any, *, positions: Any = None, num_threads: int = 0
) -> Estimate:
    r"""Direct method (Beygelzimer and Langford 2009).

    .. math:: \hat V = \frac1n \sum_i \sum_a \pi(a|x_i,p_i)\, \hat q(x_i,a,p_i)

    Low variance, biased as much as the reward model is. Open Bandit
    Pipeline's ``DirectMethod``. Its ``stderr`` reflects only the spread over
    contexts, not the model's error.
    """
    return _run(
        "dm",
        target_probs,
        estimated_rewards=estimated_rewards,
        positions=positions,
        num_threads=num_threads,
    )


def dr(
    rewards: Any,
    actions: Any,
    propensities: Any,
    target_probs: Any,
    estimated_rewards: Any,
    clip: float | None = None,
    *,
    positions: Any = None,
    num_threads: int = 0,
) -> Estimate:
    r"""Doubly robust estimator (Dudik, Erhan, Langford, Li 2014).

    .. math::
        \hat V = \frac1n \sum_i \Big[\hat q(x_i,\pi) + \min(w_i,\lambda)\,
        \big(r_i - \hat q(x_i,a_i,p_i)\big)\Big]

    Unbiased (without clipping) when the propensities are correct, whatever the
    reward model, as long as the model was not fitted on the same rounds (use
    cross-fitting, :class:`RewardModel` ``n_folds >= 2``). Open Bandit
    Pipeline's ``DoublyRobust(lambda_=clip)``.
    """
    return _logged(
        "dr",
        rewards,
        actions,
        propensities,
        target_probs,
        estimated_rewards,
        positions,
        num_threads,
        clip=clip,
    )


def sndr(
    rewards: Any,
    actions: Any,
    propensities: Any,
    target_probs: Any,
    estimated_rewards: Any,
    *,
    positions: Any = None,
    num_threads: int = 0,
) -> Estimate:
    r"""Self-normalised doubly robust estimator.

    .. math::
        \hat V = \frac1n \sum_i \hat q(x_i,\pi)
        + \frac{\sum_i w_i (r_i - \hat q(x_i,a_i,p_i))}{\sum_i w_i}

    Open Bandit Pipeline's ``SelfNormalizedDoublyRobust``.
    """
    return _logged(
        "sndr",
        rewards,
        actions,
        propensities,
        target_probs,
        estimated_rewards,
        positions,
        num_threads,
    )


def switch_dr(
    rewards: Any,
    actions: Any,
    propensities: Any,
    target_probs: Any,
    estimated_rewards: Any,
    tau: float,
    *,
    positions: Any = None,
    num_threads: int = 0,
) -> Estimate:
    r"""Switch doubly robust estimator (Wang, Agarwal, Dudik 2017).

    .. math::
        \hat V = \frac1n \sum_i \Big[\hat q(x_i,\pi) + \mathbb 1\{w_i \le \tau\}\,
        w_i \big(r_i - \hat q(x_i,a_i,p_i)\big)\Big]

    Uses the DR correction where the weight is at most ``tau`` and the model
    alone elsewhere: ``tau = inf`` is DR, ``tau = 0`` is DM. Open Bandit
    Pipeline's ``SwitchDoublyRobust(lambda_=tau)``.
    """
    return _logged(
        "switch_dr",
        rewards,
        actions,
        propensities,
        target_probs,
        estimated_rewards,
        positions,
        num_threads,
        tau=tau,
    )


def dr_os(
    rewards: Any,
    actions: Any,
    propensities: Any,
    target_probs: Any,
    estimated_rewards: Any,
    lambda_: float,
    *,
    positions: Any = None,
    num_threads: int = 0,
) -> Estimate:
    r"""Doubly robust with optimistic shrinkage (Su, Dimakopoulou, Krishnamurthy, Dudik 2020).

    .. math::
        \hat V = \frac1n \sum_i \Big[\hat q(x_i,\pi) + \frac{\lambda w_i}{w_i^2 + \lambda}
        \big(r_i - \hat q(x_i,a_i,p_i)\big)\Big]

    The shrunk weight :math:`\lambda w / (w^2 + \lambda)` is at most
    :math:`\sqrt\lambda / 2`: ``lambda_ = 0`` is DM, ``lambda_ = inf`` is DR.
    Open Bandit Pipeline's ``DoublyRobustWithShrinkage(lambda_=lambda_)``.
    """
    return _logged(
        "dr_os",
        rewards,
        actions,
        propensities,
        target_probs,
        estimated_rewards,
        positions,
        num_threads,
        lambda_=lambda_,
    )
