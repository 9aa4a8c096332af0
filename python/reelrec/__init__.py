"""reelrec: recommender systems for video platforms, with a fast C++ core."""

from . import _core
from .evaluation import compare, evaluate, evaluate_recommendations
from .exceptions import CopyWarning, NotFittedError
from .models import BPR, EASE, BiasedMF, ImplicitALS, Popularity, PureSVD, Random, Recommender

__version__ = _core.__version__

__all__ = [
    "BPR",
    "BiasedMF",
    "CopyWarning",
    "EASE",
    "ImplicitALS",
    "NotFittedError",
    "Popularity",
    "PureSVD",
    "Random",
    "Recommender",
    "compare",
    "evaluate",
    "evaluate_recommendations",
    "__version__",
]
