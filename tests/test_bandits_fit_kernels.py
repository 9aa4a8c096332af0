"""The dense kernels of the ridge bandits (cpp/bandits/dense.cpp) against NumPy.

ridge_gram and spd_inverse build and invert the normal equations of
LinUCB/LinTS fit (instead of Eigen's LLT); block_means replaces the GEMM that
gives the means of a block of requests in contextual selection.
"""

import numpy as np
import pytest

from reelrec import _core
from reelrec import bandits as rb

ISAS = ["generic", "avx2", "avx512"]


def _spd(d, cond, seed):
    """Random SPD matrix with condition number ``cond`` (Q diag Q^T)."""
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    eig = np.logspace(0, np.log10(cond), d)
    A = (q * eig) @ q.T
    return 0.5 * (A + A.T)


def _inverse(A, isa):
    out = _core.bandits_spd_inverse(A, isa)
    if out is None:
        pytest.skip(f"this CPU cannot run the {isa} kernel")
    return out


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("d", [1, 2, 3, 7, 8, 9, 17, 33, 64, 67])
@pytest.mark.parametrize("cond", [1.0, 1e3, 1e10])
def test_spd_inverse_matches_numpy(isa, d, cond):
    A = _spd(d, cond, seed=d)
    P, ok = _inverse(A, isa)
    assert ok
    ref = np.linalg.inv(A)
    # backward-stable inverse: relative error of order eps * cond(A) * d
    rel = np.abs(P - ref).max() / np.abs(ref).max()
    assert rel <= 50 * d * np.finfo(float).eps * np.linalg.cond(A)
    # both triangles exactly equal (the width kernels read one of them)
    np.testing.assert_array_equal(P, P.T)


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("d", [1, 2, 8, 9, 33, 200])
@pytest.mark.parametrize("cond", [1.0, 1e3, 1e10])
def test_spd_cholesky_matches_numpy(isa, d, cond):
    """A = U^T U (the float factors of the width screens), zeros below."""
    A = _spd(d, cond, seed=d + 1)
    out = _core.bandits_spd_cholesky(A, isa)
    if out is None:
        pytest.skip(f"this CPU cannot run the {isa} kernel")
    U, ok = out
    assert ok
    np.testing.assert_array_equal(np.tril(U, -1), 0.0)
    ref = np.linalg.cholesky(A).T
    # backward stable: |U^T U - A| <= c d eps |U^T| |U|
    bound = 4 * d * np.finfo(float).eps * (np.abs(U).T @ np.abs(U))
    assert np.all(np.abs(U.T @ U - A) <= bound)
    assert (
        np.abs(U - ref).max() <= 1e3 * d * np.finfo(float).eps * np.sqrt(cond) * np.abs(ref).max()
    )
    bad = A.copy()
    bad[0, 0] = -1.0
    assert _core.bandits_spd_cholesky(bad, isa)[1] is False


@pytest.mark.parametrize("isa", ISAS)
def test_spd_inverse_normal_equations(isa):
    """The fit's matrices: l2 I + X^T X through LinUCB.fit (d = 40) and
    directly at the benchmark's width (d = 200)."""
    rng = np.random.default_rng(3)
    X = rng.standard_normal((500, 200))
    A = X.T @ X + np.eye(200)
    P, ok = _inverse(A, isa)
    assert ok
    np.testing.assert_allclose(P @ A, np.eye(200), atol=1e-12)
    ref = np.linalg.inv(A)
    assert np.abs(P - ref).max() <= 1e-13 * np.abs(ref).max() * np.linalg.cond(A)


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize(
    "A",
    [
        np.array([[1.0, 1.0], [1.0, 1.0]]),  # singular: zero pivot
        np.array([[1.0, 2.0], [2.0, 1.0]]),  # indefinite
        -np.eye(3),
        np.diag([1.0, np.nan, 1.0]),
        np.array([[1.0, np.inf], [np.inf, 1.0]]),
        np.diag([1.0, 1e-320]),  # positive pivot whose inverse overflows
    ],
)
def test_spd_inverse_reports_failure(isa, A):
    _, ok = _inverse(A, isa)
    assert not ok


def test_spd_inverse_isa_names():
    assert _core.bandits_dense_isa() in ISAS
    assert _core.bandits_spd_inverse(np.eye(2), "sse9") is None


def test_fit_rejects_singular_normal_equations():
    # collinear contexts, and l2 below the rounding of A's diagonal: the second pivot is 0
    # (powers of two keep X^T X = 2^102 exact)
    X = np.full((4, 2), 2.0**50)
    arms = np.zeros(4, dtype=np.int64)
    p = rb.LinUCB(2, 2, l2=1e-12, random_state=0).fit(arms[:1], np.ones(1), np.ones((1, 2)))
    with pytest.raises(ValueError, match="normal equations of arm 0 are not positive definite"):
        p.fit(arms, np.ones(4), X)
    # a failed fit leaves every arm at its prior, not half fitted
    assert p.n_updates_ == 0 and (p.pulls_ == 0).all()
    np.testing.assert_array_equal(p.theta_, 0.0)
    np.testing.assert_array_equal(p.A_inv_, np.broadcast_to(np.eye(2) / 1e-12, (2, 2, 2)))
    # contexts whose X^T X would overflow never reach the native fit
    with pytest.raises(ValueError, match=r"contexts: expected values within \+-1e\+30"):
        rb.LinTS(2, 2).fit(arms, np.ones(4), np.full((4, 2), 1e200))


def test_fit_inverse_equals_numpy():
    rng = np.random.default_rng(11)
    n, d = 3000, 40
    X = rng.standard_normal((n, d))
    arms = rng.integers(0, 3, n)
    r = rng.standard_normal(n)
    p = rb.LinUCB(3, d, l2=0.5, random_state=0).fit(arms, r, X)
    for a in range(3):
        Xa = X[arms == a]
        A = Xa.T @ Xa + 0.5 * np.eye(d)
        np.testing.assert_allclose(p.A_inv_[a], np.linalg.inv(A), rtol=1e-10, atol=1e-15)
        np.testing.assert_array_equal(p.A_inv_[a], p.A_inv_[a].T)
        np.testing.assert_allclose(p.theta_[a], np.linalg.solve(A, Xa.T @ r[arms == a]), rtol=1e-9)


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("n, d", [(1, 1), (5, 3), (130, 15), (300, 16), (260, 40), (129, 200)])
def test_ridge_gram_matches_numpy(isa, n, d):
    """[X, r]^T [X, r] over the listed rows (gathered, repeats allowed)."""
    rng = np.random.default_rng(n + d)
    X = rng.standard_normal((n + 7, d))
    r = rng.standard_normal(n + 7)
    rows = rng.integers(0, n + 7, n).astype(np.int64)
    G = _core.bandits_ridge_gram(X, r, rows, isa)
    if G is None:
        pytest.skip(f"this CPU cannot run the {isa} kernel")
    Z = np.column_stack([X[rows], r[rows]])
    bound = 2 * n * np.finfo(float).eps * (np.abs(Z).T @ np.abs(Z))
    assert np.all(np.abs(G - Z.T @ Z) <= bound)
    np.testing.assert_array_equal(G, G.T)
    # known answer for exactly representable values
    Xi = rng.integers(-4, 5, X.shape).astype(float)
    Zi = np.column_stack([Xi[rows], r[rows] * 0 + 2])
    np.testing.assert_array_equal(_core.bandits_ridge_gram(Xi, r * 0 + 2, rows, isa), Zi.T @ Zi)


def _means(X, Mu, isa):
    out = _core.bandits_block_means(X, Mu, isa)
    if out is None:
        pytest.skip(f"this CPU cannot run the {isa} kernel")
    return out


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize(
    "shape", [(1, 1, 1), (5, 3, 2), (9, 25, 17), (37, 200, 100), (256, 30, 7), (20, 64, 33)]
)
def test_block_means_match_numpy(isa, shape):
    n, d, S = shape
    rng = np.random.default_rng(d + S)
    X = rng.standard_normal((n, d))
    Mu = rng.standard_normal((S, d))
    M = _means(X, Mu, isa)
    ref = X @ Mu.T
    bound = 2 * d * np.finfo(float).eps * (np.abs(X) @ np.abs(Mu).T)
    assert np.all(np.abs(M - ref) <= bound)


@pytest.mark.parametrize("isa", ISAS)
def test_block_means_rows_are_independent(isa):
    """A row's means do not depend on the rows batched with it."""
    rng = np.random.default_rng(5)
    X = rng.standard_normal((29, 45))
    Mu = rng.standard_normal((21, 45))
    M = _means(X, Mu, isa)
    single = np.vstack([_means(X[i : i + 1], Mu, isa) for i in range(len(X))])
    np.testing.assert_array_equal(single, M)
    np.testing.assert_array_equal(_means(X[3:11], Mu, isa), M[3:11])
    # ascending-order sums from zero: known answer for exactly representable values
    Xi = rng.integers(-8, 9, (13, 45)).astype(float)
    Mi = rng.integers(-8, 9, (21, 45)).astype(float)
    np.testing.assert_array_equal(_means(Xi, Mi, isa), Xi @ Mi.T)


def test_select_does_not_depend_on_batching():
    """LinUCB/LinTS decisions through the means kernel (d > 24, screened and not)."""
    rng = np.random.default_rng(8)
    n, d = 2000, 30
    X = rng.standard_normal((n, d))
    arms = rng.integers(0, 12, n)
    r = (rng.random(n) < 0.2).astype(float)
    Xq = rng.standard_normal((300, d))
    for cls in (rb.LinUCB, rb.LinTS):
        whole = cls(12, d, random_state=1).fit(arms, r, X)
        parts = cls(12, d, random_state=1).fit(arms, r, X)
        a1, p1 = whole.select(Xq)
        pieces = [parts.select(Xq[i : i + 7]) for i in range(0, len(Xq), 7)]
        np.testing.assert_array_equal(a1, np.concatenate([a for a, _ in pieces]))
        if cls is rb.LinUCB:  # Thompson propensities use a Monte Carlo pool per call
            np.testing.assert_array_equal(p1, np.concatenate([p for _, p in pieces]))
