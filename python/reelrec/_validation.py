"""Input validation shared by every public entry point.

Every check raises with a message that names the argument, states what was
expected and shows what came, so that users never see a native crash.
"""

from __future__ import annotations

import numbers
import warnings
from typing import Any

import numpy as np
import scipy.sparse as sp

from .exceptions import CopyWarning

__all__ = [
    "check_user_items",
    "check_indices",
    "csr_arrays",
    "check_k",
    "check_item_mask",
    "check_num_threads",
    "check_positive",
    "check_nonnegative",
    "check_fraction",
    "seed_from",
    "rng_from",
    "as_float32_2d",
]


def _describe(x: Any) -> str:
    if isinstance(x, np.ndarray):
        return f"ndarray(dtype={x.dtype}, shape={x.shape})"
    if sp.issparse(x):
        return f"{type(x).__name__}(dtype={x.dtype}, shape={x.shape})"
    return f"{type(x).__name__} {x!r}"[:120]


def check_user_items(
    X: Any,
    name: str = "X",
    *,
    allow_negative: bool = False,
    allow_empty: bool = False,
    n_items: int | None = None,
) -> tuple[sp.csr_matrix, Any]:
    """Return ``(csr, interactions)`` for a users x items input.

    ``csr`` is float32 CSR with sorted indices and no duplicates (canonical); ``interactions`` is the :class:`reelrec.data.Interactions`
    the matrix came from, or ``None``.
    """
    from .data.interactions import Interactions  # local: data imports this module

    interactions = None
    if isinstance(X, Interactions):
        interactions = X
        X = X.matrix
    if not sp.issparse(X):
        raise TypeError(
            f"{name}: expected a reelrec.data.Interactions or a users x items scipy.sparse "
            f"matrix, got {_describe(X)}"
        )
    if X.ndim != 2:
        raise ValueError(f"{name}: expected a 2-d users x items matrix, got shape {X.shape}")
    if not (np.issubdtype(X.dtype, np.number) or X.dtype == np.bool_) or np.iscomplexobj(X):
        raise TypeError(f"{name}: expected real numeric values, got dtype {X.dtype}")
    if n_items is not None and X.shape[1] != n_items:
        raise ValueError(
            f"{name}: expected {n_items} item columns (the fitted catalogue), got {X.shape[1]}"
        )
    copied = False
    if X.format != "csr":
        if interactions is None:
            warnings.warn(
                f"{name}: converting {X.format.upper()} to CSR (a copy); pass CSR to avoid it",
                CopyWarning,
                stacklevel=3,
            )
        X = X.tocsr()
        copied = True
    if X.dtype != np.float32:
        X = X.astype(np.float32)
        copied = True
    if not X.has_canonical_format:
        if not copied:
            X = X.copy()
            copied = True
        X.sum_duplicates()  # also sorts indices
    if X.shape[1] >= 2**31:
        raise ValueError(f"{name}: at most 2**31 - 1 items are supported, got {X.shape[1]}")
    if not allow_empty and (X.shape[0] == 0 or X.shape[1] == 0 or X.nnz == 0):
        raise ValueError(
            f"{name}: expected a non-empty matrix with at least one interaction, got shape "
            f"{X.shape} with {X.nnz} stored values"
        )
    if X.nnz:
        if not np.isfinite(X.data).all():
            raise ValueError(f"{name}: contains NaN or infinite values")
        if not allow_negative and X.data.min() < 0:
            raise ValueError(
                f"{name}: expected non-negative interaction weights, got minimum {X.data.min():g}"
            )
    return X, interactions


def csr_arrays(X: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
    """``(indptr int64, indices int32)`` of a canonical CSR, as the native kernels take them.

    scipy picks the narrowest index dtype itself, so the conversion happens here,
    at the kernel boundary (indptr is only n_rows + 1 long).
    """
    return X.indptr.astype(np.int64, copy=False), X.indices.astype(np.int32, copy=False)


def as_plain_array(values: Any, name: str) -> np.ndarray:
    """``np.asarray(values)``, refusing masked arrays (their mask would be dropped silently)."""
    if isinstance(values, np.ma.MaskedArray):
        raise TypeError(
            f"{name}: masked arrays are not supported (the mask would be ignored); pass "
            f"plain values, e.g. without the masked rounds, got a masked array of shape "
            f"{values.shape}"
        )
    return np.asarray(values)


def check_indices(values: Any, upper: int | None, name: str) -> tuple[np.ndarray, bool]:
    """Validate user or item indices; return ``(int64 array, was_scalar)``.

    ``upper`` is the exclusive bound (``None`` = any non-negative index).
    """
    scalar = isinstance(values, (numbers.Integral, np.integer)) and not isinstance(values, bool)
    if isinstance(values, (bool, np.bool_)):
        raise TypeError(f"{name}: expected integer indices, got a bool")
    arr = as_plain_array(values, name)
    # NumPy files timedelta64 under np.integer
    if (
        arr.dtype == object
        or arr.dtype.kind in "mM"
        or not (np.issubdtype(arr.dtype, np.integer) or arr.size == 0)
    ):
        raise TypeError(f"{name}: expected integer indices, got {_describe(values)}")
    if arr.ndim > 1:
        raise ValueError(f"{name}: expected a scalar or a 1-d array, got shape {arr.shape}")
    arr = np.atleast_1d(arr)
    if arr.size:
        # bounds before the int64 cast, which would wrap uint64 values above 2**63
        lo, hi = int(arr.min()), int(arr.max())
        if lo < 0:
            raise IndexError(f"{name}: indices must be >= 0, got {lo}")
        if upper is not None and hi >= upper:
            raise IndexError(f"{name}: index {hi} is out of range for {upper} entries")
        check_int64(hi, name, "index")
    return arr.astype(np.int64, copy=False), scalar


def check_int64(largest: int, name: str, what: str, why: str = "beyond the int64 range") -> None:
    """``IndexError`` naming the value when an unsigned id does not fit in int64."""
    if largest > np.iinfo(np.int64).max:
        raise IndexError(f"{name}: {what} {largest} is {why}")


def all_finite(arr: np.ndarray) -> bool:
    """Whether ``arr`` holds no NaN or infinity, reading it once in the common case.

    One sum first: it is finite unless a value is not (or large finite values
    overflow it, which the second, exact test then settles).
    """
    with np.errstate(over="ignore", invalid="ignore"):
        total = arr.sum()
    return bool(np.isfinite(total)) or bool(np.isfinite(arr).all())


#: Largest integer parameter accepted (counts, sizes, ids): the native side
#: takes 64-bit signed integers, and 2**62 leaves room for sums of two.
MAX_INT = 2**62


def check_k(k: Any, name: str = "k") -> int:
    if isinstance(k, (bool, np.bool_)) or not isinstance(k, (numbers.Integral, np.integer)):
        raise TypeError(f"{name}: expected a positive integer, got {_describe(k)}")
    if k <= 0:
        raise ValueError(f"{name}: expected a positive integer, got {k}")
    if k > MAX_INT:
        raise ValueError(f"{name}: expected a positive integer below 2**62, got {k}")
    return int(k)


def check_item_mask(items: Any, n_items: int, name: str) -> np.ndarray | None:
    """Turn a list of item indices (or a boolean mask) into a uint8 flag array."""
    if items is None:
        return None
    arr = np.asarray(items)
    if arr.dtype == np.bool_:
        if arr.shape != (n_items,):
            raise ValueError(f"{name}: a boolean mask needs shape ({n_items},), got {arr.shape}")
        return arr.astype(np.uint8)
    idx, _ = check_indices(arr, n_items, name)
    mask = np.zeros(n_items, dtype=np.uint8)
    mask[idx] = 1
    return mask


#: Largest magnitude accepted for inputs that models square and multiply
#: (bandit contexts, rewards and arm features, reward-model contexts): their
#: sums of squares and outer products must stay far from overflow, which
#: sets in not far beyond 1e150.
MAX_ABS = 1e30


def check_magnitude(arr: np.ndarray, name: str, limit: float = MAX_ABS) -> None:
    """Raise ``ValueError`` naming ``name`` if ``arr`` holds NaN, inf or a value beyond +-limit."""
    # min and max (no temporary array) catch NaN too: it fails both comparisons
    if arr.size and not (-limit <= arr.min() and arr.max() <= limit):
        if not np.isfinite(arr).all():
            raise ValueError(f"{name}: contains NaN or infinite values")
        raise ValueError(
            f"{name}: expected values within +-{limit:g} (sums of squares of them must not "
            f"overflow), got a value of magnitude {float(np.abs(arr).max()):g}; rescale the {name}"
        )


def check_num_threads(num_threads: Any, name: str = "num_threads") -> int:
    if isinstance(num_threads, bool) or not isinstance(num_threads, (numbers.Integral, np.integer)):
        raise TypeError(
            f"{name}: expected an integer >= 0 (0 = all cores), got {_describe(num_threads)}"
        )
    if num_threads < 0 or num_threads > 65536:
        raise ValueError(
            f"{name}: expected an integer in [0, 65536] (0 = all cores), got {num_threads}"
        )
    return int(num_threads)


def check_positive(value: Any, name: str, *, integer: bool = False) -> Any:
    kinds = (numbers.Integral,) if integer else (numbers.Real,)
    if isinstance(value, bool) or not isinstance(value, kinds):
        what = "a positive integer" if integer else "a positive number"
        raise TypeError(f"{name}: expected {what}, got {_describe(value)}")
    if integer and value > MAX_INT:
        raise ValueError(f"{name}: expected a positive integer below 2**62, got {value}")
    if not integer and not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name}: expected a positive finite value, got {value}")
    return int(value) if integer else float(value)


def check_nonnegative(value: Any, name: str, *, integer: bool = False) -> Any:
    kinds = (numbers.Integral,) if integer else (numbers.Real,)
    if isinstance(value, bool) or not isinstance(value, kinds):
        what = "a non-negative integer" if integer else "a non-negative number"
        raise TypeError(f"{name}: expected {what}, got {_describe(value)}")
    if integer and value > MAX_INT:
        raise ValueError(f"{name}: expected a non-negative integer below 2**62, got {value}")
    if not integer and not np.isfinite(value) or value < 0:
        raise ValueError(f"{name}: expected a finite value >= 0, got {value}")
    return int(value) if integer else float(value)


def check_fraction(value: Any, name: str, *, inclusive: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: expected a number in (0, 1), got {_describe(value)}")
    ok = 0 <= value <= 1 if inclusive else 0 < value < 1
    if not ok:
        raise ValueError(
            f"{name}: expected a value in {'[0, 1]' if inclusive else '(0, 1)'}, got {value}"
        )
    return float(value)


def seed_from(random_state: Any, name: str = "random_state") -> int:
    """Derive a 63-bit seed for native RNGs from ``random_state``."""
    if random_state is None:
        return int(np.random.SeedSequence().generate_state(1, np.uint64)[0] >> np.uint64(1))
    if isinstance(random_state, (numbers.Integral, np.integer)) and not isinstance(
        random_state, bool
    ):
        if random_state < 0:
            raise ValueError(f"{name}: expected a non-negative integer seed, got {random_state}")
        return int(
            np.random.SeedSequence(int(random_state)).generate_state(1, np.uint64)[0]
            >> np.uint64(1)
        )
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(0, 2**63 - 1))
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(0, 2**31 - 1))
    raise TypeError(
        f"{name}: expected None, an int seed or a numpy Generator, got {_describe(random_state)}"
    )


def rng_from(random_state: Any, name: str = "random_state") -> np.random.Generator:
    """A NumPy Generator for ``random_state`` (int, Generator or None)."""
    if isinstance(random_state, np.random.Generator):
        return random_state
    return np.random.default_rng(seed_from(random_state, name))


def as_float32_2d(
    a: Any, name: str, *, n_cols: int | None = None, allow_empty: bool = False
) -> np.ndarray:
    """C-contiguous float32 2-d array with finite values."""
    if sp.issparse(a):
        raise TypeError(f"{name}: expected a dense 2-d array, got {_describe(a)}")
    arr = np.asarray(a)
    if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise TypeError(f"{name}: expected a float array, got {_describe(a)}")
    if arr.ndim != 2:
        raise ValueError(f"{name}: expected a 2-d array, got shape {arr.shape}")
    if n_cols is not None and arr.shape[1] != n_cols:
        raise ValueError(f"{name}: expected {n_cols} columns, got {arr.shape[1]}")
    if not allow_empty and arr.shape[0] == 0:
        raise ValueError(f"{name}: expected at least one row, got shape {arr.shape}")
    arr = np.ascontiguousarray(arr, dtype=np.float32)
    if not np.isfinite(arr).all():
        raise ValueError(f"{name}: contains NaN or infinite values")
    return arr
