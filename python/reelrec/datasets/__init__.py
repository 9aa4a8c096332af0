"""Datasets: a synthetic video platform with ground truth, and real-data loaders.

Real datasets are never bundled or downloaded implicitly: the loaders read a
local copy (``path=``) or the cache, and fetch the official archive only with
``download=True``.
"""

from ._fetch import default_cache_dir
from .lastfm import load_lastfm
from .movielens import MOVIELENS_VARIANTS, load_movielens
from .synthetic import SyntheticPlatform, synthetic_video_platform

__all__ = [
    "MOVIELENS_VARIANTS",
    "SyntheticPlatform",
    "default_cache_dir",
    "load_lastfm",
    "load_movielens",
    "synthetic_video_platform",
]
