"""Arms that come and go, feature priors, save/load continuity, regret sanity."""

import copy
import pickle

import numpy as np
import pytest

from reelrec import bandits as rb


# ------------------------------------------------------------------- arms
def test_add_remove_arms_ids_stable_and_reused_fifo():
    policy = rb.EpsilonGreedy(3, random_state=0)
    assert policy.add_arm() == 3
    policy.update([0, 1, 3], [1.0, 0.5, 0.2])
    policy.remove_arm(1)
    policy.remove_arm(0)
    np.testing.assert_array_equal(policy.arm_ids_, [2, 3])
    assert policy.n_arms_ == 2 and policy.n_slots_ == 4
    # surviving arms keep their ids and statistics
    np.testing.assert_allclose(policy.means_[3], 0.2)
    actions, _ = policy.select(n_requests=300, k=2)
    assert set(actions.ravel()) == {2, 3}
    # the oldest freed slot comes back first, with a clean state
    assert policy.add_arm() == 1
    assert policy.add_arm() == 0
    assert policy.add_arm() == 4
    np.testing.assert_array_equal(policy.pulls_, [0, 0, 0, 1, 0])
    np.testing.assert_allclose(policy.means_[[0, 1]], 0.0)


@pytest.mark.parametrize(
    "make, contextual",
    [
        (lambda: rb.ThompsonSampling(4), False),
        (lambda: rb.UCB1(4), False),
        (lambda: rb.LinUCB(4, 3), True),
        (lambda: rb.LinTS(4, 3), True),
        (lambda: rb.LogisticTS(4, 3), True),
        (lambda: rb.HybridLinUCB(4, 3, 2), True),
    ],
)
def test_removed_arms_never_chosen_nor_updated(make, contextual):
    policy = make().set_params(random_state=0)
    X = np.random.default_rng(0).standard_normal((500, 3))
    policy.remove_arm(2)
    actions, props = policy.select(
        X if contextual else None, n_requests=None if contextual else 500, k=3
    )
    assert not (actions == 2).any() and (actions >= 0).all()
    with pytest.raises(ValueError, match="actions: arm 2 has been removed"):
        policy.update([0, 2], [1.0, 0.0], X[:2] if contextual else None)
    assert policy.pulls_[0] == 0  # nothing applied: ids are checked first
    with pytest.raises(IndexError, match="actions: arm id 7 is out of range for 4 arm slots"):
        policy.update([7], [1.0], X[:1] if contextual else None)
    with pytest.raises(ValueError, match="arm_id: arm 2 has been removed"):
        policy.remove_arm(2)
    with pytest.raises(IndexError, match="arm_id: arm id 9 is out of range"):
        policy.remove_arm(9)
    assert policy.add_arm() == 2


def test_start_empty_and_grow():
    policy = rb.ThompsonSampling(0, random_state=0)
    actions, props = policy.select(n_requests=2)
    np.testing.assert_array_equal(actions, -1)
    assert np.isnan(props).all()
    ids = [policy.add_arm(prior=(1.0, 9.0)), policy.add_arm(prior=(9.0, 1.0))]
    assert ids == [0, 1]
    actions, _ = policy.select(n_requests=200)
    assert np.mean(actions == 1) > 0.9
    np.testing.assert_allclose(policy.priors_, [[1, 9], [9, 1]])


def test_linear_explicit_prior_and_neighbour_prior():
    rng = np.random.default_rng(0)
    d = 3
    theta = np.array([[1.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0]])
    feats = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    policy = rb.LinUCB(3, d, l2=1.0, n_prior_neighbors=2, random_state=0).set_arm_features(feats)
    X = rng.standard_normal((600, d))
    arms = rng.integers(0, 3, 600)
    policy.update(arms, np.einsum("nd,nd->n", X, theta[arms]), X)
    learned = policy.theta_.copy()
    # features close to arm 0's: the prior is a similarity-weighted mean of arms 0 and 1
    new = policy.add_arm(features=[0.8, 0.6])
    w = np.array([0.8, 0.6])
    np.testing.assert_allclose(
        policy.theta_[new], (w[0] * learned[0] + w[1] * learned[1]) / w.sum(), rtol=1e-12
    )
    np.testing.assert_allclose(policy.b_[new], policy.theta_[new])  # b = l2 * theta0
    explicit = policy.add_arm(prior=[0.5, -0.5, 2.0])
    np.testing.assert_allclose(policy.theta_[explicit], [0.5, -0.5, 2.0])
    assert policy.add_arm(features=[0.0, 0.0]) == 5  # no similarity: zero prior
    np.testing.assert_allclose(policy.theta_[5], 0.0)
    assert policy.arm_features_.shape == (6, 2)
    # the prior shifts the new arm's estimate until data outweighs it
    policy.update([new] * 3, [0.0] * 3, X[:3])
    assert np.abs(policy.theta_[new]).sum() > 0


def test_hybrid_new_arm_scored_from_shared_model():
    """Cold start: reward depends on arm features only; a new arm with good features
    is picked from its features alone, before any reward."""
    rng = np.random.default_rng(1)
    n_arms, d, m = 8, 2, 2
    F = rng.standard_normal((n_arms, m))
    X = np.column_stack([np.ones(800), rng.standard_normal(800)])
    arms = rng.integers(0, n_arms, 800)
    r = F[arms, 0] + 0.05 * rng.standard_normal(800)
    policy = (
        rb.HybridLinUCB(n_arms, d, m, alpha=0.01, random_state=0)
        .set_arm_features(F)
        .fit(arms, r, X)
    )
    good = policy.add_arm(features=[F[:, 0].max() + 2.0, 0.0])
    actions, _ = policy.select(X[:50])
    assert np.mean(actions[:, 0] == good) > 0.9
    bad = (
        rb.HybridLinUCB(n_arms, d, m, alpha=0.01, random_state=0)
        .set_arm_features(F)
        .fit(arms, r, X)
    )
    bad.add_arm(features=[F[:, 0].min() - 2.0, 0.0])
    assert not (bad.select(X[:50])[0] == n_arms).any()


def test_new_arm_share_explores_new_arms():
    rng = np.random.default_rng(2)
    policy = rb.UCB1(5, new_arm_share=0.1, new_arm_pulls=20, random_state=0)
    policy.fit(np.repeat(np.arange(5), 50), rng.random(250))
    new = policy.add_arm()
    actions, props = policy.select(n_requests=5000)
    # rb.UCB1 alone would play the new arm first; with the share it still gets >= 10%
    assert np.mean(actions == new) >= 0.1
    np.testing.assert_allclose(props[actions[:, 0] == new], 1.0)


# ------------------------------------------------------------------- save/load
def _scenarios():
    rng = np.random.default_rng(0)
    return [
        (rb.EpsilonGreedy(6, epsilon=0.2, decay=0.1, new_arm_share=0.1), False),
        (rb.UCB1(6, alpha=0.5), False),
        (rb.Softmax(6, temperature=0.3, prior=(0.5, 1.0)), False),
        (rb.ThompsonSampling(6, n_mc=20), False),
        (rb.ThompsonSampling(6, likelihood="gaussian", noise_std=0.5, n_mc=20), False),
        (rb.LinUCB(6, 4, alpha=0.5, n_prior_neighbors=2), True),
        (rb.LinTS(6, 4, v=0.5, n_mc=20), True),
        (rb.LogisticTS(6, 4, precision="full", n_mc=20), True),
        (rb.LogisticTS(6, 4, v=0.5, n_mc=20), True),
        (rb.HybridLinUCB(6, 4, 3).set_arm_features(rng.standard_normal((6, 3))), True),
    ]


def _step(policy, contextual, rng, n=40):
    X = rng.standard_normal((n, 4))
    actions, props = policy.select(
        X if contextual else None, k=2, n_requests=None if contextual else n
    )
    rewards = (rng.random(n) < 0.5).astype(float)
    policy.update(actions[:, 0], rewards, X if contextual else None)
    return actions, props


def _round_trip(policy, how, tmp_path):
    if how == "save":
        path = tmp_path / "policy.npz"
        policy.save(path)
        return rb.BanditPolicy.load(path)
    if how == "pickle":
        return pickle.loads(pickle.dumps(policy))
    return copy.deepcopy(policy)


@pytest.mark.parametrize("how", ["save", "pickle", "deepcopy"])
@pytest.mark.parametrize("index", range(10))
def test_save_load_continues_identically(index, how, tmp_path):
    policy, contextual = _scenarios()[index]
    policy.set_params(random_state=None)  # the seed is drawn, and saved with the state
    rng = np.random.default_rng(1)
    for _ in range(3):
        _step(policy, contextual, rng)
    policy.remove_arm(1)
    features = rng.standard_normal(3 if isinstance(policy, rb.HybridLinUCB) else 2)
    policy.add_arm(features=features if policy._uses_features else None)
    policy.remove_arm(3)
    loaded = _round_trip(policy, how, tmp_path)
    assert loaded._native is not policy._native
    assert type(loaded) is type(policy) and loaded.get_params() == policy.get_params()
    np.testing.assert_array_equal(loaded.arm_ids_, policy.arm_ids_)
    rng_a, rng_b = np.random.default_rng(2), np.random.default_rng(2)
    for _ in range(3):
        a1, p1 = _step(policy, contextual, rng_a)
        a2, p2 = _step(loaded, contextual, rng_b)
        np.testing.assert_array_equal(a1, a2)
        np.testing.assert_array_equal(p1, p2)
    assert policy.add_arm() == loaded.add_arm()
    s1, s2 = policy._native_state(), loaded._native_state()
    assert s1.keys() == s2.keys()
    for key in s1:
        np.testing.assert_array_equal(s1[key], s2[key])


def test_load_rejects_other_files(tmp_path):
    bad = tmp_path / "x.npz"
    np.savez(bad, a=np.zeros(2))
    with pytest.raises(ValueError, match="not a reelrec bandit file"):
        rb.BanditPolicy.load(bad)
    policy = rb.UCB1(3, random_state=0)
    policy.save(tmp_path / "u.npz")
    with pytest.raises(TypeError, match="holds a UCB1, not a LinUCB"):
        rb.LinUCB.load(tmp_path / "u.npz")
    with pytest.raises(ValueError, match="JSON serialisable"):
        rb.UCB1(3, random_state=np.random.default_rng(0)).save(tmp_path / "g.npz")


def test_structural_change_rebuilds_at_fit():
    policy = rb.LinUCB(3, 2, random_state=0)
    policy.add_arm()
    policy.set_params(n_features=3, n_arms=2)
    policy.fit([0, 1], [1.0, 0.0], np.ones((2, 3)))
    assert policy.n_slots_ == 2 and policy.theta_.shape == (2, 3)


# ------------------------------------------------------------------- regret
def _bernoulli_run(policy, means, rounds=60, batch=25, seed=0):
    rng = np.random.default_rng(seed)
    total = 0.0
    for _ in range(rounds):
        actions, _ = policy.select(n_requests=batch)
        rewards = (rng.random(batch) < means[actions[:, 0]]).astype(float)
        policy.update(actions[:, 0], rewards)
        total += means[actions[:, 0]].sum()
    return total / (rounds * batch)


@pytest.mark.parametrize(
    "policy",
    [
        rb.EpsilonGreedy(10, epsilon=0.1, random_state=0),
        rb.UCB1(10, alpha=0.5, random_state=0),
        rb.Softmax(10, temperature=0.05, random_state=0),
        rb.ThompsonSampling(10, n_mc=10, random_state=0),
        rb.ThompsonSampling(10, likelihood="gaussian", noise_std=0.5, n_mc=10, random_state=0),
    ],
    ids=lambda p: type(p).__name__ + getattr(p, "likelihood", ""),
)
def test_bernoulli_environment_beats_uniform(policy):
    means = np.linspace(0.05, 0.6, 10)
    mean_reward = _bernoulli_run(policy, means)
    uniform, best = means.mean(), means.max()
    # recover well over half of the gap between uniform play and the best arm
    assert mean_reward > uniform + 0.6 * (best - uniform), mean_reward


def _linear_run(policy, theta, rounds=40, batch=50, seed=0, logistic=False):
    rng = np.random.default_rng(seed)
    n_arms, d = theta.shape
    got = best = rand = 0.0
    for _ in range(rounds):
        X = rng.standard_normal((batch, d))
        values = X @ theta.T
        actions, _ = policy.select(X)
        a = actions[:, 0]
        mean = values[np.arange(batch), a]
        if logistic:
            rewards = (rng.random(batch) < 1 / (1 + np.exp(-mean))).astype(float)
        else:
            rewards = mean + 0.3 * rng.standard_normal(batch)
        policy.update(a, rewards, X)
        got += mean.sum()
        best += values.max(axis=1).sum()
        rand += values.mean(axis=1).sum()
    return got, best, rand


@pytest.mark.parametrize(
    "make, logistic",
    [
        (lambda: rb.LinUCB(8, 5, alpha=0.5, random_state=0), False),
        (lambda: rb.LinTS(8, 5, v=0.3, n_mc=10, random_state=0), False),
        (lambda: rb.LogisticTS(8, 5, precision="full", v=0.5, n_mc=10, random_state=0), True),
        (lambda: rb.LogisticTS(8, 5, v=0.5, n_mc=10, random_state=0), True),
        (
            lambda: rb.HybridLinUCB(8, 5, 1, alpha=0.5, random_state=0).set_arm_features(
                np.ones((8, 1))
            ),
            False,
        ),
    ],
)
def test_linear_environment_beats_uniform(make, logistic):
    theta = np.random.default_rng(3).standard_normal((8, 5))
    got, best, rand = _linear_run(make(), theta, logistic=logistic)
    # regret at most a fifth of uniform random play's
    assert best - got < (best - rand) / 5, (got, best, rand)


def test_pickle_keeps_pending_structural_parameters():
    policy = rb.LinUCB(3, 2, random_state=0)
    policy.update([0], [1.0], np.ones((1, 2)))
    policy.set_params(n_features=5)  # applies at the next fit
    loaded = pickle.loads(pickle.dumps(policy))
    assert loaded.n_features == 5 and loaded.theta_.shape == (3, 2)
    np.testing.assert_array_equal(
        loaded.select(np.ones((4, 2)))[0], policy.select(np.ones((4, 2)))[0]
    )
    loaded.fit([0], [1.0], np.ones((1, 5)))
    assert loaded.theta_.shape == (3, 5)
    # never used: no state travels
    fresh = pickle.loads(pickle.dumps(rb.UCB1(4)))
    assert getattr(fresh, "_native", None) is None and fresh.n_arms_ == 4
