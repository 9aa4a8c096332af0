"""reelrec: recommender systems for video platforms, with a fast C++ core."""

from . import _core
from .exceptions import CopyWarning, NotFittedError
from .models import BPR, ImplicitALS, Popularity, Random, Recommender

__version__ = _core.__version__

__all__ = [
    "BPR",
    "ImplicitALS",
    "CopyWarning",
    "NotFittedError",
    "Popularity",
    "Random",
    "Recommender",
    "__version__",
]
