"""Plain NumPy/Python reference implementations of reelrec.metrics (slow, obvious, for tests)."""

from __future__ import annotations

import itertools

import numpy as np

RANKING = ("precision", "recall", "f1", "map", "ndcg", "mrr", "hit_rate", "auc")


def distinct(row, k):
    """The list's first k entries with pads and repeats dropped, in order."""
    out = []
    for item in row[:k]:
        item = int(item)
        if item >= 0 and item not in out:
            out.append(item)
    return out


def ranking_user(row, gains, k, n_items):
    """All ranking metrics for one user; ``gains`` maps item -> stored value."""
    rel = {i: g for i, g in gains.items() if g > 0}
    if not rel:
        return dict.fromkeys(RANKING, np.nan)
    seen, hits, ap, dcg, first = set(), 0, 0.0, 0.0, 0
    for r, item in enumerate(row[:k], start=1):
        item = int(item)
        if item in rel and item not in seen:
            hits += 1
            ap += hits / r
            dcg += rel[item] / np.log2(r + 1)
            first = first or r
        seen.add(item)
    ideal = sorted(rel.values(), reverse=True)[:k]
    idcg = sum(g / np.log2(r + 1) for r, g in enumerate(ideal, start=1))
    p, rc = hits / k, hits / len(rel)
    # AUC by brute force over (positive, negative) pairs; unlisted items tie last
    listed = distinct(row, k)
    rank = {item: r for r, item in enumerate(listed)}
    last = len(listed)
    negatives = [i for i in range(n_items) if i not in rel]
    if negatives:
        score = 0.0
        for pos, neg in itertools.product(rel, negatives):
            rp, rn = rank.get(pos, last), rank.get(neg, last)
            score += 1.0 if rp < rn else (0.5 if rp == rn else 0.0)
        auc = score / (len(rel) * len(negatives))
    else:
        auc = np.nan
    return {
        "precision": p,
        "recall": rc,
        "f1": 2 * p * rc / (p + rc) if p + rc else 0.0,
        "map": ap / min(k, len(rel)),
        "ndcg": dcg / idcg,
        "mrr": 1.0 / first if first else 0.0,
        "hit_rate": float(hits > 0),
        "auc": auc,
    }


def ranking(recommended, relevant, k):
    """name -> per-user float64 vector."""
    relevant = relevant.tocsr()
    out = {name: np.empty(recommended.shape[0]) for name in RANKING}
    for u in range(recommended.shape[0]):
        lo, hi = relevant.indptr[u], relevant.indptr[u + 1]
        gains = dict(zip(relevant.indices[lo:hi].tolist(), relevant.data[lo:hi].tolist()))
        values = ranking_user(recommended[u], gains, k, relevant.shape[1])
        for name in RANKING:
            out[name][u] = values[name]
    return out


def nanmean(values):
    values = np.asarray(values, dtype=float)
    values = values[~np.isnan(values)]
    return values.mean() if values.size else np.nan


def coverage(recommended, n_items, k):
    return len({i for row in recommended for i in distinct(row, k)}) / n_items


def counts(recommended, n_items, k):
    c = np.zeros(n_items)
    for row in recommended:
        for i in distinct(row, k):
            c[i] += 1
    return c


def gini(c):
    """Gini as the mean absolute difference over all ordered pairs / (2 * mean)."""
    c = np.asarray(c, dtype=float)
    if c.sum() == 0:
        return np.nan
    return np.abs(c[:, None] - c[None, :]).sum() / (2 * c.size * c.sum())


def novelty(recommended, popularity, denominator, k):
    out = []
    for row in recommended:
        items = distinct(row, k)
        out.append(
            np.mean([-np.log2(max(popularity[i], 1) / denominator) for i in items])
            if items
            else np.nan
        )
    return np.array(out)


def diversity(recommended, vectors, k):
    out = []
    for row in recommended:
        items = distinct(row, k)
        if len(items) < 2:
            out.append(np.nan)
            continue
        d = []
        for a, b in itertools.combinations(items, 2):
            na, nb = np.linalg.norm(vectors[a]), np.linalg.norm(vectors[b])
            cos = vectors[a] @ vectors[b] / (na * nb) if na > 0 and nb > 0 else 0.0
            d.append(1 - cos)
        out.append(np.mean(d))
    return np.array(out)


def personalization(recommended, k):
    lists = [set(distinct(row, k)) for row in recommended]
    lists = [s for s in lists if s]
    sims = [len(a & b) / np.sqrt(len(a) * len(b)) for a, b in itertools.combinations(lists, 2)]
    return 1 - np.mean(sims) if sims else np.nan
