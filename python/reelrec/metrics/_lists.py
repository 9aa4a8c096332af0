"""Validation and clean-up of recommendation lists shared by every metric."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from .._validation import _describe, check_k, check_user_items

__all__ = [
    "as_id_array",
    "check_recommended",
    "check_relevant",
    "check_n_items",
    "check_metric_names",
    "distinct_lists",
    "mean_over_users",
]


def check_recommended(
    recommended: Any,
    k: Any,
    n_items: int,
    name: str = "recommended",
    *,
    native_range_check: bool = False,
) -> tuple[np.ndarray, int]:
    """Validate a users x columns id array; return ``(int32 C-contiguous array, k)``.

    Only the first ``k`` columns are checked and kept (``k=None``: all columns).
    The array is returned without a copy when it is already C-contiguous int32;
    the native kernels then read its first ``k`` columns in place. With
    ``native_range_check`` such an array skips the range check here because the
    kernel performs it in its own pass (with the same messages); any array
    that must be cast is checked first, so that no id can wrap around.
    """
    arr = as_id_array(recommended, name)
    n_cols = arr.shape[1]
    if k is None:
        if n_cols == 0:
            raise ValueError(f"{name}: expected at least one column, got shape {arr.shape}")
        k = n_cols
    else:
        k = check_k(k)
        if k > n_cols:
            raise ValueError(f"k: {k} exceeds the {n_cols} columns of {name}")
    head = arr[:, :k]
    in_place = arr.dtype == np.int32 and arr.flags.c_contiguous
    if head.size and not (in_place and native_range_check):
        lo, hi = int(head.min()), int(head.max())
        if lo < -1:
            raise IndexError(f"{name}: item ids must be >= 0, or -1 for padding; got {lo}")
        if hi >= n_items:
            raise IndexError(f"{name}: item id {hi} is out of range for {n_items} items")
    if in_place:
        return arr, k
    return np.ascontiguousarray(head, dtype=np.int32), k


def as_id_array(recommended: Any, name: str = "recommended") -> np.ndarray:
    """``recommended`` as a 2-d integer ndarray (no copy when possible; ids not yet range-checked)."""
    if sp.issparse(recommended):
        raise TypeError(
            f"{name}: expected a dense users x k integer array, got {_describe(recommended)}"
        )
    arr = np.asarray(recommended)
    if arr.dtype == np.bool_ or arr.dtype.kind not in "iu":
        raise TypeError(
            f"{name}: expected integer item ids (-1 pads), got {_describe(recommended)}"
        )
    if arr.ndim != 2:
        raise ValueError(f"{name}: expected a 2-d users x k array, got shape {arr.shape}")
    return arr


def check_relevant(relevant: Any, n_users: int, name: str = "relevant") -> sp.csr_matrix:
    """Canonical float32 CSR of non-negative gains with one row per user."""
    csr, _ = check_user_items(relevant, name, allow_empty=True)
    if csr.shape[0] != n_users:
        raise ValueError(
            f"{name}: has {csr.shape[0]} user rows but recommended has {n_users} rows (one per user)"
        )
    return csr


def check_n_items(n_items: Any, name: str = "n_items") -> int:
    return check_k(n_items, name)


def distinct_lists(ids: np.ndarray, k: int) -> np.ndarray:
    """The first ``k`` columns with repeated items (after their first position) replaced by -1.

    Vectorised: a stable sort of each row puts copies of an item next to each
    other with the earliest position first. O(n_users * k log k).
    """
    head = np.array(ids[:, :k], dtype=np.int32)  # a copy we may edit
    if head.shape[1] < 2:
        return head
    order = np.argsort(head, axis=1, kind="stable")
    ordered = np.take_along_axis(head, order, axis=1)
    repeat = (ordered[:, 1:] == ordered[:, :-1]) & (ordered[:, 1:] >= 0)
    rows, cols = np.nonzero(repeat)
    head[rows, order[rows, cols + 1]] = -1
    return head


def mean_over_users(values: np.ndarray) -> float:
    """Mean of the non-NaN entries; NaN (without a warning) when there are none."""
    defined = values[~np.isnan(values)]
    return float(defined.mean()) if defined.size else float("nan")


def check_metric_names(
    metrics: Any, allowed: tuple[str, ...], what: str = "metric"
) -> tuple[str, ...]:
    """A metric name or a non-empty sequence of them, each one of ``allowed``."""
    if isinstance(metrics, str):
        metrics = (metrics,)
    try:
        names = tuple(metrics)
    except TypeError:
        raise TypeError(
            f"metrics: expected a sequence of metric names, got {_describe(metrics)}"
        ) from None
    if not names:
        raise ValueError("metrics: expected at least one metric name")
    for name in names:
        if name not in allowed:
            raise ValueError(f"metrics: unknown {what} {name!r}; expected any of {allowed}")
    return names
