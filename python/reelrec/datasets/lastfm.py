"""Last.fm listening counts from the HetRec 2011 workshop (hetrec2011-lastfm-2k).

Cantador, Brusilovsky & Kuflik, "2nd Workshop on Information Heterogeneity and
Fusion in Recommender Systems (HetRec 2011)", RecSys 2011. About 1.9k users,
17.6k artists and 92.8k (user, artist) pairs, each with the number of plays:
a classic implicit-feedback benchmark. Distributed by GroupLens; reelrec never
ships it (see :mod:`reelrec.datasets._fetch` for the cache and checksums).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..data.interactions import Interactions
from ._fetch import ARCHIVES
from ._io import read_numeric, read_rows
from .movielens import locate

__all__ = ["load_lastfm"]

_TOP_TAGS = 5


def _artist_tags(folder: Any, n_top: int) -> dict[str, Any] | None:
    """Each artist's most used tags ("|"-separated, most frequent first)."""
    tags_path, applied_path = folder / "tags.dat", folder / "user_taggedartists.dat"
    if not (tags_path.is_file() and applied_path.is_file()):
        return None
    names = {
        int(r[0]): r[1]
        for r in read_rows(tags_path, "\t", header=True, encoding="latin-1")
        if len(r) >= 2
    }
    _, artist, tag = read_numeric(applied_path, "\t", 3, header=True)
    artist, tag = artist.astype(np.int64), tag.astype(np.int64)
    if artist.size == 0:
        return None
    # count (artist, tag) pairs, then rank tags within each artist by count (ties: lower tag id)
    pairs, counts = np.unique(np.stack([artist, tag], axis=1), axis=0, return_counts=True)
    order = np.lexsort((pairs[:, 1], -counts, pairs[:, 0]))
    pairs = pairs[order]
    first = np.r_[True, pairs[1:, 0] != pairs[:-1, 0]]
    rank = np.arange(pairs.shape[0]) - np.maximum.accumulate(
        np.where(first, np.arange(pairs.shape[0]), 0)
    )
    keep = pairs[rank < n_top]
    artists, starts = np.unique(keep[:, 0], return_index=True)
    bounds = np.r_[starts, keep.shape[0]]
    tags = [
        "|".join(names.get(int(t), str(int(t))) for t in keep[bounds[i] : bounds[i + 1], 1])
        for i in range(artists.size)
    ]
    return {"artist_id": artists, "tags": np.array(tags, dtype=object)}


def load_lastfm(path: Any = None, download: bool = False, cache_dir: Any = None) -> Interactions:
    """Load HetRec 2011 Last.fm (``user_artists.dat``) as :class:`~reelrec.data.Interactions`.

    Parameters
    ----------
    path : str or Path, optional
        A folder holding the unpacked files (or its parent).
    download : bool
        Fetch the official archive into the cache (verified against pinned
        checksums) when it is not there yet. Never implicit.
    cache_dir : str or Path, optional
        Cache folder (default ``$REELREC_DATA`` or ``~/.cache/reelrec``).

    Returns
    -------
    Interactions
        Users x artists, weight = play count, no timestamps. Item metadata
        (when the files are present): ``name``, ``url`` (artists.dat) and
        ``tags``, the artist's 5 most applied tags.

    Raises
    ------
    FileNotFoundError
        When the files are missing; the message says where to put them.
    """
    if not isinstance(download, (bool, np.bool_)):
        raise TypeError(f"download: expected a bool, got {type(download).__name__}")
    archive = ARCHIVES["hetrec2011-lastfm-2k"]
    folder = locate(
        "Last.fm (HetRec 2011)", archive, ("user_artists.dat",), path, bool(download), cache_dir
    )
    users, artists, plays = read_numeric(folder / "user_artists.dat", "\t", 3, header=True)
    data = Interactions.from_arrays(users.astype(np.int64), artists.astype(np.int64), plays)
    if (folder / "artists.dat").is_file():
        rows = [
            r
            for r in read_rows(folder / "artists.dat", "\t", header=True, encoding="utf-8")
            if len(r) >= 2
        ]
        data.add_item_metadata(
            {
                "artist_id": np.array([int(r[0]) for r in rows]),
                "name": np.array([r[1] for r in rows], dtype=object),
                "url": np.array([r[2] if len(r) > 2 else "" for r in rows], dtype=object),
            },
            on="artist_id",
        )
    tags = _artist_tags(folder, _TOP_TAGS)
    if tags is not None:
        data.add_item_metadata(tags, on="artist_id")
    return data
