"""Recommender models. Every model implements :class:`Recommender`."""

from .als import ImplicitALS
from .base import Recommender
from .baselines import Popularity, Random
from .bpr import BPR

__all__ = ["Recommender", "Popularity", "Random", "ImplicitALS", "BPR"]
