"""Save/load support for models whose learned state includes sparse matrices.

The base class persists arrays only (no pickle); a CSR matrix is stored as its
three arrays plus its shape under ``<name>.indptr`` etc.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

from .._validation import csr_arrays


class SparseStateMixin:
    """Adds ``_sparse_state_attrs``: CSR attributes saved as arrays."""

    _sparse_state_attrs: ClassVar[tuple[str, ...]] = ()

    def _get_state(self) -> dict[str, np.ndarray]:
        state = super()._get_state()  # type: ignore[misc]
        for name in self._sparse_state_attrs:
            m = getattr(self, name, None)
            if m is None:
                continue
            state[f"{name}.indptr"] = m.indptr
            state[f"{name}.indices"] = m.indices
            state[f"{name}.data"] = m.data
            state[f"{name}.shape"] = np.asarray(m.shape, dtype=np.int64)
        return state

    def _set_state(self, state: dict[str, np.ndarray]) -> None:
        super()._set_state(state)  # type: ignore[misc]
        for name in self._sparse_state_attrs:
            if f"{name}.indptr" not in state:
                setattr(self, name, None)
                continue
            shape = tuple(int(s) for s in state[f"{name}.shape"])
            m = sp.csr_matrix(
                (state[f"{name}.data"], state[f"{name}.indices"], state[f"{name}.indptr"]),
                shape=shape,
            )
            setattr(self, name, m)


def native_csr(m: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(indptr int64, indices int32, data float32)`` of a canonical CSR for the kernels."""
    indptr, indices = csr_arrays(m)
    return indptr, indices, np.ascontiguousarray(m.data, dtype=np.float32)


def csr_from_native(parts: Any, shape: tuple[int, int]) -> sp.csr_matrix:
    """A canonical CSR from kernel output ``(indptr, indices, data)`` (rows already sorted)."""
    indptr, indices, data = parts
    m = sp.csr_matrix((data, indices, indptr), shape=shape)
    m.has_sorted_indices = True
    return m
