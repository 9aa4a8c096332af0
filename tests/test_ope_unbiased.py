"""Unbiasedness in simulation, and the evaluator table."""

import numpy as np
import pytest

from reelrec.ope import (
    BanditLog,
    OffPolicyEvaluator,
    RewardModel,
    SyntheticBanditEnvironment,
    dm,
    dr,
    dr_os,
    ips,
    replay,
    sndr,
    snips,
    switch_dr,
)

N_SEEDS = 50


def errors(env, n, estimator, target, seeds=N_SEEDS):
    """Estimate - truth on `seeds` independent logs (truth on each log's own contexts)."""
    out = []
    for seed in range(seeds):
        log = env.sample(n, random_state=1000 + seed)
        pi = target(log.contexts)
        out.append(float(estimator(log, pi)) - env.policy_value(pi, log.contexts))
    return np.array(out)


def assert_unbiased(err):
    se = err.std(ddof=1) / np.sqrt(err.size)
    assert abs(err.mean()) <= 3.5 * se, (err.mean(), se)


@pytest.mark.parametrize("behavior", ["uniform", "softmax"])
def test_ips_and_dr_unbiased(behavior):
    env = SyntheticBanditEnvironment(n_actions=5, dim=3, behavior_policy=behavior, beta=3.0, random_state=11)

    def target(X):
        return env.policy(X, "softmax", beta=-4.0)

    def biased_model(log):  # a fixed, wrong model: DR stays unbiased, DM does not
        return env.expected_rewards(log.contexts) + 0.1

    assert_unbiased(errors(env, 1000, lambda log, pi: ips(log.rewards, log.actions, log.propensities, pi), target))
    err_dr = errors(
        env, 1000, lambda log, pi: dr(log.rewards, log.actions, log.propensities, pi, biased_model(log)), target
    )
    assert_unbiased(err_dr)
    err_dm = errors(env, 1000, lambda log, pi: dm(pi, biased_model(log)), target, seeds=5)
    np.testing.assert_allclose(err_dm, 0.1, atol=1e-12)


def test_replay_unbiased_under_uniform_logging():
    env = SyntheticBanditEnvironment(n_actions=4, dim=3, behavior_policy="uniform", random_state=12)

    def greedy(X):
        return env.policy(X, "greedy")

    def stochastic(X):
        return env.policy(X, "softmax", beta=5.0)

    for target in (greedy, stochastic):
        assert_unbiased(errors(env, 2000, lambda log, pi: replay(log.rewards, log.actions, pi), target))


def test_cross_fitted_dr_close_to_truth():
    env = SyntheticBanditEnvironment(n_actions=4, dim=2, behavior_policy="softmax", random_state=13)

    def target(X):
        return env.policy(X, "epsilon_greedy", epsilon=0.2)

    def est(log, pi):
        q = RewardModel("logistic", n_folds=2, random_state=0).fit_predict(log)
        return dr(log.rewards, log.actions, log.propensities, pi, q)

    assert_unbiased(errors(env, 1500, est, target, seeds=20))


def test_evaluator_table_matches_functions():
    env = SyntheticBanditEnvironment(n_actions=5, dim=3, random_state=1)
    log = env.sample(2000, random_state=2)
    pi = env.policy(log.contexts, "softmax", beta=3.0)
    q = env.expected_rewards(log.contexts)
    specs = ["replay", "ips", ("ips", {"clip": 2}), "snips", "dm", "dr", "sndr",
             ("switch_dr", {"tau": 1.5}), ("dr_os", {"lambda_": 4.0})]
    table = OffPolicyEvaluator(log, specs).evaluate(pi, q)
    args = (log.rewards, log.actions, log.propensities, pi)
    expected = {
        "replay": replay(log.rewards, log.actions, pi),
        "ips": ips(*args),
        "ips(clip=2)": ips(*args, clip=2),
        "snips": snips(*args),
        "dm": dm(pi, q),
        "dr": dr(*args, q),
        "sndr": sndr(*args, q),
        "switch_dr(tau=1.5)": switch_dr(*args, q, 1.5),
        "dr_os(lambda=4)": dr_os(*args, q, 4.0),
    }
    assert list(table) == list(expected)
    for k, e in expected.items():
        assert table[k].value == e.value and table[k].stderr == e.stderr
    rows = table.rows()
    assert rows[1]["relative"] == pytest.approx(expected["ips"].value / log.rewards.mean())
    assert "boot_lower" not in rows[0]
    text = str(table)
    assert "switch_dr(tau=1.5)" in text and "ess" in text
    frame = table.to_frame()
    assert frame.loc["dr", "value"] == expected["dr"].value


def test_evaluator_fits_and_caches_reward_model():
    env = SyntheticBanditEnvironment(n_actions=3, dim=2, random_state=1)
    log = env.sample(600, random_state=2)
    pi = env.policy(log.contexts, "uniform")
    ev = OffPolicyEvaluator(log, ["dm", "dr"], random_state=0)
    t1 = ev.evaluate(pi)
    q = ev.estimated_rewards_
    expected = RewardModel("logistic", random_state=0).fit_predict(log)
    np.testing.assert_array_equal(q, expected)
    t2 = ev.evaluate(env.policy(log.contexts, "greedy"))
    assert ev.estimated_rewards_ is q and t1["dm"].value != t2["dm"].value
    ridge = OffPolicyEvaluator(log, ["dm"], reward_model=RewardModel("ridge", n_folds=1)).evaluate(pi)
    assert ridge["dm"].value == pytest.approx(dm(pi, RewardModel("ridge").fit(log).predict(log.contexts)).value)


def test_evaluator_bad_specs():
    log = BanditLog(None, [0, 1], [1.0, 0.0], [0.5, 0.5])
    pi = np.full((2, 2), 0.5)
    with pytest.raises(ValueError, match="estimators: unknown estimator 'magic'"):
        OffPolicyEvaluator(log, ["magic"]).evaluate(pi)
    with pytest.raises(ValueError, match=r"estimators: switch_dr needs the parameter\(s\) \['tau'\]"):
        OffPolicyEvaluator(log, ["switch_dr"]).evaluate(pi)
    with pytest.raises(ValueError, match=r"estimators: ips takes parameters \['clip'\], got \['tau'\]"):
        OffPolicyEvaluator(log, [("ips", {"tau": 1})]).evaluate(pi)
    with pytest.raises(ValueError, match="estimators: 'ips' is listed twice"):
        OffPolicyEvaluator(log, ["ips", "ips"]).evaluate(pi)
    with pytest.raises(TypeError, match="estimators: expected a sequence of estimator names"):
        OffPolicyEvaluator(log, "ips").evaluate(pi)
    with pytest.raises(TypeError, match="estimators: expected names or"):
        OffPolicyEvaluator(log, [3]).evaluate(pi)
    with pytest.raises(TypeError, match="log: expected a reelrec.ope.BanditLog"):
        OffPolicyEvaluator(log.to_obp(), ["ips"]).evaluate(pi)
    with pytest.raises(ValueError, match=r"target_probs: expected 2 rows \(one per round\)"):
        OffPolicyEvaluator(log, ["ips"]).evaluate(np.full((3, 2), 0.5))
