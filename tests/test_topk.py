"""The shared top-k kernel against a NumPy reference."""

import numpy as np
import pytest

from reelrec import _core


def reference_topk(scores, k, allow=None, deny=None, seen=None):
    """Stable ranking: score descending, item index ascending; filtered items dropped."""
    n, m = scores.shape
    ids = np.full((n, k), -1, np.int32)
    out = np.full((n, k), -np.inf, np.float32)
    for r in range(n):
        ok = np.isfinite(scores[r]) | (scores[r] == np.inf)
        ok &= ~np.isneginf(scores[r])
        if allow is not None:
            ok &= allow.astype(bool)
        if deny is not None:
            ok &= ~deny.astype(bool)
        if seen is not None:
            ok[seen[r]] = False
        cand = np.flatnonzero(ok)
        order = cand[np.lexsort((cand, -scores[r, cand]))][:k]
        ids[r, : order.size] = order
        out[r, : order.size] = scores[r, order]
    return ids, out


def seen_csr(seen):
    indptr = np.zeros(len(seen) + 1, np.int64)
    indptr[1:] = np.cumsum([len(s) for s in seen])
    indices = np.concatenate([np.sort(s) for s in seen]).astype(np.int32)
    return indptr, indices


@pytest.mark.parametrize("n_items", [7, 100, 9000])  # 9000 spans several item tiles
@pytest.mark.parametrize("k", [1, 5, 12])
def test_topk_dot_matches_reference(n_items, k):
    rng = np.random.default_rng(n_items + k)
    Q = rng.standard_normal((130, 8)).astype(np.float32)
    V = rng.standard_normal((n_items, 8)).astype(np.float32)
    bias = rng.standard_normal(n_items).astype(np.float32)
    allow = (rng.random(n_items) < 0.8).astype(np.uint8)
    deny = (rng.random(n_items) < 0.1).astype(np.uint8)
    seen = [
        rng.choice(n_items, size=rng.integers(0, min(n_items, 20)), replace=False)
        for _ in range(130)
    ]
    indptr, indices = seen_csr(seen)
    ids, scores = _core.topk_dot(Q, V, bias, k, allow, deny, indptr, indices, 2)
    ref_ids, ref_scores = reference_topk(Q @ V.T + bias, k, allow, deny, seen)
    np.testing.assert_allclose(scores, ref_scores, rtol=1e-4, atol=1e-4)
    # ids equal wherever scores are not near-ties
    assert (ids == ref_ids).mean() > 0.99


def test_topk_dense_exact_with_ties_and_nan():
    scores = np.array([[1, 3, 3, np.nan, -np.inf, 2], [0, 0, 0, 0, 0, 0]], np.float32)
    ids, out = _core.topk_dense(scores, 4, None, None, None, None, 1)
    np.testing.assert_array_equal(ids, [[1, 2, 5, 0], [0, 1, 2, 3]])
    ref_ids, _ = reference_topk(np.nan_to_num(scores, nan=-np.inf), 4)
    np.testing.assert_array_equal(ids, ref_ids)


def test_topk_dense_pads():
    scores = np.array([[1, 2, 3]], np.float32)
    indptr, indices = seen_csr([np.array([0])])
    ids, out = _core.topk_dense(scores, 5, None, None, indptr, indices, 0)
    np.testing.assert_array_equal(ids, [[2, 1, -1, -1, -1]])
    assert np.isneginf(out[0, 2:]).all()


def test_thread_count_invariance():
    rng = np.random.default_rng(0)
    Q = rng.standard_normal((500, 16)).astype(np.float32)
    V = rng.standard_normal((3000, 16)).astype(np.float32)
    a = _core.topk_dot(Q, V, None, 10, None, None, None, None, 1)
    b = _core.topk_dot(Q, V, None, 10, None, None, None, None, 4)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


def test_kernel_rejects_bad_shapes():
    Q = np.zeros((2, 3), np.float32)
    with pytest.raises(ValueError, match="dimension"):
        _core.topk_dot(Q, np.zeros((4, 2), np.float32), None, 1, None, None, None, None, 0)
    with pytest.raises(ValueError, match="allow"):
        _core.topk_dot(
            Q, np.zeros((4, 3), np.float32), None, 1, np.ones(3, np.uint8), None, None, None, 0
        )
    with pytest.raises(ValueError, match="seen"):
        _core.topk_dot(
            Q,
            np.zeros((4, 3), np.float32),
            None,
            1,
            None,
            None,
            np.array([0, 1], np.int64),
            np.array([0], np.int32),
            0,
        )
