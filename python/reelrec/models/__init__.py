"""Recommender models. Every model implements :class:`Recommender`."""

from .base import Recommender
from .baselines import Popularity, Random
from .biased_mf import BiasedMF
from .content import ContentKNN
from .ease import EASE
from .hybrid import Hybrid
from .neighbours import ItemKNN, RP3Beta, UserKNN
from .puresvd import PureSVD

__all__ = [
    "BiasedMF",
    "ContentKNN",
    "EASE",
    "Hybrid",
    "ItemKNN",
    "Popularity",
    "PureSVD",
    "RP3Beta",
    "Random",
    "Recommender",
    "UserKNN",
]
