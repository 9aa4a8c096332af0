"""Offline evaluation of recommenders: run a model, score its lists, compare models.

:func:`evaluate` asks a fitted model for the top-``k`` items of every test user
(batch by batch, never all users' lists in memory at once), removes items the
user already has in ``train``, and computes ranking metrics against ``test``
plus beyond-accuracy metrics of the lists. :func:`evaluate_recommendations`
does the same for lists computed elsewhere, and :func:`compare` puts several
models in one table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp

from . import _core
from ._validation import (
    _describe,
    check_indices,
    check_k,
    check_num_threads,
    check_positive,
    check_user_items,
    csr_arrays,
)
from .metrics import beyond
from .metrics._lists import (
    as_id_array,
    check_metric_names,
    check_recommended,
    distinct_lists,
    mean_over_users,
)
from .metrics.ranking import RANKING_METRICS

__all__ = [
    "evaluate",
    "evaluate_recommendations",
    "compare",
    "EvaluationResult",
    "ComparisonTable",
    "DEFAULT_METRICS",
    "AVAILABLE_METRICS",
]

#: metrics computed from the lists alone (no relevance needed)
LIST_METRICS = ("coverage", "gini", "novelty", "personalization", "diversity")
AVAILABLE_METRICS = RANKING_METRICS + LIST_METRICS
#: what ``metrics=None`` computes ("novelty" needs train popularity, "diversity" item vectors;
#: each is skipped by default when its input is missing)
DEFAULT_METRICS = (
    "ndcg",
    "recall",
    "precision",
    "map",
    "mrr",
    "hit_rate",
    "coverage",
    "novelty",
    "gini",
    "personalization",
    "diversity",
)


class EvaluationResult(Mapping):
    """Metric name -> value (float), in the order requested.

    Attributes
    ----------
    k : int
        The cut-off.
    users : ndarray of int64
        Rows of ``test`` whose lists were evaluated.
    n_users : int
        How many of them have at least one relevant test item (the users that
        ranking metrics average over).
    per_user : dict of str -> ndarray of float64
        Per-user values aligned with ``users`` for the ranking metrics, novelty
        and diversity (NaN where undefined).
    label : str or None
        A name for the row of :meth:`to_frame` (the model's name in :func:`compare`).
    """

    def __init__(
        self,
        values: dict[str, float],
        *,
        k: int,
        users: np.ndarray,
        n_users: int,
        per_user: dict[str, np.ndarray],
        label: str | None = None,
    ):
        self._values = dict(values)
        self.k = k
        self.users = users
        self.n_users = n_users
        self.per_user = per_user
        self.label = label

    def __getitem__(self, name: str) -> float:
        try:
            return self._values[name]
        except KeyError:
            raise KeyError(f"{name!r}: not computed; available: {list(self._values)}") from None

    def __iter__(self):
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def to_dict(self) -> dict[str, float]:
        return dict(self._values)

    def to_frame(self) -> Any:
        """A one-row pandas DataFrame (columns = metrics, index = ``label``)."""
        from ._pandas import require_pandas

        pd = require_pandas("EvaluationResult.to_frame")
        return pd.DataFrame([self._values], index=[self.label or "result"])

    def __repr__(self) -> str:
        head = f"EvaluationResult(k={self.k}, n_users={self.n_users} of {self.users.size} evaluated"
        head += f", label={self.label!r})" if self.label else ")"
        width = max((len(name) for name in self._values), default=0)
        lines = [f"  {name:<{width}}  {value:.6g}" for name, value in self._values.items()]
        return "\n".join([head, *lines])


class ComparisonTable(Sequence):
    """Rows ``{"model": name, metric: value, ...}``, one per model, from :func:`compare`.

    Attributes
    ----------
    results : dict of str -> EvaluationResult
        The full result of each model (per-user values included).
    """

    def __init__(self, results: dict[str, EvaluationResult]):
        self.results = results
        self._rows = [{"model": name, **res.to_dict()} for name, res in results.items()]

    def __getitem__(self, index: Any) -> Any:
        return self._rows[index]

    def __len__(self) -> int:
        return len(self._rows)

    def to_frame(self) -> Any:
        """A pandas DataFrame indexed by model name."""
        from ._pandas import require_pandas

        pd = require_pandas("ComparisonTable.to_frame")
        return pd.DataFrame(self._rows).set_index("model")

    def __repr__(self) -> str:
        columns = ["model"] + [c for c in (self._rows[0] if self._rows else {}) if c != "model"]
        cells = [[row["model"]] + [f"{row[c]:.4f}" for c in columns[1:]] for row in self._rows]
        widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
        lines = [
            "  ".join(
                c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(columns, widths))
            )
        ]
        for r in cells:
            lines.append(
                "  ".join(
                    v.rjust(w) if i else v.ljust(w) for i, (v, w) in enumerate(zip(r, widths))
                )
            )
        return "\n".join(lines)


# ---------------------------------------------------------------------- helpers
def _check_metrics(metrics: Any, have_popularity: bool, have_vectors: bool) -> tuple[str, ...]:
    if metrics is None:
        skip = {"novelty"} if not have_popularity else set()
        if not have_vectors:
            skip.add("diversity")
        return tuple(m for m in DEFAULT_METRICS if m not in skip)
    names = check_metric_names(metrics, AVAILABLE_METRICS)
    if "novelty" in names and not have_popularity:
        raise ValueError("metrics: 'novelty' needs item popularity: pass train or item_popularity")
    if "diversity" in names and not have_vectors:
        raise ValueError(
            "metrics: 'diversity' needs item vectors: pass item_vectors (or a model that exposes item factors)"
        )
    return tuple(dict.fromkeys(names))


def _train_popularity(train: sp.csr_matrix) -> np.ndarray:
    """Users with a positive interaction, per item."""
    return np.bincount(train.indices[train.data > 0], minlength=train.shape[1]).astype(np.float64)


class _Accumulator:
    """Streams batches of lists through every requested metric."""

    def __init__(
        self,
        names: tuple[str, ...],
        k: int,
        n_items: int,
        info: np.ndarray | None,
        unit: np.ndarray | None,
        num_threads: int,
    ):
        self.names = names
        self.k = k
        self.n_items = n_items
        self.info = info
        self.unit = unit
        self.num_threads = num_threads
        self.ranking = tuple(n for n in names if n in RANKING_METRICS)
        self.per_user: dict[str, list[np.ndarray]] = {
            n: [] for n in names if n in RANKING_METRICS or n in ("novelty", "diversity")
        }
        self.counts = np.zeros(n_items, np.int64)
        self.summed = np.zeros(n_items)
        self.n_lists = 0

    def add(self, ids: np.ndarray, relevant: sp.csr_matrix) -> None:
        """``ids``: validated int32 lists (>= k columns); ``relevant``: their canonical test rows."""
        if self.ranking:
            indptr, indices = csr_arrays(relevant)
            values = _core.ranking_metrics(
                ids,
                self.k,
                indptr,
                indices,
                relevant.data,
                self.n_items,
                list(self.ranking),
                self.num_threads,
            )
            for name in self.ranking:
                self.per_user[name].append(values[name])
        clean = distinct_lists(ids, self.k)
        if "coverage" in self.names or "gini" in self.names:
            self.counts += beyond.item_counts(clean, self.n_items)
        if "personalization" in self.names:
            summed, n = beyond.personalization_parts(clean, self.n_items)
            self.summed += summed
            self.n_lists += n
        if "novelty" in self.names:
            self.per_user["novelty"].append(beyond.novelty_per_user(clean, self.info))
        if "diversity" in self.names:
            self.per_user["diversity"].append(beyond.diversity_per_user(clean, self.unit))

    def result(self, users: np.ndarray, n_users: int, label: str | None) -> EvaluationResult:
        per_user = {
            n: (np.concatenate(parts) if parts else np.empty(0))
            for n, parts in self.per_user.items()
        }
        values = {}
        for name in self.names:
            if name in per_user:
                values[name] = mean_over_users(per_user[name])
            elif name == "coverage":
                values[name] = float(np.count_nonzero(self.counts)) / self.n_items
            elif name == "gini":
                values[name] = beyond.gini_from_counts(self.counts)
            elif name == "personalization":
                values[name] = beyond.personalization_from_parts(self.summed, self.n_lists)
        return EvaluationResult(
            values, k=self.k, users=users, n_users=n_users, per_user=per_user, label=label
        )


def _setup(
    test: Any,
    train: Any,
    metrics: Any,
    item_vectors: Any,
    item_popularity: Any,
    num_threads: Any,
    train_name: str = "train",
) -> tuple[
    sp.csr_matrix, sp.csr_matrix | None, tuple[str, ...], np.ndarray | None, np.ndarray | None, int
]:
    test_csr, _ = check_user_items(test, "test")
    train_csr = None
    if train is not None:
        train_csr, _ = check_user_items(train, train_name, allow_negative=True, allow_empty=True)
        if train_csr.shape != test_csr.shape:
            raise ValueError(
                f"{train_name}: expected the shape of test {test_csr.shape} (same users and items), got {train_csr.shape}"
            )
    threads = check_num_threads(num_threads)
    info = None
    if item_popularity is not None:
        info = beyond.check_popularity(item_popularity, None)
        if info.size - 1 != test_csr.shape[1]:
            raise ValueError(
                f"item_popularity: expected {test_csr.shape[1]} values (one per item), got {info.size - 1}"
            )
    elif train_csr is not None:
        popularity = _train_popularity(train_csr)
        if popularity.sum() > 0:
            info = beyond.check_popularity(popularity, max(train_csr.shape[0], 1))
    unit = None
    if item_vectors is not None:
        unit = beyond.unit_item_vectors(item_vectors)
        if unit.shape[0] - 1 != test_csr.shape[1]:
            raise ValueError(
                f"item_vectors: expected {test_csr.shape[1]} rows (one per item), got {unit.shape[0] - 1}"
            )
    names = _check_metrics(metrics, info is not None, unit is not None)
    return test_csr, train_csr, names, info, unit, threads


def _rows(X: sp.csr_matrix, rows: np.ndarray) -> sp.csr_matrix:
    sub = X[rows]
    sub.has_sorted_indices = True  # row selection keeps each row's order
    return sub


def _users_with_relevant(test: sp.csr_matrix) -> np.ndarray:
    positive = np.bincount(
        np.repeat(np.arange(test.shape[0]), np.diff(test.indptr))[test.data > 0],
        minlength=test.shape[0],
    )
    return np.flatnonzero(positive).astype(np.int64)


def _count_with_relevant(test: sp.csr_matrix, users: np.ndarray) -> int:
    has = np.zeros(test.shape[0], bool)
    has[_users_with_relevant(test)] = True
    return int(np.count_nonzero(has[users]))


def _pattern(X: sp.csr_matrix) -> sp.csr_matrix:
    return sp.csr_matrix((np.ones(X.nnz, np.float32), X.indices, X.indptr), shape=X.shape)


def _same_pattern(a: sp.csr_matrix, b: sp.csr_matrix) -> bool:
    return (
        a.shape == b.shape
        and a.nnz == b.nnz
        and np.array_equal(a.indptr, b.indptr)
        and np.array_equal(a.indices, b.indices)
    )


def _drop_seen(ids: np.ndarray, seen: sp.csr_matrix, k: int) -> np.ndarray:
    """Keep, in order, the first ``k`` ids of each row that are not stored in ``seen``'s row."""
    n, n_items = ids.shape[0], seen.shape[1]
    seen_rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(seen.indptr))
    seen_keys = seen_rows * n_items + seen.indices  # sorted: canonical CSR
    valid = ids >= 0
    keys = np.arange(n, dtype=np.int64)[:, None] * n_items + ids
    pos = np.minimum(np.searchsorted(seen_keys, keys), max(seen_keys.size - 1, 0))
    found = seen_keys[pos] == keys if seen_keys.size else np.zeros_like(valid)
    keep = valid & ~found
    rank = np.cumsum(keep, axis=1)
    rows, cols = np.nonzero(keep & (rank <= k))
    out = np.full((n, k), -1, np.int32)
    out[rows, rank[rows, cols] - 1] = ids[rows, cols]
    return out


# ----------------------------------------------------------------- public API
def evaluate(
    model: Any,
    train: Any,
    test: Any,
    k: int = 10,
    metrics: Any = None,
    users: Any = None,
    batch_size: int = 4096,
    item_vectors: Any = None,
    num_threads: int = 0,
    label: str | None = None,
) -> EvaluationResult:
    """Evaluate a fitted model's top-``k`` lists against held-out interactions.

    For every evaluated user the model's ``recommend(users, k=k,
    exclude_seen=True)`` list is taken, items stored in the user's ``train``
    row are removed (when ``train`` differs from the model's own training data
    the model is asked for more items so that ``k`` remain), and the metrics
    are computed against the user's ``test`` row (stored values > 0 are the
    relevant items and their gains). Users are processed in batches of
    ``batch_size``; memory stays O(batch_size * k + n_items) besides the
    per-user metric vectors.

    Parameters
    ----------
    model : reelrec.Recommender
        A fitted model (anything with a compatible ``recommend`` method).
    train : Interactions or sparse matrix, shape (n_users, n_items), or None
        Interactions the user already has: never counted as recommendations,
        and the source of item popularity for ``"novelty"`` (users per item).
        ``None``: the model's own training matrix (``model.user_items_``).
    test : Interactions or sparse matrix, shape (n_users, n_items)
        Held-out interactions; stored values > 0 are relevant, values are gains.
    k : int
        List length (cut-off of every ranking metric).
    metrics : sequence of str, optional
        Any of :data:`AVAILABLE_METRICS`: the ranking metrics ``"precision"``,
        ``"recall"``, ``"f1"``, ``"map"``, ``"ndcg"``, ``"mrr"``,
        ``"hit_rate"``, ``"auc"`` (see :mod:`reelrec.metrics`) and the list
        metrics ``"coverage"``, ``"gini"``, ``"novelty"``, ``"personalization"``,
        ``"diversity"`` (intra-list diversity). Default :data:`DEFAULT_METRICS`,
        minus ``"diversity"`` when no item vectors are available.
    users : array of int, optional
        Rows (user indices, not the caller's ids) to evaluate. Default: every
        user with at least one relevant test item. Users without relevant items are left out of the ranking means
        but their lists still count for the list metrics.
    batch_size : int
        Users per ``recommend`` call.
    item_vectors : array, shape (n_items, d), optional
        For ``"diversity"``. Default: the model's item factors when it has any.
    num_threads : int
        Threads for the metric kernel (0 = all cores).
    label : str, optional
        Name stored on the result (row label of ``to_frame``).

    Returns
    -------
    EvaluationResult
        A mapping metric name -> mean value, with per-user values attached.
    """
    if not callable(getattr(model, "recommend", None)):
        raise TypeError(f"model: expected a fitted reelrec Recommender, got {_describe(model)}")
    if hasattr(model, "_check_fitted"):
        model._check_fitted()
    model_seen = getattr(model, "user_items_", None)
    if train is None:
        if model_seen is None:
            raise ValueError("train: required for a model without a user_items_ training matrix")
        train = model_seen
    k = check_k(k)
    batch_size = check_positive(batch_size, "batch_size", integer=True)
    if item_vectors is None and hasattr(model, "_item_vectors"):
        try:
            vectors, _ = model._item_vectors()
        except NotImplementedError:
            vectors = None
        if vectors is not None and np.ndim(vectors) == 2 and np.shape(vectors)[1] > 0:
            item_vectors = vectors
    shape = getattr(test, "shape", None)  # checked against the model before train is
    if isinstance(shape, tuple) and len(shape) == 2:
        for attr, size, what in (("n_users_", shape[0], "users"), ("n_items_", shape[1], "items")):
            fitted = getattr(model, attr, None)
            if fitted is not None and fitted != size:
                raise ValueError(f"test: has {size} {what} but the model was fitted on {fitted}")
    test_csr, train_csr, names, info, unit, threads = _setup(
        test, train, metrics, item_vectors, None, num_threads
    )
    n_users, n_items = test_csr.shape
    users_arr = (
        _users_with_relevant(test_csr)
        if users is None
        else check_indices(users, n_users, "users")[0]
    )
    # The model removes its own training items; anything else in train needs an over-fetch.
    fast = (
        model_seen is not None and sp.issparse(model_seen) and _same_pattern(model_seen, train_csr)
    )
    train_pattern = None if fast else _pattern(train_csr)
    model_pattern = _pattern(model_seen.tocsr()) if not fast and sp.issparse(model_seen) else None

    acc = _Accumulator(names, k, n_items, info, unit, threads)
    for start in range(0, users_arr.size, batch_size):  # O(n_users / batch_size) iterations
        batch = users_arr[start : start + batch_size]
        if fast:
            ids, _ = model.recommend(batch, k=k, exclude_seen=True)
        else:
            seen = _rows(train_pattern, batch)
            extra = seen.getnnz(axis=1)
            if model_pattern is not None:
                extra = extra - seen.multiply(_rows(model_pattern, batch)).tocsr().getnnz(axis=1)
            fetched, _ = model.recommend(batch, k=k + int(extra.max(initial=0)), exclude_seen=True)
            ids = _drop_seen(_check_lists(fetched, batch.size, n_items), seen, k)
        ids = _check_lists(ids, batch.size, n_items)
        acc.add(ids, _rows(test_csr, batch))
    if users_arr.size == 0:
        acc.add(np.empty((0, k), np.int32), _rows(test_csr, users_arr))
    return acc.result(users_arr, _count_with_relevant(test_csr, users_arr), label)


def _check_lists(ids: Any, n_rows: int, n_items: int) -> np.ndarray:
    arr = as_id_array(ids, "model.recommend output")
    if arr.shape[0] != n_rows:
        raise ValueError(f"model.recommend output: expected {n_rows} rows, got {arr.shape[0]}")
    out, _ = check_recommended(arr, None, n_items, "model.recommend output")
    return out


def evaluate_recommendations(
    recommended: Any,
    test: Any,
    k: int | None = None,
    metrics: Any = None,
    users: Any = None,
    train: Any = None,
    item_vectors: Any = None,
    item_popularity: Any = None,
    num_threads: int = 0,
    label: str | None = None,
) -> EvaluationResult:
    """Evaluate precomputed lists against held-out interactions.

    Parameters
    ----------
    recommended : array of int, shape (n_lists, >= k)
        Item ids, best first; ``-1`` pads (conventions of :mod:`reelrec.metrics`).
        Train items are *not* removed here: filter them when producing the lists.
    test : Interactions or sparse matrix, shape (n_users, n_items)
        Held-out interactions; stored values > 0 are relevant, values are gains.
    k : int, optional
        Cut-off; all columns of ``recommended`` by default.
    metrics : sequence of str, optional
        As for :func:`evaluate`; by default ``"novelty"`` is computed when
        popularity is available and ``"diversity"`` when ``item_vectors`` is given.
    users : array of int, optional
        The test row of each list. Default: list ``i`` belongs to test row ``i``
        (then ``recommended`` needs one row per test user).
    train : Interactions or sparse matrix, optional
        Source of item popularity for ``"novelty"`` (users with a positive
        interaction per item, shares of ``n_users``).
    item_vectors : array, shape (n_items, d), optional
        For ``"diversity"``.
    item_popularity : array, shape (n_items,), optional
        Popularity per item for ``"novelty"``, used as shares of all
        interactions; overrides the popularity from ``train``.
    num_threads : int
        Threads for the metric kernel (0 = all cores).
    label : str, optional
        Name stored on the result.

    Returns
    -------
    EvaluationResult
        Ranking metrics average over lists whose user has relevant test items;
        list metrics use every list.
    """
    test_csr, _, names, info, unit, threads = _setup(
        test, train, metrics, item_vectors, item_popularity, num_threads
    )
    n_users, n_items = test_csr.shape
    arr = as_id_array(recommended)
    if users is None:
        if arr.shape[0] != n_users:
            raise ValueError(
                f"recommended: expected one row per test user ({n_users}) or users=..., got {arr.shape[0]} rows"
            )
        users_arr = np.arange(n_users, dtype=np.int64)
    else:
        users_arr = check_indices(users, n_users, "users")[0]
        if users_arr.size != arr.shape[0]:
            raise ValueError(
                f"users: expected one entry per row of recommended ({arr.shape[0]}), got {users_arr.size}"
            )
    ids, k = check_recommended(arr, k, n_items)
    acc = _Accumulator(names, k, n_items, info, unit, threads)
    acc.add(ids, _rows(test_csr, users_arr))
    return acc.result(users_arr, _count_with_relevant(test_csr, users_arr), label)


def compare(
    models: Mapping[str, Any],
    train: Any,
    test: Any,
    k: int = 10,
    **kwargs: Any,
) -> ComparisonTable:
    """Evaluate several fitted models on the same data; one row per model.

    Parameters
    ----------
    models : mapping of str -> fitted model
        Row names and models, evaluated in this order.
    train, test, k
        As for :func:`evaluate`.
    **kwargs
        Passed on to :func:`evaluate` (``metrics``, ``users``, ``batch_size``,
        ``item_vectors``, ``num_threads``). With ``metrics=None`` every model
        gets the same columns: those available for all of them.

    Returns
    -------
    ComparisonTable
        A sequence of row dicts ``{"model": name, metric: value, ...}`` with
        ``to_frame()`` and ``results`` (name -> :class:`EvaluationResult`).
    """
    if not isinstance(models, Mapping) or not models:
        raise TypeError(
            f"models: expected a non-empty mapping name -> fitted model, got {_describe(models)}"
        )
    results = {}
    for name, model in models.items():  # one evaluate per model, each vectorised
        results[str(name)] = evaluate(model, train, test, k=k, label=str(name), **kwargs)
    common = [m for m in next(iter(results.values())) if all(m in r for r in results.values())]
    for name, res in results.items():
        results[name] = EvaluationResult(
            {m: res[m] for m in common},
            k=res.k,
            users=res.users,
            n_users=res.n_users,
            per_user=res.per_user,
            label=name,
        )
    return ComparisonTable(results)
