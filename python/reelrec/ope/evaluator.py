"""Several off-policy estimators of one log, side by side."""

from __future__ import annotations

import numbers
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from .._pandas import require_pandas
from .._validation import _describe, check_num_threads
from ._log import BanditLog
from .estimators import (
    MODEL_ESTIMATORS,
    BootstrapInterval,
    Estimate,
    _check_policy_array,
    _check_positions,
    _param_and_label,
    _run,
    bootstrap_estimates,
    check_estimated_rewards,
    check_target_probs,
)
from .reward_model import RewardModel

__all__ = ["OffPolicyEvaluator", "EvaluationTable"]

_DEFAULT_ESTIMATORS = ("replay", "ips", "snips", "dm", "dr", "sndr")
_PARAMS = {
    "replay": set(),
    "ips": {"clip"},
    "snips": set(),
    "dm": set(),
    "dr": {"clip"},
    "sndr": set(),
    "switch_dr": {"tau"},
    "dr_os": {"lambda_"},
}
_REQUIRED = {"switch_dr": {"tau"}, "dr_os": {"lambda_"}}
# what a RewardModel's predictions depend on; num_threads is left out, as the
# results do not depend on it
_MODEL_PARAMS = ("kind", "l2", "n_folds", "max_iter", "tol", "random_state")


def _same(a: Any, b: Any) -> bool:
    """Whether two cache-key entries match: objects by identity, plain values by value."""
    if a is b:
        return True
    return type(a) is type(b) and isinstance(a, (str, bytes, numbers.Number)) and bool(a == b)


def _parse_spec(spec: Any) -> tuple[str, dict[str, Any]]:
    if isinstance(spec, str):
        name, params = spec, {}
    elif (
        isinstance(spec, (tuple, list))
        and len(spec) == 2
        and isinstance(spec[0], str)
        and isinstance(spec[1], Mapping)
    ):
        name, params = spec[0], dict(spec[1])
    else:
        raise TypeError(
            f"estimators: expected names or (name, params) pairs such as ('switch_dr', {{'tau': 10}}), got {_describe(spec)}"
        )
    if name not in _PARAMS:
        raise ValueError(
            f"estimators: unknown estimator {name!r}; expected one of {sorted(_PARAMS)}"
        )
    unknown = set(params) - _PARAMS[name]
    if unknown:
        raise ValueError(
            f"estimators: {name} takes parameters {sorted(_PARAMS[name])}, got {sorted(unknown)}"
        )
    missing = _REQUIRED.get(name, set()) - set(params)
    if missing:
        raise ValueError(f"estimators: {name} needs the parameter(s) {sorted(missing)}")
    return name, params


class EvaluationTable(Mapping):
    """Results of :meth:`OffPolicyEvaluator.evaluate`: estimator label -> :class:`Estimate`.

    ``str(table)`` is a text table; :meth:`to_frame` a pandas DataFrame;
    :meth:`rows` plain dicts. Bootstrap intervals (when requested) are in
    :attr:`bootstrap`, keyed like the estimates.
    """

    def __init__(
        self,
        estimates: dict[str, Estimate],
        bootstrap: dict[str, BootstrapInterval] | None,
        on_policy_value: float,
    ) -> None:
        self._estimates = estimates
        self.bootstrap = bootstrap or {}
        self.on_policy_value = on_policy_value

    def __getitem__(self, key: str) -> Estimate:
        return self._estimates[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._estimates)

    def __len__(self) -> int:
        return len(self._estimates)

    def rows(self) -> list[dict[str, Any]]:
        """One dict per estimator: value, stderr, CLT interval, bootstrap interval,
        ``relative`` (value / the log's mean reward, as Open Bandit Pipeline's
        relative policy value), ``ess``, ``max_weight``, ``n``."""
        out = []
        for label, e in self._estimates.items():
            row = {
                "estimator": label,
                "value": e.value,
                "stderr": e.stderr,
                "ci_lower": e.ci[0],
                "ci_upper": e.ci[1],
            }
            if self.bootstrap:
                b = self.bootstrap[label]
                row["boot_lower"], row["boot_upper"] = b.lower, b.upper
            row["relative"] = (
                e.value / self.on_policy_value if self.on_policy_value != 0 else float("nan")
            )
            row["ess"] = e.ess
            row["max_weight"] = e.max_weight
            row["n"] = e.n
            out.append(row)
        return out

    def to_frame(self) -> Any:
        """The table as a pandas DataFrame indexed by estimator (needs pandas)."""
        pd = require_pandas("EvaluationTable.to_frame")
        return pd.DataFrame(self.rows()).set_index("estimator")

    def __str__(self) -> str:
        rows = self.rows()
        cols = [c for c in rows[0] if c != "estimator"]
        width = max(len("estimator"), *(len(r["estimator"]) for r in rows))

        def cell(v: Any) -> str:
            if v is None:
                return "-"
            if isinstance(v, (int, np.integer)):
                return str(v)
            return f"{v:.6g}"

        lines = ["estimator".ljust(width) + "".join(c.rjust(13) for c in cols)]
        for r in rows:
            lines.append(r["estimator"].ljust(width) + "".join(cell(r[c]).rjust(13) for c in cols))
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"EvaluationTable({', '.join(f'{k}={v.value:.6g}' for k, v in self._estimates.items())})"


class OffPolicyEvaluator:
    """Evaluate target policies on one log with several estimators.

    Parameters
    ----------
    log : BanditLog
        The logged feedback.
    estimators : sequence, default ("replay", "ips", "snips", "dm", "dr", "sndr")
        Estimator names (``"replay"``, ``"ips"``, ``"snips"``, ``"dm"``,
        ``"dr"``, ``"sndr"``, ``"switch_dr"``, ``"dr_os"``) or ``(name,
        params)`` pairs, e.g. ``("ips", {"clip": 20})``, ``("switch_dr", {"tau":
        10})``, ``("dr_os", {"lambda_": 100})``. Labels in the table are the
        estimators' names, e.g. ``"switch_dr(tau=10)"``.
    reward_model : RewardModel, optional
        Used by the model-based estimators when :meth:`evaluate` gets no
        ``estimated_rewards``; its cross-fitted predictions are computed once
        and cached in ``estimated_rewards_``. The cache is keyed on what the
        predictions came from -- the log object and its arrays, the model
        object and its parameters (the evaluator's ``random_state`` for the
        default model) -- so assigning a new ``log`` or ``reward_model``, or
        changing a model parameter, refits on the next :meth:`evaluate`.
        Changing the values inside the log's arrays in place is not detected.
        Default: ``RewardModel(kind="logistic" if the rewards are in [0, 1]
        else "ridge", n_folds=min(3, n_rounds), random_state=random_state)``.
    random_state : None, int or numpy Generator
        Seeds the default reward model's folds and the bootstrap.
    num_threads : int, default 0
        0 = all cores.
    """

    def __init__(
        self,
        log: BanditLog,
        estimators: Sequence[Any] = _DEFAULT_ESTIMATORS,
        *,
        reward_model: RewardModel | None = None,
        random_state: Any = None,
        num_threads: int = 0,
    ) -> None:
        self.log = log
        self.estimators = estimators
        self.reward_model = reward_model
        self.random_state = random_state
        self.num_threads = num_threads

    def _estimated_rewards(self, log: BanditLog) -> np.ndarray:
        model = self.reward_model
        if model is not None and not isinstance(model, RewardModel):
            raise TypeError(
                f"reward_model: expected a reelrec.ope.RewardModel, got {_describe(model)}"
            )
        key = (
            log,
            log.contexts,
            log.rewards,
            log.actions,
            log.positions,
            log.n_actions,
            model,
            *(
                ("default", self.random_state)
                if model is None
                else tuple(getattr(model, name, None) for name in _MODEL_PARAMS)
            ),
        )
        cached = getattr(self, "_estimated_rewards_key", None)
        fresh = (
            hasattr(self, "estimated_rewards_")
            and cached is not None
            and len(cached) == len(key)
            and all(_same(a, b) for a, b in zip(cached, key))
        )
        if not fresh:
            if model is None:
                binary = float(log.rewards.min()) >= 0 and float(log.rewards.max()) <= 1
                model = RewardModel(
                    kind="logistic" if binary else "ridge",
                    # a log shorter than the default 3 folds still gets
                    # cross-fitted predictions (in-sample for one round)
                    n_folds=max(1, min(3, log.n_rounds)),
                    random_state=self.random_state,
                    num_threads=self.num_threads,
                )
            self.estimated_rewards_ = model.fit_predict(log)
            self._estimated_rewards_key = key
        # validated on every call, not only after fitting: a RewardModel subclass
        # may return anything, and estimated_rewards_ is a public, writable attribute
        return _check_policy_array(
            self.estimated_rewards_,
            "reward_model predictions (estimated_rewards_)",
            log.n_rounds,
            log.n_actions,
        )

    def evaluate(
        self,
        target_probs: Any,
        estimated_rewards: Any = None,
        *,
        n_boot: int = 0,
        alpha: float = 0.05,
        random_state: Any = None,
        bootstrap_method: str = "auto",
    ) -> EvaluationTable:
        """Estimate the value of the policy ``target_probs`` with every estimator.

        Parameters
        ----------
        target_probs : array of shape (n_rounds, n_actions[, n_positions])
            The target policy's action probabilities for each logged round.
        estimated_rewards : array of shape (n_rounds, n_actions[, n_positions]), optional
            Reward-model predictions for the model-based estimators; default
            the evaluator's (cached) :class:`RewardModel` cross-fitted predictions.
        n_boot : int, default 0
            When positive, adds percentile bootstrap intervals from ``n_boot``
            resamples shared by all estimators; 0: none.
        alpha : float, default 0.05
            1 - confidence level of the bootstrap intervals.
        random_state : None, int or numpy Generator
            Bootstrap seed; default the evaluator's ``random_state``.
        bootstrap_method : {"auto", "hybrid", "indices", "counts"}
            See :meth:`Estimate.bootstrap`.

        Raises
        ------
        ValueError
            Arrays that do not match the log (rounds, actions, or position
            slices when the log has no positions), bad estimator specs, reward
            model predictions that are NaN or infinite.
        TypeError
            A wrong type of argument, ``n_boot`` not an integer included.
        """
        log = self.log
        if not isinstance(log, BanditLog):
            raise TypeError(f"log: expected a reelrec.ope.BanditLog, got {_describe(log)}")
        num_threads = check_num_threads(self.num_threads)
        if isinstance(n_boot, (bool, np.bool_)) or not isinstance(
            n_boot, (numbers.Integral, np.integer)
        ):
            raise TypeError(
                f"n_boot: expected an integer >= 0 (0 = no bootstrap), got {_describe(n_boot)}"
            )
        if n_boot < 0:
            raise ValueError(f"n_boot: expected an integer >= 0 (0 = no bootstrap), got {n_boot}")
        if isinstance(self.estimators, str):
            raise TypeError(
                "estimators: expected a sequence of estimator names, got a single string"
            )
        specs = [_parse_spec(s) for s in self.estimators]
        if not specs:
            raise ValueError("estimators: expected at least one estimator")
        q = None
        if any(name in MODEL_ESTIMATORS for name, _ in specs):
            if estimated_rewards is None:
                q = self._estimated_rewards(log)
            else:
                q = check_estimated_rewards(estimated_rewards, log.n_rounds, log.n_actions)
        pi = check_target_probs(target_probs, log.n_rounds, log.n_actions)
        if log.positions is None:
            for name, arr in (("target_probs", pi), ("estimated_rewards", q)):
                if arr is not None and arr.ndim == 3 and arr.shape[2] > 1:
                    raise ValueError(
                        f"{name}: has {arr.shape[2]} position slices (axis 2) but the log has "
                        "no positions to pick one per round; build the BanditLog with "
                        "positions=... or pass a 2-d (n_rounds, n_actions) array"
                    )
        positions = _check_positions(
            log.positions, log.n_rounds, [("target_probs", pi), ("estimated_rewards", q)]
        )
        logged = {
            "rewards": log.rewards,
            "actions": log.actions,
            "propensities": log.propensities,
            "positions": positions,
            "num_threads": num_threads,
            "prevalidated": True,
        }
        estimates: dict[str, Estimate] = {}
        dm_estimate = dm_terms = None
        if q is not None:  # the per-round DM values, shared by every model-based estimator
            dm_estimate = _run(
                "dm",
                pi,
                estimated_rewards=q,
                positions=positions,
                num_threads=num_threads,
                prevalidated=True,
            )
            dm_terms = dm_estimate._plain
        for name, params in specs:
            if name == "replay":
                e = _run("replay", pi, **{**logged, "propensities": None})
            elif name == "dm":
                e = dm_estimate
            else:
                param, label = _param_and_label(name, params)
                e = _run(
                    name,
                    pi,
                    estimated_rewards=q,
                    param=param,
                    label=label,
                    dm_terms=dm_terms,
                    **logged,
                )
            if e.name in estimates:
                raise ValueError(f"estimators: {e.name!r} is listed twice")
            estimates[e.name] = e
        boot = None
        if n_boot:
            seed = self.random_state if random_state is None else random_state
            intervals = bootstrap_estimates(
                list(estimates.values()),
                n_boot=n_boot,
                alpha=alpha,
                random_state=seed,
                num_threads=num_threads,
                method=bootstrap_method,
            )
            boot = dict(zip(estimates, intervals))
        return EvaluationTable(estimates, boot, float(log.rewards.mean()))
