"""Recommender models. Every model implements :class:`Recommender`."""

from .base import Recommender
from .baselines import Popularity, Random
from .content import ContentKNN
from .hybrid import Hybrid
from .neighbours import ItemKNN, RP3Beta, UserKNN

__all__ = ["Recommender", "Popularity", "Random"]
__all__ += ["ItemKNN", "UserKNN", "RP3Beta", "ContentKNN", "Hybrid"]
