"""Ranking metrics of top-k recommendation lists (native kernel, OpenMP over users).

Conventions shared by every function here
-----------------------------------------
``recommended``
    Integer array, users x (at least ``k``) columns, best item first. Only the
    first ``k`` columns count. ``-1`` pads a short list and counts as a miss.
    An item repeated within a row counts only at its first position; later
    copies are misses (so no metric can exceed its maximum). Ids below -1 or at
    or above the catalogue size raise :class:`IndexError`.
``relevant``
    users x items scipy sparse matrix (or :class:`reelrec.data.Interactions`),
    one row per row of ``recommended``. An item is *relevant* to a user when it
    is stored in the user's row with a value > 0; the stored value is its
    *gain* (used by NDCG only). Explicit zeros are not relevant; negative or
    NaN values raise :class:`ValueError`. ``rel(u)`` below is the set of
    relevant items of user ``u`` and ``hits(u)`` the number of distinct
    relevant items among the first ``k`` recommendations.
Averaging
    Users with no relevant item have no defined value: they are left out of the
    mean, and ``per_user=True`` returns NaN for them. The mean is NaN when no
    user has a relevant item.

Complexity: O(n_users * k * log(row length) + nnz(relevant)) time, one pass per
user with the GIL released; scratch memory is O(threads * (longest row + k)).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import _core
from .._validation import check_num_threads, csr_arrays
from ._lists import (
    as_id_array,
    check_metric_names,
    check_recommended,
    check_relevant,
    mean_over_users,
)

__all__ = [
    "RANKING_METRICS",
    "ranking_metrics_at_k",
    "precision_at_k",
    "recall_at_k",
    "f1_at_k",
    "map_at_k",
    "ndcg_at_k",
    "mrr_at_k",
    "hit_rate_at_k",
    "auc",
]

#: names accepted by :func:`ranking_metrics_at_k` (and by :func:`reelrec.evaluate`)
RANKING_METRICS = ("precision", "recall", "f1", "map", "ndcg", "mrr", "hit_rate", "auc")


def _per_user_metrics(
    recommended: Any, relevant: Any, k: Any, names: tuple[str, ...], num_threads: Any
) -> dict[str, np.ndarray]:
    """Validated call into the native kernel: name -> float64 per-user values."""
    arr = as_id_array(recommended)
    rel = check_relevant(relevant, arr.shape[0])
    ids, k = check_recommended(arr, k, rel.shape[1], native_range_check=True)
    threads = check_num_threads(num_threads)
    indptr, indices = csr_arrays(rel)
    return _core.ranking_metrics(
        ids, k, indptr, indices, rel.data, rel.shape[1], list(names), threads
    )


def ranking_metrics_at_k(
    recommended: Any,
    relevant: Any,
    k: int,
    metrics: Any = ("precision", "recall", "f1", "map", "ndcg", "mrr", "hit_rate"),
    per_user: bool = False,
    *,
    num_threads: int = 0,
) -> dict[str, Any]:
    """Several ranking metrics in one pass over the lists.

    Parameters
    ----------
    recommended, relevant, k, per_user
        As for :func:`precision_at_k`.
    metrics : sequence of str
        Any of ``"precision"``, ``"recall"``, ``"f1"``, ``"map"``, ``"ndcg"``,
        ``"mrr"``, ``"hit_rate"``, ``"auc"`` (AUC of the top-``k`` list, see :func:`auc`).
    num_threads : int
        Threads (0 = all cores, honouring ``OMP_NUM_THREADS``).

    Returns
    -------
    dict
        name -> mean over users with relevant items (float), or the per-user
        float64 vectors when ``per_user`` is true.
    """
    names = check_metric_names(metrics, RANKING_METRICS, "ranking metric")
    values = _per_user_metrics(recommended, relevant, k, names, num_threads)
    if per_user:
        return {name: values[name] for name in names}
    return {name: mean_over_users(values[name]) for name in names}


def _one(
    name: str, recommended: Any, relevant: Any, k: Any, per_user: bool, num_threads: Any
) -> Any:
    values = _per_user_metrics(recommended, relevant, k, (name,), num_threads)[name]
    return values if per_user else mean_over_users(values)


def precision_at_k(
    recommended: Any, relevant: Any, k: int, per_user: bool = False, *, num_threads: int = 0
) -> Any:
    """Precision at k: ``hits(u) / k``.

    The denominator is always ``k``: pads and repeated items are misses, so a
    list shorter than ``k`` is penalised.

    Parameters
    ----------
    recommended : array of int, shape (n_users, >= k)
        Item ids, best first; ``-1`` pads. Only the first ``k`` columns count.
    relevant : sparse matrix, shape (n_users, n_items)
        Stored values > 0 mark relevant items (the values are gains).
    k : int
        Cut-off, ``1 <= k <= recommended.shape[1]``.
    per_user : bool
        Return the per-user values (NaN for users without relevant items)
        instead of their mean.
    num_threads : int
        Threads (0 = all cores, honouring ``OMP_NUM_THREADS``).

    Returns
    -------
    float or ndarray of float64, shape (n_users,)
        The mean over users with at least one relevant item (NaN if there is
        none), or the per-user values.

    See the module docstring for the conventions on pads, repeats and averaging.
    """
    return _one("precision", recommended, relevant, k, per_user, num_threads)


def recall_at_k(
    recommended: Any, relevant: Any, k: int, per_user: bool = False, *, num_threads: int = 0
) -> Any:
    """Recall at k: ``hits(u) / |rel(u)|``.

    The denominator is the full number of relevant items (not capped at ``k``),
    so recall@k < 1 whenever ``|rel(u)| > k``. Parameters and return value as
    for :func:`precision_at_k`.
    """
    return _one("recall", recommended, relevant, k, per_user, num_threads)


def f1_at_k(
    recommended: Any, relevant: Any, k: int, per_user: bool = False, *, num_threads: int = 0
) -> Any:
    """F1 at k: per user ``2 P R / (P + R)`` of precision@k ``P`` and recall@k ``R`` (0 when both are 0).

    The harmonic mean is taken per user, then averaged. Parameters and return
    value as for :func:`precision_at_k`.
    """
    return _one("f1", recommended, relevant, k, per_user, num_threads)


def map_at_k(
    recommended: Any, relevant: Any, k: int, per_user: bool = False, *, num_threads: int = 0
) -> Any:
    """Mean average precision at k.

    ``AP@k(u) = sum over ranks r <= k holding a hit of precision@r, divided by
    min(k, |rel(u)|)``, where ``precision@r`` is the number of hits in the first
    ``r`` positions over ``r``. Relevance is binary here (gains are ignored).
    MAP@k is the mean of AP@k over users. Parameters and return value as for
    :func:`precision_at_k`.
    """
    return _one("map", recommended, relevant, k, per_user, num_threads)


def ndcg_at_k(
    recommended: Any, relevant: Any, k: int, per_user: bool = False, *, num_threads: int = 0
) -> Any:
    """Normalised discounted cumulative gain at k.

    ``DCG@k(u) = sum over ranks r <= k holding a hit of gain(item) / log2(r + 1)``
    (ranks from 1, the stored value as a linear gain). ``IDCG@k(u)`` is the same
    sum over the user's ``k`` largest gains sorted in decreasing order (fewer if
    the user has fewer relevant items). ``NDCG@k(u) = DCG@k(u) / IDCG@k(u)``,
    in [0, 1]. Parameters and return value as for :func:`precision_at_k`.
    """
    return _one("ndcg", recommended, relevant, k, per_user, num_threads)


def mrr_at_k(
    recommended: Any, relevant: Any, k: int, per_user: bool = False, *, num_threads: int = 0
) -> Any:
    """Mean reciprocal rank at k: ``1 / r`` for the rank ``r`` of the first hit, 0 without a hit in the top ``k``.

    Parameters and return value as for :func:`precision_at_k`.
    """
    return _one("mrr", recommended, relevant, k, per_user, num_threads)


def hit_rate_at_k(
    recommended: Any, relevant: Any, k: int, per_user: bool = False, *, num_threads: int = 0
) -> Any:
    """Hit rate at k: 1 when at least one of the first ``k`` items is relevant, else 0.

    Parameters and return value as for :func:`precision_at_k`.
    """
    return _one("hit_rate", recommended, relevant, k, per_user, num_threads)


def auc(
    recommended: Any,
    relevant: Any,
    k: int | None = None,
    per_user: bool = False,
    *,
    num_threads: int = 0,
) -> Any:
    """Per-user ROC AUC of a ranking in which unranked items tie last.

    The ranking of user ``u`` puts the distinct items of the first ``k``
    columns in list order and ties every other catalogue item after them.
    Positives are ``rel(u)``; negatives are all other ``n_items - |rel(u)|``
    catalogue items. ``AUC(u)`` is the fraction of (positive, negative) pairs
    in which the positive ranks strictly higher, with tied pairs counting 1/2.

    Consequences: a complete ranking of the catalogue (``k = n_items``) gives
    the usual ROC AUC of the scores that produced it; a top-``k`` list leaves
    the rest of the catalogue tied, so a list without a hit scores at most 0.5.
    Users without relevant items, or whose items are all relevant, get NaN.

    Parameters
    ----------
    recommended : array of int, shape (n_users, >= k)
        Item ids, best first; ``-1`` pads.
    relevant : sparse matrix, shape (n_users, n_items)
        Stored values > 0 mark positives; ``n_items`` is the catalogue size.
    k : int, optional
        Columns to use; all of them by default.
    per_user, num_threads
        As for :func:`precision_at_k`.
    """
    return _one("auc", recommended, relevant, k, per_user, num_threads)
