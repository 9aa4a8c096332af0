"""A synthetic short-video platform with a known ground truth.

Real logs never reveal what users would have thought of the videos they were
not shown; this generator does, so offline metrics, cold-start handling and
A/B simulations can be checked against the truth. Everything is drawn from
one seeded NumPy Generator and vectorised, so the default size takes a few
tens of milliseconds and 100k users x 20k videos a few seconds.

Generative model
----------------
Topics
    ``K = n_topics`` topics with names; their global share is
    ``pi ~ Dirichlet(5 * 1_K)``. Each topic has a vocabulary of 30 title
    words and 8 tags (seeded pseudo-words; the first tag is the topic name);
    40 filler words are shared by all topics.
Videos ``v``
    * topic ``z_v ~ Categorical(pi)``, quality ``q_v ~ N(0, 1)``;
    * popularity ``p_v = exp(popularity_sigma * e_v + 0.5 * q_v)``,
      ``e_v ~ N(0, 1)``: lognormal, so a few videos get most impressions;
    * duration ``d_v = clip(exp(N(log m_z, 0.6)), 5, 900)`` seconds, with a
      per-topic median ``m_z`` in [15, 120];
    * upload time (days): a ``catalogue_share`` of videos existed before the
      log starts (uniform in [-90, 0)); the rest are uploaded uniformly during
      the ``n_days`` of the log, so late uploads have few or no interactions
      (cold start);
    * title: 3-6 words, each from the topic's vocabulary with probability 0.7,
      else a filler word; tags: 2-4 of the topic's tags, plus with probability
      0.3 one tag of a random topic.
Users ``u``
    * taste ``theta_u ~ Dirichlet(taste_concentration * 1_K)`` (small values:
      focused tastes); bias ``b_u ~ N(0, 0.5)`` (how much of anything they
      watch); activity ``a_u ~ LogNormal(0, 0.8)`` scaled to mean 1;
    * primary device among mobile/tablet/desktop/tv (0.6/0.1/0.15/0.15) and a
      peak hour near 8, 13, 19 or 22 h.
Sessions
    ``S_u ~ Poisson(sessions_per_user * a_u)`` sessions, each on a uniform
    day, at an hour ``~ N(peak_u, 2.5) mod 24``, on the primary device with
    probability 0.85 (else a uniform one), with
    ``1 + Poisson(impressions_per_session - 1)`` impressions.
Impressions (the logging policy: a mildly personalised feed)
    With probability ``explore`` the topic is drawn from ``pi``, else from
    ``theta_u``; the video is drawn with probability proportional to ``p_v``
    among that topic's videos uploaded before the hour of the session began
    (any such video when the topic has none yet).
Response (the ground truth)
    Affinity ``s = 0.8 log(K theta_u[z_v] + 0.05) + 0.4 q_v + b_u
    - beta_c log(d_v / 30) - 0.5``, where ``beta_c`` is the device's
    dislike of long videos (mobile 0.35, tablet 0.25, desktop 0.15, tv 0.05).
    With ``mu = sigmoid(s)`` the watched fraction is
    ``f = B`` or, with probability ``rho = 0.25 mu^2`` (looping), ``f = 1 + B``,
    ``B ~ Beta(3 mu, 3 (1 - mu))``; so the expected engagement, returned by
    :meth:`SyntheticPlatform.preference`, is ``E[f] = mu + rho``. Watch time
    is ``f * d_v``; the impression is *skipped* when ``f < 0.1``; likes and
    shares are Bernoulli with ``sigmoid(s - 2.5)`` and ``sigmoid(s - 4.5)``.
Interactions
    Every impression is an event; its confidence comes from
    :class:`reelrec.data.VideoEventWeights` and events of the same pair add up
    (:meth:`reelrec.data.Interactions.from_events`). Timestamps are seconds
    since the start of day 0; each pair keeps its latest event.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import check_fraction, check_nonnegative, check_positive, rng_from
from ..data._ids import describe
from ..data.interactions import Interactions
from ..data.weighting import VideoEventWeights, _confidence

__all__ = ["SyntheticPlatform", "synthetic_video_platform"]

DEVICES = ("mobile", "tablet", "desktop", "tv")
_DEVICE_SHARE = np.array([0.6, 0.1, 0.15, 0.15])
_DEVICE_LENGTH_AVERSION = np.array([0.35, 0.25, 0.15, 0.05])
_TOPIC_NAMES = (
    "gaming", "music", "cooking", "comedy", "sports", "travel", "fitness", "science",
    "pets", "fashion", "diy", "news", "dance", "tech", "art", "nature",
    "cars", "film", "education", "beauty", "finance", "history", "kids", "asmr",
)  # fmt: skip
_PEAK_HOURS = np.array([8.0, 13.0, 19.0, 22.0])
_CONSONANTS = list("bdfgklmnprstvz")
_VOWELS = list("aeiou")

_TASTE_WEIGHT = 0.8
_QUALITY_WEIGHT = 0.4
_INTERCEPT = -0.5
_LOOP_RATE = 0.25
_BETA_CONCENTRATION = 3.0
_SKIP_BELOW = 0.1
_LIKE_OFFSET = -2.5
_SHARE_OFFSET = -4.5


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def _pseudo_words(rng: np.random.Generator, count: int, taken: set[str]) -> list[str]:
    """``count`` new pronounceable words of 2-3 syllables, none in ``taken``."""
    words: list[str] = []
    while len(words) < count:
        n_syl = int(rng.integers(2, 4))
        word = "".join(
            str(rng.choice(_CONSONANTS)) + str(rng.choice(_VOWELS)) for _ in range(n_syl)
        )
        if word not in taken:
            taken.add(word)
            words.append(word)
    return words


class SyntheticPlatform:
    """A generated platform: logged data plus the ground truth behind it.

    Attributes
    ----------
    interactions : Interactions
        Users x videos (index == id), weights from :class:`VideoEventWeights`,
        timestamps, item metadata ``title``, ``tags`` ("|"-separated),
        ``topic``, ``topic_name``, ``duration`` (s), ``upload_day``; user
        metadata ``device`` (primary device).
    events : dict of str -> ndarray
        The raw event log, one row per impression: ``user``, ``item``,
        ``timestamp`` (s), ``session``, ``position``, ``hour``, ``device``
        (an index into ``devices``),
        ``watch_time`` (s), ``duration`` (s), ``completion``, ``liked``,
        ``shared``, ``skipped``.
    user_tastes : ndarray (n_users, n_topics)
        ``theta``, each row on the simplex.
    user_bias, user_activity : ndarray (n_users,)
    user_device : ndarray of int (n_users,)
        Primary device, an index into ``devices``.
    video_topics : ndarray of int (n_videos,)
    video_quality, video_popularity, video_duration : ndarray (n_videos,)
    video_upload_time : ndarray (n_videos,)
        Upload time in days (negative: before the log started).
    topic_names, devices : tuple of str
    n_days : int
    """

    def __init__(self, **state: Any):
        self.__dict__.update(state)

    @property
    def n_users(self) -> int:
        return int(self.user_tastes.shape[0])

    @property
    def n_videos(self) -> int:
        return int(self.video_topics.shape[0])

    @property
    def n_topics(self) -> int:
        return int(self.user_tastes.shape[1])

    def __repr__(self) -> str:
        return (
            f"SyntheticPlatform(n_users={self.n_users}, n_videos={self.n_videos}, n_topics={self.n_topics}, "
            f"n_days={self.n_days}, n_events={self.events['user'].size}, nnz={self.interactions.nnz})"
        )

    # ----------------------------------------------------------------- truth
    def _indices(
        self, users: Any, items: Any, device: Any
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        from .._validation import check_indices

        u = np.asarray(users)
        v = np.asarray(items)
        if u.dtype == object or not np.issubdtype(u.dtype, np.integer):
            raise TypeError(f"users: expected integer user indices, got {describe(users)}")
        if v.dtype == object or not np.issubdtype(v.dtype, np.integer):
            raise TypeError(f"items: expected integer video indices, got {describe(items)}")
        try:
            u, v = np.broadcast_arrays(u, v)
        except ValueError:
            raise ValueError(
                f"users, items: shapes {u.shape} and {v.shape} do not broadcast"
            ) from None
        check_indices(u.ravel(), self.n_users, "users")
        check_indices(v.ravel(), self.n_videos, "items")
        if device is None:
            dev = self.user_device[u]
        else:
            d = np.asarray(device)
            if d.dtype.kind in "US" or d.dtype == object:
                lookup = {name: i for i, name in enumerate(self.devices)}
                flat = [lookup.get(x, -1) for x in np.atleast_1d(d).ravel().tolist()]
                if min(flat) < 0:
                    raise ValueError(
                        f"device: expected names among {list(self.devices)}, got {device!r}"
                    )
                d = np.asarray(flat).reshape(d.shape)
            elif not np.issubdtype(d.dtype, np.integer):
                raise TypeError(f"device: expected device names or indices, got {describe(device)}")
            if d.size and (d.min() < 0 or d.max() >= len(self.devices)):
                raise ValueError(
                    f"device: indices must lie in [0, {len(self.devices)}), got {device!r}"
                )
            dev = np.broadcast_to(d, u.shape)
        return u, v, dev

    def affinity(self, users: Any, items: Any, device: Any = None) -> np.ndarray:
        """Latent affinity ``s`` of users for videos (arrays broadcast, e.g. ``users[:, None]``).

        ``device``: names or indices (default: each user's primary device).
        """
        u, v, dev = self._indices(users, items, device)
        return self._affinity(u, v, dev)

    def _affinity(self, u: np.ndarray, v: np.ndarray, dev: np.ndarray) -> np.ndarray:
        taste = self.user_tastes[u, self.video_topics[v]]
        return (
            _TASTE_WEIGHT * np.log(self.n_topics * taste + 0.05)
            + _QUALITY_WEIGHT * self.video_quality[v]
            + self.user_bias[u]
            - _DEVICE_LENGTH_AVERSION[dev] * np.log(self.video_duration[v] / 30.0)
            + _INTERCEPT
        )

    def preference(self, users: Any, items: Any, device: Any = None) -> np.ndarray:
        """Expected engagement: the expected watched fraction ``E[f] = mu + 0.25 mu^2``.

        Vectorised over broadcast ``users`` and ``items`` (indices); e.g.
        ``platform.preference(np.arange(n)[:, None], np.arange(m)[None, :])`` is
        the full n x m ground-truth matrix.
        """
        mu = _sigmoid(self.affinity(users, items, device))
        return mu + _LOOP_RATE * mu**2

    def like_probability(self, users: Any, items: Any, device: Any = None) -> np.ndarray:
        """Probability that an impression gets a like."""
        return _sigmoid(self.affinity(users, items, device) + _LIKE_OFFSET)

    def share_probability(self, users: Any, items: Any, device: Any = None) -> np.ndarray:
        """Probability that an impression gets shared."""
        return _sigmoid(self.affinity(users, items, device) + _SHARE_OFFSET)

    def sample_engagement(
        self, users: Any, items: Any, rng: Any = None, device: Any = None
    ) -> dict[str, np.ndarray]:
        """Simulate showing ``items`` to ``users`` (broadcast), e.g. in an A/B test.

        Returns
        -------
        dict with ``completion``, ``watch_time`` (s), ``liked``, ``shared``,
        ``skipped`` and ``confidence`` (the platform's event weighting).
        """
        u, v, dev = self._indices(users, items, device)
        return self._respond(u, v, dev, rng_from(rng, "rng"))

    def _respond(
        self, u: np.ndarray, v: np.ndarray, dev: np.ndarray, rng: np.random.Generator
    ) -> dict[str, np.ndarray]:
        s = self._affinity(u, v, dev)
        odds = np.exp(-s)  # |s| < 10 by construction; sigmoid(s + c) = 1 / (1 + odds * e^-c)
        mu = np.clip(1.0 / (1.0 + odds), 1e-4, 1 - 1e-4)
        base = rng.beta(_BETA_CONCENTRATION * mu, _BETA_CONCENTRATION * (1 - mu))
        loops = rng.random(s.shape) < _LOOP_RATE * mu**2
        completion = base + loops
        liked = rng.random(s.shape) * (1.0 + odds * np.exp(-_LIKE_OFFSET)) < 1.0
        shared = rng.random(s.shape) * (1.0 + odds * np.exp(-_SHARE_OFFSET)) < 1.0
        skipped = completion < _SKIP_BELOW
        duration = self.video_duration[v]
        confidence = _confidence(completion, liked, shared, skipped, self.weights)
        return {
            "completion": completion,
            "watch_time": completion * duration,
            "liked": liked,
            "shared": shared,
            "skipped": skipped,
            "confidence": confidence,
        }

    def available_items(self, day: float) -> np.ndarray:
        """Boolean mask of the videos uploaded by ``day`` (days since the log start)."""
        day = float(day)
        if not np.isfinite(day):
            raise ValueError(f"day: expected a finite number, got {day}")
        return self.video_upload_time <= day

    def events_frame(self) -> Any:
        """The event log as a pandas DataFrame (``device`` as a categorical of names)."""
        from .._pandas import require_pandas

        pd = require_pandas("SyntheticPlatform.events_frame")
        frame = pd.DataFrame(self.events)
        frame["device"] = pd.Categorical.from_codes(
            self.events["device"], categories=list(self.devices)
        )
        return frame


def synthetic_video_platform(
    n_users: int = 2000,
    n_videos: int = 1000,
    seed: Any = 0,
    *,
    n_topics: int = 12,
    n_days: int = 28,
    sessions_per_user: float = 6.0,
    impressions_per_session: float = 8.0,
    taste_concentration: float = 0.3,
    popularity_sigma: float = 1.2,
    catalogue_share: float = 0.5,
    explore: float = 0.3,
    weights: VideoEventWeights | None = None,
) -> SyntheticPlatform:
    """Generate a short-video platform (model in the module docstring).

    Parameters
    ----------
    n_users, n_videos : int
        Sizes; every user and video exists in the index, with or without events.
    seed : int, numpy Generator or None
        Everything is drawn from this one seed.
    n_topics : int
        Number of topics (the first 24 have names, the rest ``topic<k>``).
    n_days : int
        Length of the log in days.
    sessions_per_user : float
        Mean number of sessions per user over the log.
    impressions_per_session : float >= 1
        Mean impressions per session.
    taste_concentration : float
        Dirichlet parameter of user tastes (small: focused tastes).
    popularity_sigma : float
        Log-scale spread of video popularity (the length of the long tail).
    catalogue_share : float in [0, 1]
        Share of videos uploaded before the log starts.
    explore : float in [0, 1]
        Share of impressions whose topic ignores the user's taste.
    weights : VideoEventWeights, optional
        Event weighting used for ``interactions`` and ``sample_engagement``.

    Returns
    -------
    SyntheticPlatform
    """
    n_users = check_positive(n_users, "n_users", integer=True)
    n_videos = check_positive(n_videos, "n_videos", integer=True)
    n_topics = check_positive(n_topics, "n_topics", integer=True)
    n_days = check_positive(n_days, "n_days", integer=True)
    sessions_per_user = check_nonnegative(sessions_per_user, "sessions_per_user")
    impressions_per_session = check_positive(impressions_per_session, "impressions_per_session")
    if impressions_per_session < 1:
        raise ValueError(
            f"impressions_per_session: expected a mean >= 1, got {impressions_per_session}"
        )
    taste_concentration = check_positive(taste_concentration, "taste_concentration")
    popularity_sigma = check_nonnegative(popularity_sigma, "popularity_sigma")
    catalogue_share = check_fraction(catalogue_share, "catalogue_share", inclusive=True)
    explore = check_fraction(explore, "explore", inclusive=True)
    if weights is None:
        weights = VideoEventWeights()
    if not isinstance(weights, VideoEventWeights):
        raise TypeError(f"weights: expected a VideoEventWeights, got {describe(weights)}")
    rng = rng_from(seed, "seed")

    # --- topics and vocabularies
    names = tuple(
        _TOPIC_NAMES[k] if k < len(_TOPIC_NAMES) else f"topic{k}" for k in range(n_topics)
    )
    topic_share = rng.dirichlet(np.full(n_topics, 5.0))
    taken = set(names)
    topic_words = np.array([_pseudo_words(rng, 30, taken) for _ in range(n_topics)])
    topic_tags = np.array([[names[k], *_pseudo_words(rng, 7, taken)] for k in range(n_topics)])
    fillers = np.array(_pseudo_words(rng, 40, taken))
    topic_median_length = rng.uniform(np.log(15), np.log(120), n_topics)

    # --- videos
    topics = rng.choice(n_topics, size=n_videos, p=topic_share)
    quality = rng.standard_normal(n_videos)
    popularity = np.exp(popularity_sigma * rng.standard_normal(n_videos) + 0.5 * quality)
    duration = np.round(np.clip(np.exp(rng.normal(topic_median_length[topics], 0.6)), 5, 900))
    in_catalogue = rng.random(n_videos) < catalogue_share
    in_catalogue[np.argmax(popularity)] = True  # the feed always has something to show
    upload = np.where(in_catalogue, rng.uniform(-90, 0, n_videos), rng.uniform(0, n_days, n_videos))
    n_words = rng.integers(3, 7, n_videos)
    from_topic = rng.random((n_videos, 6)) < 0.7
    word_topic = topic_words[topics[:, None], rng.integers(0, 30, (n_videos, 6))]
    word_filler = fillers[rng.integers(0, fillers.size, (n_videos, 6))]
    words = np.where(from_topic, word_topic, word_filler)
    titles = np.array(
        [" ".join(row[:k]).capitalize() for row, k in zip(words.tolist(), n_words.tolist())],
        dtype=object,
    )
    n_tags = rng.integers(2, 5, n_videos)
    tag_pick = np.argsort(rng.random((n_videos, 8)), axis=1)[:, :4]
    own_tags = topic_tags[topics[:, None], tag_pick]
    extra = rng.random(n_videos) < 0.3
    extra_tag = topic_tags[rng.integers(0, n_topics, n_videos), rng.integers(0, 8, n_videos)]
    tags = np.array(
        [
            "|".join(row[:k] + ([e] if x and e not in row[:k] else []))
            for row, k, x, e in zip(
                own_tags.tolist(), n_tags.tolist(), extra.tolist(), extra_tag.tolist()
            )
        ],
        dtype=object,
    )

    # --- users
    tastes = rng.dirichlet(np.full(n_topics, taste_concentration), size=n_users)
    bias = rng.normal(0.0, 0.5, n_users)
    activity = rng.lognormal(0.0, 0.8, n_users)
    activity /= activity.mean()
    primary = rng.choice(len(DEVICES), size=n_users, p=_DEVICE_SHARE)
    peak = _PEAK_HOURS[rng.integers(0, _PEAK_HOURS.size, n_users)] + rng.normal(0, 1.5, n_users)

    # --- sessions
    n_sessions = rng.poisson(sessions_per_user * activity)
    sess_user = np.repeat(np.arange(n_users), n_sessions)
    n_sess = sess_user.size
    sess_day = rng.integers(0, n_days, n_sess)
    sess_hour = np.mod(peak[sess_user] + rng.normal(0, 2.5, n_sess), 24.0)
    sess_device = np.where(
        rng.random(n_sess) < 0.85, primary[sess_user], rng.integers(0, len(DEVICES), n_sess)
    )
    sess_time = sess_day + sess_hour / 24.0  # days
    sess_len = 1 + rng.poisson(impressions_per_session - 1, n_sess)

    # --- impressions: topic, then a popularity-weighted uploaded video of it
    imp_sess = np.repeat(np.arange(n_sess), sess_len)
    imp_user = sess_user[imp_sess]
    imp_time = sess_time[imp_sess]
    n_imp = imp_sess.size
    cum_taste = np.cumsum(tastes, axis=1)
    cum_taste[:, -1] = 1.0
    taste_draw = rng.random(n_imp)
    taste_topic = np.zeros(n_imp, dtype=np.int64)
    for k in range(
        n_topics - 1
    ):  # inverse CDF one column at a time: O(n_imp * K), no n_imp x K temporary
        taste_topic += taste_draw >= cum_taste[imp_user, k]
    explore_topic = np.searchsorted(np.cumsum(topic_share)[:-1], rng.random(n_imp), side="right")
    imp_topic = np.clip(
        np.where(rng.random(n_imp) < explore, explore_topic, taste_topic), 0, n_topics - 1
    )

    order = np.lexsort((upload, topics))
    span = n_days + 200.0
    sorted_key = topics[order] * span + (upload[order] + 100.0)
    cum_pop = np.r_[0.0, np.cumsum(popularity[order])]
    topic_start = np.searchsorted(topics[order], np.arange(n_topics), side="left")
    start = topic_start[imp_topic]
    # eligible videos: uploaded by the start of the session's hour; a (topic, hour) table of
    # prefix ends replaces one binary search per impression
    hour_slot = np.floor(imp_time * 24.0).astype(np.int64)
    slot_time = np.arange(n_days * 24 + 1) / 24.0
    end_table = np.searchsorted(
        sorted_key,
        (np.arange(n_topics)[:, None] * span + (slot_time[None, :] + 100.0)).ravel(),
        side="right",
    ).reshape(n_topics, -1)
    end = end_table[imp_topic, hour_slot]
    draw = rng.random(n_imp)
    ok = end > start
    lo, hi = cum_pop[start], cum_pop[end]
    pos = np.clip(
        np.searchsorted(cum_pop, lo + draw * (hi - lo), side="right") - 1,
        start,
        np.maximum(end - 1, start),
    )
    video = order[np.minimum(pos, n_videos - 1)]
    if not ok.all():  # topic without uploads yet: any uploaded video
        g_order = np.argsort(upload, kind="stable")
        g_cum = np.r_[0.0, np.cumsum(popularity[g_order])]
        g_end = np.searchsorted(upload[g_order], slot_time[hour_slot[~ok]], side="right")
        g_pos = np.searchsorted(g_cum, draw[~ok] * g_cum[g_end], side="right") - 1
        video[~ok] = g_order[np.clip(g_pos, 0, np.maximum(g_end - 1, 0))]

    platform = SyntheticPlatform(
        user_tastes=tastes,
        user_bias=bias,
        user_activity=activity,
        user_device=primary,
        video_topics=topics,
        video_quality=quality,
        video_popularity=popularity,
        video_duration=duration,
        video_upload_time=upload,
        topic_names=names,
        devices=DEVICES,
        n_days=n_days,
        weights=weights,
    )

    # --- responses and the event log
    imp_device = sess_device[imp_sess]
    resp = platform._respond(imp_user, video, imp_device, rng)
    watch_time = resp["watch_time"]
    first_of_sess = np.r_[0, np.cumsum(sess_len)[:-1]]
    elapsed = np.cumsum(watch_time + 1.0)
    before = elapsed - (watch_time + 1.0)  # time spent in the log before this impression
    offset = before - before[first_of_sess][imp_sess] if n_imp else before
    position = np.arange(n_imp) - first_of_sess[imp_sess] if n_imp else np.zeros(0, np.int64)
    timestamp = imp_time * 86400.0 + offset
    events = {
        "user": imp_user,
        "item": video,
        "timestamp": timestamp,
        "session": imp_sess,
        "position": position,
        "hour": sess_hour[imp_sess],
        "device": imp_device.astype(np.int8),
        "watch_time": watch_time,
        "duration": duration[video],
        "completion": resp["completion"],
        "liked": resp["liked"],
        "shared": resp["shared"],
        "skipped": resp["skipped"],
    }
    # same as Interactions.from_events(events, weights=weights, user_ids=arange, item_ids=arange),
    # reusing the confidences and the indices (ids == indices here)
    interactions = Interactions._from_codes(
        imp_user,
        video,
        np.arange(n_users),
        np.arange(n_videos),
        resp["confidence"].astype(np.float64),
        timestamp,
    )
    interactions.item_metadata.update(
        title=titles,
        tags=tags,
        topic=topics,
        topic_name=np.asarray(names, dtype=object)[topics],
        duration=duration,
        upload_day=np.floor(upload).astype(np.int64),
    )
    interactions.user_metadata.update(device=np.asarray(DEVICES, dtype=object)[primary])
    platform.interactions = interactions
    platform.events = events
    return platform
