"""EASE against its closed form in NumPy."""

import numpy as np
import pytest
import scipy.sparse as sp

from conftest import random_user_items
from contract import RecommenderContract
from reelrec import EASE, _core
from reelrec.models.ease import ease_memory_bytes


def ease_reference(X, l2):
    """Steck (2019), eq. 8 with np.linalg.inv."""
    dense = X.toarray().astype(np.float64)
    P = np.linalg.inv(dense.T @ dense + l2 * np.eye(X.shape[1]))
    B = -P / np.diag(P)
    np.fill_diagonal(B, 0.0)
    return B


def csr_args(X):
    return X.indptr.astype(np.int64), X.indices.astype(np.int32), X.data.astype(np.float32)


def medium_matrix():
    # 300 items: three Cholesky tiles of 128 and five solve blocks of 64, so the
    # tiled and multi-threaded paths run.
    X = sp.random(700, 300, density=0.05, format="csr", dtype=np.float32, random_state=4)
    X.data = np.round(X.data * 4 + 1)
    return X


class TestEASE(RecommenderContract):
    def make_model(self, **params):
        return EASE(l2=5.0, **params)


def test_gram_matches_numpy():
    X = random_user_items()
    X.data = X.data * 0.37  # non-integer values
    got = _core.ease_gram(*csr_args(X), X.shape[1], 2.5, 1)
    dense = X.toarray().astype(np.float64)
    np.testing.assert_allclose(
        got, dense.T @ dense + 2.5 * np.eye(X.shape[1]), rtol=1e-12, atol=1e-12
    )
    np.testing.assert_array_equal(got, got.T)  # accumulated in the same order both ways


@pytest.mark.parametrize("make", [random_user_items, medium_matrix])
def test_weights_match_closed_form(make):
    X = make()
    l2 = 7.0
    model = EASE(l2=l2).fit(X)
    assert model.weights_.dtype == np.float32
    assert not np.diag(model.weights_).any()
    np.testing.assert_allclose(model.weights_, ease_reference(X, l2), rtol=1e-5, atol=1e-7)


def test_weights_do_not_depend_on_thread_count():
    X = medium_matrix()
    a = EASE(l2=3.0, num_threads=1).fit(X).weights_
    b = EASE(l2=3.0, num_threads=3).fit(X).weights_
    np.testing.assert_array_equal(a, b)


def test_scores_and_fold_in_are_rows_times_weights():
    X = random_user_items()
    model = EASE(l2=10.0).fit(X)
    ids, scores = model.recommend(np.arange(6), k=X.shape[1], exclude_seen=False)
    want = X[:6].toarray() @ model.weights_.astype(np.float64)
    for u in range(6):
        np.testing.assert_allclose(scores[u], np.sort(want[u])[::-1], rtol=1e-5, atol=1e-6)
    folded = model.recommend([1000, 1001], k=8, user_items=X[[4, 5]])
    np.testing.assert_array_equal(folded[0], model.recommend([4, 5], k=8)[0])


def test_similar_items_rank_weight_rows():
    X = random_user_items()
    model = EASE(l2=10.0).fit(X)
    ids, scores = model.similar_items(2, k=5)
    row = model.weights_[2].astype(np.float64)
    row[2] = -np.inf
    np.testing.assert_array_equal(ids, np.argsort(-row, kind="stable")[:5])
    np.testing.assert_allclose(scores, row[ids], rtol=1e-6)


def test_memory_limit_refusal():
    X = random_user_items()
    need = ease_memory_bytes(X.shape[1]) / 1e9
    with pytest.raises(ValueError, match=r"needs about 0\.00 GB") as info:
        EASE(max_memory_gb=need / 2).fit(X)
    assert "60 items" in str(info.value) and "max_memory_gb" in str(info.value)
    assert ease_memory_bytes(100_000) / 1e9 == pytest.approx(120.0)
    EASE(max_memory_gb=need * 1.01).fit(X)  # just enough


def test_bad_parameters():
    X = random_user_items()
    with pytest.raises(ValueError, match="l2"):
        EASE(l2=0.0).fit(X)
    with pytest.raises(TypeError, match="l2"):
        EASE(l2="big").fit(X)
    with pytest.raises(ValueError, match="max_memory_gb"):
        EASE(max_memory_gb=-1.0).fit(X)
