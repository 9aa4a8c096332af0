"""Non-personalised baselines: popularity (optionally time-decayed) and random.

They share the factor-model path of the base class: popularity is the rank-0
"factorisation" whose item bias is the popularity score, random is a random
projection. Both therefore run through the same native top-k kernel.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from .._validation import check_positive, seed_from
from .base import Recommender

__all__ = ["Popularity", "Random"]


class Popularity(Recommender):
    """Most popular items, the same list for every user (minus what they saw).

    Parameters
    ----------
    weighting : {"count", "weight"}
        ``"count"`` counts users per item; ``"weight"`` sums interaction weights.
    half_life : float, optional
        "Trending" mode: each interaction counts ``0.5 ** (age / half_life)``
        where ``age`` is measured back from the latest timestamp, in the units of
        the timestamps. Needs :class:`~reelrec.data.Interactions` with timestamps.
    num_threads : int
        Threads for ranking (0 = all cores).
    """

    _state_attrs = ("item_scores_",)

    def __init__(
        self, weighting: str = "count", half_life: float | None = None, num_threads: int = 0
    ):
        self.weighting = weighting
        self.half_life = half_life
        self.num_threads = num_threads

    def fit(self, X: Any, **fit_params: Any) -> Popularity:
        from ..data.interactions import Interactions

        self._timestamps = X.timestamps if isinstance(X, Interactions) else None
        try:
            return super().fit(X, **fit_params)
        finally:
            del self._timestamps

    def _fit(self, X: sp.csr_matrix) -> None:
        if self.weighting not in ("count", "weight"):
            raise ValueError(f"weighting: expected 'count' or 'weight', got {self.weighting!r}")
        values = np.ones(X.nnz) if self.weighting == "count" else X.data.astype(np.float64)
        if self.half_life is not None:
            half_life = check_positive(self.half_life, "half_life")
            if self._timestamps is None:
                raise ValueError(
                    "half_life: time decay needs timestamps; fit on reelrec.data.Interactions built with a timestamp column"
                )
            ts = np.asarray(self._timestamps, dtype=np.float64)
            values = values * np.exp2(-(ts.max() - ts) / half_life)
        scores = np.bincount(X.indices, weights=values, minlength=X.shape[1])
        self.item_scores_ = scores.astype(np.float32)

    def _user_vectors(self, users: np.ndarray, user_items: sp.csr_matrix | None) -> np.ndarray:
        return np.zeros((users.size, 0), np.float32)

    def _item_vectors(self) -> tuple[np.ndarray, np.ndarray | None]:
        return np.zeros((self.n_items_, 0), np.float32), self.item_scores_

    def _similar_items(self, items: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        # Without item representations, "similar" falls back to "popular".
        return self._recommend(items, k, _self_filter(items, self._threads), None)


class Random(Recommender):
    """Random ranking per user: a floor that any model must beat.

    Scores are inner products of seeded Gaussian vectors (dimension ``dim``) for
    users and items, so every user gets a different, reproducible random order
    and new users (``user_items``) get one too.
    """

    _state_attrs = ("item_vectors_", "seed_")

    def __init__(self, dim: int = 32, random_state: int | None = None, num_threads: int = 0):
        self.dim = dim
        self.random_state = random_state
        self.num_threads = num_threads

    def _fit(self, X: sp.csr_matrix) -> None:
        dim = check_positive(self.dim, "dim", integer=True)
        self.seed_ = np.int64(seed_from(self.random_state))
        rng = np.random.default_rng([int(self.seed_), 0])  # stream 0: items, 1: users
        self.item_vectors_ = rng.standard_normal((X.shape[1], dim), dtype=np.float32)

    def _user_vectors(self, users: np.ndarray, user_items: sp.csr_matrix | None) -> np.ndarray:
        out = np.empty((users.size, self.item_vectors_.shape[1]), np.float32)
        for row, user in enumerate(
            users.tolist()
        ):  # O(batch): one tiny RNG per user, seeded by its id
            out[row] = np.random.default_rng([int(self.seed_), 1, user]).standard_normal(
                out.shape[1], dtype=np.float32
            )
        return out

    def _item_vectors(self) -> tuple[np.ndarray, np.ndarray | None]:
        return self.item_vectors_, None


def _self_filter(items: np.ndarray, num_threads: int):
    from .base import QueryFilter

    return QueryFilter(
        None, None, np.arange(items.size + 1, dtype=np.int64), items.astype(np.int32), num_threads
    )
