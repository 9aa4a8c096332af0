"""reelrec: recommender systems for video platforms, with a fast C++ core."""

from . import _core, data, datasets, metrics, ope, search
from .data import Interactions
from .evaluation import compare, evaluate, evaluate_recommendations
from .exceptions import CopyWarning, NotFittedError
from .models import EASE, BiasedMF, Popularity, PureSVD, Random, Recommender

__version__ = _core.__version__

__all__ = [
    "BiasedMF",
    "CopyWarning",
    "EASE",
    "Interactions",
    "NotFittedError",
    "Popularity",
    "PureSVD",
    "Random",
    "Recommender",
    "compare",
    "data",
    "datasets",
    "evaluate",
    "evaluate_recommendations",
    "metrics",
    "ope",
    "search",
    "__version__",
]
