"""reelrec: recommender systems for video platforms, with a fast C++ core."""

from . import _core
from .exceptions import CopyWarning, NotFittedError
from .models import Popularity, Random, Recommender
from .models.content import ContentKNN
from .models.hybrid import Hybrid
from .models.neighbours import ItemKNN, RP3Beta, UserKNN

__version__ = _core.__version__

__all__ = [
    "CopyWarning",
    "NotFittedError",
    "Popularity",
    "Random",
    "Recommender",
    "__version__",
]
__all__ += ["ItemKNN", "UserKNN", "RP3Beta", "ContentKNN", "Hybrid"]
