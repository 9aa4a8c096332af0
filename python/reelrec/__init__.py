"""reelrec: recommender systems for video platforms, with a fast C++ core."""

from . import _core
from .data import Interactions
from .exceptions import CopyWarning, NotFittedError
from .models import Popularity, Random, Recommender

__version__ = _core.__version__

__all__ = [
    "CopyWarning",
    "Interactions",
    "NotFittedError",
    "Popularity",
    "Random",
    "Recommender",
    "__version__",
]
