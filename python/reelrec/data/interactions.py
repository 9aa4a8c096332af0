"""Interaction data with two-way id maps (users x items, CSR float32)."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

__all__ = ["Interactions"]


class Interactions:
    """Users x items interactions with the caller's ids.

    Attributes
    ----------
    matrix : scipy.sparse.csr_matrix
        float32, users x items, canonical (sorted indices, no duplicates).
    user_ids, item_ids : ndarray
        Index -> caller's id.
    timestamps : ndarray of float64 or None
        Aligned with ``matrix.data``: time of the latest event of each pair.
    """

    def __init__(
        self,
        matrix: sp.csr_matrix,
        user_ids: Any = None,
        item_ids: Any = None,
        timestamps: np.ndarray | None = None,
    ):
        self.matrix = matrix
        self.user_ids = np.arange(matrix.shape[0]) if user_ids is None else np.asarray(user_ids)
        self.item_ids = np.arange(matrix.shape[1]) if item_ids is None else np.asarray(item_ids)
        self.timestamps = timestamps

    @property
    def shape(self) -> tuple[int, int]:
        return self.matrix.shape
