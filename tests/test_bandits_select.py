"""select(): deterministic choices against references, calibrated propensities,
availability masks, slates, thread and batch invariance."""

import numpy as np
import pytest
from scipy.stats import chi2

from bandit_reference import HybridArms, RidgeArms, counting_stats, ucb1_scores
from reelrec import bandits as rb


def _ridge_log(n=400, n_arms=6, d=4, seed=0):
    rng = np.random.default_rng(seed)
    arms = rng.integers(0, n_arms, n)
    X = rng.standard_normal((n, d))
    theta = rng.standard_normal((n_arms, d))
    r = np.einsum("nd,nd->n", X, theta[arms]) + 0.3 * rng.standard_normal(n)
    return arms, r, X


def assert_calibrated(actions, props, n_arms, mc_draws=None):
    """Empirical choice frequencies match the mean reported propensity.

    One z-score per arm (binomial variance of the counts plus, for Monte Carlo
    propensities, the variance of a pooled estimate from ``mc_draws`` draws)
    and a chi-square over arms; thresholds at ~1e-4 false-alarm level.
    """
    n = actions.size
    counts = np.bincount(actions.ravel(), minlength=n_arms).astype(float)
    mean_p = np.zeros(n_arms)
    for a in range(n_arms):
        chosen = actions.ravel() == a
        if chosen.any():
            # E[count_a] = sum over requests of P(a); every request reports p for its own choice,
            # and p_a is the same for all requests here, so average it where a was chosen.
            mean_p[a] = props.ravel()[chosen].mean()
    assert np.all(props > 0) and np.all(props <= 1)
    var = n * mean_p * (1 - mean_p)
    if mc_draws:
        var += n**2 * mean_p * (1 - mean_p) / mc_draws + (n / (mc_draws + 1)) ** 2
    keep = mean_p > 0.002
    z = (counts[keep] - n * mean_p[keep]) / np.sqrt(var[keep])
    assert np.all(np.abs(z) < 4.5), (counts, n * mean_p)
    stat = np.sum(z**2)
    assert stat < chi2.ppf(1 - 1e-4, keep.sum()), (stat, counts, n * mean_p)
    return mean_p


# --------------------------------------------------------- deterministic choices
def test_linucb_select_matches_reference():
    arms, r, X = _ridge_log()
    policy = rb.LinUCB(6, 4, alpha=0.9, l2=1.2, random_state=0).update(arms, r, X)
    ref = RidgeArms(6, 4, l2=1.2)
    ref.update(arms, r, X)
    Xq = np.random.default_rng(9).standard_normal((300, 4))
    scores, _, _ = ref.ucb(Xq, 0.9)
    actions, props = policy.select(Xq, k=3)
    np.testing.assert_array_equal(actions, np.argsort(-scores, axis=1)[:, :3])
    np.testing.assert_array_equal(props, 1.0)


@pytest.mark.parametrize("direct", [0, 1])
def test_hybrid_select_matches_reference(direct):
    rng = np.random.default_rng(2)
    n_arms, d, m = 5, 3, 2
    F = rng.standard_normal((n_arms, m))
    arms = rng.integers(0, n_arms, 120)
    X = rng.standard_normal((120, d))
    r = X[:, 1] + F[arms, 0] + 0.1 * rng.standard_normal(120)
    policy = (
        rb.HybridLinUCB(n_arms, d, m, alpha=0.7, random_state=0)
        .set_arm_features(F)
        .update(arms, r, X)
    )
    policy._direct = direct
    ref = HybridArms(n_arms, d, F)
    ref.update(arms, r, X)
    Xq = rng.standard_normal((40, d))
    actions, props = policy.select(Xq, k=2)
    order = np.argsort(-ref.ucb(Xq, 0.7), axis=1)[:, :2]
    np.testing.assert_array_equal(actions, order)
    np.testing.assert_array_equal(props, 1.0)


def test_ucb1_select_matches_reference():
    rng = np.random.default_rng(1)
    arms = rng.integers(0, 7, 300)
    r = rng.random(300) * (arms / 7)
    policy = rb.UCB1(7, alpha=0.5, random_state=0).update(arms, r)
    pulls, sums = counting_stats(7, arms, r)
    actions, props = policy.select(n_requests=5, k=7)
    np.testing.assert_array_equal(
        actions, np.tile(np.argsort(-ucb1_scores(pulls, sums, 0.5)), (5, 1))
    )
    np.testing.assert_array_equal(props, 1.0)


@pytest.mark.parametrize("alpha", [0.0, 0.05, 2.0])
def test_screened_batches_equal_unscreened_rows(alpha):
    """Batches of >= 16 requests with d >= 24 screen arms in single precision;
    decisions must equal the double-precision path that small batches take."""
    rng = np.random.default_rng(3)
    arms, r, X = _ridge_log(n=3000, n_arms=40, d=30, seed=4)
    policy = rb.LinUCB(40, 30, alpha=alpha, random_state=0).fit(arms, r, X)
    Xq = rng.standard_normal((400, 30))
    Xq[::7] = Xq[0]  # repeated contexts
    mask = rng.random((400, 40)) < 0.7
    state = policy._native_state()
    big = policy.select(Xq, k=4, available=mask)
    policy._state.set_state(state)
    small = [policy.select(Xq[i : i + 8], k=4, available=mask[i : i + 8]) for i in range(0, 400, 8)]
    np.testing.assert_array_equal(big[0], np.vstack([s[0] for s in small]))
    np.testing.assert_array_equal(big[1], np.vstack([s[1] for s in small]))
    ref = RidgeArms(40, 30)
    ref.update(arms, r, X)
    scores = np.where(mask, ref.ucb(Xq, alpha)[0], -np.inf)
    np.testing.assert_array_equal(big[0], np.argsort(-scores, axis=1, kind="stable")[:, :4])


def test_ties_are_broken_at_random_and_share_the_propensity():
    policy = rb.LinUCB(4, 3, random_state=0)  # untrained: all arms tie
    X = np.ones((4000, 3))
    actions, props = policy.select(X, k=2)
    np.testing.assert_allclose(props[:, 0], 0.25)
    np.testing.assert_allclose(props[:, 1], 1 / 3)
    assert_calibrated(actions[:, :1], props[:, :1], 4)


# --------------------------------------------------------------- propensities
def test_epsilon_greedy_propensities_exact_and_calibrated():
    policy = rb.EpsilonGreedy(5, epsilon=0.3, random_state=1).update(
        [0, 1, 2, 2], [0.2, 0.9, 0.5, 0.7]
    )
    actions, props = policy.select(n_requests=6000)
    expected = np.array([0.06, 0.06 + 0.7, 0.06, 0.06, 0.06])
    np.testing.assert_allclose(props[:, 0], expected[actions[:, 0]])
    mean_p = assert_calibrated(actions, props, 5)
    np.testing.assert_allclose(mean_p.sum(), 1.0)


def test_epsilon_decay():
    policy = rb.EpsilonGreedy(4, epsilon=0.4, decay=0.5, random_state=0).update(
        [1, 1, 1, 1], [1.0] * 4
    )
    _, props = policy.select(n_requests=50)
    eps = 0.4 / (1 + 0.5 * 4)
    assert set(np.round(props.ravel(), 12)) <= {round(eps / 4, 12), round(eps / 4 + 1 - eps, 12)}


def test_softmax_propensities_exact_and_calibrated():
    policy = rb.Softmax(4, temperature=0.5, random_state=2).update(
        [0, 1, 2, 3], [0.0, 0.5, 1.0, 0.2]
    )
    actions, props = policy.select(n_requests=6000, k=2)
    w = np.exp(np.array([0.0, 0.5, 1.0, 0.2]) / 0.5)
    np.testing.assert_allclose(props[:, 0], (w / w.sum())[actions[:, 0]])
    # second slot: renormalised over the arms not yet shown
    rest = w.sum() - w[actions[:, 0]]
    np.testing.assert_allclose(props[:, 1], w[actions[:, 1]] / rest)
    mean_p = assert_calibrated(actions[:, :1], props[:, :1], 4)
    np.testing.assert_allclose(mean_p.sum(), 1.0)
    for first in range(4):  # per-slot conditional propensities
        rows = actions[:, 0] == first
        assert_calibrated(actions[rows, 1:], props[rows, 1:], 4)


@pytest.mark.parametrize(
    "likelihood, prior", [("bernoulli", None), ("bernoulli", (0.5, 0.5)), ("gaussian", None)]
)
def test_thompson_propensities_calibrated(likelihood, prior):
    rng = np.random.default_rng(3)
    arms = rng.integers(0, 5, 60)
    r = (rng.random(60) < 0.2 + 0.1 * arms).astype(float)
    # arm 5 is never observed: with prior (0.5, 0.5) its shapes stay below 1,
    # which takes the log-space Beta path
    policy = rb.ThompsonSampling(6, likelihood=likelihood, prior=prior, n_mc=3000, random_state=4)
    policy.update(arms, r)
    actions, props = policy.select(n_requests=5000)
    assert_calibrated(actions, props, 6, mc_draws=3000)


def test_thompson_slate_propensities_calibrated():
    policy = rb.ThompsonSampling(4, n_mc=3000, random_state=5).update(
        [0, 1, 2, 3, 3], [0, 1, 1, 0, 1]
    )
    actions, props = policy.select(n_requests=6000, k=2)
    assert len(set(map(tuple, actions.tolist()))) > 4
    assert np.all(actions[:, 0] != actions[:, 1])
    for first in range(4):
        rows = actions[:, 0] == first
        if rows.sum() > 300:
            assert_calibrated(actions[rows, 1:], props[rows, 1:], 4, mc_draws=3000)


@pytest.mark.parametrize("cls", [rb.LinTS, rb.LogisticTS])
def test_contextual_thompson_propensities_calibrated(cls):
    rng = np.random.default_rng(7)
    X = rng.standard_normal((80, 3))
    arms = rng.integers(0, 4, 80)
    r = (rng.random(80) < 0.5).astype(float)
    policy = cls(4, 3, n_mc=3000, random_state=8).update(arms, r, X)
    x = np.tile(rng.standard_normal(3), (5000, 1))  # one context: every request has the same law
    actions, props = policy.select(x)
    assert_calibrated(actions, props, 4, mc_draws=3000)


def test_new_arm_share_exact_mixture():
    policy = rb.EpsilonGreedy(5, epsilon=0.0, new_arm_share=0.2, new_arm_pulls=3, random_state=0)
    policy.update([0] * 5 + [1] * 5 + [2] * 2, [1.0] * 5 + [0.1] * 5 + [1.0] * 2)
    # arms 2, 3, 4 have < 3 pulls; greedy best is arm 0 (mean 1) tied with arm 2 (mean 1)
    actions, props = policy.select(n_requests=8000)
    expected = {0: 0.8 * 0.5, 2: 0.2 / 3 + 0.8 * 0.5, 3: 0.2 / 3, 4: 0.2 / 3}
    for a, p in expected.items():
        np.testing.assert_allclose(props[actions[:, 0] == a, 0], p)
    assert not (actions == 1).any()
    mean_p = assert_calibrated(actions, props, 5)
    np.testing.assert_allclose(mean_p.sum(), 1.0)


def test_new_arm_share_with_thompson_and_linucb():
    X = np.random.default_rng(0).standard_normal((3000, 3))
    lin = rb.LinUCB(3, 3, new_arm_share=0.3, new_arm_pulls=1, random_state=0)
    lin.update([0, 1], [1.0, 0.0], X[:2])
    actions, props = lin.select(X)
    new = actions[:, 0] == 2
    # arm 2 is the only unobserved arm: 0.3 + 0.7 * [it is rb.LinUCB's argmax]
    assert set(np.round(props[new, 0], 12)) <= {0.3, 1.0}
    assert set(np.round(props[~new, 0], 12)) <= {0.7, 1.0}
    # arm 2 has probability >= 0.3 in every request, so its IPS count estimates n
    ips = np.sum(new / props[:, 0])
    assert abs(ips - 3000) < 4.5 * np.sqrt(3000 * (1 / 0.3 - 1))

    ts = rb.ThompsonSampling(4, n_mc=2000, new_arm_share=0.25, new_arm_pulls=2, random_state=1)
    ts.update([0, 0, 1, 1], [1, 1, 0, 0])
    actions, props = ts.select(n_requests=5000)
    assert_calibrated(actions, props, 4, mc_draws=2000)


# --------------------------------------------------------------- availability
def test_availability_masks():
    policy = rb.Softmax(5, random_state=0)
    shared = np.array([True, False, True, False, True])
    actions, props = policy.select(n_requests=500, available=shared)
    assert set(actions.ravel()) == {0, 2, 4}
    np.testing.assert_allclose(props, 1 / 3)
    per = np.zeros((3, 5), bool)
    per[0, [1, 3]] = True
    per[1, 4] = True
    actions, props = policy.select(available=per, k=2)
    assert set(actions[0]) == {1, 3}
    np.testing.assert_array_equal(actions[1], [4, -1])
    np.testing.assert_allclose(props[1, 0], 1.0)
    assert np.isnan(props[1, 1])
    np.testing.assert_array_equal(actions[2], [-1, -1])
    assert np.isnan(props[2]).all()


@pytest.mark.parametrize("cls", [rb.LinUCB, rb.LinTS, rb.LogisticTS])
def test_contextual_availability_per_request(cls):
    rng = np.random.default_rng(1)
    X = rng.standard_normal((200, 3))
    policy = cls(6, 3, random_state=0).update(rng.integers(0, 6, 50), rng.random(50), X[:50])
    mask = rng.random((200, 6)) < 0.5
    actions, props = policy.select(X, k=3, available=mask)
    for i in range(200):
        chosen = actions[i][actions[i] >= 0]
        assert mask[i, chosen].all()
        assert len(chosen) == min(3, mask[i].sum())
        assert len(set(chosen)) == len(chosen)
        assert np.all((props[i, : len(chosen)] > 0) & (props[i, : len(chosen)] <= 1))
        assert np.isnan(props[i, len(chosen) :]).all()


def test_k_larger_than_arms_pads():
    actions, props = rb.UCB1(3, random_state=0).select(n_requests=2, k=5)
    assert (np.sort(actions[:, :3], axis=1) == [0, 1, 2]).all()
    assert (actions[:, 3:] == -1).all() and np.isnan(props[:, 3:]).all()


# --------------------------------------------------------------- invariance
def _policies():
    rng = np.random.default_rng(0)
    F = rng.standard_normal((30, 2))
    return [
        (rb.EpsilonGreedy(30, epsilon=0.2), False),
        (rb.UCB1(30), False),
        (rb.Softmax(30), False),
        (rb.ThompsonSampling(30, n_mc=50), False),
        (rb.ThompsonSampling(30, likelihood="gaussian", n_mc=50), False),
        (rb.LinUCB(30, 8), True),
        (rb.LinTS(30, 8, n_mc=50), True),
        (rb.LogisticTS(30, 8, precision="full", n_mc=50), True),
        (rb.LogisticTS(30, 8, n_mc=50), True),
        (rb.HybridLinUCB(30, 8, 2).set_arm_features(F), True),
    ]


def _train(policy, contextual, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((300, 8))
    arms = rng.integers(0, 30, 300)
    r = (rng.random(300) < 0.4).astype(float)
    policy.update(arms, r, X if contextual else None)
    return policy


@pytest.mark.parametrize("index", range(10))
def test_thread_count_and_batch_split_invariance(index):
    policy, contextual = _policies()[index]
    policy.set_params(random_state=11)
    _train(policy, contextual)
    # 24000 requests are enough work for two threads in every policy
    X = np.random.default_rng(5).standard_normal((24000, 8))
    state = policy._native_state()
    out = {}
    for threads in (1, 2):
        policy.set_params(num_threads=threads)
        policy._state.set_state(state)  # same counters for both runs
        out[threads] = policy.select(
            X if contextual else None, k=3, n_requests=None if contextual else 24000
        )
    np.testing.assert_array_equal(out[1][0], out[2][0])
    np.testing.assert_array_equal(out[1][1], out[2][1])
    # splitting the batch does not change decisions (Monte Carlo pools are per call)
    policy._state.set_state(state)
    first = policy.select(
        X[:3000] if contextual else None, k=3, n_requests=None if contextual else 3000
    )
    second = policy.select(
        X[3000:] if contextual else None, k=3, n_requests=None if contextual else 21000
    )
    np.testing.assert_array_equal(np.vstack([first[0], second[0]]), out[1][0])
    if not isinstance(policy, (rb.ThompsonSampling, rb.LinTS, rb.LogisticTS)):
        np.testing.assert_array_equal(np.vstack([first[1], second[1]]), out[1][1])


@pytest.mark.parametrize(
    "make",
    [
        lambda t: rb.LinUCB(20, 30, num_threads=t),
        lambda t: rb.LogisticTS(20, 30, precision="full", num_threads=t),
    ],
)
def test_parallel_updates_equal_sequential(make):
    """Large update batches run arms in parallel (each arm in log order)."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((16000, 30))
    arms = rng.integers(0, 20, 16000)
    r = (rng.random(16000) < 0.3).astype(float)
    one, two = make(1).set_params(random_state=0), make(2).set_params(random_state=0)
    one.update(arms, r, X)
    two.update(arms, r, X)
    np.testing.assert_array_equal(one.theta_, two.theta_)
    np.testing.assert_array_equal(one._native_state()["lin.cov"], two._native_state()["lin.cov"])


def test_seeded_reproducible_and_seed_sensitive():
    a = rb.ThompsonSampling(10, random_state=3).select(n_requests=50, k=2)
    b = rb.ThompsonSampling(10, random_state=3).select(n_requests=50, k=2)
    c = rb.ThompsonSampling(10, random_state=4).select(n_requests=50, k=2)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert (a[0] != c[0]).any()
    # successive calls continue the stream instead of repeating it
    p = rb.ThompsonSampling(10, random_state=3)
    first = p.select(n_requests=50)[0]
    assert (p.select(n_requests=50)[0] != first).any()


def test_concurrent_python_threads_get_distinct_requests():
    from concurrent.futures import ThreadPoolExecutor

    def block(policy):
        actions, props = policy.select(n_requests=300, k=2)
        return actions.tobytes() + props.tobytes()

    shared = rb.ThompsonSampling(20, n_mc=20, random_state=3).update(
        np.arange(20), np.linspace(0, 1, 20)
    )
    with ThreadPoolExecutor(4) as pool:
        outs = list(pool.map(lambda _: block(shared), range(8)))
    assert shared._state.next_request == 2400
    # calls are serialised: each owns a block of request indices, so the blocks
    # are exactly those of a sequential run, in some order
    ref = rb.ThompsonSampling(20, n_mc=20, random_state=3).update(
        np.arange(20), np.linspace(0, 1, 20)
    )
    assert sorted(outs) == sorted(block(ref) for _ in range(8))


@pytest.mark.parametrize(
    "policy",
    [
        rb.EpsilonGreedy(12, epsilon=0.3, new_arm_share=0.2, new_arm_pulls=3),
        rb.UCB1(12, new_arm_share=0.1),
        rb.Softmax(12, temperature=0.2, new_arm_share=0.1, new_arm_pulls=2),
        rb.ThompsonSampling(12, n_mc=30, new_arm_share=0.1, new_arm_pulls=4),
    ],
    ids=lambda p: type(p).__name__,
)
def test_shared_and_per_request_masks_agree(policy):
    """One mask for all requests takes the cached first-slot path; the same mask
    repeated per request takes the generic one: identical results."""
    rng = np.random.default_rng(0)
    policy.set_params(random_state=5).update(rng.integers(0, 9, 40), rng.random(40))
    mask = np.ones(12, bool)
    mask[[2, 7]] = False
    state = policy._native_state()
    shared = policy.select(n_requests=500, k=3, available=mask)
    policy._state.set_state(state)
    per = policy.select(available=np.tile(mask, (500, 1)), k=3)
    np.testing.assert_array_equal(shared[0], per[0])
    np.testing.assert_array_equal(shared[1], per[1])
    assert not np.isin(shared[0], [2, 7]).any()


def test_lints_float_widths_do_not_depend_on_batching():
    # d >= 16: LinTS takes its widths from the single-precision kernel for
    # every batch size, so a request's draw does not depend on the requests
    # served with it, and nothing depends on the thread count (propensity
    # pools are per call, so only decisions are compared across splits).
    rng = np.random.default_rng(3)
    arms, r, X = _ridge_log(n=600, n_arms=12, d=20, seed=3)
    Xq = rng.standard_normal((3000, 20))
    out = {}
    for threads in (1, 2):
        policy = rb.LinTS(12, 20, n_mc=40, random_state=2, num_threads=threads).fit(arms, r, X)
        out[threads] = policy.select(Xq, k=2)
    np.testing.assert_array_equal(out[1][0], out[2][0])
    np.testing.assert_array_equal(out[1][1], out[2][1])
    policy = rb.LinTS(12, 20, n_mc=40, random_state=2).fit(arms, r, X)
    parts = [policy.select(Xq[i : i + 1], k=2)[0] for i in range(5)] + [
        policy.select(Xq[5:], k=2)[0]
    ]
    np.testing.assert_array_equal(np.vstack(parts), out[1][0])
    calib = rb.LinTS(4, 20, n_mc=3000, random_state=8).fit(arms % 4, r, X)
    assert_calibrated(*calib.select(np.tile(Xq[:1], (4000, 1))), 4, mc_draws=3000)


@pytest.mark.parametrize("index", [0, 2])
def test_streams_opened_in_blocks_match_single_requests(index):
    # epsilon-greedy and softmax open their decision streams 8 at a time;
    # request i's draws must not depend on where its batch starts.
    policy, _ = _policies()[index]
    policy.set_params(random_state=3, num_threads=1)
    _train(policy, False)
    state = policy._native_state()
    whole = policy.select(None, n_requests=2000)
    policy._state.set_state(state)
    parts = [policy.select(None, n_requests=1) for _ in range(13)]
    parts.append(policy.select(None, n_requests=1987))
    np.testing.assert_array_equal(np.vstack([p[0] for p in parts]), whole[0])
    np.testing.assert_array_equal(np.vstack([p[1] for p in parts]), whole[1])
    assert len(np.unique(whole[0])) > 5  # the draws explore


def test_ridge_fit_same_for_any_thread_count():
    """A large fit on 2 threads gathers each arm's rows per arm; on 1 thread
    with few arms it streams the log into per-arm chunks: same chunks, same
    sums, bit for bit."""
    rng = np.random.default_rng(5)
    n, d = 90000, 23  # n d^2 above the parallel threshold (kParallelNs)
    X = rng.standard_normal((n, d))
    arms = rng.integers(0, 5, n)
    r = rng.standard_normal(n)
    one = rb.LinUCB(5, d, random_state=0, num_threads=1).fit(arms, r, X)
    two = rb.LinUCB(5, d, random_state=0, num_threads=2).fit(arms, r, X)
    np.testing.assert_array_equal(one.A_inv_, two.A_inv_)
    np.testing.assert_array_equal(one.theta_, two.theta_)
    np.testing.assert_array_equal(one.b_, two.b_)
    ref_A = np.linalg.inv(np.eye(d) + X[arms == 3].T @ X[arms == 3])
    np.testing.assert_allclose(one.A_inv_[3], ref_A, rtol=1e-9, atol=1e-12)
