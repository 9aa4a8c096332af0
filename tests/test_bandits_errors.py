"""Bad inputs give precise exceptions, never a crash or a silent wrong answer."""

import numpy as np
import pytest

from reelrec import bandits as rb

X3 = np.ones((4, 3))


@pytest.mark.parametrize(
    "call, exc, match",
    [
        # contexts
        (
            lambda: rb.LinUCB(5, 3).select(np.ones((4, 2))),
            ValueError,
            "contexts: expected 3 columns",
        ),
        (
            lambda: rb.LinUCB(5, 3).select(np.ones(3)),
            ValueError,
            r"contexts: expected a 2-d array, got shape \(3,\) \(use x.reshape",
        ),
        (
            lambda: rb.LinTS(5, 3).select(),
            ValueError,
            "contexts: LinTS is contextual and needs a contexts array",
        ),
        (
            lambda: rb.LinUCB(5, 3).select(np.array([[1, np.nan, 0]])),
            ValueError,
            "contexts: contains NaN or infinite",
        ),
        (
            lambda: rb.LinUCB(5, 3).select(np.array([["a", "b", "c"]])),
            TypeError,
            "contexts: expected real numbers",
        ),
        (
            lambda: rb.LinUCB(5, 3).update([0, 1], [1.0, 0.0], np.array([[1, 2, np.inf]] * 2)),
            ValueError,
            "contexts: contains NaN or infinite",
        ),
        (
            lambda: rb.HybridLinUCB(5, 3, 2).select(np.ones((2, 4))),
            ValueError,
            "contexts: expected 3 columns",
        ),
        # rewards and lengths
        (
            lambda: rb.UCB1(5).update([0, 1], [1.0, np.nan]),
            ValueError,
            "rewards: contains NaN or infinite",
        ),
        (
            lambda: rb.UCB1(5).update([0, 1, 2], [1.0, 0.0]),
            ValueError,
            "actions and rewards differ in length: 3 vs 2",
        ),
        (
            lambda: rb.UCB1(5).fit([0, 1, 2], [1.0, 0.0]),
            ValueError,
            "decisions and rewards differ in length: 3 vs 2",
        ),
        (
            lambda: rb.LinUCB(5, 3).update([0, 1, 2], [1.0, 0.0, 1.0], np.ones((2, 3))),
            ValueError,
            r"contexts: expected one row per action \(3\), got 2",
        ),
        (
            lambda: rb.UCB1(5).update([0, 1], [1.0, 0.0], np.ones((3, 2))),
            ValueError,
            "contexts: expected a 2-d array with one row per action",
        ),
        (
            lambda: rb.ThompsonSampling(5).update([0], [2.0]),
            ValueError,
            r"rewards: ThompsonSampling expects rewards in \[0, 1\]",
        ),
        (
            lambda: rb.LogisticTS(5, 3).update([0], [-1.0], X3[:1]),
            ValueError,
            r"expects rewards in \[0, 1\]",
        ),
        (lambda: rb.UCB1(5).update([0], ["x"]), TypeError, "rewards: expected real numbers"),
        (
            lambda: rb.UCB1(5).update([[0, 1]], [[1.0, 0.0]]),
            ValueError,
            "actions: expected a 1-d array of arm ids",
        ),
        # arm ids
        (
            lambda: rb.UCB1(5).update([0, 7], [1.0, 0.0]),
            IndexError,
            "actions: arm id 7 is out of range for 5 arm slots",
        ),
        (lambda: rb.UCB1(5).update([-1], [1.0]), IndexError, "actions: arm id -1 is out of range"),
        (
            lambda: rb.LinUCB(5, 3).fit([9], [1.0], X3[:1]),
            IndexError,
            "decisions: arm id 9 is out of range",
        ),
        (
            lambda: rb.UCB1(5).update([0.0, 1.0], [1.0, 0.0]),
            TypeError,
            "actions: expected integer arm ids",
        ),
        (lambda: rb.UCB1(5).remove_arm("a"), TypeError, "arm_id: expected an integer"),
        (lambda: rb.UCB1(5).remove_arm(-2), ValueError, "arm_id: expected an integer >= 0"),
        # k, availability, request counts
        (lambda: rb.UCB1(5).select(k=0), ValueError, "k: expected a positive integer"),
        (lambda: rb.UCB1(5).select(k=1.5), TypeError, "k: expected a positive integer"),
        (
            lambda: rb.UCB1(5).select(available=np.ones(5)),
            TypeError,
            "available: expected a boolean mask",
        ),
        (
            lambda: rb.UCB1(5).select(available=np.ones(4, bool)),
            ValueError,
            r"available: a 1-d mask needs shape \(5,\)",
        ),
        (
            lambda: rb.LinUCB(5, 3).select(X3, available=np.ones((3, 5), bool)),
            ValueError,
            r"available: a 2-d mask needs shape \(4, 5\)",
        ),
        (
            lambda: rb.UCB1(5).select(n_requests=3, available=np.ones((2, 5), bool)),
            ValueError,
            "n_requests: inconsistent numbers of requests",
        ),
        (lambda: rb.UCB1(5).select(np.ones(3)), ValueError, "contexts: expected a 2-d array"),
        (
            lambda: rb.UCB1(5).select(n_requests=-1),
            ValueError,
            "n_requests: expected an integer >= 0",
        ),
        # parameters
        (
            lambda: rb.EpsilonGreedy(5, epsilon=1.5).select(),
            ValueError,
            r"epsilon: expected a finite value in \[0.0, 1.0\], got 1.5",
        ),
        (
            lambda: rb.EpsilonGreedy(5, decay=-1).select(),
            ValueError,
            "decay: expected a finite value",
        ),
        (lambda: rb.UCB1(-1).select(), ValueError, "n_arms: expected an integer >= 0, got -1"),
        (lambda: rb.UCB1("3").select(), TypeError, "n_arms: expected an integer"),
        (lambda: rb.UCB1(3, alpha=-1).select(), ValueError, "alpha: expected a finite value"),
        (
            lambda: rb.Softmax(3, temperature=0).select(),
            ValueError,
            "temperature: expected a finite value in \\[1e-12, 1000000000000.0\\]",
        ),
        (
            lambda: rb.ThompsonSampling(3, likelihood="poisson").select(),
            ValueError,
            "likelihood: expected 'bernoulli' or 'gaussian'",
        ),
        (
            lambda: rb.ThompsonSampling(3, n_mc=0).select(),
            ValueError,
            r"n_mc: expected an integer in \[1, 100000\]",
        ),
        (
            lambda: rb.ThompsonSampling(3, prior=(0.0, 1.0)).select(),
            ValueError,
            "prior: Beta prior parameters must be >= 0.001",
        ),
        (
            # draws of Beta(1e-300, 1e-300) tie at 0 and 1 in the float pool
            lambda: rb.ThompsonSampling(3, prior=(1e-300, 1e-300)).select(),
            ValueError,
            "prior: Beta prior parameters must be >= 0.001",
        ),
        (
            lambda: rb.ThompsonSampling(3, likelihood="gaussian", noise_std=1e-200).select(),
            ValueError,
            r"noise_std: expected a finite value in \[1e-12, 1000000000000.0\]",
        ),
        (
            lambda: rb.ThompsonSampling(3, n_mc=10**9).select(),
            ValueError,
            r"n_mc: expected an integer in \[1, 100000\], got 1000000000",
        ),
        (
            lambda: rb.LinUCB(3, 2, num_threads=2**40).select(np.ones((1, 2))),
            ValueError,
            r"num_threads: expected an integer in \[0, 65536\]",
        ),
        (
            lambda: rb.EpsilonGreedy(3, prior=(1e300, 1.0)).select(),
            ValueError,
            r"prior\[0\]: expected a finite value in \[-1e\+30, 1e\+30\]",
        ),
        (
            lambda: rb.ThompsonSampling(3, likelihood="gaussian", prior=(0.0, 0.0)).select(),
            ValueError,
            "prior precision tau0",
        ),
        (
            lambda: rb.ThompsonSampling(3, prior="ab").select(),
            TypeError,
            "prior: expected a pair of numbers",
        ),
        (lambda: rb.EpsilonGreedy(3, prior=(0.0, -1.0)).select(), ValueError, "pseudo-count"),
        (
            lambda: rb.LogisticTS(3, 2, precision="banded").select(np.ones((1, 2))),
            ValueError,
            "precision: expected 'diagonal' or 'full'",
        ),
        (
            lambda: rb.LinUCB(3, 0).select(np.ones((1, 0))),
            ValueError,
            "n_features: expected an integer >= 1",
        ),
        (
            lambda: rb.LinUCB(3, 2, l2=0).select(np.ones((1, 2))),
            ValueError,
            "l2: expected a finite value in \\[1e-12, 1000000000000.0\\]",
        ),
        (
            lambda: rb.HybridLinUCB(3, 1, 1, l2=1e-320).select(np.ones((1, 1))),
            ValueError,
            "l2: expected a finite value in \\[1e-12",
        ),
        (
            lambda: rb.LinUCB(2, 1, alpha=0.0).select(np.array([[1e155]])),
            ValueError,
            r"contexts: expected values within \+-1e\+30 .*got a value of magnitude 1e\+155",
        ),
        (
            lambda: rb.LinUCB(2, 1).update([0], [1e200], [[1.0]]),
            ValueError,
            r"rewards: expected values within \+-1e\+30",
        ),
        (
            lambda: rb.HybridLinUCB(2, 1, 1).set_arm_features(np.array([[1e200], [1.0]])),
            ValueError,
            r"features: expected values within \+-1e\+30",
        ),
        (
            lambda: rb.LinUCB(3, 2).select(np.ones((4, 2)), n_requests=10),
            ValueError,
            r"n_requests: inconsistent numbers of requests \(contexts=4, n_requests=10\)",
        ),
        (
            lambda: rb.UCB1(3).update(np.array([2**63 + 5], dtype=np.uint64), [1.0]),
            IndexError,
            "actions: arm id 9223372036854775813 is out of range",
        ),
        (
            lambda: rb.LinUCB(3, 2, num_threads=-1).select(np.ones((1, 2))),
            ValueError,
            "num_threads",
        ),
        (
            lambda: rb.LinUCB(3, 2, new_arm_share=2.0).select(np.ones((1, 2))),
            ValueError,
            "new_arm_share",
        ),
        (
            lambda: rb.LinUCB(3, 2, new_arm_pulls=0).select(np.ones((1, 2))),
            ValueError,
            "new_arm_pulls",
        ),
        (
            lambda: rb.HybridLinUCB(3, 2, 0).select(np.ones((1, 2))),
            ValueError,
            "n_arm_features: expected an integer >= 1",
        ),
        (lambda: rb.UCB1(3, random_state="x").select(), TypeError, "random_state"),
        (
            lambda: rb.UCB1(3).set_params(beta=1),
            ValueError,
            "set_params: UCB1 has no parameter 'beta'",
        ),
        # arms: features and priors
        (
            lambda: rb.UCB1(3).add_arm(features=[1.0]),
            ValueError,
            "features: UCB1 does not use arm features",
        ),
        (lambda: rb.UCB1(3).add_arm(prior=(1.0,)), TypeError, "prior: expected a pair of numbers"),
        (
            lambda: rb.ThompsonSampling(3).add_arm(prior=(1.0, -2.0)),
            ValueError,
            "Beta prior parameters must be >= 0.001",
        ),
        (
            lambda: rb.LinUCB(3, 2).add_arm(prior=[1.0]),
            ValueError,
            "prior: expected a prior mean of 2 values, got 1",
        ),
        (
            lambda: rb.LinUCB(3, 2).add_arm(features=[[1.0]]),
            ValueError,
            "features: expected a 1-d array",
        ),
        (
            lambda: rb.LinUCB(3, 2).set_arm_features(np.ones((2, 2))),
            ValueError,
            r"features: expected one row per arm id \(3\), got 2",
        ),
        (
            lambda: rb.LinUCB(3, 2).set_arm_features(np.ones((3, 2))).add_arm(features=[1.0]),
            ValueError,
            "features: expected 2 arm features",
        ),
        (
            lambda: rb.LinUCB(3, 2).set_arm_features(np.ones((1, 2)), arm_ids=[5]),
            IndexError,
            "arm_ids: arm id 5 is out of range",
        ),
        (
            lambda: rb.HybridLinUCB(3, 2, 2).set_arm_features(np.ones((3, 3))),
            ValueError,
            r"features: expected 2 arm features \(n_arm_features\), got 3",
        ),
        (
            lambda: rb.HybridLinUCB(3, 2, 2).add_arm(prior=[1.0, 2.0, 3.0]),
            ValueError,
            "prior: expected a prior mean of 2 values",
        ),
    ],
)
def test_bad_inputs(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


@pytest.mark.parametrize(
    "make",
    [
        lambda: rb.LinUCB(3, 2),
        lambda: rb.LogisticTS(3, 2),
        lambda: rb.HybridLinUCB(3, 2, 1),
        lambda: rb.UCB1(3),
        lambda: rb.ThompsonSampling(3),
    ],
)
def test_failed_update_or_fit_changes_nothing(make):
    policy = make().set_params(random_state=0)
    X = np.ones((3, 2)) if policy._contextual else None
    policy.update([0, 1], [1.0, 0.0], None if X is None else X[:2])
    policy.remove_arm(2)
    before = policy._native_state()
    with pytest.raises(IndexError, match="actions: arm id 5"):
        policy.update([0, 1, 5], [1.0, 1.0, 1.0], X)
    with pytest.raises(IndexError, match="decisions: arm id 5"):
        policy.fit([0, 1, 5], [1.0, 1.0, 1.0], X)
    with pytest.raises(ValueError, match="decisions: arm 2 has been removed"):
        policy.fit([0, 2, 1], [1.0, 1.0, 1.0], X)
    after = policy._native_state()
    for key in before:
        np.testing.assert_array_equal(before[key], after[key])


def test_empty_batches_are_fine():
    policy = rb.LinTS(3, 2, random_state=0)
    actions, props = policy.select(np.empty((0, 2)), k=2)
    assert actions.shape == (0, 2) and props.shape == (0, 2)
    policy.update(np.empty(0, np.int64), np.empty(0), np.empty((0, 2)))
    assert policy.n_updates_ == 0
    assert rb.UCB1(3).select(n_requests=0)[0].shape == (0, 1)


@pytest.mark.parametrize(
    "make, new, X_old",
    [
        (lambda: rb.HybridLinUCB(3, 4, 2), {"n_shared_features": 1}, np.ones((2, 4))),
        (lambda: rb.HybridLinUCB(3, 4, 2), {"n_arm_features": 1}, np.ones((2, 4))),
        (lambda: rb.LinUCB(3, 4), {"n_features": 1}, np.ones((2, 4))),
        (lambda: rb.LogisticTS(3, 4), {"precision": "full"}, np.ones((2, 4))),
    ],
)
def test_structural_change_applies_at_fit(make, new, X_old, tmp_path):
    # the state keeps its sizes until fit(): inputs are checked against those
    # (a new size passed to the native state read past its buffers)
    p = make().set_params(random_state=0)
    p.update([0, 1], [1.0, 0.0], X_old)
    p.set_params(**new)
    actions, _ = p.select(X_old)
    assert actions.shape == (2, 1) and (actions >= 0).all()
    if "n_shared_features" in new or "n_features" in new:
        with pytest.raises(ValueError, match="contexts: expected 4 columns"):
            p.select(np.ones((2, 1)))
    if "n_arm_features" in new:
        with pytest.raises(ValueError, match=r"features: expected 2 arm features"):
            p.set_arm_features(np.ones((3, 1)))
    name = next(iter(new))
    with pytest.raises(ValueError, match=f"save: {name} .* changed since the state was built"):
        p.save(tmp_path / "p.npz")
    # fit() applies it
    d = new.get("n_shared_features", new.get("n_features", 4))
    p.fit([0, 1], [1.0, 0.0], np.ones((2, d)))
    p.save(tmp_path / "p.npz")
    assert rb.BanditPolicy.load(tmp_path / "p.npz").get_params() == p.get_params()


def test_structural_change_of_likelihood_keeps_reward_check():
    p = rb.ThompsonSampling(3).set_params(random_state=0)
    p.update([0], [1.0])
    p.set_params(likelihood="gaussian")
    # the live state is still Beta-Bernoulli
    with pytest.raises(ValueError, match=r"rewards: ThompsonSampling expects rewards in \[0, 1\]"):
        p.update([0], [5.0])


def test_ill_conditioned_hybrid_update_raises_and_state_stays_finite():
    rng = np.random.default_rng(0)
    p = rb.HybridLinUCB(3, 2, 2, l2=1e-4, random_state=0)
    p.set_arm_features(np.array([[1, 0], [0, 1], [1, 1]], float))
    raised = False
    for _ in range(3):
        b = rng.normal(size=(200, 1))
        X = np.hstack([b * 1e6, b * 1e-6])
        try:
            a, _ = p.select(X)
            p.update(a[:, 0], (rng.random(200) < 0.5) * 1.0, X)
        except ValueError as exc:
            assert "numerically singular" in str(exc)
            raised = True
        assert np.isfinite(p.beta_).all() and np.isfinite(p.A_inv_).all()
    assert raised


def test_nan_scores_raise_instead_of_crashing():
    # a state beyond floating-point range (as a corrupted file could carry)
    p = rb.LinUCB(2, 1, alpha=0.0).set_params(random_state=0)
    p.update([0], [1.0], [[1.0]])
    state = p._native_state()
    state["lin.theta"] = np.full_like(state["lin.theta"], np.nan)
    p._state.set_state(state)
    with pytest.raises(ValueError, match="scores of a request are NaN"):
        p.select(np.ones((1, 1)))


def test_numpy_parameters_save(tmp_path):
    for p in [
        rb.EpsilonGreedy(3, epsilon=np.float32(0.25)),
        rb.LinTS(3, 3, random_state=np.int64(5)),
        rb.ThompsonSampling(3, prior=np.array([2.0, 3.0])),
    ]:
        p.save(tmp_path / "p.npz")
        q = rb.BanditPolicy.load(tmp_path / "p.npz")
        assert type(q) is type(p)
    with pytest.raises(
        ValueError, match=r"save: parameters must be JSON serialisable .*random_state=Generator"
    ):
        rb.UCB1(3, random_state=np.random.default_rng(0)).save(tmp_path / "g.npz")


def test_load_rejects_non_finite_state(tmp_path):
    p = rb.UCB1(3).set_params(random_state=0)
    p.update([0], [1.0])
    p.save(tmp_path / "p.npz")
    with np.load(tmp_path / "p.npz") as f:
        data = dict(f)
    data["state.count.sum"] = np.full_like(data["state.count.sum"], np.nan)
    np.savez(tmp_path / "bad.npz", **data)
    with pytest.raises(ValueError, match="NaN or infinite values in state array 'count.sum'"):
        rb.BanditPolicy.load(tmp_path / "bad.npz")


def test_hybrid_features_only_before_rewards():
    p = rb.HybridLinUCB(3, 2, 1).set_params(random_state=0)
    p.set_arm_features(np.ones((3, 1)))
    p.update([1], [1.0], np.ones((1, 2)))
    with pytest.raises(ValueError, match="arm_ids: arm 1 already has rewards"):
        p.set_arm_features(np.zeros((3, 1)))
    p.set_arm_features(np.zeros((1, 1)), arm_ids=[2])  # no reward yet: fine


def test_huge_thread_counts_are_capped():
    # 100k OpenMP threads crashed the runtime (their stacks exhaust the
    # address space); a request is capped at 8 threads per processor, and
    # results do not depend on the count.
    rng = np.random.default_rng(0)
    X = rng.standard_normal((20000, 8))
    arms, r = rng.integers(0, 4, 20000), rng.random(20000)
    one = rb.LinTS(4, 8, random_state=0, num_threads=1).fit(arms, r, X).select(X)
    many = rb.LinTS(4, 8, random_state=0, num_threads=65536).fit(arms, r, X).select(X)
    np.testing.assert_array_equal(one[0], many[0])
    np.testing.assert_array_equal(one[1], many[1])


@pytest.mark.parametrize("scale", [1e20, 1e-25, 1e29])
@pytest.mark.parametrize("d", [16, 24, 40])
def test_extreme_context_scales_keep_exact_decisions(d, scale):
    # The float kernels would overflow or go subnormal for such rows: those
    # are scored in double, so a batch decides as single rows and as numpy.
    rng = np.random.default_rng(0)
    p = rb.LinUCB(6, d, random_state=0, num_threads=1)
    p.update(rng.integers(0, 6, 300), rng.standard_normal(300), rng.standard_normal((300, d)))
    X = rng.standard_normal((40, d)) * scale
    X[::2] /= scale  # ordinary rows in the same batch
    batch = p.select(X)[0][:, 0]
    single = np.array([p.select(X[i : i + 1])[0][0, 0] for i in range(len(X))])
    np.testing.assert_array_equal(batch, single)
    scores = X @ p.theta_.T + p.alpha * np.sqrt(np.einsum("nd,ade,ne->na", X, p.A_inv_, X))
    np.testing.assert_array_equal(batch, scores.argmax(axis=1))
    # Thompson: a lone candidate has propensity 1 whatever the scale
    ts = rb.LinTS(2, d, random_state=0, num_threads=1)
    _, props = ts.select(X, available=np.array([True, False]))
    np.testing.assert_array_equal(props, 1.0)


def test_pending_likelihood_does_not_leak_into_add_arm():
    p = rb.ThompsonSampling(1, "bernoulli", random_state=0)
    p.update([0], [1.0])
    p.set_params(likelihood="gaussian")
    p.add_arm()
    np.testing.assert_array_equal(p.priors_[1], [1.0, 1.0])  # the live Beta state's default


@pytest.mark.parametrize(
    "call",
    [
        lambda: rb.UCB1(2**64).select(),
        lambda: rb.LinUCB(2, 2).select(np.ones((1, 2)), k=2**64),
        lambda: rb.UCB1(3).remove_arm(2**64),
        lambda: rb.UCB1(3, new_arm_pulls=2**64).select(),
    ],
)
def test_huge_integers_named(call):
    with pytest.raises(ValueError, match="below 2\\*\\*62"):
        call()


def test_shared_index_check_refuses_masked_time_and_wrapping_ids():
    # one check for every index argument in the package (models, ope, metrics)
    from reelrec._validation import check_indices

    with pytest.raises(TypeError, match="users: masked arrays are not supported"):
        check_indices(np.ma.masked_array([1, 2], mask=[0, 1]), 5, "users")
    with pytest.raises(TypeError, match="users: expected integer indices"):
        check_indices(np.array([1, 2], dtype="timedelta64[s]"), 5, "users")
    with pytest.raises(IndexError, match="users: index 18446744073709551615 is beyond the int64"):
        check_indices(np.array([2**64 - 1], dtype=np.uint64), None, "users")
    idx, scalar = check_indices(np.array([3], dtype=np.uint64), 5, "users")
    assert idx.dtype == np.int64 and idx.tolist() == [3] and not scalar
