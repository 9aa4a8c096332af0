"""Native bootstrap: thread invariance, exactness of the samplers, coverage sanity."""

import numpy as np
import pytest
from scipy import stats

from reelrec import _core
from reelrec.ope import (
    OffPolicyEvaluator,
    SyntheticBanditEnvironment,
    bootstrap_estimates,
    dm,
    dr,
    ips,
    replay,
    sndr,
    snips,
)


@pytest.fixture(scope="module")
def setting():
    env = SyntheticBanditEnvironment(n_actions=5, dim=3, behavior_policy="uniform", random_state=0)
    log = env.sample(3000, random_state=1)
    pi = env.policy(log.contexts, "softmax", beta=4.0)
    q = env.expected_rewards(log.contexts)
    return env, log, pi, q


def estimates(log, pi, q):
    args = (log.rewards, log.actions, log.propensities, pi)
    return [ips(*args), snips(*args), dm(pi, q), dr(*args, q), sndr(*args, q), replay(log.rewards, log.actions, pi)]


@pytest.mark.parametrize("method", ["indices", "counts"])
def test_thread_count_invariance(setting, method):
    _, log, pi, q = setting
    ests = estimates(log, pi, q)
    # 600 resamples: enough work for the kernel to use a thread team
    runs = [bootstrap_estimates(ests, 600, random_state=5, num_threads=t, method=method) for t in (1, 2, 3)]
    for other in runs[1:]:
        for a, b in zip(runs[0], other):
            assert a.method == method
            np.testing.assert_array_equal(a.replicates, b.replicates)
    if method == "indices":
        # alone, the same resamples are summed in another order: equal up to rounding
        # (the counts sampler groups the rows differently for one column, so its draws differ)
        single = ests[0].bootstrap(600, random_state=5, num_threads=1, method=method)
        np.testing.assert_allclose(single.replicates, runs[0][0].replicates, rtol=1e-12)


def test_seed_controls_resamples(setting):
    _, log, pi, _ = setting
    e = ips(log.rewards, log.actions, log.propensities, pi)
    a = e.bootstrap(200, random_state=1)
    assert np.array_equal(a.replicates, e.bootstrap(200, random_state=1).replicates)
    assert not np.array_equal(a.replicates, e.bootstrap(200, random_state=2).replicates)
    lo, hi = a
    assert (lo, hi) == (a.lower, a.upper)
    np.testing.assert_allclose([lo, hi], np.percentile(a.replicates, [2.5, 97.5]))


def test_known_answers():
    one = ips(np.array([0.7]), np.array([0]), np.array([0.5]), np.array([[0.5, 0.5]]))
    b = one.bootstrap(50, random_state=0)
    np.testing.assert_array_equal(b.replicates, np.full(50, 0.7))
    # every round identical: every resample is the same multiset
    same = snips(np.full(40, 1.0), np.zeros(40, int), np.full(40, 0.5), np.tile([0.3, 0.7], (40, 1)))
    for method in ("indices", "counts"):
        np.testing.assert_allclose(same.bootstrap(30, random_state=0, method=method).replicates, 1.0, rtol=1e-15)


@pytest.mark.parametrize("n,k", [(1000, 3), (1000, 300), (50_000, 20_000), (10**6, 2 * 10**5)])
def test_counts_sampler_is_binomial(n, k):
    """Two distinct rows (k ones, n - k zeros): n * replicate ~ Binomial(n, k / n) exactly."""
    plain = np.zeros((n, 1))
    plain[:k] = 1
    reps, used = _core.ope_bootstrap(plain, None, None, None, 20000, 11, 2, 0)
    assert used == 2
    c = np.rint(reps[:, 0] * n).astype(np.int64)
    lo, hi = np.percentile(c, [0.2, 99.8]).astype(int)
    edges = np.unique(np.linspace(lo, hi + 1, 25).astype(int))
    obs = np.histogram(c, bins=edges)[0]
    cdf = stats.binom.cdf(edges - 1, n, k / n)
    expected = np.diff(cdf) * c.size
    expected *= obs.sum() / expected.sum()
    assert stats.chisquare(obs, expected).pvalue > 1e-3
    assert c.mean() == pytest.approx(k, abs=4 * np.sqrt(k * (1 - k / n) / c.size) + 1e-9)


def test_samplers_agree_in_distribution():
    """On a discrete log both samplers give the same replicate distribution."""
    rng = np.random.default_rng(0)
    n = 5000
    r = (rng.random(n) < 0.05).astype(float)
    a = rng.integers(0, 4, n)
    pi = np.tile([0.1, 0.2, 0.3, 0.4], (n, 1))
    e = snips(r, a, np.full(n, 0.25), pi)
    x = e.bootstrap(4000, random_state=1, method="indices").replicates
    y = e.bootstrap(4000, random_state=2, method="counts").replicates
    assert e.bootstrap(10, method="auto").method == "counts"
    assert abs(x.mean() - y.mean()) < 4 * x.std() / np.sqrt(2000)
    assert x.std() == pytest.approx(y.std(), rel=0.08)
    assert stats.ks_2samp(x, y).pvalue > 1e-3


def test_ratio_bootstrap_matches_delta_method(setting):
    _, log, pi, q = setting
    for e in (snips(log.rewards, log.actions, log.propensities, pi), sndr(log.rewards, log.actions, log.propensities, pi, q)):
        reps = e.bootstrap(2000, random_state=3).replicates
        assert reps.std() == pytest.approx(e.stderr, rel=0.1)
        assert reps.mean() == pytest.approx(float(e), abs=0.2 * e.stderr)


def test_coverage_sanity():
    """95% bootstrap intervals of IPS under uniform logging cover the truth in about 95% of logs."""
    env = SyntheticBanditEnvironment(n_actions=4, dim=2, behavior_policy="uniform", random_state=7)
    covered, widths = 0, []
    for seed in range(60):
        log = env.sample(800, random_state=100 + seed)
        pi = env.policy(log.contexts, "softmax", beta=3.0)
        truth = env.policy_value(pi, log.contexts)
        e = ips(log.rewards, log.actions, log.propensities, pi)
        lo, hi = e.bootstrap(400, random_state=seed)
        covered += lo <= truth <= hi
        widths.append((hi - lo) / (e.ci[1] - e.ci[0]))
    assert covered >= 52  # P(Binomial(60, 0.95) < 52) < 1%
    assert np.mean(widths) == pytest.approx(1.0, abs=0.1)  # close to the CLT interval


def test_nan_replicates_warn():
    n = 30
    pi = np.zeros((n, 2))
    pi[:, 0] = 1
    a = np.ones(n, int)
    a[0] = 0  # one single matching round
    e = replay(np.ones(n), a, pi)
    with pytest.warns(RuntimeWarning, match="resamples drew no round with positive weight"):
        b = e.bootstrap(500, random_state=0)
    assert 0 < b.n_invalid < 500 and b.lower == b.upper == 1.0


def test_evaluator_shares_resamples(setting):
    _, log, pi, q = setting
    table = OffPolicyEvaluator(log, ["ips", "dr"]).evaluate(pi, q, n_boot=200, random_state=9)
    direct = bootstrap_estimates([table["ips"], table["dr"]], 200, random_state=9)
    np.testing.assert_array_equal(table.bootstrap["ips"].replicates, direct[0].replicates)
    np.testing.assert_array_equal(table.bootstrap["dr"].replicates, direct[1].replicates)


def test_bad_arguments(setting):
    _, log, pi, _ = setting
    e = ips(log.rewards, log.actions, log.propensities, pi)
    with pytest.raises(ValueError, match="n_boot: expected a positive finite value, got 0"):
        e.bootstrap(0)
    with pytest.raises(ValueError, match=r"alpha: expected a value in \(0, 1\), got 1.5"):
        e.bootstrap(10, alpha=1.5)
    with pytest.raises(ValueError, match="method: expected one of"):
        e.bootstrap(10, method="poisson")
    with pytest.raises(TypeError, match="random_state: expected None, an int seed or a numpy Generator"):
        e.bootstrap(10, random_state="x")
    short = ips(log.rewards[:10], log.actions[:10], log.propensities[:10], pi[:10])
    with pytest.raises(ValueError, match="estimates: all estimates must come from logs of the same length"):
        bootstrap_estimates([e, short])
