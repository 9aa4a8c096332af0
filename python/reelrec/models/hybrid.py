"""Weighted blends of any recommenders, with a content fallback for cold items.

Candidate scheme (per query, i.e. per user or per item for ``similar_items``):

1. every component ranks its top ``k * candidate_multiplier`` items (capped at
   the catalogue) with the query's filters;
2. each component's list is normalised on its own (``minmax``: to [0, 1];
   ``zscore``: standardised, then shifted so that its lowest entry is 0;
   ``rank``: ``(L - position) / L``), and an item missing from a list counts
   as that list's floor, 0;
3. the blended score is the weighted mean of the normalised scores over the
   union of the lists; with ``cold_start_fallback``, items without interactions
   in the training data are scored by the weighted mean of the content
   components only (those with ``_scores_cold_items``, e.g.
   :class:`~reelrec.ContentKNN`), since collaborative scores carry no
   information about them;
4. the shared native top-k re-ranks the union (ties: lower item index first).

When ``k * candidate_multiplier`` covers the catalogue the blend is exact: every
component's normalisation then runs over all rankable items.
"""

from __future__ import annotations

import inspect
import numbers
from typing import Any

import numpy as np
import scipy.sparse as sp

from .._validation import check_positive
from .base import QueryFilter, Recommender
from .neighbours import _check_bool, _check_choice, _rank_topk

__all__ = ["Hybrid"]

_NORMALIZERS = ("minmax", "zscore", "rank")


def _entry_parts(entry: Any, position: int) -> tuple[str | None, Any, Any]:
    """``(name, model, weight)`` of one ``models`` entry as given (name/weight may be None)."""
    if isinstance(entry, dict):  # serialised form written by Hybrid.save
        return entry.get("name"), _model_from_spec(entry["model"]), entry.get("weight")
    if isinstance(entry, Recommender):
        return None, entry, None
    if isinstance(entry, (tuple, list)) and len(entry) in (2, 3):
        name, model = entry[0], entry[1]
        weight = entry[2] if len(entry) == 3 else None
        if not isinstance(name, str):
            raise TypeError(
                f"models[{position}]: expected (name: str, model, weight), got name {name!r}"
            )
        return name, model, weight
    raise TypeError(
        f"models[{position}]: expected a Recommender or a (name, model, weight) tuple, got {type(entry).__name__}"
    )


def _model_spec(model: Recommender) -> dict[str, Any]:
    params = dict(model.get_params())
    if isinstance(model, Hybrid):
        params["models"] = [_entry_spec(e, i) for i, e in enumerate(model.models)]
    return {"class": type(model).__name__, "params": params}


def _entry_spec(entry: Any, position: int) -> dict[str, Any]:
    name, model, weight = _entry_parts(entry, position)
    return {
        "form": "model" if isinstance(entry, Recommender) else "tuple",
        "name": name,
        "model": _model_spec(model),
        "weight": weight,
    }


def _model_from_spec(spec: dict[str, Any]) -> Recommender:
    klass = Recommender._registry.get(spec["class"])
    if klass is None:
        raise ValueError(f"models: unknown model class {spec['class']!r}")
    params = dict(spec["params"])
    if klass is Hybrid:
        params["models"] = [_entry_from_spec(e) for e in params["models"]]
    return klass(**params)


def _entry_from_spec(spec: dict[str, Any]) -> Any:
    model = _model_from_spec(spec["model"])
    if spec.get("form") == "model":
        return model
    if spec.get("weight") is None:
        return (spec["name"], model)
    return (spec["name"], model, spec["weight"])


def _entry_key(entry: Any) -> Any:
    try:
        spec = _entry_spec(entry, 0)
    except (TypeError, KeyError, ValueError):
        return ("raw", id(entry))
    return repr(spec)


class _ModelList(list):
    """``models`` as returned by ``get_params``: compares by classes and parameters.

    Recommenders have identity equality; a blend rebuilt by ``load`` holds new
    component objects with the same parameters and must compare equal.
    """

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, list) or len(other) != len(self):
            return False
        return all(_entry_key(a) == _entry_key(b) for a, b in zip(self, other))

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    __hash__ = None  # type: ignore[assignment]


def _clone(model: Recommender) -> Recommender:
    return _model_from_spec(_model_spec(model))


def _normalise(ids: np.ndarray, scores: np.ndarray, how: str) -> np.ndarray:
    """Per-row normalised scores (float64); invalid entries (id -1) become NaN."""
    valid = ids >= 0
    s = np.where(valid, scores.astype(np.float64), np.nan)
    count = valid.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        if how == "rank":
            position = np.cumsum(valid, axis=1) - 1
            out = (count - position) / np.maximum(count, 1)
        else:
            lo = np.nanmin(np.where(valid, s, np.inf), axis=1, keepdims=True)
            if how == "minmax":
                hi = np.nanmax(np.where(valid, s, -np.inf), axis=1, keepdims=True)
                spread = hi - lo
            else:
                mean = np.nansum(s, axis=1, keepdims=True) / np.maximum(count, 1)
                spread = np.sqrt(
                    np.nansum((s - mean) ** 2, axis=1, keepdims=True) / np.maximum(count, 1)
                )
            out = np.where(spread > 0, (s - lo) / np.where(spread > 0, spread, 1.0), 0.0)
    return np.where(valid, out, np.nan)


class Hybrid(Recommender):
    """Weighted blend of recommenders' normalised scores.

    Parameters
    ----------
    models : list
        Components: :class:`Recommender` instances or ``(name, model, weight)``
        / ``(name, model)`` tuples. They are cloned and fitted by :meth:`fit`.
    weights : sequence of float, optional
        One weight per component (default: the tuples' weights, else 1). Giving
        both is an error. Weights must be >= 0 with a positive sum.
    normalize : {"minmax", "zscore", "rank"}
        Per-query normalisation of each component's candidate scores.
    cold_start_fallback : bool
        Score items without training interactions by the content components
        alone (when the blend has any).
    candidate_multiplier : int
        Each component contributes its top ``k * candidate_multiplier`` items.
    num_threads : int
        Threads of the final re-ranking (components use their own setting).

    Attributes
    ----------
    models_ : list of (name, fitted model, weight)
    cold_items_ : ndarray of bool
        Items without interactions in the training data.
    """

    def __init__(
        self,
        models: Any,
        weights: Any = None,
        normalize: str = "minmax",
        cold_start_fallback: bool = True,
        candidate_multiplier: int = 10,
        num_threads: int = 0,
    ):
        self.models = models
        self.weights = weights
        self.normalize = normalize
        self.cold_start_fallback = cold_start_fallback
        self.candidate_multiplier = candidate_multiplier
        self.num_threads = num_threads

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        params = super().get_params(deep)
        if isinstance(params["models"], list):
            params["models"] = _ModelList(params["models"])
        return params

    # ------------------------------------------------------------ components
    def _components(self) -> list[tuple[str, Recommender, float]]:
        if not isinstance(self.models, (list, tuple)) or len(self.models) == 0:
            raise ValueError(
                f"models: expected a non-empty list of recommenders, got {self.models!r:.80}"
            )
        parts = [_entry_parts(e, i) for i, e in enumerate(self.models)]
        for i, (_, model, _) in enumerate(parts):
            if not isinstance(model, Recommender):
                raise TypeError(
                    f"models[{i}]: expected a reelrec Recommender, got {type(model).__name__}"
                )
        if self.weights is not None:
            if any(w is not None for _, _, w in parts):
                raise ValueError(
                    "weights: given both in the model tuples and as weights=; give them once"
                )
            weights = list(self.weights)
            if len(weights) != len(parts):
                raise ValueError(
                    f"weights: expected {len(parts)} weights (one per model), got {len(weights)}"
                )
        else:
            weights = [1.0 if w is None else w for _, _, w in parts]
        for i, w in enumerate(weights):
            if (
                isinstance(w, bool)
                or not isinstance(w, numbers.Real)
                or not np.isfinite(w)
                or w < 0
            ):
                raise ValueError(f"weights[{i}]: expected a finite number >= 0, got {w!r}")
        if sum(weights) <= 0:
            raise ValueError(f"weights: expected a positive sum, got {weights}")
        names: list[str] = []
        for name, model, _ in parts:
            base = name or type(model).__name__.lower()
            unique, n = base, 1
            while unique in names:
                n += 1
                unique = f"{base}_{n}"
            names.append(unique)
        return [(n, m, float(w)) for n, (_, m, _), w in zip(names, parts, weights)]

    def _validate_params(self) -> None:
        super()._validate_params()
        _check_choice(self.normalize, "normalize", _NORMALIZERS)
        _check_bool(self.cold_start_fallback, "cold_start_fallback")
        check_positive(self.candidate_multiplier, "candidate_multiplier", integer=True)
        self._components()

    # ------------------------------------------------------------------- fit
    def fit(self, X: Any, item_features: Any = None) -> Hybrid:
        """Fit clones of every component on ``X``.

        ``item_features`` is passed to the components whose ``fit`` accepts it
        (e.g. :class:`~reelrec.ContentKNN`).
        """
        self._raw_X = X
        self._item_features = item_features
        try:
            return super().fit(X)
        finally:
            del self._raw_X, self._item_features

    def _fit(self, X: sp.csr_matrix) -> None:
        from ..data.interactions import Interactions

        source = self._raw_X if isinstance(self._raw_X, Interactions) else X
        fitted = []
        for name, model, weight in self._components():
            clone = _clone(model)
            kwargs = {}
            if (
                self._item_features is not None
                and "item_features" in inspect.signature(clone.fit).parameters
            ):
                kwargs["item_features"] = self._item_features
            clone.fit(source, **kwargs)
            fitted.append((name, clone, weight))
        self.models_ = fitted
        self.cold_items_ = np.bincount(X.indices, minlength=X.shape[1]) == 0

    # ----------------------------------------------------------------- blend
    def _blend(self, query: Any, k: int, n_q: int) -> tuple[np.ndarray, np.ndarray]:
        n_items = self.n_items_
        k_c = int(min(n_items, k * int(self.candidate_multiplier)))
        total_w = sum(w for _, _, w in self.models_)
        content_w = sum(w for _, m, w in self.models_ if getattr(m, "_scores_cold_items", False))
        fallback = bool(self.cold_start_fallback) and content_w > 0 and self.cold_items_.any()
        rows, cols, vals = [], [], []
        for _, model, weight in self.models_:
            ids, scores = query(model, k_c)
            ids = np.atleast_2d(ids)
            norm = _normalise(ids, np.atleast_2d(scores), self.normalize)
            valid = ids >= 0
            r = np.nonzero(valid)[0]
            c = ids[valid].astype(np.int64)
            v = norm[valid] * (weight / total_w)
            if fallback:
                cold = self.cold_items_[c]
                is_content = getattr(model, "_scores_cold_items", False)
                v = np.where(cold, norm[valid] * (weight / content_w) if is_content else 0.0, v)
            rows.append(r)
            cols.append(c)
            vals.append(v)
        # COO -> CSR sums duplicates and keeps explicit zeros, so every candidate stays rankable
        combined = sp.csr_matrix(
            (np.concatenate(vals).astype(np.float32), (np.concatenate(rows), np.concatenate(cols))),
            shape=(n_q, n_items),
        )
        return _rank_topk(combined, np.arange(n_q), k, self._threads)

    def _recommend(
        self, users: np.ndarray, k: int, filt: QueryFilter, user_items: sp.csr_matrix | None
    ) -> tuple[np.ndarray, np.ndarray]:
        return self._blend(
            lambda model, k_c: model._recommend(users, k_c, filt, user_items), k, users.size
        )

    def _similar_items(self, items: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        return self._blend(lambda model, k_c: model._similar_items(items, k_c), k, items.size)

    # ------------------------------------------------------------- save/load
    def save(self, path: Any) -> None:
        """Write the blend and its fitted components to one ``.npz`` (no pickle)."""
        self._check_fitted()
        given = self.models
        self.models = [_entry_spec(e, i) for i, e in enumerate(given)]  # JSON form for the header
        try:
            super().save(path)
        finally:
            self.models = given

    def _get_state(self) -> dict[str, np.ndarray]:
        state: dict[str, np.ndarray] = {}
        for i, (_, model, _) in enumerate(self.models_):
            for key, value in model._get_state().items():
                state[f"c{i}.{key}"] = value
        return state

    def _set_state(self, state: dict[str, np.ndarray]) -> None:
        self.models = [_entry_from_spec(e) if isinstance(e, dict) else e for e in self.models]
        fitted = []
        for i, (name, model, weight) in enumerate(self._components()):
            clone = _clone(model)
            clone.user_items_ = self.user_items_
            clone.n_users_, clone.n_items_ = self.n_users_, self.n_items_
            clone.user_ids_, clone.item_ids_ = self.user_ids_, self.item_ids_
            prefix = f"c{i}."
            clone._set_state(
                {key[len(prefix) :]: v for key, v in state.items() if key.startswith(prefix)}
            )
            fitted.append((name, clone, weight))
        self.models_ = fitted
        self.cold_items_ = np.bincount(self.user_items_.indices, minlength=self.n_items_) == 0
