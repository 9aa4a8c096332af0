"""Beyond-accuracy metrics of recommendation lists: coverage, concentration, novelty, diversity.

Lists follow the conventions of :mod:`reelrec.metrics.ranking`: a users x
columns integer array, ``-1`` pads, only the first ``k`` columns count
(``k=None``: all of them) and an item repeated within a row counts only once.
Every function is vectorised over users: O(n_users * k) work (times the vector
dimension for :func:`intra_list_diversity`), never a loop over users or pairs
of users in Python.

The private helpers (``item_counts``, ``personalization_parts``, ...) let
:func:`reelrec.evaluate` stream batches of users through the same code.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
import scipy.sparse as sp

from .._validation import _describe
from ._lists import check_n_items, check_recommended, distinct_lists, mean_over_users

__all__ = ["coverage", "gini", "novelty", "intra_list_diversity", "personalization"]

# Elements of the (users x k x dim) block gathered at once by intra_list_diversity.
_GATHER_BUDGET = 1 << 22


def _clean(recommended: Any, k: Any, n_items: int) -> np.ndarray:
    ids, k = check_recommended(recommended, k, n_items)
    return distinct_lists(ids, k)


# ------------------------------------------------------------------ coverage / gini
def item_counts(clean: np.ndarray, n_items: int) -> np.ndarray:
    """How many lists hold each item (int64, length ``n_items``)."""
    return np.bincount(clean[clean >= 0], minlength=n_items).astype(np.int64, copy=False)


def coverage(recommended: Any, n_items: int, k: int | None = None) -> float:
    """Catalogue coverage: the fraction of the ``n_items`` items that appear in at least one list.

    Parameters
    ----------
    recommended : array of int, shape (n_users, >= k)
        Item ids, best first; ``-1`` pads.
    n_items : int
        Catalogue size; ids must be below it.
    k : int, optional
        Columns to use (all by default).

    Returns
    -------
    float in [0, 1]
    """
    n_items = check_n_items(n_items)
    counts = item_counts(_clean(recommended, k, n_items), n_items)
    return float(np.count_nonzero(counts)) / n_items


def gini_from_counts(counts: np.ndarray) -> float:
    total = counts.sum()
    if total == 0:
        return float("nan")
    n = counts.size
    ordered = np.sort(counts).astype(np.float64)
    weights = 2.0 * np.arange(1, n + 1) - n - 1
    return float(weights @ ordered / (n * float(total)))


def gini(
    recommended: Any = None,
    n_items: int | None = None,
    *,
    k: int | None = None,
    counts: Any = None,
) -> float:
    """Gini index of how often items are recommended (0 = perfectly even, near 1 = concentrated).

    With the per-item counts ``c`` sorted increasingly, ``c_(1) <= ... <= c_(n)``
    over all ``n = n_items`` catalogue items (items never recommended count 0)::

        G = sum_i (2 i - n - 1) c_(i) / (n * sum_i c_(i))

    which is 0 when every item is recommended equally often and ``(n - 1) / n``
    when a single item takes every slot. NaN when nothing was recommended.

    Parameters
    ----------
    recommended : array of int, shape (n_users, >= k), optional
        Lists to count (each list counts an item at most once). Needs ``n_items``.
    n_items : int, optional
        Catalogue size (required with ``recommended``; checked against ``counts``).
    k : int, optional
        Columns of ``recommended`` to use (all by default).
    counts : array-like of non-negative numbers, shape (n_items,), optional
        Precomputed recommendation counts per item, instead of ``recommended``.

    Returns
    -------
    float
    """
    if (recommended is None) == (counts is None):
        raise TypeError("gini: pass exactly one of recommended (with n_items) or counts")
    if counts is not None:
        if sp.issparse(counts):
            raise TypeError(f"counts: expected a dense 1-d array, got {_describe(counts)}")
        arr = np.asarray(counts)
        if arr.dtype == np.bool_ or arr.dtype.kind not in "iuf":
            raise TypeError(f"counts: expected non-negative numbers, got {_describe(counts)}")
        if arr.ndim != 1 or arr.size == 0:
            raise ValueError(
                f"counts: expected a non-empty 1-d array (one count per item), got shape {arr.shape}"
            )
        if n_items is not None and arr.size != check_n_items(n_items):
            raise ValueError(f"counts: expected {n_items} entries (n_items), got {arr.size}")
        arr = arr.astype(np.float64)
        if not np.isfinite(arr).all():
            raise ValueError("counts: contains NaN or infinite values")
        if arr.min() < 0:
            raise ValueError(f"counts: expected non-negative counts, got minimum {arr.min():g}")
        return gini_from_counts(arr)
    if n_items is None:
        raise TypeError("n_items: required with recommended (items never recommended count as 0)")
    n_items = check_n_items(n_items)
    return gini_from_counts(item_counts(_clean(recommended, k, n_items), n_items))


# ----------------------------------------------------------------------- novelty
def check_popularity(item_popularity: Any, n_users: Any) -> np.ndarray:
    """Per-item self-information ``-log2(share)`` with a trailing 0 (so id -1 reads 0)."""
    if sp.issparse(item_popularity):
        raise TypeError(
            f"item_popularity: expected a dense 1-d array, got {_describe(item_popularity)}"
        )
    pop = np.asarray(item_popularity)
    if pop.dtype == np.bool_ or pop.dtype.kind not in "iuf":
        raise TypeError(
            f"item_popularity: expected non-negative numbers, got {_describe(item_popularity)}"
        )
    if pop.ndim != 1 or pop.size == 0:
        raise ValueError(
            f"item_popularity: expected a non-empty 1-d array (one value per item), got shape {pop.shape}"
        )
    pop = pop.astype(np.float64)
    if not np.isfinite(pop).all():
        raise ValueError("item_popularity: contains NaN or infinite values")
    if pop.min() < 0:
        raise ValueError(
            f"item_popularity: expected non-negative values, got minimum {pop.min():g}"
        )
    if n_users is None:
        total = float(pop.sum())
        if total <= 0:
            raise ValueError("item_popularity: all zero; the shares of interactions are undefined")
    else:
        if isinstance(n_users, bool) or not isinstance(n_users, (numbers.Integral, np.integer)):
            raise TypeError(f"n_users: expected a positive integer, got {_describe(n_users)}")
        total = float(n_users)
        if total <= 0 or pop.max() > total:
            raise ValueError(
                f"n_users: expected an integer >= max(item_popularity) = {pop.max():g} and > 0, got {n_users}"
            )
    info = np.zeros(pop.size + 1)
    info[:-1] = -np.log2(np.maximum(pop, 1.0) / total)
    return info


def novelty_per_user(clean: np.ndarray, info: np.ndarray) -> np.ndarray:
    """Mean self-information of each list (NaN for a list without items)."""
    valid = np.count_nonzero(clean >= 0, axis=1)
    total = info[clean].sum(axis=1)  # id -1 reads the trailing 0
    out = np.full(clean.shape[0], np.nan)
    np.divide(total, valid, out=out, where=valid > 0)
    return out


def novelty(
    recommended: Any,
    item_popularity: Any,
    n_users: int | None = None,
    k: int | None = None,
    per_user: bool = False,
) -> Any:
    """Mean self-information of the recommended items (Zhou et al., PNAS 2010).

    The *share* of item ``i`` is ``item_popularity[i] / n_users`` when
    ``n_users`` is given (popularity = number of users who interacted with the
    item, so the share is the fraction of users who know it), otherwise
    ``item_popularity[i] / sum(item_popularity)`` (its share of all
    interactions). The item's novelty is ``-log2(share)`` in bits; items with
    popularity 0 are scored as if their popularity were 1, which keeps the
    value finite. A list's novelty is the mean over its distinct items; the
    result is the mean over lists that hold at least one item.

    Parameters
    ----------
    recommended : array of int, shape (n_users, >= k)
        Item ids, best first; ``-1`` pads.
    item_popularity : array-like of non-negative numbers, shape (n_items,)
        Popularity per item, typically from the training data; defines the catalogue.
    n_users : int, optional
        Number of users the popularity counts come from (``>= max(item_popularity)``).
    k : int, optional
        Columns to use (all by default).
    per_user : bool
        Return one value per list (NaN for empty lists) instead of the mean.

    Returns
    -------
    float or ndarray of float64, shape (n_users,)
    """
    info = check_popularity(item_popularity, n_users)
    values = novelty_per_user(_clean(recommended, k, info.size - 1), info)
    return values if per_user else mean_over_users(values)


# --------------------------------------------------------------------- diversity
def unit_item_vectors(item_vectors: Any) -> np.ndarray:
    """Row-normalised float64 item vectors plus a trailing zero row (so id -1 reads zeros)."""
    if sp.issparse(item_vectors):
        raise TypeError(
            f"item_vectors: expected a dense n_items x d array, got {_describe(item_vectors)}"
        )
    arr = np.asarray(item_vectors)
    if arr.dtype == np.bool_ or arr.dtype.kind not in "iuf":
        raise TypeError(f"item_vectors: expected real numbers, got {_describe(item_vectors)}")
    if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(
            f"item_vectors: expected a non-empty 2-d n_items x d array, got shape {arr.shape}"
        )
    unit = np.zeros((arr.shape[0] + 1, arr.shape[1]))
    unit[:-1] = arr
    if not np.isfinite(unit).all():
        raise ValueError("item_vectors: contains NaN or infinite values")
    norms = np.linalg.norm(unit, axis=1)
    np.divide(unit, norms[:, None], out=unit, where=norms[:, None] > 0)
    return unit


def diversity_per_user(clean: np.ndarray, unit: np.ndarray) -> np.ndarray:
    """Mean pairwise cosine distance within each list (NaN below two items).

    The sum of cosine similarities over the pairs of a list is
    ``(|sum of unit vectors|^2 - sum of squared norms) / 2``, so each list costs
    O(k d) rather than O(k^2 d).
    """
    n, k = clean.shape
    out = np.full(n, np.nan)
    step = max(1, _GATHER_BUDGET // max(1, k * unit.shape[1]))
    for start in range(0, n, step):  # bounded memory; O(n / step) iterations, not per user
        block = unit[clean[start : start + step]]
        total = block.sum(axis=1)
        pair_sum = 0.5 * (
            np.einsum("ij,ij->i", total, total) - np.einsum("ijk,ijk->i", block, block)
        )
        m = np.count_nonzero(clean[start : start + step] >= 0, axis=1).astype(np.float64)
        pairs = 0.5 * m * (m - 1)
        ok = pairs > 0
        out[start : start + step][ok] = np.clip(1.0 - pair_sum[ok] / pairs[ok], 0.0, 2.0)
    return out


def intra_list_diversity(
    recommended: Any, item_vectors: Any, k: int | None = None, per_user: bool = False
) -> Any:
    """Intra-list diversity: mean pairwise cosine distance between the items of a list.

    For a list with distinct items ``L`` (``|L| >= 2``)::

        ILD(L) = mean over pairs {i, j} in L of (1 - cos(v_i, v_j))

    with ``v`` the rows of ``item_vectors``; a zero vector has cosine 0 with
    everything (distance 1). Values lie in [0, 2]. Lists with fewer than two
    items are undefined (NaN per user) and left out of the mean.

    Parameters
    ----------
    recommended : array of int, shape (n_users, >= k)
        Item ids, best first; ``-1`` pads.
    item_vectors : array-like, shape (n_items, d)
        Item representation (factors, embeddings, one-hot genres...).
    k : int, optional
        Columns to use (all by default).
    per_user : bool
        Return one value per list instead of the mean.

    Returns
    -------
    float or ndarray of float64, shape (n_users,)
    """
    unit = unit_item_vectors(item_vectors)
    values = diversity_per_user(_clean(recommended, k, unit.shape[0] - 1), unit)
    return values if per_user else mean_over_users(values)


def personalization_parts(clean: np.ndarray, n_items: int) -> tuple[np.ndarray, int]:
    """Sum of the users' L2-normalised binary list vectors, and how many lists were non-empty."""
    sizes = np.count_nonzero(clean >= 0, axis=1)
    weight = np.zeros(clean.shape[0])
    np.divide(1.0, np.sqrt(sizes), out=weight, where=sizes > 0)
    valid = clean >= 0
    rows = np.nonzero(valid)[0]
    summed = np.bincount(clean[valid], weights=weight[rows], minlength=n_items)
    return summed, int(np.count_nonzero(sizes))


def personalization_from_parts(summed: np.ndarray, n_lists: int) -> float:
    if n_lists < 2:
        return float("nan")
    # Over ordered pairs u != v: sum cos(u, v) = |sum_u x_u|^2 - sum_u |x_u|^2 = |s|^2 - n.
    mean_similarity = (float(summed @ summed) - n_lists) / (n_lists * (n_lists - 1.0))
    return 1.0 - mean_similarity


def personalization(recommended: Any, k: int | None = None) -> float:
    """Personalization: 1 - mean similarity between the lists of every pair of users.

    The similarity of two lists is the cosine of their binary item-set vectors,
    ``|L_u & L_v| / sqrt(|L_u| |L_v|)``, which is the overlap ``|L_u & L_v| / k``
    for full lists of ``k`` items. The mean runs over all pairs of users with a
    non-empty list; 0 means everyone gets the same list, 1 means no two lists
    share an item. NaN with fewer than two non-empty lists.

    Computed exactly in O(n_users * k + n_items) time and O(n_items) memory: the
    sum of all pairwise cosines equals ``(|s|^2 - n) / 2`` where ``s`` is the sum
    of the users' normalised list vectors, so no pair of users is ever visited
    and no sampling is needed.

    Parameters
    ----------
    recommended : array of int, shape (n_users, >= k)
        Item ids, best first; ``-1`` pads.
    k : int, optional
        Columns to use (all by default).

    Returns
    -------
    float
    """
    ids, k = check_recommended(recommended, k, 2**31 - 1)  # no catalogue size: any int32 id
    clean = distinct_lists(ids, k)
    n_items = int(clean.max()) + 1 if clean.size else 0
    return personalization_from_parts(*personalization_parts(clean, max(n_items, 1)))
