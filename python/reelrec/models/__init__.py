"""Recommender models. Every model implements :class:`Recommender`."""

from .als import ImplicitALS
from .base import Recommender
from .baselines import Popularity, Random
from .biased_mf import BiasedMF
from .bpr import BPR
from .content import ContentKNN
from .ease import EASE
from .hybrid import Hybrid
from .neighbours import ItemKNN, RP3Beta, UserKNN
from .puresvd import PureSVD

__all__ = [
    "BPR",
    "BiasedMF",
    "ContentKNN",
    "EASE",
    "Hybrid",
    "ImplicitALS",
    "ItemKNN",
    "Popularity",
    "PureSVD",
    "RP3Beta",
    "Random",
    "Recommender",
    "UserKNN",
]
