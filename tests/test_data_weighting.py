"""Video event weighting: the documented formula, its knobs and bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from reelrec.data import Interactions, VideoEventWeights, video_event_confidence


def reference_confidence(completion, liked, shared, skipped, w: VideoEventWeights):
    """The module docstring's formula, written out per event."""
    out = []
    for c, lk, sh, sk in zip(completion, liked, shared, skipped):
        score = (
            w.watch * min(c, w.max_completion) ** w.completion_power
            + w.like * lk
            + w.share * sh
            - w.skip * sk
        )
        out.append(max(w.floor, score))
    return np.array(out)


def test_known_answers_with_defaults():
    conf = video_event_confidence(
        watch_time=[30.0, 15.0, 90.0, 1.0, 0.0],
        duration=[30.0, 30.0, 30.0, 30.0, 30.0],
        liked=[True, False, False, False, False],
        shared=[0, 1, 0, 0, 0],
        skipped=[False, False, False, True, True],
    )
    # full view + like; half view + share; 3 loops capped at 2; early skip; zero watch + skip -> floor
    np.testing.assert_allclose(conf, [2.0, 2.5, 2.0, 0.01, 0.01], rtol=1e-6)
    assert conf.dtype == np.float32


def test_matches_reference_for_custom_weights():
    rng = np.random.default_rng(0)
    n = 500
    completion = rng.random(n) * 3
    liked, shared, skipped = rng.random(n) < 0.3, rng.random(n) < 0.1, rng.random(n) < 0.2
    w = VideoEventWeights(
        watch=2.0,
        completion_power=0.5,
        max_completion=1.5,
        like=0.7,
        share=3.0,
        skip=1.0,
        floor=0.05,
    )
    got = w.confidence(completion=completion, liked=liked, shared=shared, skipped=skipped)
    np.testing.assert_allclose(
        got, reference_confidence(completion, liked, shared, skipped, w), rtol=1e-6
    )
    assert got.min() >= 0.05


def test_completion_equals_watch_time_over_duration():
    a = video_event_confidence(watch_time=[5.0, 20.0], duration=[10.0, 40.0])
    b = video_event_confidence(completion=[0.5, 0.5])
    np.testing.assert_array_equal(a, b)


def test_weights_validation():
    with pytest.raises(ValueError, match="floor: expected a value > 0"):
        VideoEventWeights(floor=0.0)
    with pytest.raises(ValueError, match="like: expected a finite value >= 0"):
        VideoEventWeights(like=-1.0)
    with pytest.raises(TypeError, match="share: expected a number"):
        VideoEventWeights(share="a lot")
    with pytest.raises(ValueError, match="watch: expected a finite value >= 0"):
        VideoEventWeights(watch=np.nan)


def test_bad_event_input():
    with pytest.raises(ValueError, match="duration: expected values > 0"):
        video_event_confidence(watch_time=[1.0], duration=[0.0])
    with pytest.raises(ValueError, match="watch_time: expected values >= 0"):
        video_event_confidence(watch_time=[-1.0], duration=[10.0])
    with pytest.raises(ValueError, match="completion: contains NaN"):
        video_event_confidence(completion=[np.nan])
    with pytest.raises(ValueError, match="duration: expected 2 values"):
        video_event_confidence(watch_time=[1.0, 2.0], duration=[10.0])
    with pytest.raises(ValueError, match="liked: expected 1 values"):
        video_event_confidence(completion=[0.5], liked=[True, False])
    with pytest.raises(ValueError, match="give either completion or watch_time and duration"):
        video_event_confidence(completion=[0.5], watch_time=[1.0], duration=[2.0])
    with pytest.raises(ValueError, match="watch_time: give watch_time and duration"):
        video_event_confidence(watch_time=[1.0])
    with pytest.raises(TypeError, match="skipped: expected numbers"):
        video_event_confidence(completion=[0.5], skipped=["yes"])
    with pytest.raises(TypeError, match="weights: expected a VideoEventWeights"):
        video_event_confidence(completion=[0.5], weights={"like": 1})


def test_from_events_sums_event_confidences_per_pair():
    events = pd.DataFrame(
        {
            "user": ["a", "a", "b"],
            "item": ["v", "v", "v"],
            "timestamp": [1.0, 5.0, 2.0],
            "watch_time": [10.0, 5.0, 1.0],
            "duration": [10.0, 10.0, 10.0],
            "liked": [True, False, False],
            "shared": [False, False, False],
            "skipped": [False, False, True],
        }
    )
    data = Interactions.from_events(events)
    # a: (1 + 1) + 0.5 = 2.5; b: max(0.01, 0.1 - 0.5)
    np.testing.assert_allclose(data.matrix.toarray().ravel(), [2.5, 0.01], rtol=1e-6)
    np.testing.assert_array_equal(data.timestamps, [5.0, 2.0])
    no_flags = Interactions.from_events(
        events.drop(columns=["liked", "shared", "skipped"]),
        liked_col=None,
        shared_col=None,
        skipped_col=None,
    )
    np.testing.assert_allclose(no_flags.matrix.toarray().ravel(), [1.5, 0.1], rtol=1e-6)
    with pytest.raises(KeyError, match="events: no column 'liked'"):
        Interactions.from_events(events.drop(columns=["liked"]))
    ratio = events.assign(done=events.watch_time / events.duration)
    by_ratio = Interactions.from_events(ratio, completion_col="done")
    np.testing.assert_allclose(by_ratio.matrix.data, data.matrix.data)
