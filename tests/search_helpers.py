"""NumPy references and fixtures shared by the search tests."""

from __future__ import annotations

import numpy as np


def reference_scores(queries, vectors, metric):
    """Scores as the indexes define them (higher is better), in float64."""
    Q = np.asarray(queries, np.float64)
    X = np.asarray(vectors, np.float64)
    if metric == "cosine":
        Q = Q / np.linalg.norm(Q, axis=1, keepdims=True)
        X = X / np.linalg.norm(X, axis=1, keepdims=True)
    if metric == "l2":  # expanded in float64: exact enough, and no (n_q, n, dim) temporary
        return -((Q**2).sum(1)[:, None] - 2.0 * Q @ X.T + (X**2).sum(1)[None, :])
    return Q @ X.T


def reference_search(queries, vectors, ids, k, metric, allow=None, deny=None, exclude=None):
    """Exact top-k: score descending, then id ascending; padded with -1 / -inf."""
    ids = np.asarray(ids, np.int64)
    S = reference_scores(queries, vectors, metric)
    n_q = S.shape[0]
    out_ids = np.full((n_q, k), -1, np.int64)
    out_scores = np.full((n_q, k), -np.inf)
    ok_all = np.ones(ids.size, bool)
    if allow is not None:
        ok_all &= np.isin(ids, allow)
    if deny is not None:
        ok_all &= ~np.isin(ids, deny)
    for q in range(n_q):
        ok = ok_all.copy()
        if exclude is not None:
            ok &= ~np.isin(ids, exclude[q])
        cand = np.flatnonzero(ok)
        order = cand[np.lexsort((ids[cand], -S[q, cand]))][:k]
        out_ids[q, : order.size] = ids[order]
        out_scores[q, : order.size] = S[q, order]
    return out_ids, out_scores


def clustered(n, dim, n_clusters=20, spread=0.15, seed=0):
    """Seeded Gaussian mixture: unit-scale centres plus isotropic noise."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((n_clusters, dim))
    labels = rng.integers(0, n_clusters, n)
    X = centres[labels] + spread * rng.standard_normal((n, dim))
    return X.astype(np.float32)


def recall_at_k(found, truth):
    hits = [len(set(f[f >= 0].tolist()) & set(t[t >= 0].tolist())) for f, t in zip(found, truth)]
    return float(np.sum(hits)) / float((truth >= 0).sum())
