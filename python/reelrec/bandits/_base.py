"""The interface shared by every bandit policy.

A policy serves batches of requests with :meth:`BanditPolicy.select` and
learns from logged feedback with :meth:`BanditPolicy.update`. Every decision
comes with the probability the policy gave to it (its propensity), so that logs
can be used for off-policy evaluation without re-deriving the policy.

Arms are identified by integer ids. An id is the arm's slot in the policy's
per-arm arrays: ids never change while an arm lives; :meth:`remove_arm` frees
the slot and a later :meth:`add_arm` may reuse it (oldest freed slot first).
Masks of available arms therefore have one column per slot (``n_slots_``).
Feedback for a removed arm raises ``ValueError`` until its slot is reused; once
reused, the id names the new arm, so deliver late feedback before removing an
arm (the FIFO reuse keeps freed ids idle as long as possible).

Randomness: request ``i`` of the policy's life (counted over all ``select``
calls) draws from its own counter-based stream, keyed by the policy's seed and
``i``. Decisions do not depend on the number of threads nor on how requests are
split into batches (as long as no update happens in between). Thompson
sampling's Monte Carlo propensities use one pool of draws per ``select`` call.

Persistence is a versioned ``.npz`` (arrays) with a JSON header (class name,
parameters, format version); no pickled code is ever loaded. The random
counters are saved too, so a loaded policy continues exactly as the saved one
would have.
"""

from __future__ import annotations

import functools
import numbers
import os
from abc import ABC, abstractmethod
from typing import Any, ClassVar

import numpy as np

from .._params import ParamsMixin
from .._persist import read_npz, to_plain, write_npz
from .._validation import (
    MAX_ABS,
    MAX_INT,
    _describe,
    check_int64,
    check_k,
    check_magnitude,
    check_num_threads,
    seed_from,
)

__all__ = ["BanditPolicy", "FORMAT_VERSION"]

FORMAT_VERSION = 1
_FORMAT = "reelrec-bandit"


@functools.lru_cache(maxsize=64)
def _int_seed(value: int) -> int:
    return seed_from(value)


def _seed(random_state: Any) -> int:
    """``seed_from(random_state)``, memoised for plain non-negative int seeds.

    The seed of an int is a pure function of it, and deriving it (a NumPy
    ``SeedSequence``) costs more than a small fit's validation; ``fit`` needs
    it up to three times. Anything else (None, generators, errors) goes
    through ``seed_from`` every time.
    """
    if type(random_state) is int and random_state >= 0:
        return _int_seed(random_state)
    return seed_from(random_state)


def _check_int(value: Any, name: str, *, minimum: int, maximum: int | None = None) -> int:
    want = f">= {minimum}" if maximum is None else f"in [{minimum}, {maximum}]"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Integral, np.integer)):
        raise TypeError(f"{name}: expected an integer {want}, got {_describe(value)}")
    if value < minimum or value > (MAX_INT if maximum is None else maximum):
        if maximum is None and value > MAX_INT:
            want += " below 2**62"
        raise ValueError(f"{name}: expected an integer {want}, got {value}")
    return int(value)


#: Most Monte Carlo draws per arm for Thompson propensities: the pool holds
#: n_slots * n_mc draws (12 bytes each), and 1e5 draws already pin a
#: propensity to +-0.003.
MAX_MC = 100_000


def _check_n_mc(value: Any, *, exact: bool = True) -> int:
    """``n_mc`` as the native code takes it: 0 for ``"exact"``."""
    if isinstance(value, str):
        if value == "exact" and exact:
            return 0
        want = (
            f"an integer in [1, {MAX_MC}] or 'exact'" if exact else f"an integer in [1, {MAX_MC}]"
        )
        hint = (
            " (exact propensities need Gaussian posteriors: likelihood='gaussian')"
            if not exact
            else ""
        )
        raise ValueError(f"n_mc: expected {want}, got {value!r}{hint}")
    return _check_int(value, "n_mc", minimum=1, maximum=MAX_MC)


def _check_real(
    value: Any,
    name: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(
        value, (numbers.Real, np.floating, np.integer)
    ):
        raise TypeError(f"{name}: expected a real number, got {_describe(value)}")
    v = float(value)
    lo = "(" if low_open else "["
    hi = ")" if high_open else "]"
    rng = f"{lo}{'-inf' if low is None else low}, {'inf' if high is None else high}{hi}"
    ok = np.isfinite(v)
    if low is not None:
        ok = ok and (v > low if low_open else v >= low)
    if high is not None:
        ok = ok and (v < high if high_open else v <= high)
    if not ok:
        raise ValueError(f"{name}: expected a finite value in {rng}, got {value}")
    return v


def _float_array(a: Any, name: str, ndim: int, limit: float = MAX_ABS) -> np.ndarray:
    if a is None:
        raise TypeError(f"{name}: expected a {ndim}-d array of numbers, got None")
    arr = np.asarray(a)
    if arr.dtype == np.bool_ or not (
        np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)
    ):
        if not (arr.size == 0 and arr.dtype == object):
            raise TypeError(f"{name}: expected real numbers, got {_describe(a)}")
    if arr.ndim != ndim:
        hint = " (use x.reshape(1, -1) for a single request)" if ndim == 2 and arr.ndim == 1 else ""
        raise ValueError(f"{name}: expected a {ndim}-d array, got shape {arr.shape}{hint}")
    arr = np.ascontiguousarray(arr, dtype=np.float64)
    check_magnitude(arr, name, limit)
    return arr


def _id_array(a: Any, name: str) -> np.ndarray:
    arr = np.asarray(a)
    if arr.dtype == np.bool_ or not (
        np.issubdtype(arr.dtype, np.integer) or (arr.size == 0 and arr.ndim == 1)
    ):
        raise TypeError(f"{name}: expected integer arm ids, got {_describe(a)}")
    if arr.ndim != 1:
        raise ValueError(f"{name}: expected a 1-d array of arm ids, got shape {arr.shape}")
    if arr.dtype.kind == "u" and arr.size:
        check_int64(int(arr.max()), name, "arm id", "out of range")
    return np.ascontiguousarray(arr, dtype=np.int64)


class BanditPolicy(ParamsMixin, ABC):
    """Abstract base of every bandit policy.

    Subclasses create their native state in :meth:`_make_native` and map the
    constructor's parameters onto the native calls. Parameters are stored as
    given and validated at first use (``select``, ``update``, ``fit``,
    ``add_arm``); hyperparameters of the decision rule (exploration strength,
    ``n_mc``, ``new_arm_share``, ``num_threads``) are read at every call, so
    :meth:`set_params` applies at once; structural ones (``n_arms``, feature
    sizes, ``l2``, priors) apply at the next :meth:`fit`.
    """

    _registry: ClassVar[dict[str, type[BanditPolicy]]] = {}
    #: whether select/update need contexts
    _contextual: ClassVar[bool] = False
    #: whether arms carry feature vectors (add_arm(features=...), set_arm_features)
    _uses_features: ClassVar[bool] = False
    #: whether rewards must lie in [0, 1]
    _unit_rewards: ClassVar[bool] = False
    #: parameters fixed when the native state is built; a change rebuilds it at the next fit
    _structural: ClassVar[tuple[str, ...]] = ("n_arms",)

    def _validate_common(self) -> None:
        _check_int(self.n_arms, "n_arms", minimum=0)
        check_num_threads(self.num_threads)
        _check_real(self.new_arm_share, "new_arm_share", low=0.0, high=1.0)
        _check_int(self.new_arm_pulls, "new_arm_pulls", minimum=1)
        if self.random_state is not None and not isinstance(self.random_state, np.random.Generator):
            _seed(self.random_state)

    def _store_params(self, values: dict[str, Any]) -> None:
        """Store the constructor's arguments as given: ``self._store_params(locals())``."""
        for name in self._param_names():
            setattr(self, name, values[name])

    @abstractmethod
    def _validate_params(self) -> None:
        """Check constructor parameters (called before the native state is built)."""

    @abstractmethod
    def _make_native(self, seed: int) -> Any:
        """A fresh native state with ``n_arms`` arms."""

    # ------------------------------------------------------------- native state
    @property
    def _state(self) -> Any:
        native = getattr(self, "_native", None)
        if native is None:
            self._validate_common()
            self._validate_params()
            native = self._make_native(_seed(self.random_state))
            self._native = native
            self._built_with = self._structure()
        return native

    def _structure(self) -> list[Any]:
        return [to_plain(getattr(self, name, None)) for name in self._structural]

    def _param(self, name: str) -> Any:
        """A parameter as the live state sees it.

        A structural parameter changed by :meth:`set_params` applies at the
        next :meth:`fit`; until then the state keeps the sizes it was built
        with, and inputs must be checked against those, not the new value.
        """
        if name in self._structural and getattr(self, "_native", None) is not None:
            return self._built_with[self._structural.index(name)]
        return getattr(self, name)

    def _pending_structure(self) -> list[str]:
        """Structural parameters changed since the state was built."""
        if getattr(self, "_native", None) is None:
            return []
        now = self._structure()
        return [n for n, a, b in zip(self._structural, now, self._built_with) if a != b]

    def _exploration(self) -> dict[str, Any]:
        """Per-call hyperparameters shared by every policy."""
        return {
            "new_arm_share": _check_real(self.new_arm_share, "new_arm_share", low=0.0, high=1.0),
            "new_arm_pulls": _check_int(self.new_arm_pulls, "new_arm_pulls", minimum=1),
            "num_threads": check_num_threads(self.num_threads),
        }

    # ------------------------------------------------------------------ select
    def select(
        self, contexts: Any = None, k: int = 1, available: Any = None, n_requests: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Choose ``k`` arms for each request, with their propensities.

        Parameters
        ----------
        contexts : array of shape (n_requests, n_features), optional
            Request features; required by contextual policies (finite, within
            +-1e30). Non-contextual policies ignore the values and only count
            the rows.
        k : int
            Slate size: arms per request, all distinct.
        available : bool array of shape (n_slots_,) or (n_requests, n_slots_), optional
            Arms that may be chosen (for all requests, or per request). Removed
            arms are never chosen whatever the mask says.
        n_requests : int, optional
            Number of requests for non-contextual policies when neither
            ``contexts`` nor a 2-d ``available`` gives it (default 1).

        Returns
        -------
        actions : ndarray of int64, shape (n_requests, k)
            Arm ids; slot ``j`` holds ``-1`` when fewer than ``j + 1`` arms are
            available for that request.
        propensities : ndarray of float64, shape (n_requests, k)
            For slot ``j``, the probability that the policy puts this arm in
            slot ``j`` given the arms in slots ``< j``, in (0, 1]; NaN for
            padding. Exact for epsilon-greedy, softmax, UCB-type policies (1 for
            a unique argmax, shared equally among ties). For Thompson sampling a
            Monte Carlo estimate ``(1 + wins) / (1 + n_mc)`` over ``n_mc``
            seeded posterior draws plus the decision's own draw.
        """
        native = self._state
        k = check_k(k)
        if self._contextual:
            X = self._check_contexts(contexts, None)
            n = X.shape[0]
            if n_requests is not None and _check_int(n_requests, "n_requests", minimum=0) != n:
                raise ValueError(
                    f"n_requests: inconsistent numbers of requests (contexts={n}, n_requests={n_requests})"
                )
        else:
            X = None
            n = self._count_requests(contexts, available, n_requests)
        mask, per_request = self._check_available(available, n, native.n_slots)
        return self._select(native, X, n, k, mask, per_request)

    @abstractmethod
    def _select(
        self,
        native: Any,
        X: np.ndarray | None,
        n: int,
        k: int,
        mask: np.ndarray | None,
        per_request: bool,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Call the native select with validated inputs."""

    def _count_requests(self, contexts: Any, available: Any, n_requests: Any) -> int:
        counts = []
        if contexts is not None:
            arr = np.asarray(contexts)
            if arr.ndim != 2:
                raise ValueError(
                    f"contexts: expected a 2-d array (one row per request), got shape {arr.shape}"
                )
            counts.append(("contexts", arr.shape[0]))
        if available is not None and np.ndim(available) == 2:
            counts.append(("available", np.shape(available)[0]))
        if n_requests is not None:
            counts.append(("n_requests", _check_int(n_requests, "n_requests", minimum=0)))
        if not counts:
            return 1
        values = {c for _, c in counts}
        if len(values) > 1:
            desc = ", ".join(f"{name}={c}" for name, c in counts)
            raise ValueError(f"n_requests: inconsistent numbers of requests ({desc})")
        return counts[0][1]

    def _check_contexts(self, contexts: Any, n_rows: int | None) -> np.ndarray:
        if contexts is None:
            raise ValueError(
                f"contexts: {type(self).__name__} is contextual and needs a contexts array"
            )
        X = _float_array(contexts, "contexts", 2)
        d = self._n_context
        if X.shape[1] != d:
            raise ValueError(f"contexts: expected {d} columns (one per feature), got {X.shape[1]}")
        if n_rows is not None and X.shape[0] != n_rows:
            raise ValueError(f"contexts: expected one row per action ({n_rows}), got {X.shape[0]}")
        return X

    @staticmethod
    def _check_available(available: Any, n: int, n_slots: int) -> tuple[np.ndarray | None, bool]:
        if available is None:
            return None, False
        arr = np.asarray(available)
        if arr.dtype != np.bool_:
            raise TypeError(f"available: expected a boolean mask, got {_describe(available)}")
        if arr.ndim == 1:
            if arr.shape != (n_slots,):
                raise ValueError(
                    f"available: a 1-d mask needs shape ({n_slots},) (n_slots_), got {arr.shape}"
                )
            return np.ascontiguousarray(arr, dtype=np.uint8), False
        if arr.ndim == 2:
            if arr.shape != (n, n_slots):
                raise ValueError(
                    f"available: a 2-d mask needs shape ({n}, {n_slots}) (n_requests, n_slots_), got {arr.shape}"
                )
            return np.ascontiguousarray(arr, dtype=np.uint8).ravel(), True
        raise ValueError(f"available: expected a 1-d or 2-d boolean mask, got shape {arr.shape}")

    # ------------------------------------------------------------------ update
    def _check_feedback(
        self, actions: Any, rewards: Any, contexts: Any, names: tuple[str, str]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        a_name, r_name = names
        arms = _id_array(actions, a_name)
        r = _float_array(rewards, r_name, 1)
        if arms.size != r.size:
            raise ValueError(f"{a_name} and {r_name} differ in length: {arms.size} vs {r.size}")
        if self._unit_rewards and r.size and (r.min() < 0 or r.max() > 1):
            raise ValueError(
                f"{r_name}: {type(self).__name__} expects rewards in [0, 1], got range "
                f"[{r.min():g}, {r.max():g}]"
            )
        if self._contextual:
            X = self._check_contexts(contexts, arms.size)
        else:
            X = None
            if contexts is not None:
                c = np.asarray(contexts)
                if c.ndim != 2 or c.shape[0] != arms.size:
                    raise ValueError(
                        f"contexts: expected a 2-d array with one row per action ({arms.size}), got shape {c.shape}"
                    )
        return arms, r, X

    def update(self, actions: Any, rewards: Any, contexts: Any = None) -> BanditPolicy:
        """Learn from a batch of logged feedback, applied in log order.

        Parameters
        ----------
        actions : array of int, shape (n,)
            Arm ids that were shown (flatten slates: one row per shown arm).
        rewards : array of float, shape (n,)
            Observed rewards, finite and within +-1e30 (in [0, 1] for Bernoulli
            and logistic policies).
        contexts : array of shape (n, n_features), optional
            The request features each action was chosen for (contextual
            policies; finite, within +-1e30).

        Returns
        -------
        self

        Notes
        -----
        Updates are applied one by one in the order given. For counting and
        ridge policies the result does not depend on that order (up to
        floating-point rounding); for :class:`LogisticTS` (Laplace steps) and
        the shared part of :class:`HybridLinUCB` it does, so pass logs in the
        order events happened. All ids are checked before anything changes.

        Raises
        ------
        ValueError
            Bad inputs (nothing changes), or a ridge update that rounding has
            made numerically singular (collinear, badly scaled contexts with a
            small ``l2``): part of the batch may have been applied, and the
            state stays finite.
        """
        native = self._state
        arms, r, X = self._check_feedback(actions, rewards, contexts, ("actions", "rewards"))
        self._update(native, arms, r, X)
        return self

    @abstractmethod
    def _update(
        self, native: Any, arms: np.ndarray, rewards: np.ndarray, X: np.ndarray | None
    ) -> None:
        """Call the native update with validated inputs."""

    def fit(self, decisions: Any, rewards: Any, contexts: Any = None) -> BanditPolicy:
        """Start over and learn from a historical log.

        Equivalent to resetting every arm's statistics to its prior and the
        random counters to their start (the seed is derived from
        ``random_state`` again), then calling :meth:`update` with the log.
        The current arms, their features and priors are kept, unless a
        structural parameter (``n_arms``, feature sizes, ``l2``, the default
        prior, ``likelihood``, ``precision``) changed since the state was built:
        then the policy starts from ``n_arms`` fresh arms. Ridge policies
        (LinUCB, LinTS) solve the normal equations once per arm instead of
        applying rank-1 updates: the same posterior up to rounding.

        Returns
        -------
        self
        """
        if self._pending_structure():
            self._native = None
        native = self._state
        arms, r, X = self._check_feedback(decisions, rewards, contexts, ("decisions", "rewards"))
        self._fit(native, arms, r, X, _seed(self.random_state))
        return self

    @abstractmethod
    def _fit(
        self, native: Any, arms: np.ndarray, rewards: np.ndarray, X: np.ndarray | None, seed: int
    ) -> None:
        """Reset and learn with validated inputs."""

    # ------------------------------------------------------------------- arms
    def add_arm(self, features: Any = None, prior: Any = None) -> int:
        """Add an arm; returns its id.

        Parameters
        ----------
        features : array of shape (n_arm_features,), optional
            The arm's features (policies that use arm features only).
        prior : optional
            The arm's prior, in the form the policy documents; default the
            policy's default prior (or, for LinUCB/LinTS/LogisticTS with
            ``n_prior_neighbors > 0`` and features, one learned from the arms
            with the most similar features).

        Returns
        -------
        int
            The new arm's id (a freed slot is reused, oldest first).
        """
        native = self._state
        if features is not None and not self._uses_features:
            raise ValueError(f"features: {type(self).__name__} does not use arm features")
        return int(self._add_arm(native, features, prior))

    @abstractmethod
    def _add_arm(self, native: Any, features: Any, prior: Any) -> int:
        """Validate the prior/features and add the arm natively."""

    def remove_arm(self, arm_id: Any) -> None:
        """Remove a live arm: it is never chosen again and its slot may be reused.

        Raises
        ------
        IndexError
            ``arm_id`` is outside ``[0, n_slots_)``.
        ValueError
            The arm was already removed.
        """
        native = self._state
        native.remove_arm(_check_int(arm_id, "arm_id", minimum=0))

    # -------------------------------------------------------------- attributes
    @property
    def n_slots_(self) -> int:
        """Size of the arm id space: ids lie in ``[0, n_slots_)``; masks have this width."""
        return int(self._state.n_slots)

    @property
    def n_arms_(self) -> int:
        """Number of live arms."""
        return int(self._state.n_active)

    @property
    def arm_ids_(self) -> np.ndarray:
        """Ids of the live arms, ascending."""
        return np.flatnonzero(self._state.active()).astype(np.int64)

    @property
    def active_(self) -> np.ndarray:
        """Boolean flag per slot: whether the arm with that id is live."""
        return self._state.active()

    @property
    def pulls_(self) -> np.ndarray:
        """Observed rewards per slot (0 for removed arms)."""
        return self._state.pulls()

    @property
    def n_updates_(self) -> int:
        """Rewards observed since the policy was created or last fitted."""
        return int(self._state.n_updates)

    def _native_state(self) -> dict[str, np.ndarray]:
        return dict(self._state.get_state())

    # ------------------------------------------------------------- save/load
    def save(self, path: str | os.PathLike) -> None:
        """Write the policy to ``path`` (a versioned ``.npz`` with a JSON header; no pickle).

        Raises
        ------
        ValueError
            A structural parameter was changed by :meth:`set_params` since the
            state was built: it applies at the next :meth:`fit`, and the file
            would pair the new value with the old state.
        """
        native = self._state
        pending = self._pending_structure()
        if pending:
            was = dict(zip(self._structural, self._built_with))
            desc = ", ".join(f"{n} ({was[n]!r} -> {getattr(self, n)!r})" for n in pending)
            raise ValueError(
                f"save: {desc} changed since the state was built and applies at the next "
                "fit(); call fit() first or set it back"
            )
        write_npz(
            path,
            fmt=_FORMAT,
            version=FORMAT_VERSION,
            obj=self,
            params=self.get_params(),
            arrays={f"state.{k}": v for k, v in native.get_state().items()},
        )

    @classmethod
    def load(cls, path: str | os.PathLike) -> BanditPolicy:
        """Read a policy written by :meth:`save`; ``BanditPolicy.load`` works for any class."""
        with read_npz(
            path,
            fmt=_FORMAT,
            version=FORMAT_VERSION,
            registry=BanditPolicy._registry,
            base=cls,
            file_kind="bandit",
            class_kind="policy",
        ) as (klass, meta, data):
            params = meta["params"]
            for key, value in params.items():
                if isinstance(value, list):
                    params[key] = tuple(value)
            policy = klass(**params)
            state = {k[len("state.") :]: data[k] for k in data.files if k.startswith("state.")}
        _check_finite_state(state, os.fspath(path))
        native = policy._state
        native.set_state(state)
        return policy

    # ----------------------------------------------------------------- pickle
    def __getstate__(self) -> dict[str, Any]:
        """Parameters and the native state's arrays (the same content as :meth:`save`)."""
        state = {k: v for k, v in self.__dict__.items() if k != "_native"}
        native = getattr(self, "_native", None)
        if native is not None:
            state["_native_arrays"] = dict(native.get_state())
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state = dict(state)
        arrays = state.pop("_native_arrays", None)
        self.__dict__.update(state)
        self._native = None
        if arrays is None:
            return
        # Rebuild with the structure the arrays were made with; parameters set
        # since (applied at the next fit) are put back afterwards.
        pending = {name: getattr(self, name) for name in self._structural if hasattr(self, name)}
        for name, value in zip(self._structural, self._built_with):
            if name in pending:
                setattr(self, name, tuple(value) if isinstance(value, list) else value)
        try:
            self._state.set_state(arrays)
        finally:
            for name, value in pending.items():
                setattr(self, name, value)

    @property
    def _n_context(self) -> int:
        return int(self._param("n_features"))


def _check_finite_state(state: dict[str, np.ndarray], path: str) -> None:
    # A live state never holds NaN or infinities (updates refuse to create
    # them), so a file that does is corrupted and would poison every score.
    for key, value in state.items():
        if value.dtype.kind == "f" and not np.isfinite(value).all():
            raise ValueError(
                f"path: {path!r} holds NaN or infinite values in state array {key!r} "
                "(a corrupted file)"
            )


class _FeaturedArms:
    """Arm features and prior means shared by the linear and hybrid policies.

    Subclasses provide ``_check_features(features, native, name, ndim)`` and
    ``_set_features(native, ids, F)``.
    """

    def _prior_mean(self, prior: Any) -> np.ndarray | None:
        """``prior`` as a mean of the request-feature length, or None."""
        if prior is None:
            return None
        p = _float_array(prior, "prior", 1)
        d = self._n_context
        if p.size != d:
            raise ValueError(f"prior: expected a prior mean of {d} values, got {p.size}")
        return p

    def set_arm_features(self, features: Any, arm_ids: Any = None) -> BanditPolicy:
        """Attach feature vectors to live arms.

        Parameters
        ----------
        features : array of shape (n, n_arm_features)
        arm_ids : array of int, shape (n,), optional
            Default: the live arms in ascending id order.

        Returns
        -------
        self
        """
        native = self._state
        F = self._check_features(features, native, "features", 2)
        ids = self.arm_ids_ if arm_ids is None else _id_array(arm_ids, "arm_ids")
        if ids.size != F.shape[0]:
            raise ValueError(
                f"features: expected one row per arm id ({ids.size}), got {F.shape[0]}"
            )
        self._set_features(native, ids, F)
        return self
