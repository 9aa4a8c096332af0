"""PureSVD against np.linalg.svd."""

import numpy as np
import pytest
import scipy.sparse as sp

from conftest import random_user_items
from contract import RecommenderContract
from reelrec import PureSVD
from reelrec.models.puresvd import randomized_svd


class TestPureSVD(RecommenderContract):
    def make_model(self, **params):
        # The block fixture has one dominant direction per block (rank 5 each):
        # more than 3 factors start to reconstruct the held-out zeros exactly.
        return PureSVD(factors=3, **params)


def projector(V):
    return V @ V.T


def test_exact_when_the_sketch_spans_the_matrix():
    X = random_user_items()  # 40 x 60: factors + oversampling >= 40 covers the row space
    model = PureSVD(factors=6, oversampling=40, power_iterations=0, random_state=0).fit(X)
    _, s, Vt = np.linalg.svd(X.toarray().astype(np.float64), full_matrices=False)
    np.testing.assert_allclose(model.singular_values_, s[:6], rtol=1e-10)
    np.testing.assert_allclose(projector(model.item_factors_), projector(Vt[:6].T), atol=1e-5)


def test_low_rank_matrix_recovered_with_default_sketch():
    rng = np.random.default_rng(0)
    dense = rng.random((120, 5)) @ rng.random((5, 90))
    dense[dense < np.quantile(dense, 0.3)] = 0  # sparse but still full of signal
    X = sp.csr_matrix(dense.astype(np.float32))
    model = PureSVD(factors=4, random_state=1).fit(X)
    _, s, Vt = np.linalg.svd(X.toarray().astype(np.float64), full_matrices=False)
    np.testing.assert_allclose(model.singular_values_, s[:4], rtol=1e-6)
    np.testing.assert_allclose(projector(model.item_factors_), projector(Vt[:4].T), atol=1e-4)


def test_randomized_svd_triplets_reconstruct():
    X = random_user_items()
    U, s, Vt = randomized_svd(X, 10, 30, 2, np.random.default_rng(0))
    np.testing.assert_allclose(U.T @ U, np.eye(10), atol=1e-10)
    np.testing.assert_allclose(Vt @ Vt.T, np.eye(10), atol=1e-10)
    np.testing.assert_allclose(X @ Vt.T, U * s, atol=1e-8)


def test_user_vectors_are_projections_and_fold_in_is_exact():
    X = random_user_items()
    model = PureSVD(factors=5, random_state=0).fit(X)
    V = model.item_factors_.astype(np.float64)
    ids, scores = model.recommend(7, k=X.shape[1], exclude_seen=False)
    want = X[7].toarray().ravel() @ V @ V.T
    np.testing.assert_allclose(scores, want[ids], rtol=1e-4, atol=1e-5)
    assert np.all(np.diff(scores) <= 0)
    folded = model.recommend([500], k=6, user_items=X[[7]])
    np.testing.assert_array_equal(folded[0][0], model.recommend(7, k=6)[0])


def test_deterministic_given_seed():
    X = random_user_items()
    a = PureSVD(factors=5, random_state=3).fit(X)
    b = PureSVD(factors=5, random_state=3).fit(X)
    np.testing.assert_array_equal(a.item_factors_, b.item_factors_)


def test_bad_parameters():
    X = random_user_items()
    with pytest.raises(ValueError, match="factors"):
        PureSVD(factors=0).fit(X)
    with pytest.raises(ValueError, match="at most min"):
        PureSVD(factors=41).fit(X)
    with pytest.raises(ValueError, match="oversampling"):
        PureSVD(oversampling=-1).fit(X)
    with pytest.raises(TypeError, match="power_iterations"):
        PureSVD(power_iterations=1.5).fit(X)
