"""Exact propensities of Gaussian Thompson sampling (cpp/bandits/normal_argmax.cpp).

``n_mc="exact"`` replaces the Monte Carlo estimate by P(the chosen arm has the
largest draw), a one-dimensional integral: the native quadrature must equal
the definition (scipy's adaptive quadrature in tests/bandit_reference.py, and
the closed form for two arms), the probabilities of all candidates must sum
to 1, decisions must not change, and the frequencies of the decisions must
follow the reported probabilities.
"""

import numpy as np
import pytest
from scipy.special import ndtr

from bandit_reference import RidgeArms, normal_argmax_probability
from reelrec import _core
from reelrec import bandits as rb

exact = _core.bandits_normal_argmax_probability


def _case(rng, k, *, spread=1.0, log_w=(-2.0, 0.5), zero=0.0):
    m = rng.normal(size=k) * spread
    w = np.exp(rng.uniform(*log_w, size=k))
    w[rng.uniform(size=k) < zero] = 0.0
    return m, w


def test_two_arms_equal_the_closed_form():
    # m_0 + w_0 Z_0 > m_1 + w_1 Z_1 with probability Phi((m_0 - m_1) / hypot(w_0, w_1)),
    # over widths from equal to 1e4 apart (near-step competitors included).
    rng = np.random.default_rng(0)
    for _ in range(300):
        m, w = _case(
            rng, 2, spread=rng.choice([0.01, 1.0, 10.0]), log_w=(np.log(1e-4), np.log(10.0))
        )
        for pos in (0, 1):
            want = ndtr((m[pos] - m[1 - pos]) / np.hypot(*w))
            got = exact(m, w, pos)
            assert got == pytest.approx(want, rel=5e-9, abs=1e-300), (m, w, pos)


@pytest.mark.parametrize("k", [3, 5, 12, 30])
def test_equals_the_reference_integral(k):
    rng = np.random.default_rng(k)
    for trial in range(12):
        log_w = (np.log(0.05), np.log(1.0)) if trial % 2 else (np.log(1e-3), np.log(5.0))
        m, w = _case(
            rng, k, spread=rng.choice([0.1, 1.0]), log_w=log_w, zero=0.1 if trial % 3 == 0 else 0.0
        )
        for pos in rng.choice(k, size=2, replace=False):
            want = normal_argmax_probability(m, w, int(pos))
            got = exact(m, w, int(pos))
            if want < 1e-250:
                assert got < 1e-240
            else:
                assert got == pytest.approx(want, rel=1e-8), (m, w, pos)


@pytest.mark.parametrize("k", [1, 2, 7, 60, 300])
def test_probabilities_of_all_candidates_sum_to_one(k):
    rng = np.random.default_rng(100 + k)
    for trial in range(8):
        m, w = _case(
            rng,
            k,
            spread=[0.01, 0.3, 3.0, 30.0][trial % 4],
            log_w=(np.log(1e-6), np.log(10.0)) if trial % 2 else (np.log(0.05), np.log(0.5)),
            zero=0.15 if trial >= 4 else 0.0,
        )
        p = np.array([exact(m, w, pos) for pos in range(k)])
        assert np.all((p >= 0.0) & (p <= 1.0))
        assert p.sum() == pytest.approx(1.0, abs=1e-8), (trial, p.sum() - 1.0)


def test_constants_and_ties():
    # One candidate always wins.
    assert exact(np.array([3.0]), np.array([0.0]), 0) == 1.0
    assert exact(np.array([3.0]), np.array([2.0]), 0) == 1.0
    # Equal constants: the first in candidate order wins (the samplers' strict scan).
    m, w = np.array([1.0, 1.0, 0.0]), np.zeros(3)
    assert [exact(m, w, i) for i in range(3)] == [1.0, 0.0, 0.0]
    # A constant chosen draw against a Gaussian: Phi of the gap.
    m, w = np.array([0.3, 0.0]), np.array([0.0, 2.0])
    assert exact(m, w, 0) == pytest.approx(ndtr(0.15), rel=1e-12)
    assert exact(m, w, 1) == pytest.approx(1.0 - ndtr(0.15), rel=1e-9)
    # A Gaussian against a constant: P(Z > (m_c - m_pos) / w_pos).
    m, w = np.array([0.0, 0.5]), np.array([1.0, 0.0])
    assert exact(m, w, 0) == pytest.approx(1.0 - ndtr(0.5), rel=1e-12)
    # Far apart: exactly 0 or 1 within rounding.
    m, w = np.array([0.0, 100.0]), np.array([1.0, 1.0])
    assert exact(m, w, 0) < 1e-300
    assert exact(m, w, 1) == pytest.approx(1.0, abs=1e-15)


def test_non_finite_inputs_raise():
    with pytest.raises(ValueError, match="not finite"):
        exact(np.array([0.0, np.nan]), np.array([1.0, 1.0]), 0)
    with pytest.raises(ValueError, match="not finite"):
        exact(np.array([0.0, 1.0]), np.array([np.inf, 1.0]), 0)


def _ridge_policy(n_mc, seed=5, threads=0, d=5, n_arms=6):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(3000, d))
    arms = rng.integers(0, n_arms, 3000)
    rewards = X @ rng.normal(size=d) * 0.2 + rng.normal(size=3000)
    pol = rb.LinTS(n_arms, d, v=1.5, n_mc=n_mc, random_state=seed, num_threads=threads)
    return pol.fit(arms, rewards, X), (arms, rewards, X)


def test_lints_propensities_are_the_exact_integral():
    # d < 16: double-precision widths, so (m, w) per arm are the reference's
    # x . theta_a and v sqrt(x^T A_a^-1 x).
    pol, (arms, rewards, X) = _ridge_policy("exact")
    ref = RidgeArms(6, 5)
    ref.update(arms, rewards, X)
    Xq = np.random.default_rng(2).normal(size=(40, 5))
    chosen, p = pol.select(Xq)
    m = Xq @ ref.theta.T
    w = 1.5 * np.sqrt(np.einsum("ri,aij,rj->ra", Xq, ref.A_inv, Xq))
    for r in range(len(Xq)):
        assert p[r, 0] == pytest.approx(
            normal_argmax_probability(m[r], w[r], chosen[r, 0]), rel=1e-7
        )


def test_decisions_do_not_depend_on_the_propensity_method_or_threads():
    Xq = np.random.default_rng(3).normal(size=(3000, 5))
    a_mc, p_mc = _ridge_policy(100)[0].select(Xq)
    a1, p1 = _ridge_policy("exact", threads=1)[0].select(Xq)
    a2, p2 = _ridge_policy("exact", threads=2)[0].select(Xq)
    np.testing.assert_array_equal(a_mc, a1)
    np.testing.assert_array_equal(a1, a2)
    np.testing.assert_array_equal(p1, p2)
    # Batches: the same requests in two calls give the same answers.
    pol = _ridge_policy("exact")[0]
    first, second = pol.select(Xq[:1000]), pol.select(Xq[1000:])
    np.testing.assert_array_equal(np.concatenate([first[1], second[1]]), p1)
    # The Monte Carlo estimate (n_mc = 100) scatters around the exact value.
    assert np.abs(p_mc - p1).mean() < 0.05


def _gaussian_ts(n_mc, seed=11):
    rng = np.random.default_rng(4)
    pol = rb.ThompsonSampling(6, likelihood="gaussian", noise_std=2.0, n_mc=n_mc, random_state=seed)
    pol.update(rng.integers(0, 6, 60), rng.normal(size=60))
    return pol


def test_thompson_sampling_paths_report_the_exact_probability():
    pol = _gaussian_ts("exact")
    mean, sd = pol.posterior_.T

    def want(arm, cand):
        cand = list(cand)
        return normal_argmax_probability(mean[cand], sd[cand], cand.index(arm))

    # One candidate set for all requests (the shared one-slot path).
    arms, p = pol.select(n_requests=50)
    for a, q in zip(arms[:, 0], p[:, 0]):
        assert q == pytest.approx(want(a, range(6)), rel=1e-8)
    # An availability row per request.
    avail = np.random.default_rng(5).uniform(size=(50, 6)) < 0.6
    avail[:, 0] = True
    arms, p = pol.select(n_requests=50, available=avail)
    for r in range(50):
        assert p[r, 0] == pytest.approx(want(arms[r, 0], np.flatnonzero(avail[r])), rel=1e-8)
    # Slates: slot j chooses among the candidates the earlier slots left.
    arms, p = pol.select(n_requests=20, k=3)
    for r in range(20):
        left = list(range(6))
        for j in range(3):
            assert p[r, j] == pytest.approx(want(arms[r, j], left), rel=1e-8)
            left.remove(arms[r, j])
    # Decisions are those of the Monte Carlo policy with the same seed.
    np.testing.assert_array_equal(
        _gaussian_ts("exact").select(n_requests=300)[0], _gaussian_ts(100).select(n_requests=300)[0]
    )


def test_decision_frequencies_follow_the_exact_probabilities():
    pol = _gaussian_ts("exact", seed=21)
    n = 40_000
    arms, p = pol.select(n_requests=n)
    for a in range(6):
        share = np.mean(arms[:, 0] == a)
        hit = arms[:, 0] == a
        if not hit.any():
            continue
        prob = p[hit, 0][0]
        assert np.all(p[hit, 0] == prob)
        assert abs(share - prob) <= 4.5 * np.sqrt(prob * (1 - prob) / n) + 1e-12, (a, share, prob)


def test_exact_needs_gaussian_posteriors_and_the_right_spelling():
    with pytest.raises(ValueError, match="likelihood='gaussian'"):
        rb.ThompsonSampling(3, n_mc="exact").select(n_requests=1)
    with pytest.raises(ValueError, match="n_mc: expected an integer in \\[1, 100000\\] or 'exact'"):
        rb.LinTS(3, 2, n_mc="Exact").select(np.zeros((1, 2)))
    with pytest.raises(TypeError, match="n_mc"):
        rb.LinTS(3, 2, n_mc=2.5).select(np.zeros((1, 2)))


def test_exact_survives_save_and_load(tmp_path):
    pol = _ridge_policy("exact")[0]
    path = tmp_path / "lints.npz"
    pol.save(path)
    back = rb.LinTS.load(path)
    assert back.get_params()["n_mc"] == "exact"
    Xq = np.random.default_rng(6).normal(size=(30, 5))
    np.testing.assert_array_equal(back.select(Xq)[1], pol.select(Xq)[1])


def test_logistic_ts_takes_exact_propensities_too():
    rng = np.random.default_rng(7)
    X = rng.normal(size=(800, 4))
    arms = rng.integers(0, 5, 800)
    clicks = (rng.uniform(size=800) < 0.3).astype(float)
    Xq = rng.normal(size=(200, 4))
    out = {}
    for n_mc in (100, "exact"):
        pol = rb.LogisticTS(5, 4, precision="full", n_mc=n_mc, random_state=2).fit(arms, clicks, X)
        out[n_mc] = pol.select(Xq)
    np.testing.assert_array_equal(out[100][0], out["exact"][0])
    p = out["exact"][1]
    assert np.all((p > 0.0) & (p <= 1.0))
    assert np.abs(out[100][1] - p).mean() < 0.05


def test_extreme_scales_stay_finite_and_sum_to_one():
    # Means up to 1e30 apart, widths from 1e-300 to 1e30, zero widths and ties.
    rng = np.random.default_rng(8)
    for trial in range(60):
        k = int(rng.choice([2, 3, 8, 20]))
        m = rng.normal(size=k) * 10.0 ** rng.uniform(-30, 30)
        if trial % 5 == 0:
            m = np.round(m, 1)
        lo = rng.uniform(-300, 25)
        w = 10.0 ** rng.uniform(lo, min(lo + rng.uniform(0, 40), 30), size=k)
        if trial % 4 == 0:
            w[rng.uniform(size=k) < 0.3] = 0.0
        p = np.array([exact(m, w, pos) for pos in range(k)])
        assert np.all(np.isfinite(p) & (p >= 0.0) & (p <= 1.0)), (m, w, p)
        assert p.sum() == pytest.approx(1.0, abs=1e-8), (m, w, p.sum() - 1.0)
