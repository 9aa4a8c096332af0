"""Error metrics of predicted ratings."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from .._validation import _describe

__all__ = ["rmse", "mae"]


def _as_values(values: Any, name: str) -> np.ndarray:
    if sp.issparse(values):
        raise TypeError(f"{name}: expected a dense array of numbers, got {_describe(values)}")
    arr = np.asarray(values)
    if arr.dtype == np.bool_ or arr.dtype.kind not in "iuf":
        raise TypeError(f"{name}: expected real numbers, got {_describe(values)}")
    arr = arr.astype(np.float64, copy=False)
    if not np.isfinite(arr).all():
        raise ValueError(f"{name}: contains NaN or infinite values")
    return arr


def _check_pair(y_true: Any, y_pred: Any) -> tuple[np.ndarray, np.ndarray]:
    t = _as_values(y_true, "y_true")
    p = _as_values(y_pred, "y_pred")
    if t.shape != p.shape:
        raise ValueError(f"y_pred: expected the shape of y_true {t.shape}, got {p.shape}")
    if t.size == 0:
        raise ValueError("y_true: expected at least one value, got an empty array")
    return t, p


def rmse(y_true: Any, y_pred: Any) -> float:
    """Root mean squared error ``sqrt(mean((y_true - y_pred) ** 2))``.

    Parameters
    ----------
    y_true, y_pred : array-like of real numbers, same shape, finite, non-empty

    Returns
    -------
    float
    """
    t, p = _check_pair(y_true, y_pred)
    return float(np.sqrt(np.mean(np.square(t - p))))


def mae(y_true: Any, y_pred: Any) -> float:
    """Mean absolute error ``mean(|y_true - y_pred|)``. Inputs as for :func:`rmse`."""
    t, p = _check_pair(y_true, y_pred)
    return float(np.mean(np.abs(t - p)))
