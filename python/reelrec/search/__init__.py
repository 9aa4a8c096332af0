"""Vector search: exact and HNSW indexes, and factor models served through them.

* :class:`ExactIndex`: brute-force search, a blocked GEMM with a fused top-k.
* :class:`HNSWIndex`: approximate search on a Hierarchical Navigable Small
  World graph (our own implementation of Malkov & Yashunin, 2018).
* :class:`IdFilter`: allow/deny id sets evaluated inside both searches.
* :class:`ANNRecommender`: a fitted factor model answering ``recommend`` and
  ``similar_items`` from one of those indexes.

Scores are "higher is better" everywhere: inner product, cosine similarity, or
negative squared Euclidean distance.
"""

from ._index import ExactIndex, HNSWIndex, IdFilter
from .ann import ANNRecommender

__all__ = ["ANNRecommender", "ExactIndex", "HNSWIndex", "IdFilter"]
