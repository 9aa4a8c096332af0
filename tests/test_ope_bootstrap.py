"""Native bootstrap: thread invariance, exactness of the samplers, coverage sanity."""

import os
import subprocess
import sys
from pathlib import Path

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

# The subprocess checks import the same reelrec as this process (installed or
# the source tree), not whatever happens to be on the path.
_PACKAGE_ROOT = str(Path(_core.__file__).resolve().parents[1])


@pytest.fixture(scope="module")
def setting():
    env = SyntheticBanditEnvironment(n_actions=5, dim=3, behavior_policy="uniform", random_state=0)
    log = env.sample(3000, random_state=1)
    pi = env.policy(log.contexts, "softmax", beta=4.0)
    q = env.expected_rewards(log.contexts)
    return env, log, pi, q


def estimates(log, pi, q):
    args = (log.rewards, log.actions, log.propensities, pi)
    return [
        ips(*args),
        snips(*args),
        dm(pi, q),
        dr(*args, q),
        sndr(*args, q),
        replay(log.rewards, log.actions, pi),
    ]


@pytest.mark.parametrize("method", ["indices", "counts", "hybrid"])
def test_thread_count_invariance(setting, method):
    _, log, pi, q = setting
    ests = estimates(log, pi, q)
    # 600 resamples: enough work for the kernel to use a thread team
    runs = [
        bootstrap_estimates(ests, 600, random_state=5, num_threads=t, method=method)
        for t in (1, 2, 3)
    ]
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
    same = snips(
        np.full(40, 1.0), np.zeros(40, int), np.full(40, 0.5), np.tile([0.3, 0.7], (40, 1))
    )
    for method in ("indices", "counts", "hybrid"):
        np.testing.assert_allclose(
            same.bootstrap(30, random_state=0, method=method).replicates, 1.0, rtol=1e-15
        )


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
    vectorised = _core.ope_multinomial_kernel() != "generic"
    assert e.bootstrap(10, method="auto").method == ("hybrid" if vectorised else "counts")
    for seed, method in ((2, "counts"), (3, "hybrid")):
        y = e.bootstrap(4000, random_state=seed, method=method).replicates
        assert abs(x.mean() - y.mean()) < 4 * x.std() / np.sqrt(2000)
        assert x.std() == pytest.approx(y.std(), rel=0.08)
        assert stats.ks_2samp(x, y).pvalue > 1e-3


def tagged_rows(n: int, k: int) -> np.ndarray:
    """n distinct values whose resample sum rounds to the number of draws among the first k:
    1 + i 2^-52 for i < k, i 2^-52 otherwise (all distinct, so nothing is grouped)."""
    x = np.arange(n) * 2.0**-52
    x[:k] += 1.0
    return x[:, None]


def binomial_fit_ok(c: np.ndarray, n: int, k: int) -> bool:
    lo, hi = np.percentile(c, [0.2, 99.8]).astype(int)
    edges = np.unique(np.linspace(lo, hi + 1, 25).astype(int))
    obs = np.histogram(c, bins=edges)[0]
    expected = np.diff(stats.binom.cdf(edges - 1, n, k / n)) * c.size
    expected *= obs.sum() / expected.sum()
    return stats.chisquare(obs, expected).pvalue > 1e-3


@pytest.mark.parametrize("n,k", [(300, 100), (5000, 2500), (100_000, 1000), (100_001, 70_000)])
def test_hybrid_sampler_is_binomial_on_distinct_rows(n, k):
    """All-distinct rows go through the Poissonised pass: draws among the first k ~ Binomial(n, k/n)."""
    reps, used = _core.ope_bootstrap(tagged_rows(n, k), None, None, None, 6000, 3, 3, 0)
    assert used == 3
    c = np.rint(reps[:, 0] * n).astype(np.int64)
    np.testing.assert_allclose(reps[:, 0] * n, c, atol=1e-3)  # the tags really count draws
    assert binomial_fit_ok(c, n, k)
    assert c.mean() == pytest.approx(k, abs=4 * np.sqrt(k * (1 - k / n) / c.size))


def test_hybrid_sampler_mixes_groups_and_rows():
    """Heavy repeated values (binomials) plus distinct rows (Poisson pass) still resample n rows:
    the draws landing on the distinct rows among the first k follow Binomial(n, k/n)."""
    n, k = 20_000, 3000
    x = tagged_rows(n, k)
    x[k + 2000 :] = 0.0  # 15000 zero rows: one heavy tuple with its own binomial
    reps, used = _core.ope_bootstrap(x, None, None, None, 6000, 8, 3, 1)  # hybrid on any CPU
    assert used == 3
    c = np.rint(reps[:, 0] * n).astype(np.int64)
    assert binomial_fit_ok(c, n, k)


def test_hybrid_single_round_count_is_binomial():
    """The pass's per-round counts, conditioned on n draws: one tagged round among n distinct
    ones is drawn Binomial(n, 1/n) times (chi-square over 0, 1, 2, ... draws)."""
    n = 40_001  # not a multiple of the 32-row block
    reps, used = _core.ope_bootstrap(tagged_rows(n, 1), None, None, None, 20_000, 17, 3, 0)
    assert used == 3
    c = np.rint(reps[:, 0] * n).astype(np.int64)
    obs = np.bincount(np.minimum(c, 5), minlength=6)
    expected = stats.binom.pmf(np.arange(6), n, 1 / n)
    expected[5] = stats.binom.sf(4, n, 1 / n)
    assert stats.chisquare(obs, expected * c.size).pvalue > 1e-3


def test_hybrid_many_heavy_tuples_are_binomial():
    """Nine repeated values (more than the directly compared candidates: the hashed lookup) plus
    distinct rounds: the draws of one heavy value still follow Binomial(n, mass / n), for any
    thread count."""
    n, k = 30_000, 3000
    x = tagged_rows(n, 0)
    x[:k] = 1.0  # the counted heavy tuple
    for j in range(1, 9):  # eight more heavy tuples of negligible value
        x[k + 2000 * (j - 1) : k + 2000 * j] = j * 2.0**-40
    one, used = _core.ope_bootstrap(x, None, None, None, 6000, 9, 3, 1)
    two, _ = _core.ope_bootstrap(x, None, None, None, 6000, 9, 3, 2)
    assert used == 3
    np.testing.assert_array_equal(one, two)
    c = np.rint(one[:, 0] * n).astype(np.int64)
    assert binomial_fit_ok(c, n, k)


def test_hybrid_seeded_draws_are_stable():
    """Known answer: the hybrid stream for a seed (draws among the first 300 of 1000 rounds)."""
    reps, used = _core.ope_bootstrap(tagged_rows(1000, 300), None, None, None, 8, 7, 3, 1)
    assert used == 3
    expected = [287, 298, 317, 289, 320, 291, 304, 285]  # unchanged since the first hybrid kernel
    assert np.rint(reps[:, 0] * 1000).astype(int).tolist() == expected


def test_hybrid_bootstrap_variance_is_plugin_variance():
    """Bootstrap variance of a mean of n distinct values is var(x) / n (population variance)."""
    rng = np.random.default_rng(4)
    x = rng.lognormal(size=(20_000, 1))
    reps, _ = _core.ope_bootstrap(x, None, None, None, 8000, 5, 3, 0)
    assert reps.mean() == pytest.approx(x.mean(), abs=5 * x.std() / np.sqrt(20_000 * 8000))
    assert reps.var() == pytest.approx(x.var() / 20_000, rel=0.05)


def test_generic_kernel_draws_the_same_counts():
    """The portable pass and the AVX-512 one consume the random streams identically."""
    if _core.ope_multinomial_kernel() == "generic":
        pytest.skip("this CPU runs the portable kernel only")
    code = (
        f"import numpy as np, sys; sys.path.insert(0, {_PACKAGE_ROOT!r}); from reelrec import _core;"
        "x = np.arange(30001) * 2.0**-52; x[:7000] += 1; x[9000:9100] = 5.0;"
        "reps, _ = _core.ope_bootstrap(x[:, None], None, None, None, 300, 21, 3, 1);"
        "print(_core.ope_multinomial_kernel(), *np.rint(reps[:, 0] * 30001).astype(int).tolist())"
    )
    env = {**os.environ, "REELREC_OPE_GENERIC": "1"}
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    name, *generic = out.stdout.split()
    assert name == "generic"
    x = np.arange(30001) * 2.0**-52
    x[:7000] += 1
    x[9000:9100] = 5.0
    reps, _ = _core.ope_bootstrap(x[:, None], None, None, None, 300, 21, 3, 1)
    np.testing.assert_array_equal(
        np.rint(reps[:, 0] * 30001).astype(int), np.array(generic, dtype=int)
    )


@pytest.mark.parametrize("force,kernel", [("1", "generic"), ("fma", "avx512")])
def test_other_kernels_draw_the_same_counts_in_every_column(force, kernel):
    """Two tagged columns, a ratio column and values of very different sizes, a partial last
    block: the portable pass, the floating-point AVX-512 one and the fixed-point (VNNI) one draw
    the same counts for every column, and their sums agree to rounding."""
    if _core.ope_multinomial_kernel() in ("generic", kernel):
        pytest.skip(f"this CPU runs no faster kernel than {kernel!r}")
    code = (
        f"import numpy as np, sys; sys.path.insert(0, {_PACKAGE_ROOT!r}); from reelrec import _core;"
        "n = 20_011; t = np.arange(n) * 2.0**-52;"
        "x = np.column_stack([t + (np.arange(n) < 5000), t + (np.arange(n) % 3 == 0)]);"
        "x[7, 1] = 1e9; x[8, 1] = -3e-9;"
        "num = np.column_stack([np.zeros(n), t + (np.arange(n) % 7 == 0)]);"
        "den = np.column_stack([np.zeros(n), 1.0 + t]); f = np.array([0, 1], np.uint8);"
        "reps, _ = _core.ope_bootstrap(x, num, den, f, 200, 4, 3, 1);"
        "print(_core.ope_multinomial_kernel(), *reps.ravel().tolist())"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "REELREC_OPE_GENERIC": force},
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    name, *generic = out.stdout.split()
    assert name == kernel
    generic = np.array(generic, dtype=float).reshape(200, 2)
    n = 20_011
    t = np.arange(n) * 2.0**-52
    x = np.column_stack([t + (np.arange(n) < 5000), t + (np.arange(n) % 3 == 0)])
    x[7, 1] = 1e9
    x[8, 1] = -3e-9
    num = np.column_stack([np.zeros(n), t + (np.arange(n) % 7 == 0)])
    den = np.column_stack([np.zeros(n), 1.0 + t])
    reps, _ = _core.ope_bootstrap(x, num, den, np.array([0, 1], np.uint8), 200, 4, 3, 1)
    # the sums agree up to rounding (the fixed-point kernel rounds each value to 2^-59 of its
    # column's largest magnitude); the tagged draw counts agree exactly
    for j in range(2):
        atol = 2.0**-57 * np.abs(x[:, j]).max()
        np.testing.assert_allclose(reps[:, j], generic[:, j], rtol=1e-12, atol=atol)
    np.testing.assert_array_equal(np.rint(reps[:, 0] * n), np.rint(generic[:, 0] * n))


def test_ratio_bootstrap_matches_delta_method(setting):
    _, log, pi, q = setting
    for e in (
        snips(log.rewards, log.actions, log.propensities, pi),
        sndr(log.rewards, log.actions, log.propensities, pi, q),
    ):
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
    with pytest.raises(
        TypeError, match="random_state: expected None, an int seed or a numpy Generator"
    ):
        e.bootstrap(10, random_state="x")
    short = ips(log.rewards[:10], log.actions[:10], log.propensities[:10], pi[:10])
    with pytest.raises(
        ValueError, match="estimates: all estimates must come from logs of the same length"
    ):
        bootstrap_estimates([e, short])


def test_hybrid_pattern_classes_match_indices():
    """SNIPS on continuous weights: click rounds (num = den) and the others (num = 0) stream
    as two one-column classes; the replicates match the plain index sampler in distribution."""
    rng = np.random.default_rng(6)
    n = 20_000
    pi = rng.dirichlet(np.ones(4), size=n)
    a = rng.integers(0, 4, n)
    r = (rng.random(n) < 0.3).astype(float)
    e = snips(r, a, np.full(n, 0.25), pi)
    x = e.bootstrap(3000, random_state=1, method="indices").replicates
    y = e.bootstrap(3000, random_state=2, method="hybrid").replicates
    assert abs(x.mean() - y.mean()) < 4 * x.std() / np.sqrt(1500)
    assert x.std() == pytest.approx(y.std(), rel=0.08)
    assert stats.ks_2samp(x, y).pvalue > 1e-3


def test_auto_without_the_vectorised_pass_avoids_the_hybrid_sampler():
    """The portable Poisson pass is slower than index draws: "auto" then picks counts or indices."""
    code = (
        f"import numpy as np, sys; sys.path.insert(0, {_PACKAGE_ROOT!r}); from reelrec.ope import ips;"
        "rng = np.random.default_rng(0); n = 20000; a = rng.integers(0, 4, n);"
        "pi = np.tile([0.1, 0.2, 0.3, 0.4], (n, 1)); p = np.full(n, 0.25);"
        "clicks = ips((rng.random(n) < 0.05).astype(float), a, p, pi);"
        "dense = ips(rng.random(n), a, p, pi);"
        "print(clicks.bootstrap(20, method='auto').method, dense.bootstrap(20, method='auto').method)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "REELREC_OPE_GENERIC": "1"},
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert out.stdout.split() == ["counts", "indices"]
