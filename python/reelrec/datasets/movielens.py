"""MovieLens ratings (GroupLens Research, University of Minnesota).

Harper & Konstan, "The MovieLens Datasets: History and Context", ACM TiiS
5(4):19, 2015. The data are licensed for research use only and may not be
redistributed: reelrec never ships them; :func:`load_movielens` reads a local
copy or, when asked, downloads the official archive (see
:mod:`reelrec.datasets._fetch` for the cache and checksums).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..data.interactions import Interactions
from ._fetch import ARCHIVES, Archive, _missing_message, default_cache_dir, fetch, resolve_dir
from ._io import read_numeric, read_rows, title_years

__all__ = ["load_movielens", "MOVIELENS_VARIANTS"]

MOVIELENS_VARIANTS = ("100k", "1m", "20m", "25m", "latest-small")

_GENRES_100K = (
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary",
    "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller",
    "War", "Western",
)  # fmt: skip

# MovieLens 1M README: occupation codes of users.dat
_OCCUPATIONS_1M = (
    "other", "academic/educator", "artist", "clerical/admin", "college/grad student",
    "customer service", "doctor/health care", "executive/managerial", "farmer", "homemaker",
    "K-12 student", "lawyer", "programmer", "retired", "sales/marketing", "scientist",
    "self-employed", "technician/engineer", "tradesman/craftsman", "unemployed", "writer",
)  # fmt: skip

# variant -> (ratings file, separator, has a header line)
_FILES = {
    "100k": ("u.data", "\t", False),
    "1m": ("ratings.dat", "::", False),
    "20m": ("ratings.csv", ",", True),
    "25m": ("ratings.csv", ",", True),
    "latest-small": ("ratings.csv", ",", True),
}


def _item_meta_100k(folder: Path) -> dict[str, Any] | None:
    path = folder / "u.item"
    if not path.is_file():
        return None
    genre_names = list(_GENRES_100K)
    if (folder / "u.genre").is_file():
        pairs = read_rows(folder / "u.genre", "|", header=False, encoding="latin-1")
        named = {int(p[1]): p[0] for p in pairs if len(p) >= 2 and p[1].strip().isdigit()}
        if len(named) == len(genre_names):
            genre_names = [named[k] for k in range(len(named))]
    rows = read_rows(path, "|", header=False, encoding="latin-1")
    titles = [r[1] for r in rows]
    genres = [
        "|".join(g for g, flag in zip(genre_names, r[5:24]) if flag.strip() == "1") for r in rows
    ]
    return {
        "movie_id": np.array([int(r[0]) for r in rows]),
        "title": np.array(titles, dtype=object),
        "genres": np.array(genres, dtype=object),
        "year": title_years(titles),
        "release_date": np.array([r[2] for r in rows], dtype=object),
        "imdb_url": np.array([r[4] for r in rows], dtype=object),
    }


def _user_meta_100k(folder: Path) -> dict[str, Any] | None:
    path = folder / "u.user"
    if not path.is_file():
        return None
    rows = read_rows(path, "|", header=False, encoding="latin-1")
    return {
        "user_id": np.array([int(r[0]) for r in rows]),
        "age": np.array([int(r[1]) for r in rows]),
        "gender": np.array([r[2] for r in rows], dtype=object),
        "occupation": np.array([r[3] for r in rows], dtype=object),
        "zip": np.array([r[4] for r in rows], dtype=object),
    }


def _item_meta_1m(folder: Path) -> dict[str, Any] | None:
    path = folder / "movies.dat"
    if not path.is_file():
        return None
    rows = read_rows(path, "::", header=False, encoding="latin-1")
    titles = [r[1] for r in rows]
    return {
        "movie_id": np.array([int(r[0]) for r in rows]),
        "title": np.array(titles, dtype=object),
        "genres": np.array([r[2] if len(r) > 2 else "" for r in rows], dtype=object),
        "year": title_years(titles),
    }


def _user_meta_1m(folder: Path) -> dict[str, Any] | None:
    path = folder / "users.dat"
    if not path.is_file():
        return None
    rows = read_rows(path, "::", header=False, encoding="latin-1")
    occupation = [int(r[3]) for r in rows]
    return {
        "user_id": np.array([int(r[0]) for r in rows]),
        "gender": np.array([r[1] for r in rows], dtype=object),
        "age": np.array(
            [int(r[2]) for r in rows]
        ),  # age group code (1: <18, 18: 18-24, ..., 56: 56+)
        "occupation": np.array(
            [_OCCUPATIONS_1M[o] if 0 <= o < len(_OCCUPATIONS_1M) else str(o) for o in occupation],
            dtype=object,
        ),
        "zip": np.array([r[4] for r in rows], dtype=object),
    }


def _item_meta_csv(folder: Path) -> dict[str, Any] | None:
    path = folder / "movies.csv"
    if not path.is_file():
        return None
    rows = read_rows(path, ",", header=True, encoding="utf-8", quoted=True)
    titles = [r[1] for r in rows]
    genres = [r[2] if len(r) > 2 and r[2] != "(no genres listed)" else "" for r in rows]
    return {
        "movie_id": np.array([int(r[0]) for r in rows]),
        "title": np.array(titles, dtype=object),
        "genres": np.array(genres, dtype=object),
        "year": title_years(titles),
    }


_METADATA = {
    "100k": (_item_meta_100k, _user_meta_100k),
    "1m": (_item_meta_1m, _user_meta_1m),
    "20m": (_item_meta_csv, None),
    "25m": (_item_meta_csv, None),
    "latest-small": (_item_meta_csv, None),
}


def locate(
    label: str,
    archive: Archive,
    required: tuple[str, ...],
    path: Any,
    download: bool,
    cache_dir: Any,
) -> Path:
    """The folder with the dataset's files: ``path``, the cache, or a fresh download."""
    if path is not None:
        folder = resolve_dir(path, required, archive)
        if folder is None:
            raise FileNotFoundError(
                _missing_message(label, Path(path).expanduser(), required, archive, explicit=True)
            )
        return folder
    root = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    folder = resolve_dir(root, required, archive)
    if folder is not None:
        return folder
    if not download:
        raise FileNotFoundError(_missing_message(label, root, required, archive, explicit=False))
    folder = resolve_dir(fetch(archive, root), required, archive)
    if folder is None:
        raise FileNotFoundError(_missing_message(label, root, required, archive, explicit=False))
    return folder


def load_movielens(
    variant: str = "100k",
    path: Any = None,
    download: bool = False,
    cache_dir: Any = None,
) -> Interactions:
    """Load a MovieLens ratings dataset as :class:`~reelrec.data.Interactions`.

    Parameters
    ----------
    variant : {"100k", "1m", "20m", "25m", "latest-small"}
    path : str or Path, optional
        A folder holding the unpacked files (or its parent). When given,
        nothing else is searched.
    download : bool
        Fetch the official archive into the cache when it is not there yet
        (verified against pinned checksums). Never implicit.
    cache_dir : str or Path, optional
        Cache folder (default ``$REELREC_DATA`` or ``~/.cache/reelrec``).

    Returns
    -------
    Interactions
        Users x movies with the star rating as weight, Unix-second timestamps
        and the original integer ids. Item metadata: ``title``, ``genres``
        ("|"-separated), ``year`` (from the title; NaN if absent), plus
        ``release_date``/``imdb_url`` for 100k. User metadata (100k, 1m):
        ``age``, ``gender``, ``occupation``, ``zip``. Only movies with at least
        one rating are in the index.

    Raises
    ------
    FileNotFoundError
        When the files are missing; the message says where to put them.
    """
    if variant not in MOVIELENS_VARIANTS:
        raise ValueError(f"variant: expected one of {list(MOVIELENS_VARIANTS)}, got {variant!r}")
    if not isinstance(download, (bool, np.bool_)):
        raise TypeError(f"download: expected a bool, got {type(download).__name__}")
    archive = ARCHIVES[f"ml-{variant}"]
    ratings_file, sep, header = _FILES[variant]
    folder = locate(
        f"MovieLens {variant}", archive, (ratings_file,), path, bool(download), cache_dir
    )
    users, items, ratings, timestamps = read_numeric(folder / ratings_file, sep, 4, header=header)
    data = Interactions.from_arrays(
        users.astype(np.int64), items.astype(np.int64), ratings, timestamps, aggregate="last"
    )
    item_reader, user_reader = _METADATA[variant]
    item_meta = item_reader(folder)
    if item_meta is not None:
        data.add_item_metadata(item_meta, on="movie_id")
    user_meta = user_reader(folder) if user_reader is not None else None
    if user_meta is not None:
        data.add_user_metadata(user_meta, on="user_id")
    return data
