"""Bandit updates and scores against pure-NumPy references."""

import numpy as np
import pytest
from scipy import stats

from bandit_reference import (
    HybridArms,
    LogisticArms,
    RidgeArms,
    counting_stats,
    sigmoid,
    ucb1_scores,
)
from reelrec import _core
from reelrec import bandits as rb


def test_philox_known_answer():
    # Random123 known-answer vectors for Philox4x32-10.
    zero = _core.bandits_philox4x32(np.zeros(4, np.uint32), np.zeros(2, np.uint32))
    np.testing.assert_array_equal(
        zero, np.array([0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8], np.uint32)
    )
    ones = _core.bandits_philox4x32(
        np.full(4, 0xFFFFFFFF, np.uint32), np.full(2, 0xFFFFFFFF, np.uint32)
    )
    np.testing.assert_array_equal(
        ones, np.array([0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD], np.uint32)
    )
    pi = _core.bandits_philox4x32(
        np.array([0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344], np.uint32),
        np.array([0xA4093822, 0x299F31D0], np.uint32),
    )
    np.testing.assert_array_equal(
        pi, np.array([0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1], np.uint32)
    )


@pytest.mark.parametrize(
    "dist, a, b, ref",
    [
        ("uniform", 1.0, 1.0, stats.uniform()),
        ("normal", 1.0, 1.0, stats.norm()),
        ("gamma", 0.3, 1.0, stats.gamma(0.3)),
        ("gamma", 1.0, 1.0, stats.gamma(1.0)),
        ("gamma", 7.5, 1.0, stats.gamma(7.5)),
        ("beta", 0.5, 0.5, stats.beta(0.5, 0.5)),
        ("beta", 2.0, 30.0, stats.beta(2.0, 30.0)),
        ("beta", 400.0, 3.0, stats.beta(400.0, 3.0)),
    ],
)
def test_samplers_follow_their_laws(dist, a, b, ref):
    """Kolmogorov-Smirnov on 200k draws (p > 1e-4), plus the normal tail."""
    x = _core.bandits_draw(dist, 200_000, 123, a, b)
    assert stats.kstest(x, ref.cdf).pvalue > 1e-4
    if dist == "normal":
        # the ziggurat's tail branch (|x| > 3.65) carries the right mass
        tail = np.mean(np.abs(x) > 3.6541528853610088)
        expected = 2 * stats.norm.sf(3.6541528853610088)
        assert abs(tail - expected) < 5 * np.sqrt(expected / x.size)
        assert abs(x.mean()) < 5 / np.sqrt(x.size) and abs(x.var() - 1) < 0.02


@pytest.mark.parametrize("isa", ["generic", "avx2", "avx512"])
@pytest.mark.parametrize("d", [1, 3, 8, 17, 20, 24, 25, 40])
def test_quadform_kernels_match_numpy(isa, d):
    rng = np.random.default_rng(d)
    X = rng.standard_normal((23, d))
    M = rng.standard_normal((d, d))
    S = M @ M.T + np.eye(d)
    q = _core.bandits_quadform(X, S, isa)
    if q is None:
        pytest.skip(f"this CPU cannot run the {isa} kernel")
    ref = np.einsum("ni,ij,nj->n", X, S, X)
    np.testing.assert_allclose(q, ref, rtol=1e-12, atol=1e-12)
    # a row's result does not depend on the rows batched with it (screening relies on it)
    single_rows = np.concatenate(
        [_core.bandits_quadform(X[i : i + 1], S, isa) for i in range(len(X))]
    )
    np.testing.assert_array_equal(single_rows, q)
    # single precision stays within the documented bound
    q32 = _core.bandits_quadform(X, S, isa, single=True)
    bound = _core.bandits_quadform_f32_error_factor(d) * np.sum(X**2, axis=1) * np.linalg.norm(S)
    assert np.all(np.abs(q32 - ref) <= bound)
    assert np.abs(q32 - ref).max() > 0 or d == 1


@pytest.mark.parametrize("isa", ["generic", "avx2", "avx512"])
@pytest.mark.parametrize("d", [1, 3, 7, 25, 40, 71, 200])
def test_factor_width_kernels_match_numpy(isa, d):
    """|L^T x|^2 in float (the large-d screen): NumPy reference within the
    rigorous bound gamma_{d+2} ||L||_F |x| on z, rows independent."""
    rng = np.random.default_rng(d)
    X = rng.standard_normal((37, d))
    L = np.tril(rng.standard_normal((d, d)))
    q = _core.bandits_quadform_factor(X, L, isa)
    if q is None:
        pytest.skip(f"this CPU cannot run the {isa} kernel")
    Xf = X.astype(np.float32).astype(np.float64)
    Lf = L.astype(np.float32).astype(np.float64)
    z = Xf @ Lf
    n = d + 2
    gamma = 1.05 * n * 2.0**-24 / (1 - n * 2.0**-24)
    dz = gamma * np.linalg.norm(Lf) * np.linalg.norm(Xf, axis=1)
    w, w_ref = np.sqrt(q), np.linalg.norm(z, axis=1)
    assert np.all(np.abs(w - w_ref) <= dz + gamma * w_ref)
    single_rows = np.concatenate(
        [_core.bandits_quadform_factor(X[i : i + 1], L, isa) for i in range(len(X))]
    )
    np.testing.assert_array_equal(single_rows, q)


@pytest.mark.parametrize("isa", ["generic", "avx2", "avx512"])
@pytest.mark.parametrize(
    "shape", [(1, 1), (5, 3), (300, 17), (260, 40), (1, 24), (9, 8), (200, 16), (300, 24)]
)
def test_gram_kernels_match_numpy(isa, shape):
    X = np.random.default_rng(shape[1]).standard_normal(shape)
    G = _core.bandits_gram(X, isa)
    if G is None:
        pytest.skip(f"this CPU cannot run the {isa} kernel")
    np.testing.assert_allclose(G, X.T @ X, rtol=1e-12, atol=1e-11)
    np.testing.assert_array_equal(G, G.T)
    # calls on consecutive 128-row pieces give exactly one call's sums
    if shape[0] > 128:
        G2 = _core.bandits_gram(X[128:], isa, _core.bandits_gram(X[:128], isa))
        np.testing.assert_array_equal(G2, G)


def _log(n=300, n_arms=4, d=5, seed=0, binary=False):
    rng = np.random.default_rng(seed)
    arms = rng.integers(0, n_arms, n)
    X = rng.standard_normal((n, d))
    r = (rng.random(n) < 0.4).astype(float) if binary else rng.standard_normal(n)
    return arms, r, X


@pytest.mark.parametrize("cls", [rb.LinUCB, rb.LinTS])
def test_ridge_statistics_match_reference(cls):
    arms, r, X = _log()
    policy = cls(4, 5, l2=0.7, random_state=0)
    for start in range(0, 300, 37):  # several batches, sequential rank-1 updates
        policy.update(arms[start : start + 37], r[start : start + 37], X[start : start + 37])
    ref = RidgeArms(4, 5, l2=0.7)
    ref.update(arms, r, X)
    np.testing.assert_allclose(policy.A_inv_, ref.A_inv, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(policy.b_, ref.b, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(policy.theta_, ref.theta, rtol=1e-8, atol=1e-10)
    np.testing.assert_array_equal(policy.pulls_, np.bincount(arms, minlength=4))


def test_ridge_fit_equals_sequential_updates():
    arms, r, X = _log(n=500, seed=1)
    seq = rb.LinUCB(4, 5, l2=2.0, random_state=0).update(arms, r, X)
    batch = rb.LinUCB(4, 5, l2=2.0, random_state=0).fit(arms, r, X)
    np.testing.assert_allclose(batch.A_inv_, seq.A_inv_, rtol=1e-9, atol=1e-13)
    np.testing.assert_allclose(batch.theta_, seq.theta_, rtol=1e-8, atol=1e-11)
    np.testing.assert_allclose(batch.b_, seq.b_, rtol=1e-12)
    assert batch.n_updates_ == seq.n_updates_ == 500
    Xq = np.random.default_rng(5).standard_normal((200, 5))
    a1, p1 = batch.select(Xq, k=2)
    a2, p2 = seq.select(Xq, k=2)
    np.testing.assert_array_equal(a1, a2)
    np.testing.assert_array_equal(p1, p2)


def test_fit_resets_learning():
    arms, r, X = _log(n=100)
    p = rb.LinUCB(4, 5, random_state=0).update(arms, r, X).update(arms, r, X)
    q = rb.LinUCB(4, 5, random_state=0).fit(arms, r, X)
    p.fit(arms, r, X)
    np.testing.assert_allclose(p.theta_, q.theta_, rtol=1e-12)


@pytest.mark.parametrize("precision", ["full", "diagonal"])
def test_logistic_laplace_updates_match_reference(precision):
    arms, r, X = _log(n=200, n_arms=3, d=4, seed=3, binary=True)
    r[::7] = 0.3  # fractional rewards (e.g. watch ratios) are allowed
    policy = rb.LogisticTS(3, 4, precision=precision, l2=1.5, random_state=0)
    policy.update(arms[:120], r[:120], X[:120]).update(arms[120:], r[120:], X[120:])
    ref = LogisticArms(3, 4, l2=1.5, full=precision == "full")
    ref.update(arms, r, X)
    np.testing.assert_allclose(policy.mean_, ref.m, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(policy.covariance_, ref.covariance, rtol=1e-8, atol=1e-12)
    # fit is the same sequence
    fitted = rb.LogisticTS(3, 4, precision=precision, l2=1.5, random_state=0).fit(arms, r, X)
    np.testing.assert_allclose(fitted.mean_, policy.mean_, rtol=1e-12, atol=1e-14)


def test_logistic_single_step_is_the_posterior_mode():
    x = np.array([1.0, -2.0, 0.5])
    policy = rb.LogisticTS(1, 3, precision="full", l2=2.0, random_state=0).update(
        [0], [1.0], x[None]
    )
    m = policy.mean_[0]
    # gradient of 1/2 l2 |w|^2 - log sigmoid(x.w) vanishes at the mode
    np.testing.assert_allclose(2.0 * m - (1 - sigmoid(x @ m)) * x, 0.0, atol=1e-12)
    p = sigmoid(x @ m)
    np.testing.assert_allclose(
        policy.covariance_[0],
        np.linalg.inv(2.0 * np.eye(3) + p * (1 - p) * np.outer(x, x)),
        rtol=1e-12,
    )


def test_hybrid_matches_algorithm_2():
    rng = np.random.default_rng(4)
    n_arms, d, m = 5, 3, 2
    F = rng.standard_normal((n_arms, m))
    arms = rng.integers(0, n_arms, 150)
    X = rng.standard_normal((150, d))
    r = X[:, 0] * 0.5 + (F[arms, 0] > 0) + 0.1 * rng.standard_normal(150)
    policy = rb.HybridLinUCB(n_arms, d, m, alpha=0.8, l2=1.3, random_state=0).set_arm_features(F)
    policy.update(arms[:70], r[:70], X[:70]).update(arms[70:], r[70:], X[70:])
    ref = HybridArms(n_arms, d, F, l2=1.3)
    ref.A0 = 1.3 * np.eye(d * m)
    ref.A = np.stack([1.3 * np.eye(d)] * n_arms)
    ref.update(arms, r, X)
    np.testing.assert_allclose(policy.A0_inv_, np.linalg.inv(ref.A0), rtol=1e-8, atol=1e-11)
    np.testing.assert_allclose(policy.b0_, ref.b0, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(policy.beta_, ref.beta, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(policy.A_inv_, np.linalg.inv(ref.A), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(policy.B_, ref.B, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(policy.b_, ref.b, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(policy.theta_, ref.theta, rtol=1e-8, atol=1e-10)
    fitted = (
        rb.HybridLinUCB(n_arms, d, m, alpha=0.8, l2=1.3, random_state=0)
        .set_arm_features(F)
        .fit(arms, r, X)
    )
    np.testing.assert_allclose(fitted.beta_, policy.beta_, rtol=1e-12, atol=1e-14)


def test_counting_statistics_match_reference():
    rng = np.random.default_rng(6)
    arms = rng.integers(0, 6, 400)
    r = (rng.random(400) < 0.3).astype(float)
    pulls, sums = counting_stats(6, arms, r)

    ts = (
        rb.ThompsonSampling(6, prior=(2.0, 3.0), random_state=0)
        .update(arms[:150], r[:150])
        .update(arms[150:], r[150:])
    )
    np.testing.assert_allclose(
        ts.posterior_, np.stack([2.0 + sums, 3.0 + pulls - sums], axis=1), rtol=1e-12
    )
    np.testing.assert_array_equal(ts.pulls_, pulls)
    np.testing.assert_allclose(ts.reward_sums_, sums, rtol=1e-12)

    g = rng.standard_normal(400)
    gsums = np.bincount(arms, weights=g, minlength=6)
    gts = rb.ThompsonSampling(
        6, likelihood="gaussian", prior=(0.5, 2.0), noise_std=0.7, random_state=0
    ).update(arms, g)
    prec = 2.0 + pulls / 0.49
    np.testing.assert_allclose(gts.posterior_[:, 0], (2.0 * 0.5 + gsums / 0.49) / prec, rtol=1e-12)
    np.testing.assert_allclose(gts.posterior_[:, 1], 1 / np.sqrt(prec), rtol=1e-12)

    eg = rb.EpsilonGreedy(6, prior=(1.0, 2.0), random_state=0).update(arms, r)
    np.testing.assert_allclose(eg.means_, (2.0 + sums) / (2.0 + pulls), rtol=1e-12)
    sm = rb.Softmax(6, random_state=0).fit(arms, r)
    np.testing.assert_allclose(sm.means_, sums / pulls, rtol=1e-12)

    ucb = rb.UCB1(6, alpha=0.6, random_state=0).update(arms, r)
    np.testing.assert_allclose(ucb.scores_, ucb1_scores(pulls, sums, 0.6), rtol=1e-12)


def test_ucb1_tries_unobserved_arms_first():
    ucb = rb.UCB1(4, random_state=0).update([0, 0, 1], [1.0, 1.0, 1.0])
    assert np.isinf(ucb.scores_[2:]).all()
    actions, props = ucb.select(n_requests=200, k=2)
    assert set(actions.ravel()) == {2, 3}
    np.testing.assert_allclose(props[:, 0], 0.5)
    np.testing.assert_allclose(props[:, 1], 1.0)


@pytest.mark.parametrize("iterations", [0, 1, 7])
def test_fma_peak_probe_runs_its_chains(iterations):
    """The benchmarks' roofline probe: 12 chains a <- a * b + c per lane."""
    checksum, per_step = _core.bandits_fma_peak_probe(False, iterations)
    lanes = per_step // 12
    assert per_step % 12 == 0 and lanes in (2, 4, 8)
    a = np.arange(12, dtype=np.float64)
    for _ in range(iterations):
        a = a * 0.999999 + 1e-7
    assert checksum == pytest.approx(lanes * a.sum(), rel=1e-13)
    single, per_single = _core.bandits_fma_peak_probe(True, iterations)
    assert per_single == 2 * per_step
    assert single == pytest.approx(2 * lanes * a.sum(), rel=1e-5)
