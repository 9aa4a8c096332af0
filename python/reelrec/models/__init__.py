"""Recommender models. Every model implements :class:`Recommender`."""

from .als import ImplicitALS
from .base import Recommender
from .baselines import Popularity, Random
from .biased_mf import BiasedMF
from .bpr import BPR
from .ease import EASE
from .puresvd import PureSVD

__all__ = ["Recommender", "Popularity", "Random", "BiasedMF", "EASE", "PureSVD", "ImplicitALS", "BPR"]
