"""Dense NumPy references for the neighbourhood kernels (small matrices only)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def weighted(V: np.ndarray, weighting: str | None, k1: float = 1.2, b: float = 0.75) -> np.ndarray:
    """TF-IDF / BM25 weights as implicit: rows of V are documents, columns terms."""
    P = V != 0
    if weighting is None:
        return V.copy()
    idf = np.log(V.shape[0]) - np.log1p(P.sum(axis=0))
    if weighting == "tfidf":
        return np.sqrt(V) * idf[None, :] * P
    length = V.sum(axis=1)
    ratio = length / length.mean() if length.mean() > 0 else np.ones_like(length)
    norm = (1 - b) + b * ratio
    return V * (k1 + 1) / (k1 * norm[:, None] + V) * idf[None, :] * P


def similarity(
    X: sp.spmatrix,
    kind: str = "cosine",
    *,
    vectors: str = "items",
    shrinkage: float = 0.0,
    alpha: float = 0.5,
    weighting: str | None = None,
    k1: float = 1.2,
    b: float = 0.75,
) -> np.ndarray:
    """Dense vectors x vectors similarity; 0 where vectors share no feature and on the diagonal."""
    D = X.toarray().astype(np.float64)
    V = D.T if vectors == "items" else D
    P = V != 0
    W = weighted(V, weighting, k1, b)
    counts = P.sum(axis=1)
    if kind == "pearson":
        mean = np.where(counts > 0, W.sum(axis=1) / np.maximum(counts, 1), 0)
        W = (W - mean[:, None]) * P
    elif kind == "adjusted_cosine":
        fcounts = P.sum(axis=0)
        mean = np.where(fcounts > 0, W.sum(axis=0) / np.maximum(fcounts, 1), 0)
        W = (W - mean[None, :]) * P
    elif kind == "jaccard":
        W = P.astype(np.float64)
    G = W @ W.T
    sq = (W**2).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        if kind in ("cosine", "pearson", "adjusted_cosine"):
            S = G / (np.sqrt(sq)[:, None] * np.sqrt(sq)[None, :] + shrinkage)
        elif kind == "asymmetric_cosine":
            S = G / (sq[:, None] ** alpha * sq[None, :] ** (1 - alpha) + shrinkage)
        elif kind == "jaccard":
            S = G / (sq[:, None] + sq[None, :] - G + shrinkage)
        elif kind == "dot":
            S = G
        else:
            raise ValueError(kind)
    cooc = (P.astype(np.float64) @ P.T.astype(np.float64)) > 0
    S = np.where(cooc & np.isfinite(S), S, 0.0)
    np.fill_diagonal(S, 0.0)
    return S


def rp3beta(X: sp.spmatrix, alpha: float, beta: float, k: int, normalize: bool) -> np.ndarray:
    """Dense RP3beta weights after top-k (Dacrema et al. 2019 formulation, diagonal excluded)."""
    D = X.toarray().astype(np.float64)
    P_ui = D / np.where(D.sum(axis=1, keepdims=True) > 0, D.sum(axis=1, keepdims=True), 1)
    B = (D.T != 0).astype(np.float64)
    P_iu = B / np.where(B.sum(axis=1, keepdims=True) > 0, B.sum(axis=1, keepdims=True), 1)
    W = np.power(P_iu, alpha) @ np.power(P_ui, alpha)
    degree = B.sum(axis=1)
    W = W / np.power(np.maximum(degree, 1), beta)[None, :]
    np.fill_diagonal(W, 0.0)
    out = np.zeros_like(W)
    for i in range(W.shape[0]):
        keep = topk_rule(W[i], k)
        out[i, keep] = W[i, keep]
    if normalize:
        sums = out.sum(axis=1, keepdims=True)
        out = out / np.where(sums != 0, sums, 1)
    return out


def topk_rule(row: np.ndarray, k: int, candidates: np.ndarray | None = None) -> np.ndarray:
    """Indices of the k best entries (nonzero ones unless candidates given), ties -> lower index."""
    idx = np.flatnonzero(row != 0) if candidates is None else np.flatnonzero(candidates)
    order = np.lexsort((idx, -row[idx]))
    return idx[order][:k]


def assert_topk_rows(
    ids: np.ndarray,
    scores: np.ndarray,
    reference: np.ndarray,
    k: int,
    candidates: np.ndarray | None = None,
    rtol: float = 2e-4,
    atol: float = 1e-5,
) -> None:
    """Rows of (ids, scores) equal the reference top-k up to ties.

    Each returned item carries the reference's value for that item, and the
    returned values are the reference's k best values (so items may differ only
    where values tie).
    """
    for r in range(reference.shape[0]):
        cand = None if candidates is None else candidates[r]
        best = topk_rule(reference[r], k, cand)
        got = ids[r][ids[r] >= 0]
        got_scores = scores[r][: got.size]
        assert got.size == best.size, f"row {r}: {got.size} results, reference has {best.size}"
        np.testing.assert_allclose(
            got_scores, reference[r, got], rtol=rtol, atol=atol, err_msg=f"row {r}"
        )
        np.testing.assert_allclose(
            got_scores, reference[r, best], rtol=rtol, atol=atol, err_msg=f"row {r}"
        )


def csr_rows_as_topk(S: sp.csr_matrix, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(ids, scores) padded arrays of a CSR's rows ordered best first."""
    ids = np.full((S.shape[0], k), -1, np.int64)
    scores = np.full((S.shape[0], k), -np.inf)
    for r in range(S.shape[0]):
        row = S.getrow(r)
        order = np.lexsort((row.indices, -row.data))[:k]
        ids[r, : order.size] = row.indices[order]
        scores[r, : order.size] = row.data[order]
    return ids, scores
