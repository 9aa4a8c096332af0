"""Recommender models. Every model implements :class:`Recommender`."""

from .base import Recommender
from .baselines import Popularity, Random

__all__ = ["Recommender", "Popularity", "Random"]
