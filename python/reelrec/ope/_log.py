"""Logged bandit feedback: the validated container and its readers and writers.

A log holds, for each round ``i``, the context ``x_i``, the action ``a_i`` the
behaviour (logging) policy took, the reward ``r_i`` it observed and the
propensity ``pscore_i = pi_b(a_i | x_i, p_i)`` with which it took it, and
optionally the slot ``p_i`` (position) the action was shown in and a timestamp.
"""

from __future__ import annotations

import csv
import numbers
import os
import re
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from .._validation import _describe, check_indices

__all__ = ["BanditLog", "load_open_bandit"]


def _float_vector(values: Any, name: str, n: int | None) -> np.ndarray:
    arr = np.asarray(values)
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.floating)
        or np.issubdtype(arr.dtype, np.integer)
        or arr.dtype == np.bool_
    ):
        raise TypeError(f"{name}: expected a 1-d array of numbers, got {_describe(values)}")
    if arr.ndim != 1:
        raise ValueError(f"{name}: expected a 1-d array (one value per round), got shape {arr.shape}")
    if n is not None and arr.shape[0] != n:
        raise ValueError(f"{name}: expected {n} values (one per round), got {arr.shape[0]}")
    arr = np.ascontiguousarray(arr, dtype=np.float64)
    if not np.isfinite(arr).all():
        raise ValueError(f"{name}: contains NaN or infinite values")
    return arr


def _index_vector(values: Any, name: str, n: int, upper: int | None) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"{name}: expected a 1-d array (one value per round), got shape {arr.shape}")
    if arr.shape[0] != n:
        raise ValueError(f"{name}: expected {n} values (one per round), got {arr.shape[0]}")
    idx, _ = check_indices(arr, upper, name)
    return np.ascontiguousarray(idx)


def _check_propensities(values: Any, n: int, name: str = "propensities") -> np.ndarray:
    p = _float_vector(values, name, n)
    if p.size and (p.min() <= 0.0 or p.max() > 1.0):
        bad = float(p.min()) if p.min() <= 0.0 else float(p.max())
        raise ValueError(f"{name}: expected probabilities in (0, 1], got {bad!r}")
    return p


def _float_matrix(values: Any, name: str, n_rows: int | None, *, row_name: str) -> np.ndarray:
    arr = np.asarray(values)
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.floating)
        or np.issubdtype(arr.dtype, np.integer)
        or arr.dtype == np.bool_
    ):
        raise TypeError(f"{name}: expected a 2-d array of numbers, got {_describe(values)}")
    if arr.ndim != 2:
        raise ValueError(f"{name}: expected a 2-d array ({row_name} x features), got shape {arr.shape}")
    if n_rows is not None and arr.shape[0] != n_rows:
        raise ValueError(f"{name}: expected {n_rows} rows (one per {row_name[:-1]}), got {arr.shape[0]}")
    arr = np.ascontiguousarray(arr, dtype=np.float64)
    if not np.isfinite(arr).all():
        raise ValueError(f"{name}: contains NaN or infinite values")
    return arr


class BanditLog:
    """Logged bandit feedback collected by a behaviour policy.

    Parameters
    ----------
    contexts : array-like of shape (n_rounds, dim) or None
        Context (user) features ``x_i``; ``None`` means no features (``dim = 0``).
    actions : array-like of int, shape (n_rounds,)
        Logged actions ``a_i`` in ``[0, n_actions)``.
    rewards : array-like of float, shape (n_rounds,)
        Observed rewards ``r_i`` (finite).
    propensities : array-like of float, shape (n_rounds,)
        ``pi_b(a_i | x_i, p_i)``, the behaviour policy's probability of the logged
        action, in ``(0, 1]``.
    positions : array-like of int, shape (n_rounds,), optional
        0-based slot the action was shown in (Open Bandit Dataset: 0 = left,
        1 = centre, 2 = right). ``None``: a single slot.
    timestamps : array-like, shape (n_rounds,), optional
        Any 1-d array (``datetime64`` for the Open Bandit Dataset); kept as given.
    n_actions : int, optional
        Size of the action set; default ``max(actions) + 1``.
    action_context : array-like of shape (n_actions, k), optional
        Action (item) features.
    feature_names : sequence of str, optional
        One name per context column.

    Raises
    ------
    ValueError
        Empty log, mismatched lengths, NaN or infinite values, propensities
        outside ``(0, 1]``.
    IndexError
        Negative actions or positions, or actions ``>= n_actions``.
    TypeError
        Non-integer actions or positions, non-numeric arrays.
    """

    def __init__(
        self,
        contexts: Any,
        actions: Any,
        rewards: Any,
        propensities: Any,
        *,
        positions: Any = None,
        timestamps: Any = None,
        n_actions: int | None = None,
        action_context: Any = None,
        feature_names: Sequence[str] | None = None,
    ) -> None:
        rewards = _float_vector(rewards, "rewards", None)
        n = rewards.shape[0]
        if n == 0:
            raise ValueError("rewards: expected at least one round, got an empty log")
        if n_actions is not None:
            if isinstance(n_actions, bool) or not isinstance(n_actions, numbers.Integral):
                raise TypeError(f"n_actions: expected a positive integer, got {_describe(n_actions)}")
            if n_actions <= 0:
                raise ValueError(f"n_actions: expected a positive integer, got {n_actions}")
            n_actions = int(n_actions)
        self.actions = _index_vector(actions, "actions", n, n_actions)
        self.n_actions = int(self.actions.max()) + 1 if n_actions is None else n_actions
        self.rewards = rewards
        self.propensities = _check_propensities(propensities, n)
        if contexts is None:
            contexts = np.zeros((n, 0))
        self.contexts = _float_matrix(contexts, "contexts", n, row_name="rounds")
        self.positions = None if positions is None else _index_vector(positions, "positions", n, None)
        if timestamps is not None:
            timestamps = np.asarray(timestamps)
            if timestamps.ndim != 1 or timestamps.shape[0] != n:
                raise ValueError(
                    f"timestamps: expected {n} values (one per round), got shape {timestamps.shape}"
                )
        self.timestamps = timestamps
        self.action_context = (
            None
            if action_context is None
            else _float_matrix(action_context, "action_context", self.n_actions, row_name="actions")
        )
        if feature_names is not None:
            feature_names = [str(s) for s in feature_names]
            if len(feature_names) != self.contexts.shape[1]:
                raise ValueError(
                    f"feature_names: expected {self.contexts.shape[1]} names (one per context "
                    f"column), got {len(feature_names)}"
                )
        self.feature_names = feature_names

    # ------------------------------------------------------------------ shape
    @property
    def n_rounds(self) -> int:
        """Number of logged rounds."""
        return int(self.rewards.shape[0])

    @property
    def dim(self) -> int:
        """Number of context features."""
        return int(self.contexts.shape[1])

    @property
    def n_positions(self) -> int:
        """``max(positions) + 1``, or 1 without positions."""
        return 1 if self.positions is None else int(self.positions.max()) + 1

    def __len__(self) -> int:
        return self.n_rounds

    def __repr__(self) -> str:
        extra = f", n_positions={self.n_positions}" if self.positions is not None else ""
        return (
            f"BanditLog(n_rounds={self.n_rounds}, n_actions={self.n_actions}, dim={self.dim}"
            f"{extra}, mean_reward={self.rewards.mean():.6g})"
        )

    def subset(self, rounds: Any) -> BanditLog:
        """The log restricted to ``rounds`` (indices or a boolean mask), same action set."""
        rounds = np.asarray(rounds)
        if rounds.dtype == np.bool_:
            if rounds.shape != (self.n_rounds,):
                raise ValueError(
                    f"rounds: a boolean mask needs shape ({self.n_rounds},), got {rounds.shape}"
                )
            rounds = np.flatnonzero(rounds)
        idx, _ = check_indices(rounds, self.n_rounds, "rounds")
        return BanditLog(
            self.contexts[idx],
            self.actions[idx],
            self.rewards[idx],
            self.propensities[idx],
            positions=None if self.positions is None else self.positions[idx],
            timestamps=None if self.timestamps is None else self.timestamps[idx],
            n_actions=self.n_actions,
            action_context=self.action_context,
            feature_names=self.feature_names,
        )

    # ------------------------------------------------------------------ Open Bandit Pipeline
    def to_obp(self) -> dict[str, Any]:
        """Open Bandit Pipeline's ``bandit_feedback`` dict.

        Keys: ``n_rounds``, ``n_actions``, ``action``, ``position`` (``None``
        without positions), ``reward``, ``pscore``, ``context``,
        ``action_context`` (``None`` when absent). Arrays are copies.
        """
        return {
            "n_rounds": self.n_rounds,
            "n_actions": self.n_actions,
            "action": self.actions.copy(),
            "position": None if self.positions is None else self.positions.copy(),
            "reward": self.rewards.copy(),
            "pscore": self.propensities.copy(),
            "context": self.contexts.copy(),
            "action_context": None if self.action_context is None else self.action_context.copy(),
        }

    @classmethod
    def from_obp(cls, feedback: dict[str, Any]) -> BanditLog:
        """Build a log from Open Bandit Pipeline's ``bandit_feedback`` dict.

        Uses ``action``, ``reward``, ``pscore`` (required), ``context``,
        ``position``, ``n_actions``, ``action_context`` (optional); other keys
        (``expected_reward``, ...) are ignored.
        """
        if not isinstance(feedback, dict):
            raise TypeError(f"feedback: expected a dict, got {_describe(feedback)}")
        missing = [k for k in ("action", "reward", "pscore") if feedback.get(k) is None]
        if missing:
            raise ValueError(f"feedback: missing required keys {missing}")
        log = cls(
            feedback.get("context"),
            feedback["action"],
            feedback["reward"],
            feedback["pscore"],
            positions=feedback.get("position"),
            n_actions=feedback.get("n_actions"),
            action_context=feedback.get("action_context"),
        )
        n_rounds = feedback.get("n_rounds")
        if n_rounds is not None and int(n_rounds) != log.n_rounds:
            raise ValueError(f"feedback: n_rounds is {n_rounds} but the arrays hold {log.n_rounds} rounds")
        return log

    # ------------------------------------------------------------------ Vowpal Wabbit
    def to_vw(self, path: str | os.PathLike | None = None) -> str | None:
        """Write the log in Vowpal Wabbit's contextual-bandit (``--cb``) text format.

        One line per round: ``action:cost:probability | f0:x0 f1:x1 ...`` where
        ``action`` is **1-based** (VW's convention, so ``a_i + 1``), ``cost =
        -reward`` (VW minimises cost) and ``probability`` is the propensity.
        Only non-zero features are written, named ``f<column>``. Positions,
        timestamps and action features have no place in this format and are
        not written. Numbers are written with ``repr`` precision, so
        :meth:`from_vw` recovers them exactly.

        Returns the text when ``path`` is None, otherwise writes it and returns None.
        """
        lines = []
        for i in range(self.n_rounds):
            row = self.contexts[i]
            nz = np.flatnonzero(row)
            feats = " ".join(f"f{j}:{_num(row[j])}" for j in nz)
            lines.append(
                f"{int(self.actions[i]) + 1}:{_num(-self.rewards[i])}:{_num(self.propensities[i])} | {feats}".rstrip()
            )
        text = "\n".join(lines) + "\n"
        if path is None:
            return text
        Path(path).write_text(text)
        return None

    @classmethod
    def from_vw(
        cls,
        source: str | os.PathLike | Iterable[str],
        *,
        n_actions: int | None = None,
        dim: int | None = None,
    ) -> BanditLog:
        """Read Vowpal Wabbit contextual-bandit (``--cb``) lines.

        Each line needs exactly one labelled action ``action:cost:probability``
        (1-based action; reward = -cost); a ``'tag`` is ignored. Features are
        ``name[:value]`` (value 1 when omitted) in one or more ``|namespace``
        sections; a namespace weight ``|ns:w`` multiplies its values. When every
        feature is named ``f<int>`` without a namespace (what :meth:`to_vw`
        writes), the integer is the column; otherwise columns follow the order
        of first appearance, named ``namespace^name``, and are kept in
        ``feature_names``.

        Parameters
        ----------
        source : path or iterable of str
            A file path, or the lines themselves (e.g. ``text.splitlines()``).
        n_actions : int, optional
            Size of the action set; default the largest action seen.
        dim : int, optional
            Number of context columns for ``f<int>`` features (trailing all-zero
            columns are not written by :meth:`to_vw`); default the largest seen + 1.
        """
        if isinstance(source, (str, os.PathLike)):
            with open(source) as fh:
                lines = fh.read().splitlines()
        else:
            lines = list(source)
        actions, costs, probs, rows = [], [], [], []
        for lineno, raw in enumerate(lines, 1):
            line = raw.strip()
            if not line:
                continue
            if "|" not in line:
                raise ValueError(f"vw line {lineno}: expected 'action:cost:probability | features', got {raw!r}")
            label, _, rest = line.partition("|")
            tokens = [t for t in label.split() if not t.startswith("'")]
            labelled = [t for t in tokens if t.count(":") == 2]
            if len(tokens) != 1 or len(labelled) != 1:
                raise ValueError(
                    f"vw line {lineno}: expected exactly one 'action:cost:probability' label, got {label.strip()!r}"
                )
            a, c, p = labelled[0].split(":")
            try:
                actions.append(int(a))
                costs.append(float(c))
                probs.append(float(p))
            except ValueError:
                raise ValueError(f"vw line {lineno}: cannot parse the label {labelled[0]!r}") from None
            feats: dict[tuple[str, str], float] = {}
            for section in ("|" + rest).split("|")[1:]:
                ns, weight = "", 1.0
                if section and not section[0].isspace():
                    head, _, section = section.partition(" ")
                    ns, _, w = head.partition(":")
                    weight = float(w) if w else 1.0
                for tok in section.split():
                    name, _, val = tok.rpartition(":") if ":" in tok else (tok, "", "1")
                    try:
                        feats[(ns, name)] = feats.get((ns, name), 0.0) + weight * float(val)
                    except ValueError:
                        raise ValueError(f"vw line {lineno}: cannot parse the feature {tok!r}") from None
            rows.append(feats)
        if not rows:
            raise ValueError("source: no Vowpal Wabbit lines found (an empty log)")
        actions_arr = np.asarray(actions, dtype=np.int64)
        if actions_arr.min() < 1:
            raise IndexError(
                f"actions: Vowpal Wabbit actions are 1-based, got {int(actions_arr.min())}"
            )
        keys = {k for r in rows for k in r}
        numbered = all(ns == "" and re.fullmatch(r"f\d+", name) for ns, name in keys)
        names = None
        if numbered:
            column = {k: int(k[1][1:]) for k in keys}
            width = max(column.values(), default=-1) + 1
            if dim is not None:
                if width > dim:
                    raise ValueError(f"dim: the lines use feature f{width - 1}, more than dim={dim} columns")
                width = dim
        else:
            order: dict[tuple[str, str], int] = {}
            for r in rows:
                for k in r:
                    order.setdefault(k, len(order))
            column = order
            width = len(order)
            names = [f"{ns}^{name}" if ns else name for ns, name in order]
        contexts = np.zeros((len(rows), width))
        for i, r in enumerate(rows):
            for k, v in r.items():
                contexts[i, column[k]] = v
        return cls(
            contexts,
            actions_arr - 1,
            -np.asarray(costs) + 0.0,
            probs,
            n_actions=n_actions,
            feature_names=names,
        )


def _num(x: float) -> str:
    x = float(x)
    if x == 0.0:
        return "0"
    if x.is_integer() and abs(x) < 1e15:
        return str(int(x))
    return repr(x)


# ---------------------------------------------------------------------- Open Bandit Dataset
_OBD_POLICIES = ("random", "bts")
_OBD_CAMPAIGNS = ("men", "women", "all")


def _read_csv(path: Path) -> tuple[list[str], np.ndarray]:
    """Header and a rows x columns array of strings."""
    with open(path, newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader, [])
        rows = [r for r in reader if r]
    if any(len(r) != len(header) for r in rows):
        raise ValueError(f"{path}: rows with a different number of fields than the header")
    return header, np.array(rows, dtype=str).reshape(len(rows), len(header))


def _column(header: list[str], table: np.ndarray, name: str, path: Path) -> np.ndarray:
    try:
        j = header.index(name)
    except ValueError:
        raise ValueError(f"{path}: missing column {name!r}") from None
    return table[:, j]


def _parse_timestamps(values: np.ndarray) -> np.ndarray:
    """ISO timestamps (any UTC offset) as UTC ``datetime64[us]``."""
    if values.size and all(v.endswith("+00:00") for v in values):
        return np.array([v[:-6] for v in values], dtype="datetime64[us]")
    utc = [
        datetime.fromisoformat(v).astimezone(timezone.utc).replace(tzinfo=None).isoformat()
        for v in values
    ]
    return np.array(utc, dtype="datetime64[us]")


def load_open_bandit(
    path: str | os.PathLike,
    behavior_policy: str = "random",
    campaign: str = "men",
    *,
    include_affinity: bool = False,
) -> BanditLog:
    """Load one log of the Open Bandit Dataset (Saito et al. 2021).

    Reads ``<path>/<behavior_policy>/<campaign>/<campaign>.csv`` and the
    ``item_context.csv`` next to it, and preprocesses them the way Open Bandit
    Pipeline's ``OpenBanditDataset`` does:

    * rounds sorted by timestamp (stable: rounds with equal timestamps keep file order);
    * ``position`` 1, 2, 3 -> 0, 1, 2 (dense rank - 1);
    * ``click`` -> rewards, ``propensity_score`` -> propensities, ``item_id`` -> actions;
    * contexts: the hashed categorical ``user_feature_0..3`` one-hot encoded
      with the first (lexicographically smallest) category of each dropped,
      like ``pandas.get_dummies(drop_first=True)``; with ``include_affinity``
      the numeric ``user-item_affinity_*`` columns are appended;
    * action_context: ``item_feature_1..3`` label-encoded (sorted categories ->
      0, 1, ...) followed by the numeric ``item_feature_0``;
    * timestamps: UTC ``datetime64[us]``.

    Parameters
    ----------
    path : path
        The dataset root (holding ``random/`` and ``bts/``).
    behavior_policy : {"random", "bts"}
        Uniform random or Bernoulli Thompson sampling logging policy.
    campaign : {"men", "women", "all"}
        The campaign (item set).
    include_affinity : bool, default False
        Append the user-item affinity columns to the contexts.

    Raises
    ------
    ValueError
        Unknown behaviour policy or campaign, malformed file.
    FileNotFoundError
        The CSV file is not there (the small sample ships no ``all`` campaign).
    """
    if behavior_policy not in _OBD_POLICIES:
        raise ValueError(f"behavior_policy: expected one of {_OBD_POLICIES}, got {behavior_policy!r}")
    if campaign not in _OBD_CAMPAIGNS:
        raise ValueError(f"campaign: expected one of {_OBD_CAMPAIGNS}, got {campaign!r}")
    folder = Path(path) / behavior_policy / campaign
    data_file = folder / f"{campaign}.csv"
    if not data_file.exists():
        raise FileNotFoundError(f"Open Bandit Dataset file not found: {data_file}")
    header, rows = _read_csv(data_file)
    if rows.shape[0] == 0:
        raise ValueError(f"{data_file}: no rounds")
    timestamps = _parse_timestamps(_column(header, rows, "timestamp", data_file))
    order = np.argsort(timestamps, kind="stable")
    rows = rows[order]
    timestamps = timestamps[order]

    actions = _column(header, rows, "item_id", data_file).astype(np.int64)
    raw_positions = _column(header, rows, "position", data_file).astype(np.int64)
    positions = np.unique(raw_positions, return_inverse=True)[1].reshape(-1).astype(np.int64)
    rewards = _column(header, rows, "click", data_file).astype(np.float64)
    pscore = _column(header, rows, "propensity_score", data_file).astype(np.float64)

    blocks, names = [], []
    user_cols = [h for h in header if h.startswith("user_feature")]
    for name in user_cols:
        col = _column(header, rows, name, data_file)
        cats, codes = np.unique(col, return_inverse=True)
        codes = codes.reshape(-1)
        onehot = (codes[:, None] == np.arange(1, cats.size)[None, :]).astype(np.float64)
        blocks.append(onehot)
        names += [f"{name}_{c}" for c in cats[1:]]
    if include_affinity:
        aff_cols = [h for h in header if h.startswith("user-item_affinity")]
        cols = [header.index(name) for name in aff_cols]
        blocks.append(rows[:, cols].astype(np.float64))
        names += aff_cols
    contexts = np.hstack(blocks) if blocks else np.zeros((rows.shape[0], 0))

    action_context = None
    n_actions = int(actions.max()) + 1
    item_file = folder / "item_context.csv"
    if item_file.exists():
        ih, irows = _read_csv(item_file)
        item_id = _column(ih, irows, "item_id", item_file).astype(np.int64)
        order = np.argsort(item_id, kind="stable")
        if not np.array_equal(item_id[order], np.arange(item_id.size)):
            raise ValueError(f"{item_file}: item_id must be 0..{item_id.size - 1}")
        irows = irows[order]
        feats = []
        cat_cols = [h for h in ih if h.startswith("item_feature") and h != "item_feature_0"]
        for name in cat_cols:
            feats.append(np.unique(_column(ih, irows, name, item_file), return_inverse=True)[1].reshape(-1))
        feats.append(_column(ih, irows, "item_feature_0", item_file).astype(np.float64))
        action_context = np.column_stack(feats).astype(np.float64)
        n_actions = max(n_actions, item_id.size)
        if action_context.shape[0] < n_actions:
            raise ValueError(f"{item_file}: fewer items than the actions logged")
    return BanditLog(
        contexts,
        actions,
        rewards,
        pscore,
        positions=positions,
        timestamps=timestamps,
        n_actions=n_actions,
        action_context=action_context,
        feature_names=names,
    )
