"""Implicit-feedback confidence for short-video events.

A video platform logs impressions with how long each was watched, plus likes,
shares and skips. Models for implicit feedback (e.g. weighted ALS, Hu, Koren &
Volinsky 2008) need one non-negative confidence per (user, video) pair; this
module turns each event into a confidence, and
:meth:`reelrec.data.Interactions.from_events` sums them per pair.

The default formula (all coefficients are fields of :class:`VideoEventWeights`)::

    completion = watch_time / duration            (or given directly)
    confidence = max(floor,
                     watch * min(completion, max_completion) ** completion_power
                     + like * liked + share * shared - skip * skipped)

Why this shape: completion, not raw seconds, is comparable between a 10 s
clip and a 10 min video; capping it at ``max_completion`` (2: one full rewatch)
keeps looping clips from dominating; likes and shares are rarer and stronger
signals than watching, so they add fixed bonuses; a skip (swiping away early)
is weak negative evidence, but implicit-feedback models treat stored pairs as
positive, so the result is floored at a small positive value instead of going
negative: a skipped impression stays the weakest kind of stored pair.
"""

from __future__ import annotations

import numbers
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from ._ids import as_1d, describe

__all__ = ["VideoEventWeights", "video_event_confidence"]


@dataclass(frozen=True)
class VideoEventWeights:
    """Coefficients of the per-event confidence (see the module docstring).

    Parameters
    ----------
    watch : float
        Weight of the completion term (default 1: a full view counts 1).
    completion_power : float
        Exponent on completion (< 1 rewards partial views more, > 1 less).
    max_completion : float
        Completion is capped here (default 2: rewatching once counts, looping
        forever does not).
    like : float
        Bonus for a like.
    share : float
        Bonus for a share (or per share, when given as counts).
    skip : float
        Penalty for a skip.
    floor : float
        Minimum confidence (> 0) so every logged event stays a weak positive.
    """

    watch: float = 1.0
    completion_power: float = 1.0
    max_completion: float = 2.0
    like: float = 1.0
    share: float = 2.0
    skip: float = 0.5
    floor: float = 0.01

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise TypeError(f"{name}: expected a number, got {describe(value)}")
            if not np.isfinite(value) or value < 0:
                raise ValueError(f"{name}: expected a finite value >= 0, got {value}")
        for name in ("completion_power", "max_completion", "floor"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name}: expected a value > 0, got {getattr(self, name)}")

    def confidence(
        self,
        *,
        watch_time: Any = None,
        duration: Any = None,
        completion: Any = None,
        liked: Any = None,
        shared: Any = None,
        skipped: Any = None,
    ) -> np.ndarray:
        """Per-event confidence (float32); see :func:`video_event_confidence`."""
        return video_event_confidence(
            watch_time=watch_time,
            duration=duration,
            completion=completion,
            liked=liked,
            shared=shared,
            skipped=skipped,
            weights=self,
        )


def _numeric(values: Any, name: str, length: int | None, *, positive: bool = False) -> np.ndarray:
    arr = as_1d(values, name, length=length)
    if arr.dtype == np.bool_:
        arr = arr.astype(np.float64)
    if not np.issubdtype(arr.dtype, np.number) or np.iscomplexobj(arr):
        raise TypeError(f"{name}: expected numbers, got dtype {arr.dtype}")
    arr = arr.astype(np.float64, copy=False)
    if arr.size and not np.isfinite(arr).all():
        raise ValueError(f"{name}: contains NaN or infinite values")
    if arr.size:
        lowest = float(arr.min())
        if positive and lowest <= 0:
            raise ValueError(f"{name}: expected values > 0, got minimum {lowest:g}")
        if lowest < 0:
            raise ValueError(f"{name}: expected values >= 0, got minimum {lowest:g}")
    return arr


def video_event_confidence(
    *,
    watch_time: Any = None,
    duration: Any = None,
    completion: Any = None,
    liked: Any = None,
    shared: Any = None,
    skipped: Any = None,
    weights: VideoEventWeights | None = None,
) -> np.ndarray:
    """Confidence of each video event, by the formula in the module docstring.

    Parameters
    ----------
    watch_time, duration : array-like of float, optional
        Seconds watched (>= 0) and video length (> 0); completion is their ratio.
    completion : array-like of float, optional
        Watched fraction (>= 0; > 1 for rewatches) instead of the two above.
    liked, shared, skipped : array-like of bool or counts, optional
        Absent means 0.
    weights : VideoEventWeights, optional
        Coefficients (defaults when None).

    Returns
    -------
    ndarray of float32
        One confidence >= ``weights.floor`` per event.
    """
    if weights is None:
        weights = VideoEventWeights()
    if not isinstance(weights, VideoEventWeights):
        raise TypeError(f"weights: expected a VideoEventWeights, got {describe(weights)}")
    if completion is not None:
        if watch_time is not None or duration is not None:
            raise ValueError(
                "completion: give either completion or watch_time and duration, not both"
            )
        ratio = _numeric(completion, "completion", None)
    else:
        if watch_time is None or duration is None:
            raise ValueError("watch_time: give watch_time and duration (or completion)")
        seconds = _numeric(watch_time, "watch_time", None)
        length = _numeric(duration, "duration", seconds.size, positive=True)
        ratio = seconds / length
    n = ratio.size
    flags = [
        None if v is None else _numeric(v, name, n)
        for v, name in ((liked, "liked"), (shared, "shared"), (skipped, "skipped"))
    ]
    return _confidence(ratio, *flags, weights)


def _confidence(
    completion: np.ndarray,
    liked: np.ndarray | None,
    shared: np.ndarray | None,
    skipped: np.ndarray | None,
    weights: VideoEventWeights,
) -> np.ndarray:
    """The formula on already validated arrays (bools or numbers)."""
    score = (
        weights.watch * np.minimum(completion, weights.max_completion) ** weights.completion_power
    )
    if liked is not None:
        score += weights.like * liked
    if shared is not None:
        score += weights.share * shared
    if skipped is not None:
        score -= weights.skip * skipped
    return np.maximum(score, weights.floor).astype(np.float32)
