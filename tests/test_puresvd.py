"""PureSVD and its native randomized SVD against np.linalg.svd / np.linalg.qr."""

import numpy as np
import pytest
import scipy.sparse as sp

from conftest import random_user_items
from contract import RecommenderContract
from reelrec import PureSVD, _core
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


# one TSQR chunk; two chunks and the QR of their stacked R factors
@pytest.mark.parametrize("shape", [(50, 7), (9000, 6)])
@pytest.mark.parametrize("householder", [False, True])  # Cholesky-QR2; the TSQR
def test_orthonormalize_is_a_thin_qr(shape, householder):
    Y = np.random.default_rng(0).standard_normal(shape)
    Q, R = _core.mf_orthonormalize(Y, householder, 2)
    np.testing.assert_allclose(Q.T @ Q, np.eye(shape[1]), atol=1e-12)
    np.testing.assert_allclose(Q @ R, Y, atol=1e-10)
    assert np.allclose(np.tril(R, -1), 0)
    Q_np, _ = np.linalg.qr(Y)  # same column space: Q^T Q_np is orthogonal
    np.testing.assert_allclose(np.linalg.svd(Q.T @ Q_np)[1], 1, atol=1e-10)


@pytest.mark.parametrize("householder", [False, True])
def test_orthonormalize_is_thread_count_deterministic(householder):
    Y = np.random.default_rng(3).standard_normal((9000, 30))  # threaded, two TSQR chunks
    Q1, R1 = _core.mf_orthonormalize(Y, householder, 1)
    Q3, R3 = _core.mf_orthonormalize(Y, householder, 3)
    np.testing.assert_array_equal(Q1, Q3)
    np.testing.assert_array_equal(R1, R3)


def test_orthonormalize_survives_rank_deficiency():
    # Cholesky-QR breaks down here (a repeated column, a zero one, a nearly
    # dependent one): the automatic choice falls back to the TSQR.
    Y = np.random.default_rng(1).standard_normal((40, 6))
    Y[:, 3] = Y[:, 0]
    Y[:, 4] = 0
    Y[:, 5] = Y[:, 1] + 1e-9 * Y[:, 2]
    for householder in (False, True):
        Q, R = _core.mf_orthonormalize(Y, householder, 1)
        np.testing.assert_allclose(Q.T @ Q, np.eye(6), atol=1e-12)
        np.testing.assert_allclose(Q @ R, Y, atol=1e-12)


def test_orthonormalize_moderately_ill_conditioned():
    # cond ~ 1e5: Cholesky-QR2 territory, still orthonormal to rounding level
    rng = np.random.default_rng(2)
    A, _ = np.linalg.qr(rng.standard_normal((500, 8)))
    B, _ = np.linalg.qr(rng.standard_normal((8, 8)))
    Y = (A * np.logspace(0, -5, 8)) @ B
    Q, R = _core.mf_orthonormalize(Y, False, 1)
    np.testing.assert_allclose(Q.T @ Q, np.eye(8), atol=1e-12)
    np.testing.assert_allclose(Q @ R, Y, atol=1e-12)


@pytest.mark.parametrize("case", ["sparse, full sketch", "decaying spectrum"])
def test_randomized_svd_matches_numpy_singular_values_and_subspace(case):
    if case == "sparse, full sketch":  # l = n: the range finder is exact
        X = sp.random(300, 120, density=0.1, random_state=4, format="csr", dtype=np.float32)
        oversampling = 120
    else:  # rank 30 with singular values 0.8^i: 4 power iterations separate the top 8
        rng = np.random.default_rng(4)
        A, _ = np.linalg.qr(rng.standard_normal((300, 30)))
        B, _ = np.linalg.qr(rng.standard_normal((120, 30)))
        X = sp.csr_matrix(((A * 0.8 ** np.arange(30)) @ B.T).astype(np.float32))
        oversampling = 10
    U, s, Vt = randomized_svd(X, 8, oversampling=oversampling, power_iterations=4, random_state=0)
    U_np, s_np, Vt_np = np.linalg.svd(X.toarray().astype(np.float64), full_matrices=False)
    np.testing.assert_allclose(s, s_np[:8], rtol=1e-6)
    np.testing.assert_allclose(projector(Vt.T), projector(Vt_np[:8].T), atol=1e-5)
    np.testing.assert_allclose(projector(U), projector(U_np[:, :8]), atol=1e-5)
    # the sign convention: every right singular vector's largest entry is positive
    assert np.all(Vt[np.arange(8), np.abs(Vt).argmax(axis=1)] > 0)


def test_randomized_svd_is_thread_count_deterministic():
    # large enough for the parallel paths (several threads, chunked Gram sums)
    X = sp.random(9000, 400, density=0.05, random_state=5, format="csr", dtype=np.float32)
    results = [randomized_svd(X, 30, 30, 3, random_state=7, num_threads=t) for t in (1, 2, 3)]
    for U, s, Vt in results[1:]:
        np.testing.assert_array_equal(U, results[0][0])
        np.testing.assert_array_equal(s, results[0][1])
        np.testing.assert_array_equal(Vt, results[0][2])
    assert randomized_svd(X, 10, 10, 2, random_state=7, compute_u=False)[0] is None


def test_randomized_svd_bad_rank():
    X = random_user_items()
    with pytest.raises(ValueError, match="rank"):
        _core.mf_randomized_svd(
            X.indptr.astype(np.int64),
            X.indices.astype(np.int32),
            X.data,
            X.shape[1],
            0,
            5,
            1,
            0,
            True,
            1,
        )
    with pytest.raises(ValueError, match="Y"):
        _core.mf_orthonormalize(np.zeros((2, 3)), False, 1)
