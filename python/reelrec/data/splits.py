"""Train/test splits of :class:`~reelrec.data.Interactions` without leakage.

Every split returns a :class:`Split` whose parts keep the input's shape and id
maps (a model trained on ``train`` scores ``test`` rows and columns directly),
and whose (user, item) pairs are disjoint. Users or items that occur in the
test part but have no training history ("cold") are counted and listed in the
result; they are removed from the test part only when ``drop_cold=True``.

All strategies are vectorised: per-user operations rank each user's pairs
with one segmented sort of random or time keys (compiled, per user segment),
never a Python loop over users. Randomness comes only from
``random_state``, so a seed reproduces the split exactly.

Strategies
----------
random_split
    Per user, a ``test_fraction`` of the pairs, chosen uniformly (weak
    generalisation: the classic "hold out some of each user's items").
leave_last_n_out
    Per user, the ``n`` most recent pairs (by the pair's latest timestamp).
temporal_split
    One global cut: pairs at or after the cut time form the test part.
user_split
    Strong generalisation: a fraction of users is held out entirely; their
    pairs are split into a fold-in part (the history given to the model at
    query time) and a test part.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from .._validation import check_fraction, rng_from
from ._ids import describe
from .interactions import Interactions, _as_timestamps

__all__ = ["Split", "random_split", "leave_last_n_out", "temporal_split", "user_split"]


@dataclass(eq=False)
class Split:
    """The result of a split.

    Attributes
    ----------
    train, test : Interactions
        Same shape and id maps as the input; disjoint (user, item) pairs.
    fold_in : Interactions or None
        :func:`user_split` only: the held-out users' history to fold in.
    test_users : ndarray of int64 or None
        :func:`user_split` only: indices of the held-out users.
    cold_users : ndarray of int64
        Users with test pairs but no history (no train pairs; for
        :func:`user_split`, no fold-in pairs).
    cold_items : ndarray of int64
        Items with test pairs but no train pairs.
    n_dropped : int
        Test pairs removed because their user or item was cold (``drop_cold``).
    strategy : str
        The function that made the split, with its parameters in ``params``.
    """

    train: Interactions
    test: Interactions
    cold_users: np.ndarray
    cold_items: np.ndarray
    n_dropped: int = 0
    fold_in: Interactions | None = None
    test_users: np.ndarray | None = None
    strategy: str = ""
    params: dict[str, Any] = field(default_factory=dict)

    def __iter__(self):
        """``train, test = split`` (the fold-in part is an attribute)."""
        yield self.train
        yield self.test

    @property
    def n_cold_users(self) -> int:
        return int(self.cold_users.size)

    @property
    def n_cold_items(self) -> int:
        return int(self.cold_items.size)

    @property
    def cold_user_ids(self) -> np.ndarray:
        """Caller's ids of the cold users."""
        return self.train.user_ids[self.cold_users]

    @property
    def cold_item_ids(self) -> np.ndarray:
        """Caller's ids of the cold items."""
        return self.train.item_ids[self.cold_items]

    def summary(self) -> dict[str, Any]:
        """Sizes and cold counts as a plain dict (for logs and reports)."""
        out = {
            "strategy": self.strategy,
            "params": dict(self.params),
            "train_nnz": self.train.nnz,
            "test_nnz": self.test.nnz,
            "test_users_with_pairs": int(np.count_nonzero(self.test.user_counts())),
            "n_cold_users": self.n_cold_users,
            "n_cold_items": self.n_cold_items,
            "n_dropped": self.n_dropped,
        }
        if self.fold_in is not None:
            out["fold_in_nnz"] = self.fold_in.nnz
            out["n_test_users"] = int(self.test_users.size)
        return out

    def __repr__(self) -> str:
        s = self.summary()
        parts = [f"train_nnz={s['train_nnz']}", f"test_nnz={s['test_nnz']}"]
        if self.fold_in is not None:
            parts.insert(1, f"fold_in_nnz={s['fold_in_nnz']}")
            parts.append(f"n_test_users={s['n_test_users']}")
        parts.append(f"cold_users={self.n_cold_users}{_preview(self.cold_user_ids)}")
        parts.append(f"cold_items={self.n_cold_items}{_preview(self.cold_item_ids)}")
        if self.n_dropped:
            parts.append(f"dropped={self.n_dropped}")
        return f"Split[{self.strategy}]({', '.join(parts)})"


def _preview(ids: np.ndarray, k: int = 5) -> str:
    if ids.size == 0:
        return ""
    shown = ", ".join(repr(v) for v in ids[:k].tolist())
    return f" [{shown}{', ...' if ids.size > k else ''}]"


# --------------------------------------------------------------------------- helpers
def _as_interactions(data: Any) -> Interactions:
    if isinstance(data, Interactions):
        inter = data
    elif sp.issparse(data):
        inter = Interactions(data)
    else:
        raise TypeError(f"data: expected reelrec.data.Interactions or a scipy.sparse matrix, got {describe(data)}")
    if inter.nnz == 0:
        raise ValueError(f"data: expected at least one interaction to split, got shape {inter.shape} with 0 stored pairs")
    return inter


def _check_int(value: Any, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (numbers.Integral, np.integer)):
        raise TypeError(f"{name}: expected an integer >= {minimum}, got {describe(value)}")
    if value < minimum:
        raise ValueError(f"{name}: expected an integer >= {minimum}, got {value}")
    return int(value)


def _check_bool(value: Any, name: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name}: expected a bool, got {describe(value)}")
    return bool(value)


def _rows(data: Interactions) -> np.ndarray:
    return np.repeat(np.arange(data.n_users, dtype=np.int64), np.diff(data.matrix.indptr))


_KEY_BITS = 62  # sort keys are non-negative int64 values below 2**62


def _rank_within_users(data: Interactions, keys: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Rank (0-based) of each stored pair within its user by ascending ``keys``.

    The pairs of a user are contiguous in CSR order, so this is a segmented
    sort: ``keys`` become the column indices of a CSR matrix whose data are
    the pair positions, and scipy's compiled per-row index sort orders each
    user's segment in place (cache-friendly, O(nnz log(pairs per user))).
    Keys carry random low bits, so they are distinct with overwhelming
    probability and the result does not depend on the sort algorithm.
    """
    positions = np.arange(data.nnz, dtype=np.int64)
    indptr = data.matrix.indptr.astype(np.int64)
    segments = sp.csr_matrix((positions, keys, indptr), shape=(data.n_users, 1 << _KEY_BITS))
    segments.sort_indices()
    rank = np.empty(data.nnz, dtype=np.int64)
    # (segments.data may be `positions` itself, permuted in place by the sort)
    rank[segments.data] = np.arange(data.nnz, dtype=np.int64) - indptr[rows]
    return rank


def _random_keys(data: Interactions, rng: np.random.Generator) -> np.ndarray:
    """Uniform random keys: ranking by them shuffles each user's pairs."""
    return rng.integers(0, 1 << _KEY_BITS, data.nnz, dtype=np.int64)


def _time_keys(data: Interactions, rng: np.random.Generator) -> np.ndarray:
    """Keys ordered by timestamp, equal times in seeded random order.

    The high bits hold the time (the offset from the earliest one when the
    timestamps are whole numbers in a 40-bit span, else the dense rank among
    the distinct timestamps); the remaining low bits are random tie-breakers.
    """
    ts = data.timestamps
    lo = float(ts.min()) if ts.size else 0.0
    span = float(ts.max()) - lo if ts.size else 0.0
    if span < 2**40 and bool(np.all(ts == np.floor(ts))):
        base = (ts - lo).astype(np.int64)
    else:
        base = np.unique(ts, return_inverse=True)[1].reshape(-1).astype(np.int64)
    shift = _KEY_BITS - int(base.max(initial=0)).bit_length()
    return (base << shift) | rng.integers(0, 1 << shift, data.nnz, dtype=np.int64)


def _holdout_counts(counts: np.ndarray, fraction: float, keep: int) -> np.ndarray:
    """Pairs to hold out per user: round(fraction * n), leaving at least ``keep``."""
    want = np.floor(fraction * counts + 0.5).astype(np.int64)
    return np.minimum(want, np.maximum(counts - keep, 0))


def _finish(
    data: Interactions,
    train_mask: np.ndarray,
    test_mask: np.ndarray,
    drop_cold: bool,
    strategy: str,
    params: dict[str, Any],
    fold_in_mask: np.ndarray | None = None,
    test_users: np.ndarray | None = None,
    rows: np.ndarray | None = None,
) -> Split:
    if rows is None:
        rows = _rows(data)
    cols = data.matrix.indices
    history = train_mask if fold_in_mask is None else fold_in_mask
    user_history = np.bincount(rows[history], minlength=data.n_users)
    item_train = np.bincount(cols[train_mask], minlength=data.n_items)
    test_rows, test_cols = rows[test_mask], cols[test_mask]
    user_test = np.bincount(test_rows, minlength=data.n_users)
    item_test = np.bincount(test_cols, minlength=data.n_items)
    cold_users = np.flatnonzero((user_test > 0) & (user_history == 0))
    cold_items = np.flatnonzero((item_test > 0) & (item_train == 0))
    n_dropped = 0
    if drop_cold and (cold_users.size or cold_items.size):
        cold = (user_history[rows] == 0) | (item_train[cols] == 0)
        n_dropped = int(np.count_nonzero(test_mask & cold))
        test_mask = test_mask & ~cold
    return Split(
        train=data.subset(train_mask),
        test=data.subset(test_mask),
        cold_users=cold_users,
        cold_items=cold_items,
        n_dropped=n_dropped,
        fold_in=None if fold_in_mask is None else data.subset(fold_in_mask),
        test_users=test_users,
        strategy=strategy,
        params=params,
    )


# ------------------------------------------------------------------------ strategies
def random_split(
    data: Any,
    test_fraction: float = 0.2,
    *,
    min_train_interactions: int = 1,
    random_state: Any = None,
    drop_cold: bool = False,
) -> Split:
    """Hold out a random ``test_fraction`` of each user's pairs.

    Parameters
    ----------
    data : Interactions or scipy.sparse matrix
    test_fraction : float in (0, 1)
        Per user, ``round(test_fraction * n_user)`` pairs go to the test part...
    min_train_interactions : int >= 0
        ...but at least this many stay in train (users with fewer keep all), so
        with the default no user becomes cold.
    random_state : int, numpy Generator or None
    drop_cold : bool
        Remove test pairs of cold users/items (they are reported either way).

    Returns
    -------
    Split
    """
    data = _as_interactions(data)
    fraction = check_fraction(test_fraction, "test_fraction")
    keep = _check_int(min_train_interactions, "min_train_interactions", 0)
    drop_cold = _check_bool(drop_cold, "drop_cold")
    rng = rng_from(random_state)
    rows = _rows(data)
    rank = _rank_within_users(data, _random_keys(data, rng), rows)
    holdout = _holdout_counts(data.user_counts(), fraction, keep)
    test = rank < holdout[rows]
    params = {"test_fraction": fraction, "min_train_interactions": keep, "random_state": random_state}
    return _finish(data, ~test, test, drop_cold, "random_split", params, rows=rows)


def leave_last_n_out(
    data: Any,
    n: int = 1,
    *,
    min_train_interactions: int = 1,
    random_state: Any = None,
    drop_cold: bool = False,
) -> Split:
    """Hold out each user's ``n`` most recent pairs (needs timestamps).

    Parameters
    ----------
    data : Interactions with timestamps
    n : int >= 1
        Pairs held out per user.
    min_train_interactions : int >= 0
        Users keep at least this many pairs in train (default 1: no cold users).
    random_state : int, numpy Generator or None
        Breaks ties between equal timestamps.
    drop_cold : bool
        Remove test pairs of cold users/items (they are reported either way).

    Returns
    -------
    Split
        Every test pair of a user is at least as recent as all of that
        user's train pairs.
    """
    data = _as_interactions(data)
    if data.timestamps is None:
        raise ValueError("data: leave_last_n_out needs timestamps; build Interactions with a timestamp column")
    n = _check_int(n, "n", 1)
    keep = _check_int(min_train_interactions, "min_train_interactions", 0)
    drop_cold = _check_bool(drop_cold, "drop_cold")
    rng = rng_from(random_state)
    counts = data.user_counts()
    rows = _rows(data)
    rank = _rank_within_users(data, _time_keys(data, rng), rows)
    holdout = np.minimum(n, np.maximum(counts - keep, 0))
    test = (counts[rows] - 1 - rank) < holdout[rows]
    params = {"n": n, "min_train_interactions": keep, "random_state": random_state}
    return _finish(data, ~test, test, drop_cold, "leave_last_n_out", params, rows=rows)


def temporal_split(
    data: Any,
    at: Any = None,
    *,
    quantile: float | None = None,
    drop_cold: bool = False,
) -> Split:
    """Split at one global time: pairs with ``timestamp >= cut`` form the test part.

    Parameters
    ----------
    data : Interactions with timestamps
    at : float or datetime64, optional
        The cut, in the units of the timestamps (datetimes: converted to Unix
        seconds like the timestamps were).
    quantile : float in (0, 1), optional
        Cut at this quantile of the pair timestamps instead. Give exactly one
        of ``at`` and ``quantile``.
    drop_cold : bool
        Remove test pairs of cold users/items (they are reported either way).

    Returns
    -------
    Split
        ``params["cut"]`` holds the cut time. A pair is placed by its latest
        event, so no pair is in both parts.
    """
    data = _as_interactions(data)
    if data.timestamps is None:
        raise ValueError("data: temporal_split needs timestamps; build Interactions with a timestamp column")
    drop_cold = _check_bool(drop_cold, "drop_cold")
    if (at is None) == (quantile is None):
        raise ValueError("at: give exactly one of at= (a time) and quantile= (a fraction)")
    if quantile is not None:
        q = check_fraction(quantile, "quantile")
        cut = float(np.quantile(data.timestamps, q))
    else:
        if isinstance(at, (bool, np.bool_)) or isinstance(at, (str, bytes)):
            raise TypeError(f"at: expected a number or a datetime64, got {describe(at)}")
        try:
            cut = float(_as_timestamps(np.atleast_1d(np.asarray(at)), "at", 1)[0])
        except ValueError as exc:
            raise ValueError(f"at: expected a single finite time, got {at!r} ({exc})") from None
    test = data.timestamps >= cut
    params = {"cut": cut, "quantile": quantile}
    return _finish(data, ~test, test, drop_cold, "temporal_split", params)


def user_split(
    data: Any,
    test_users: float | int = 0.2,
    test_fraction: float = 0.2,
    *,
    by_time: bool = False,
    min_fold_in: int = 1,
    random_state: Any = None,
    drop_cold: bool = False,
) -> Split:
    """Strong generalisation: hold out whole users, split their pairs in two.

    Parameters
    ----------
    data : Interactions or scipy.sparse matrix
    test_users : float in (0, 1) or int >= 1
        Fraction or number of held-out users, drawn among users with at least
        ``min_fold_in + 1`` pairs (so each has both parts).
    test_fraction : float in (0, 1)
        Share of each held-out user's pairs in the test part
        (``round(test_fraction * n_user)``, at least 1, at most
        ``n_user - min_fold_in``); the rest is the fold-in part.
    by_time : bool
        Put each held-out user's most recent pairs in the test part instead of
        random ones (needs timestamps).
    min_fold_in : int >= 1
        Pairs each held-out user keeps in the fold-in part.
    random_state : int, numpy Generator or None
    drop_cold : bool
        Remove test pairs of cold items (reported either way).

    Returns
    -------
    Split
        ``train`` holds the other users; ``fold_in`` and ``test`` the held-out
        users (``test_users``). All three have the input's shape and ids.
    """
    data = _as_interactions(data)
    fraction = check_fraction(test_fraction, "test_fraction")
    keep = _check_int(min_fold_in, "min_fold_in", 1)
    by_time = _check_bool(by_time, "by_time")
    drop_cold = _check_bool(drop_cold, "drop_cold")
    if by_time and data.timestamps is None:
        raise ValueError("by_time: splitting held-out users by time needs timestamps")
    counts = data.user_counts()
    eligible = np.flatnonzero(counts >= keep + 1)
    if eligible.size == 0:
        raise ValueError(f"data: no user has at least {keep + 1} interactions to hold out (min_fold_in={keep})")
    if isinstance(test_users, (bool, np.bool_)) or not isinstance(test_users, numbers.Real):
        raise TypeError(f"test_users: expected a fraction in (0, 1) or a count >= 1, got {describe(test_users)}")
    if isinstance(test_users, (numbers.Integral, np.integer)):
        n_test = _check_int(test_users, "test_users", 1)
        if n_test > eligible.size:
            raise ValueError(
                f"test_users: asked for {n_test} held-out users but only {eligible.size} users have "
                f"at least {keep + 1} interactions"
            )
    else:
        share = check_fraction(test_users, "test_users")
        n_test = max(1, int(np.floor(share * eligible.size + 0.5)))
    rng = rng_from(random_state)
    chosen = np.sort(rng.choice(eligible, size=n_test, replace=False))
    held = np.zeros(data.n_users, dtype=bool)
    held[chosen] = True
    keys = _time_keys(data, rng) if by_time else _random_keys(data, rng)
    rows = _rows(data)
    rank = _rank_within_users(data, keys, rows)
    holdout = np.maximum(_holdout_counts(counts, fraction, keep), 1)
    holdout = np.minimum(holdout, np.maximum(counts - keep, 0))
    if by_time:
        in_test = (counts[rows] - 1 - rank) < holdout[rows]
    else:
        in_test = rank < holdout[rows]
    held_pair = held[rows]
    params = {
        "test_users": test_users,
        "test_fraction": fraction,
        "by_time": by_time,
        "min_fold_in": keep,
        "random_state": random_state,
    }
    return _finish(
        data,
        ~held_pair,
        held_pair & in_test,
        drop_cold,
        "user_split",
        params,
        fold_in_mask=held_pair & ~in_test,
        test_users=chosen,
        rows=rows,
    )
