"""reelrec: recommender systems for video platforms, with a fast C++ core."""

from . import _core
from . import bandits as bandits
from .exceptions import CopyWarning, NotFittedError
from .models import Popularity, Random, Recommender

__version__ = _core.__version__

__all__ = [
    "CopyWarning",
    "NotFittedError",
    "Popularity",
    "Random",
    "Recommender",
    "__version__",
]
