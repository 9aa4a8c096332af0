"""Item featurizers for content-based models: TF-IDF text and categorical one-hot."""

from .categorical import encode_categorical
from .text import TfidfFeaturizer

__all__ = ["TfidfFeaturizer", "encode_categorical"]
