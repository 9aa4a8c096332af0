"""Reward model: native ridge / logistic against NumPy references, cross-fitting, bad inputs."""

import numpy as np
import pytest

import ope_reference as ref
from reelrec import NotFittedError
from reelrec.ope import BanditLog, RewardModel, SyntheticBanditEnvironment, load_open_bandit


def positioned_log(n=1500, A=5, d=3, seed=0, binary=True):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    a = rng.integers(0, A - 1, n)  # the last action is never logged
    pos = rng.integers(0, 3, n)
    f = X @ rng.normal(size=d) + 0.3 * a - 0.5 * pos - 1
    r = (rng.random(n) < 1 / (1 + np.exp(-f))).astype(float) if binary else f + rng.normal(size=n)
    return BanditLog(X, a, r, np.full(n, 1 / A), positions=pos, n_actions=A)


@pytest.mark.parametrize("kind", ["ridge", "logistic"])
@pytest.mark.parametrize("with_positions", [True, False])
def test_fit_matches_numpy(kind, with_positions):
    log = positioned_log(binary=kind == "logistic")
    if not with_positions:
        log = BanditLog(log.contexts, log.actions, log.rewards, log.propensities, n_actions=log.n_actions)
    model = RewardModel(kind, l2=2.0).fit(log)
    coef = ref.reward_coef(log.contexts, log.rewards, log.actions, log.positions, log.n_actions,
                           log.n_positions, 2.0, kind)
    np.testing.assert_allclose(model.coef_, coef[:-1], rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(model.pooled_coef_, coef[-1], rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(model.coef_[-1], model.pooled_coef_, rtol=0, atol=0)  # unseen action
    q = model.predict(log.contexts)
    expected = ref.reward_predict(log.contexts, coef, log.n_positions, kind)
    if not with_positions:
        expected = expected[:, :, 0]
    assert q.shape == expected.shape
    np.testing.assert_allclose(q, expected, rtol=1e-8, atol=1e-10)
    assert (model.n_iter_ > 0) == (kind == "logistic")


def test_logistic_first_order_optimality():
    """Known answer without a reference solver: the penalised gradient vanishes."""
    log = positioned_log(seed=3)
    model = RewardModel("logistic", l2=0.5).fit(log)
    Phi = ref.features(log.contexts, log.positions, log.n_positions)
    pooled = model.pooled_coef_
    s = 1 / (1 + np.exp(-(Phi @ pooled)))
    np.testing.assert_allclose(Phi.T @ (s - log.rewards) + 0.5 * pooled, 0, atol=1e-8)
    for a in range(log.n_actions - 1):
        rows = log.actions == a
        b = model.coef_[a]
        s = 1 / (1 + np.exp(-(Phi[rows] @ b)))
        np.testing.assert_allclose(Phi[rows].T @ (s - log.rewards[rows]) + 0.5 * (b - pooled), 0, atol=1e-8)


@pytest.mark.parametrize("kind", ["ridge", "logistic"])
def test_cross_fitting(kind):
    log = positioned_log(n=900, seed=1, binary=kind == "logistic")
    model = RewardModel(kind, l2=1.0, n_folds=3, random_state=4)
    q = model.fit_predict(log)
    assert q.shape == (900, 5, 3)
    folds = model.fold_of_round_
    np.testing.assert_array_equal(np.bincount(folds), [300, 300, 300])
    for f in range(3):
        train = folds != f
        coef = ref.reward_coef(log.contexts[train], log.rewards[train], log.actions[train],
                               log.positions[train], 5, 3, 1.0, kind)
        np.testing.assert_allclose(model.fold_coef_[f], coef, rtol=1e-8, atol=1e-10)
        expected = ref.reward_predict(log.contexts[folds == f], coef, 3, kind)
        np.testing.assert_allclose(q[folds == f], expected, rtol=1e-8, atol=1e-10)
    # same seed, same folds; one fold = in-sample fit
    np.testing.assert_array_equal(RewardModel(kind, n_folds=3, random_state=4).fit_predict(log), q)
    np.testing.assert_allclose(RewardModel(kind, n_folds=1).fit_predict(log),
                               RewardModel(kind).fit(log).predict(log.contexts), rtol=1e-13)


def test_thread_invariance():
    env = SyntheticBanditEnvironment(n_actions=8, dim=8, random_state=0)
    log = env.sample(30000, random_state=1)
    a = RewardModel("logistic", num_threads=1).fit(log)
    b = RewardModel("logistic", num_threads=2).fit(log)
    np.testing.assert_array_equal(a.coef_, b.coef_)
    np.testing.assert_array_equal(a.predict(log.contexts[:500]), b.predict(log.contexts[:500]))


def test_logistic_recovers_synthetic_rewards():
    env = SyntheticBanditEnvironment(n_actions=3, dim=2, behavior_policy="uniform", random_state=2)
    log = env.sample(30000, random_state=3)
    q = RewardModel("logistic", l2=1.0, n_folds=2, random_state=0).fit_predict(log)
    assert np.abs(q - env.expected_rewards(log.contexts)).mean() < 0.01


def test_open_bandit_positions(obd_path):
    log = load_open_bandit(obd_path, "random", "women")
    q = RewardModel("logistic", n_folds=2, random_state=0).fit_predict(log)
    assert q.shape == (log.n_rounds, log.n_actions, 3)
    assert np.all((q > 0) & (q < 1))
    assert q.mean() == pytest.approx(log.rewards.mean(), rel=0.3)


def test_bad_inputs():
    log = positioned_log(n=50, binary=False)
    with pytest.raises(ValueError, match=r"rewards: the logistic reward model needs rewards in \[0, 1\]"):
        RewardModel("logistic").fit(log)
    with pytest.raises(ValueError, match="kind: expected 'ridge' or 'logistic', got 'tree'"):
        RewardModel("tree").fit(log)
    with pytest.raises(ValueError, match="l2: expected a positive finite value, got 0"):
        RewardModel(l2=0).fit(log)
    with pytest.raises(ValueError, match="n_folds: expected at most n_rounds=50 folds, got 51"):
        RewardModel(n_folds=51).fit_predict(log)
    with pytest.raises(TypeError, match="n_folds: expected a positive integer"):
        RewardModel(n_folds=2.5).fit_predict(log)
    with pytest.raises(TypeError, match="log: expected a reelrec.ope.BanditLog"):
        RewardModel().fit(log.to_obp())
    with pytest.raises(NotFittedError, match="call fit before predict"):
        RewardModel().predict(log.contexts)
    model = RewardModel().fit(log)
    with pytest.raises(ValueError, match=r"contexts: expected 3 columns \(as in fit\), got 2"):
        model.predict(log.contexts[:, :2])
    bad = log.contexts.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="contexts: contains NaN or infinite values"):
        model.predict(bad)
