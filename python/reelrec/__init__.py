"""reelrec: recommender systems for video platforms, with a fast C++ core."""

from . import _core, ope
from .evaluation import compare, evaluate, evaluate_recommendations
from .exceptions import CopyWarning, NotFittedError
from .models import EASE, BiasedMF, Popularity, PureSVD, Random, Recommender

__version__ = _core.__version__

__all__ = [
    "BiasedMF",
    "CopyWarning",
    "EASE",
    "NotFittedError",
    "Popularity",
    "PureSVD",
    "Random",
    "Recommender",
    "compare",
    "evaluate",
    "evaluate_recommendations",
    "ope",
    "__version__",
]
