"""reelrec: recommender systems for video platforms, with a fast C++ core."""

from . import _core, bandits, data, datasets, features, metrics, ope, search
from .data import Interactions
from .evaluation import compare, evaluate, evaluate_recommendations
from .exceptions import CopyWarning, NotFittedError
from .models import (
    BPR,
    EASE,
    BiasedMF,
    ContentKNN,
    Hybrid,
    ImplicitALS,
    ItemKNN,
    Popularity,
    PureSVD,
    Random,
    Recommender,
    RP3Beta,
    UserKNN,
)

__version__ = _core.__version__

__all__ = [
    "BPR",
    "BiasedMF",
    "ContentKNN",
    "CopyWarning",
    "EASE",
    "Hybrid",
    "ImplicitALS",
    "Interactions",
    "ItemKNN",
    "NotFittedError",
    "Popularity",
    "PureSVD",
    "RP3Beta",
    "Random",
    "Recommender",
    "UserKNN",
    "compare",
    "data",
    "datasets",
    "evaluate",
    "evaluate_recommendations",
    "features",
    "metrics",
    "ope",
    "search",
    "bandits",
    "__version__",
]
