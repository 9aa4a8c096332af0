"""Evaluation metrics for recommendation lists and rating predictions.

Ranking metrics (:func:`precision_at_k`, :func:`recall_at_k`, :func:`f1_at_k`,
:func:`map_at_k`, :func:`ndcg_at_k`, :func:`mrr_at_k`, :func:`hit_rate_at_k`,
:func:`auc`) run in one native pass per user. Beyond-accuracy metrics
(:func:`coverage`, :func:`gini`, :func:`novelty`, :func:`intra_list_diversity`,
:func:`personalization`) and rating errors (:func:`rmse`, :func:`mae`) are
vectorised NumPy. :func:`reelrec.evaluate` runs a model and computes them all.
"""

from .beyond import coverage, gini, intra_list_diversity, novelty, personalization
from .ranking import (
    RANKING_METRICS,
    auc,
    f1_at_k,
    hit_rate_at_k,
    map_at_k,
    mrr_at_k,
    ndcg_at_k,
    precision_at_k,
    ranking_metrics_at_k,
    recall_at_k,
)
from .rating import mae, rmse

__all__ = [
    "RANKING_METRICS",
    "auc",
    "coverage",
    "f1_at_k",
    "gini",
    "hit_rate_at_k",
    "intra_list_diversity",
    "mae",
    "map_at_k",
    "mrr_at_k",
    "ndcg_at_k",
    "novelty",
    "personalization",
    "precision_at_k",
    "ranking_metrics_at_k",
    "recall_at_k",
    "rmse",
]
