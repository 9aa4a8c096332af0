"""Thompson sampling decisions in SIMD lanes (cpp/bandits/thompson_batch.cpp).

The lane kernels must give bit for bit the draws of the scalar sampler
(RandomStream, one request at a time) on every instruction set, the draws must
follow their laws, and ThompsonSampling's one-slot path must equal the general
slate builder that serves every other configuration.
"""

import numpy as np
import pytest
from scipy import special, stats

from reelrec import _core
from reelrec import bandits as rb

ISAS = ["generic", "avx2", "avx512"]

# (model, m, w): Beta shapes (alpha, beta) per candidate, or Normal mean/width.
CASES = {
    "beta-ratio": ("beta", [1.0, 2.0, 30.0, 400.0, 1.5, 1e4], [1.0, 5.0, 2.0, 3.0, 800.0, 5e4]),
    "beta-small-shapes": ("beta", [0.5, 2.0, 0.01, 1.0, 0.3], [0.3, 5.0, 2.0, 0.7, 1.0]),
    "normal": ("normal", [0.0, 0.1, -0.2, 0.3, 5.0], [1.0, 0.5, 2.0, 1e-3, 0.0]),
}


def _draws(case, isa, n=1501, seed=9, first=17, r0=3):
    model, m, w = CASES[case]
    return _core.bandits_thompson_draws(
        model, seed, first, r0, n, np.array(m, float), np.array(w, float), isa
    )


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("case", sorted(CASES))
def test_lane_kernels_equal_the_scalar_sampler(isa, case):
    got = _draws(case, isa)
    if got is None:
        pytest.skip(f"this CPU cannot run the {isa} kernel")
    ref = _draws(case, "scalar")
    np.testing.assert_array_equal(got[1], ref[1])
    np.testing.assert_array_equal(got[0], ref[0])
    # the winner is the first maximum of the request's draws
    np.testing.assert_array_equal(ref[0], np.argmax(ref[1], axis=1))


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("n", [1, 5, 8, 203])
def test_per_request_normal_rows_equal_the_scalar_sampler(isa, n):
    """LinTS's one-pass draws: a mean and width per (request, candidate)."""
    rng = np.random.default_rng(n)
    m = rng.standard_normal((n, 11))
    w = rng.random((n, 11)) * 2
    w[:, 3] = 0.0
    got = _core.bandits_thompson_draws("normal", 5, 40, 2, n, m, w, isa)
    if got is None:
        pytest.skip(f"this CPU cannot run the {isa} kernel")
    ref = _core.bandits_thompson_draws("normal", 5, 40, 2, n, m, w, "scalar")
    np.testing.assert_array_equal(got[1], ref[1])
    np.testing.assert_array_equal(got[0], ref[0])
    # request i draws z_i from its own stream: v = m_i + w_i z_i, with z_i the
    # shared-parameter kernel's draws for unit widths
    z = _core.bandits_thompson_draws("normal", 5, 40, 2, n, np.zeros(11), np.ones(11), "scalar")[1]
    np.testing.assert_array_equal(ref[1], m + w * z)
    np.testing.assert_array_equal(ref[0], np.argmax(ref[1], axis=1))


@pytest.mark.parametrize("n", [1, 2, 7, 9, 31])
def test_partial_vectors_and_offsets(n):
    """A request's draws do not depend on the requests in its vector."""
    full = _draws("beta-ratio", "", n=40, r0=0)
    part = _draws("beta-ratio", "", n=n, r0=5)
    np.testing.assert_array_equal(part[1], full[1][5 : 5 + n])
    np.testing.assert_array_equal(part[0], full[0][5 : 5 + n])


def test_default_isa_is_known():
    assert _core.bandits_thompson_isa() in ("generic", "avx2", "avx512")


def test_bad_arguments():
    with pytest.raises(ValueError, match="isa: expected scalar, generic, avx2 or avx512"):
        _core.bandits_thompson_draws("beta", 0, 0, 0, 3, np.ones(2), np.ones(2), "sse9")
    with pytest.raises(ValueError, match="m, w: Beta shapes must be > 0"):
        _core.bandits_thompson_draws("beta", 0, 0, 0, 3, np.ones(2), np.zeros(2), "scalar")
    with pytest.raises(ValueError, match="model: expected normal or beta"):
        _core.bandits_thompson_draws("poisson", 0, 0, 0, 3, np.ones(2), np.ones(2), "scalar")


@pytest.mark.parametrize(
    "a, b",
    [
        (1.0, 1.0),
        (0.5, 0.5),
        (0.3, 2.0),
        (2.0, 0.2),
        (0.02, 0.05),
        (2.0, 30.0),
        (12.0, 990.0),
        (400.0, 3.0),
        (2e4, 3e5),
    ],
)
def test_batched_beta_draws_follow_the_beta_law(a, b):
    """KS and moments on 60k draws (3 candidates x 20k requests, one stream each)."""
    n, nc = 20_000, 3
    _, v = _core.bandits_thompson_draws("beta", 5, 0, 0, n, np.full(nc, a), np.full(nc, b), "")
    ref = stats.beta(a, b)
    if a >= 1 and b >= 1:
        x = (v / (1.0 + v)).ravel()  # Ga / Gb
        assert stats.kstest(x, ref.cdf).pvalue > 1e-4
    else:
        # log(Ga / Gb): tiny shapes put much of the mass within 1e-16 of 0 or 1,
        # so the test runs on the logit scale, P(logit <= v) = P(X <= expit(v))
        # with the upper half through 1 - X ~ Beta(b, a) (no rounding to 1).
        v = v.ravel()

        def logit_cdf(t):
            return np.where(
                t < 0,
                stats.beta.cdf(special.expit(t), a, b),
                stats.beta.sf(special.expit(-t), b, a),
            )

        assert stats.kstest(v, logit_cdf).pvalue > 1e-4
        x = special.expit(v)
    se_mean = np.sqrt(ref.var() / x.size)
    assert abs(x.mean() - ref.mean()) < 5 * se_mean
    # variance: the sample variance's standard error from the fourth moment
    m4 = stats.moment(x, 4)
    se_var = np.sqrt(max(m4 - ref.var() ** 2, 0.0) / x.size)
    assert abs(x.var() - ref.var()) < 5 * se_var + 1e-15
    # the candidates share a law, so each wins a third of the requests
    pos, _ = _core.bandits_thompson_draws(
        "beta", 6, 0, 0, 30_000, np.full(nc, a), np.full(nc, b), ""
    )
    counts = np.bincount(pos, minlength=nc)
    assert stats.chisquare(counts).pvalue > 1e-4


def test_batched_normal_draws_follow_the_normal_law():
    _, v = _core.bandits_thompson_draws(
        "normal", 5, 0, 0, 40_000, np.array([0.5, -1.0]), np.array([2.0, 0.25]), ""
    )
    assert stats.kstest(v[:, 0], stats.norm(0.5, 2.0).cdf).pvalue > 1e-4
    assert stats.kstest(v[:, 1], stats.norm(-1.0, 0.25).cdf).pvalue > 1e-4
    # the ziggurat's tail (|z| > 3.654) carries the right mass
    z = (v[:, 0] - 0.5) / 2.0
    tail = np.mean(np.abs(z) > 3.6541528853610088)
    expected = 2 * stats.norm.sf(3.6541528853610088)
    assert abs(tail - expected) < 5 * np.sqrt(expected / z.size)


POLICIES = {
    "bernoulli": lambda n: rb.ThompsonSampling(n, n_mc=40),
    "bernoulli-small-prior": lambda n: rb.ThompsonSampling(n, prior=(0.5, 0.3), n_mc=40),
    "gaussian": lambda n: rb.ThompsonSampling(n, likelihood="gaussian", noise_std=0.7, n_mc=40),
}


def _fitted(name, n_arms=9, seed=0, n=400):
    rng = np.random.default_rng(seed)
    arms = rng.integers(0, n_arms - 1, n)  # the last arm stays unobserved
    rewards = (rng.random(n) < 0.3).astype(float)
    return POLICIES[name](n_arms).set_params(random_state=21).fit(arms, rewards)


@pytest.mark.parametrize("name", sorted(POLICIES))
def test_one_slot_path_equals_the_general_path(name):
    """No mask or one shared mask takes the lane path; the same mask repeated
    per request takes the general slate builder: identical arms and propensities."""
    policy = _fitted(name)
    state = policy._native_state()
    for mask in (None, np.array([1, 1, 0, 1, 1, 1, 0, 1, 1], bool)):
        policy._state.set_state(state)
        fast = policy.select(n_requests=777, available=mask)
        policy._state.set_state(state)
        rows = np.ones((777, 9), bool) if mask is None else np.tile(mask, (777, 1))
        general = policy.select(available=rows)
        np.testing.assert_array_equal(fast[0], general[0])
        np.testing.assert_array_equal(fast[1], general[1])
        if mask is not None:
            assert not np.isin(fast[0], [2, 6]).any()


@pytest.mark.parametrize("name", sorted(POLICIES))
@pytest.mark.parametrize("share", [0.03, 0.1, 0.2, 0.6, 1.0])
def test_per_request_rows_equal_the_slate_builder(name, share):
    """k = 1 with one availability row per request takes the lane path and
    the ranked propensity walks (share 0.2+) or scans of the available arms
    (share 0.1: n_avail^2 <= n_arms), or the general path (share 0.03: under
    1 in 16); slot 0 of a k = 2 slate (the general builder, which scans every
    candidate) must agree bit for bit."""
    policy = _fitted(name, n_arms=40, n=2000)
    state = policy._native_state()
    rows = np.random.default_rng(7).random((901, 40)) < share
    rows[5] = False  # a request with no candidate
    one = policy.select(available=rows)
    policy._state.set_state(state)
    two = policy.select(available=rows, k=2)
    np.testing.assert_array_equal(one[0][:, 0], two[0][:, 0])
    np.testing.assert_array_equal(one[1][:, 0], two[1][:, 0])
    assert one[0][5, 0] == -1 and np.isnan(one[1][5, 0])
    chosen = one[0][:, 0]
    ok = chosen >= 0
    assert rows[np.flatnonzero(ok), chosen[ok]].all()


def test_guaranteed_exploration_keeps_the_general_path():
    """With new_arm_share > 0 and arms below new_arm_pulls a slot may be an
    exploration pick: the general path serves it (k = 1 equals slot 0 of
    k = 2). Once no arm qualifies, share > 0 changes nothing."""
    rng = np.random.default_rng(3)
    arms = np.concatenate([np.arange(9), rng.integers(0, 9, 300)])
    rewards = (rng.random(arms.size) < 0.3).astype(float)

    def make(share, pulls):
        return rb.ThompsonSampling(
            9, n_mc=40, new_arm_share=share, new_arm_pulls=pulls, random_state=4
        ).fit(arms, rewards)

    explore = make(0.3, 100)
    state = explore._native_state()
    one = explore.select(n_requests=500)
    explore._state.set_state(state)
    two = explore.select(n_requests=500, k=2)
    np.testing.assert_array_equal(one[0][:, 0], two[0][:, 0])
    np.testing.assert_array_equal(one[1][:, 0], two[1][:, 0])
    # every arm has a pull: no exploration pick is possible
    settled = make(0.3, 1).select(n_requests=500)
    plain = make(0.0, 1).select(n_requests=500)
    np.testing.assert_array_equal(settled[0], plain[0])
    np.testing.assert_array_equal(settled[1], plain[1])


@pytest.mark.parametrize("name", sorted(POLICIES))
def test_results_identical_for_any_thread_count(name):
    # 20k requests x 60 arms is enough work for the kernel to use threads
    outs = []
    for threads in (1, 2, 3, 4):
        policy = _fitted(name, n_arms=60, seed=1, n=3000).set_params(num_threads=threads)
        outs.append(policy.select(n_requests=20_000))
    for arms, props in outs[1:]:
        np.testing.assert_array_equal(arms, outs[0][0])
        np.testing.assert_array_equal(props, outs[0][1])


def test_decisions_do_not_depend_on_batch_boundaries():
    """A request's decision is named by its global index: one call of 600 or
    calls of 250 + 350 choose the same arms (propensity pools are per call)."""
    one = _fitted("bernoulli")
    state = one._native_state()
    whole = one.select(n_requests=600)[0]
    one._state.set_state(state)
    parts = np.concatenate([one.select(n_requests=250)[0], one.select(n_requests=350)[0]])
    np.testing.assert_array_equal(whole, parts)


def test_propensities_are_the_pool_estimate():
    """(1 + wins) / (1 + n_mc), wins from a NumPy scan of the pool the general
    path uses: checked through the per-arm frequency of the decisions."""
    policy = rb.ThompsonSampling(5, n_mc=2000, random_state=3).fit(
        np.repeat(np.arange(5), 40), np.tile(np.linspace(0, 1, 40), 5) ** 2
    )
    arms, props = (a[:, 0] for a in policy.select(n_requests=20_000))
    # one propensity per arm (the slot's candidates are shared) ...
    for a in np.unique(arms):
        assert np.unique(props[arms == a]).size == 1
    # ... that estimates how often the policy picks the arm
    freq = np.bincount(arms, minlength=5) / arms.size
    for a in np.unique(arms):
        p = props[arms == a][0]
        assert abs(p - freq[a]) < 5 * np.sqrt(p * (1 - p) / 2000) + 5 * np.sqrt(p / 20_000)
