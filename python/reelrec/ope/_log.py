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

from .._validation import _describe, as_plain_array, check_indices

__all__ = ["BanditLog", "load_open_bandit"]


_INT64_MAX = int(np.iinfo(np.int64).max)


def _is_time(arr: np.ndarray) -> bool:
    # NumPy files timedelta64 under np.integer, so the dtype tests below would
    # otherwise take durations (and dates, via the "M" kind) for plain numbers
    return arr.dtype.kind in "mM"


def _numeric(values: Any, name: str, kind: str) -> np.ndarray:
    """``values`` as an array of a numeric (or bool) dtype, else TypeError naming ``kind``."""
    arr = as_plain_array(values, name)
    if (
        arr.dtype == object
        or _is_time(arr)
        or not (
            np.issubdtype(arr.dtype, np.floating)
            or np.issubdtype(arr.dtype, np.integer)
            or arr.dtype == np.bool_
        )
    ):
        raise TypeError(f"{name}: expected a {kind} array of numbers, got {_describe(values)}")
    return arr


def _indices(values: Any, upper: int | None, name: str) -> np.ndarray:
    """Integer indices as int64 in ``[0, upper)`` (``check_indices`` without the scalar flag)."""
    idx, _ = check_indices(values, upper, name)
    return idx


def _private(out: np.ndarray, source: Any) -> np.ndarray:
    """``out``, copied only when it is memory the caller can still write to.

    ``np.asarray`` and friends hand back the caller's own buffer when no
    conversion is needed, so a later in-place change there would reach the log
    without validation; when a conversion already copied, a second copy would
    only cost time and memory.
    """
    if (
        out is source
        or not out.flags.owndata  # a view: of the caller's array, a Series, a buffer
        or (isinstance(source, np.ndarray) and np.shares_memory(out, source))
    ):
        return out.copy()
    return out


def _finite_float64(arr: np.ndarray, name: str) -> np.ndarray:
    arr = np.ascontiguousarray(arr, dtype=np.float64)
    if not np.isfinite(arr).all():
        raise ValueError(f"{name}: contains NaN or infinite values")
    return arr


def _float_vector(values: Any, name: str, n: int | None) -> np.ndarray:
    arr = _numeric(values, name, "1-d")
    if arr.ndim != 1:
        raise ValueError(
            f"{name}: expected a 1-d array (one value per round), got shape {arr.shape}"
        )
    if n is not None and arr.shape[0] != n:
        raise ValueError(f"{name}: expected {n} values (one per round), got {arr.shape[0]}")
    return _finite_float64(arr, name)


def _index_vector(values: Any, name: str, n: int, upper: int | None) -> np.ndarray:
    arr = as_plain_array(values, name)
    if arr.ndim != 1:
        raise ValueError(
            f"{name}: expected a 1-d array (one value per round), got shape {arr.shape}"
        )
    if arr.shape[0] != n:
        raise ValueError(f"{name}: expected {n} values (one per round), got {arr.shape[0]}")
    return np.ascontiguousarray(_indices(arr, upper, name))


#: Smallest logged propensity accepted: an importance weight 1 / p must stay finite.
MIN_PROPENSITY = 1e-300


def _check_propensities(values: Any, n: int, name: str = "propensities") -> np.ndarray:
    p = _float_vector(values, name, n)
    # below 1e-300 an importance weight (target / propensity) overflows
    if p.size and (p.min() < MIN_PROPENSITY or p.max() > 1.0):
        bad = float(p.min()) if p.min() < MIN_PROPENSITY else float(p.max())
        raise ValueError(
            f"{name}: expected probabilities in (0, 1] (at least {MIN_PROPENSITY:g}), got {bad!r}"
        )
    return p


def _float_matrix(values: Any, name: str, n_rows: int | None, *, row_name: str) -> np.ndarray:
    arr = _numeric(values, name, "2-d")
    if arr.ndim != 2:
        raise ValueError(
            f"{name}: expected a 2-d array ({row_name} x features), got shape {arr.shape}"
        )
    if n_rows is not None and arr.shape[0] != n_rows:
        raise ValueError(
            f"{name}: expected {n_rows} rows (one per {row_name[:-1]}), got {arr.shape[0]}"
        )
    return _finite_float64(arr, name)


def _check_count(value: Any, name: str) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Integral, np.integer)):
        raise TypeError(f"{name}: expected a non-negative integer, got {_describe(value)}")
    if value < 0:
        raise ValueError(f"{name}: expected a non-negative integer, got {value}")
    return int(value)


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
        Non-integer actions or positions, non-numeric arrays (``timedelta64``
        and ``datetime64`` included), masked arrays.

    Notes
    -----
    The log keeps its own copy of every array that would otherwise share memory
    with the caller's (no second copy where a dtype conversion already made
    one), so changing an input afterwards cannot bypass the validation.
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
        source_rewards = rewards
        rewards = _private(_float_vector(rewards, "rewards", None), source_rewards)
        n = rewards.shape[0]
        if n == 0:
            raise ValueError("rewards: expected at least one round, got an empty log")
        if n_actions is not None:
            if isinstance(n_actions, bool) or not isinstance(n_actions, numbers.Integral):
                raise TypeError(
                    f"n_actions: expected a positive integer, got {_describe(n_actions)}"
                )
            if n_actions <= 0:
                raise ValueError(f"n_actions: expected a positive integer, got {n_actions}")
            n_actions = int(n_actions)
        self.actions = _private(_index_vector(actions, "actions", n, n_actions), actions)
        self.n_actions = int(self.actions.max()) + 1 if n_actions is None else n_actions
        self.rewards = rewards
        self.propensities = _private(_check_propensities(propensities, n), propensities)
        if contexts is None:
            contexts = np.zeros((n, 0))
        self.contexts = _private(
            _float_matrix(contexts, "contexts", n, row_name="rounds"), contexts
        )
        self.positions = (
            None
            if positions is None
            else _private(_index_vector(positions, "positions", n, None), positions)
        )
        if timestamps is not None:
            stamps = as_plain_array(timestamps, "timestamps")
            if stamps.ndim != 1 or stamps.shape[0] != n:
                raise ValueError(
                    f"timestamps: expected {n} values (one per round), got shape {stamps.shape}"
                )
            timestamps = _private(stamps, timestamps)
        self.timestamps = timestamps
        self.action_context = (
            None
            if action_context is None
            else _private(
                _float_matrix(action_context, "action_context", self.n_actions, row_name="actions"),
                action_context,
            )
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
        rounds = as_plain_array(rounds, "rounds")
        if rounds.dtype == np.bool_:
            if rounds.shape != (self.n_rounds,):
                raise ValueError(
                    f"rounds: a boolean mask needs shape ({self.n_rounds},), got {rounds.shape}"
                )
            rounds = np.flatnonzero(rounds)
        idx = _indices(rounds, self.n_rounds, "rounds")
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
        if n_rounds is not None and (
            isinstance(n_rounds, (bool, np.bool_))
            or not isinstance(n_rounds, (numbers.Integral, np.integer))
        ):
            raise TypeError(f"feedback['n_rounds']: expected an integer, got {_describe(n_rounds)}")
        if n_rounds is not None and int(n_rounds) != log.n_rounds:
            raise ValueError(
                f"feedback: n_rounds is {n_rounds} but the arrays hold {log.n_rounds} rounds"
            )
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
        sections; a namespace weight ``|ns:w`` multiplies its values. Spaces
        and tabs both separate tokens, the namespace name included.

        Columns. When every feature is named ``f<int>`` without a namespace and
        the integer is written without leading zeros (what :meth:`to_vw`
        writes), the integer is the column. Otherwise a feature is its
        namespace and name exactly as written -- as in Vowpal Wabbit, which
        hashes that string -- so ``f01`` and ``f1``, or ``a`` in two
        namespaces, are distinct features; columns follow the order of first
        appearance and are named ``namespace^name`` (``name`` without a
        namespace) in ``feature_names``. A feature repeated within a line adds up.

        Parameters
        ----------
        source : str, path or iterable of str
            A ``str`` holding a line break is the text itself (what
            :meth:`to_vw` returns); any other ``str`` or path-like is a file
            path; otherwise an iterable of lines (e.g. ``text.splitlines()``).
        n_actions : int, optional
            Size of the action set; default the largest action seen.
        dim : int, optional
            Number of context columns for ``f<int>`` features (trailing all-zero
            columns are not written by :meth:`to_vw`); default the largest seen
            + 1. With named features the columns are the distinct features, so
            ``dim``, when given, must equal their number.

        Raises
        ------
        ValueError
            A line that does not parse (the message gives its number), an
            action beyond the int64 range, NaN or infinite numbers, ``dim``
            too small for the ``f<int>`` features or unequal to the number of
            named features.
        IndexError
            An action below 1.
        TypeError
            ``source`` neither text, path nor iterable of ``str``; ``dim`` not an integer.
        FileNotFoundError
            ``source`` names no file.
        """
        if dim is not None:
            dim = _check_count(dim, "dim")
        lines = _vw_lines(source)
        actions, costs, probs, rows = [], [], [], []
        for lineno, raw in enumerate(lines, 1):
            if not isinstance(raw, str):
                raise TypeError(f"source: line {lineno} is not a str, got {_describe(raw)}")
            line = raw.strip()
            if not line:
                continue
            if "|" not in line:
                raise ValueError(
                    f"vw line {lineno}: expected 'action:cost:probability | features', got {raw!r}"
                )
            label, _, rest = line.partition("|")
            tokens = [t for t in label.split() if not t.startswith("'")]
            labelled = [t for t in tokens if t.count(":") == 2]
            if len(tokens) != 1 or len(labelled) != 1:
                raise ValueError(
                    f"vw line {lineno}: expected exactly one 'action:cost:probability' label, got {label.strip()!r}"
                )
            a, c, p = labelled[0].split(":")
            cost, prob = _vw_float(c), _vw_float(p)
            if not _VW_INT.fullmatch(a) or cost is None or prob is None:
                raise ValueError(
                    f"vw line {lineno}: cannot parse the label {labelled[0]!r} (expected an "
                    "integer action, a finite cost and a finite probability)"
                )
            action = int(a)
            if action < 1:
                raise IndexError(
                    f"actions: Vowpal Wabbit actions are 1-based, got {action} (vw line {lineno})"
                )
            if action > _INT64_MAX:
                raise ValueError(
                    f"vw line {lineno}: action {action} is beyond the int64 range (at most "
                    f"{_INT64_MAX})"
                )
            if not 0.0 < prob <= 1.0:
                raise ValueError(
                    f"propensities: expected probabilities in (0, 1], got {prob!r} (vw line {lineno})"
                )
            actions.append(action)
            costs.append(cost)
            probs.append(prob)
            feats: dict[tuple[str, str], float] = {}
            for section in rest.split("|"):
                ns, weight = "", 1.0
                if section and not section[0].isspace():
                    head, *body = section.split(None, 1)
                    section = body[0] if body else ""
                    ns, colon, w = head.partition(":")
                    if colon and w:
                        parsed = _vw_float(w)
                        if parsed is None:
                            raise ValueError(
                                f"vw line {lineno}: cannot parse the namespace weight in "
                                f"{'|' + head!r} (expected a finite number)"
                            )
                        weight = parsed
                for tok in section.split():
                    name, _, val = tok.rpartition(":") if ":" in tok else (tok, "", "1")
                    x = _vw_float(val)
                    if x is None:
                        raise ValueError(
                            f"vw line {lineno}: cannot parse the feature {tok!r} (expected "
                            "name:value with a finite value)"
                        )
                    total = feats.get((ns, name), 0.0) + weight * x
                    if not np.isfinite(total):
                        raise ValueError(
                            f"vw line {lineno}: the feature {tok!r} overflows (times the "
                            f"namespace weight {weight:g}, or summed over repeats)"
                        )
                    feats[(ns, name)] = total
            rows.append(feats)
        if not rows:
            raise ValueError("source: no Vowpal Wabbit lines found (an empty log)")
        actions_arr = np.asarray(actions, dtype=np.int64)
        keys = {k for r in rows for k in r}
        numbered = all(ns == "" and _VW_COLUMN.fullmatch(name) for ns, name in keys)
        names = None
        if numbered:
            column = {k: int(k[1][1:]) for k in keys}
            width = max(column.values(), default=-1) + 1
            if dim is not None:
                if width > dim:
                    raise ValueError(
                        f"dim: the lines use feature f{width - 1}, more than dim={dim} columns"
                    )
                width = dim
        else:
            order: dict[tuple[str, str], int] = {}
            for r in rows:
                for k in r:
                    order.setdefault(k, len(order))
            column = order
            width = len(order)
            names = [f"{ns}^{name}" if ns else name for ns, name in order]
            if dim is not None and dim != width:
                raise ValueError(
                    f"dim: the lines have {width} distinct named features (one column each; "
                    f"dim only pads f<int> columns), got dim={dim}; leave dim out"
                )
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


_VW_INT = re.compile(r"[+-]?[0-9]+")
_VW_COLUMN = re.compile(r"f(?:0|[1-9][0-9]*)")


def _vw_float(text: str) -> float | None:
    """A finite number, or None. Python's ``float`` also takes ``1_0``, ``nan`` and
    ``inf``, which are no Vowpal Wabbit numbers and would poison the log."""
    if "_" in text:
        return None
    try:
        x = float(text)
    except ValueError:
        return None
    return x if np.isfinite(x) else None


def _vw_lines(source: Any) -> list[Any]:
    if isinstance(source, str) and ("\n" in source or "\r" in source):
        return source.splitlines()
    if isinstance(source, (str, os.PathLike)):
        try:
            with open(source) as fh:
                return fh.read().splitlines()
        except FileNotFoundError:
            if isinstance(source, str) and "|" in source:
                raise FileNotFoundError(
                    f"source: no file named {source!r}; to parse Vowpal Wabbit text pass it "
                    "with a line break (as to_vw returns it) or as a list of lines"
                ) from None
            raise
    if isinstance(source, (bytes, bytearray)) or not isinstance(source, Iterable):
        raise TypeError(
            f"source: expected a path, Vowpal Wabbit text (a str with line breaks) or an "
            f"iterable of lines, got {_describe(source)}"
        )
    return list(source)


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


class _CsvTable:
    """A CSV file's header and cells (strings), with conversions whose errors
    name the file, the column and the line, so a bad cell can be found."""

    def __init__(self, path: Path) -> None:
        self.path = path
        rows, lines = [], []
        with open(path, newline="") as fh:
            reader = csv.reader(fh)
            self.header = next(reader, [])
            for r in reader:
                if not r:
                    continue
                if len(r) != len(self.header):
                    raise ValueError(
                        f"{path}: line {reader.line_num} has {len(r)} fields, the header "
                        f"{len(self.header)}"
                    )
                rows.append(r)
                lines.append(reader.line_num)
        self.cells = np.array(rows, dtype=str).reshape(len(rows), len(self.header))
        self.lines = np.array(lines, dtype=np.int64)

    @property
    def n_rows(self) -> int:
        return int(self.cells.shape[0])

    def take(self, order: np.ndarray) -> None:
        self.cells = self.cells[order]
        self.lines = self.lines[order]

    def column(self, name: str) -> np.ndarray:
        try:
            j = self.header.index(name)
        except ValueError:
            raise ValueError(f"{self.path}: missing column {name!r}") from None
        return self.cells[:, j]

    def numbers(self, name: str, *, integer: bool = False) -> np.ndarray:
        """Column ``name`` as int64 or as finite float64."""
        col = self.column(name)
        dtype = np.int64 if integer else np.float64
        try:
            out = col.astype(dtype)
        except (ValueError, OverflowError):
            out = None
        if out is not None and (integer or np.isfinite(out).all()):
            return out
        # the error path: find the first bad cell, one at a time
        for value, line in zip(col, self.lines):
            try:
                x = np.array([value]).astype(dtype)
                ok = integer or bool(np.isfinite(x[0]))
            except (ValueError, OverflowError):
                ok = False
            if not ok:
                want = "an integer" if integer else "a finite number"
                raise ValueError(
                    f"{self.path}: column {name!r}, line {line}: expected {want}, got {str(value)!r}"
                )
        raise AssertionError("unreachable: some cell failed to convert")  # pragma: no cover

    def timestamps(self, name: str = "timestamp") -> np.ndarray:
        """ISO timestamps (any UTC offset; none = UTC) as UTC ``datetime64[us]``."""
        values = self.column(name)
        if values.size and all(v.endswith("+00:00") for v in values):
            try:
                return np.array([v[:-6] for v in values], dtype="datetime64[us]")
            except ValueError:
                pass  # the general path below names the bad cell
        utc = []
        for v, line in zip(values, self.lines):
            try:
                t = datetime.fromisoformat(v)
            except ValueError:
                raise ValueError(
                    f"{self.path}: column {name!r}, line {line}: expected an ISO 8601 "
                    f"timestamp, got {str(v)!r}"
                ) from None
            # without an offset, astimezone would read the time as the machine's
            # local time and the log would depend on where it is loaded
            if t.tzinfo is not None:
                t = t.astimezone(timezone.utc).replace(tzinfo=None)
            utc.append(t.isoformat())
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
    * timestamps: UTC ``datetime64[us]`` (a timestamp without a UTC offset is read as UTC).

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
        Unknown behaviour policy or campaign, malformed file (a cell that does
        not convert is reported with the file, column and line).
    FileNotFoundError
        The CSV file is not there (the small sample ships no ``all`` campaign).
    """
    if behavior_policy not in _OBD_POLICIES:
        raise ValueError(
            f"behavior_policy: expected one of {_OBD_POLICIES}, got {behavior_policy!r}"
        )
    if campaign not in _OBD_CAMPAIGNS:
        raise ValueError(f"campaign: expected one of {_OBD_CAMPAIGNS}, got {campaign!r}")
    folder = Path(path) / behavior_policy / campaign
    data_file = folder / f"{campaign}.csv"
    if not data_file.exists():
        raise FileNotFoundError(f"Open Bandit Dataset file not found: {data_file}")
    table = _CsvTable(data_file)
    if table.n_rows == 0:
        raise ValueError(f"{data_file}: no rounds")
    timestamps = table.timestamps()
    order = np.argsort(timestamps, kind="stable")
    table.take(order)
    timestamps = timestamps[order]

    actions = table.numbers("item_id", integer=True)
    raw_positions = table.numbers("position", integer=True)
    positions = np.unique(raw_positions, return_inverse=True)[1].reshape(-1).astype(np.int64)
    rewards = table.numbers("click")
    pscore = table.numbers("propensity_score")

    header = table.header
    blocks, names = [], []
    user_cols = [h for h in header if h.startswith("user_feature")]
    for name in user_cols:
        col = table.column(name)
        cats, codes = np.unique(col, return_inverse=True)
        codes = codes.reshape(-1)
        onehot = (codes[:, None] == np.arange(1, cats.size)[None, :]).astype(np.float64)
        blocks.append(onehot)
        names += [f"{name}_{c}" for c in cats[1:]]
    if include_affinity:
        aff_cols = [h for h in header if h.startswith("user-item_affinity")]
        blocks += [table.numbers(name)[:, None] for name in aff_cols]
        names += aff_cols
    contexts = np.hstack(blocks) if blocks else np.zeros((table.n_rows, 0))

    action_context = None
    n_actions = int(actions.max()) + 1
    item_file = folder / "item_context.csv"
    if item_file.exists():
        items = _CsvTable(item_file)
        item_id = items.numbers("item_id", integer=True)
        order = np.argsort(item_id, kind="stable")
        if not np.array_equal(item_id[order], np.arange(item_id.size)):
            raise ValueError(f"{item_file}: item_id must be 0..{item_id.size - 1}")
        items.take(order)
        feats = []
        cat_cols = [
            h for h in items.header if h.startswith("item_feature") and h != "item_feature_0"
        ]
        for name in cat_cols:
            feats.append(np.unique(items.column(name), return_inverse=True)[1].reshape(-1))
        feats.append(items.numbers("item_feature_0"))
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
