"""reelrec: recommender systems for video platforms, with a fast C++ core."""

from . import _core
from .evaluation import compare, evaluate, evaluate_recommendations
from .exceptions import CopyWarning, NotFittedError
from .models import Popularity, Random, Recommender

__version__ = _core.__version__

__all__ = [
    "CopyWarning",
    "NotFittedError",
    "Popularity",
    "Random",
    "Recommender",
    "compare",
    "evaluate",
    "evaluate_recommendations",
    "__version__",
]
