"""BanditLog: validation, Open Bandit Dataset loader, OBP dict and Vowpal Wabbit round trips."""

import numpy as np
import pytest

from reelrec.ope import BanditLog, SyntheticBanditEnvironment, load_open_bandit


def make_log(n=50, A=4, d=3, seed=0, positions=True):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    X[rng.random((n, d)) < 0.3] = 0.0  # some zeros: VW writes only non-zero features
    return BanditLog(
        X,
        rng.integers(0, A, n),
        rng.random(n).round(3) * (rng.random(n) < 0.5),
        rng.uniform(0.05, 1.0, n),
        positions=rng.integers(0, 3, n) if positions else None,
        timestamps=np.arange(n).astype("datetime64[s]"),
        n_actions=A,
        action_context=rng.normal(size=(A, 2)),
    )


def assert_same_log(a, b, *, positions=True, action_context=True):
    np.testing.assert_array_equal(a.contexts, b.contexts)
    np.testing.assert_array_equal(a.actions, b.actions)
    np.testing.assert_array_equal(a.rewards, b.rewards)
    np.testing.assert_array_equal(a.propensities, b.propensities)
    assert a.n_actions == b.n_actions
    if positions:
        np.testing.assert_array_equal(a.positions, b.positions)
    if action_context:
        np.testing.assert_array_equal(a.action_context, b.action_context)


def test_attributes_and_subset():
    log = make_log()
    assert (log.n_rounds, log.n_actions, log.dim, log.n_positions, len(log)) == (50, 4, 3, 3, 50)
    assert log.actions.dtype == np.int64 and log.contexts.dtype == np.float64
    sub = log.subset(np.arange(10, 20))
    assert sub.n_rounds == 10 and sub.n_actions == 4
    np.testing.assert_array_equal(sub.rewards, log.rewards[10:20])
    mask = log.rewards > 0
    assert log.subset(mask).n_rounds == mask.sum()
    assert "n_rounds=50" in repr(log)
    none = BanditLog(None, [0, 1], [1.0, 0.0], [0.5, 0.5])
    assert none.dim == 0 and none.n_actions == 2 and none.n_positions == 1


def test_obp_round_trip():
    log = make_log()
    fb = log.to_obp()
    assert set(fb) == {
        "n_rounds",
        "n_actions",
        "action",
        "position",
        "reward",
        "pscore",
        "context",
        "action_context",
    }
    assert fb["n_rounds"] == 50 and fb["n_actions"] == 4
    back = BanditLog.from_obp(fb)
    assert_same_log(log, back)
    fb["expected_reward"] = np.zeros((50, 4))  # extra OBP keys are ignored
    fb["position"] = None
    assert BanditLog.from_obp(fb).positions is None
    fb["n_rounds"] = 49
    with pytest.raises(ValueError, match="feedback: n_rounds is 49 but the arrays hold 50 rounds"):
        BanditLog.from_obp(fb)
    with pytest.raises(ValueError, match=r"feedback: missing required keys \['pscore'\]"):
        BanditLog.from_obp({"action": [0], "reward": [1.0]})


def test_vw_round_trip(tmp_path):
    log = make_log(positions=False)
    text = log.to_vw()
    first = text.splitlines()[0]
    a0, c0, p0 = first.split(" | ")[0].split(":")
    assert int(a0) == log.actions[0] + 1  # 1-based
    assert float(c0) == -log.rewards[0]  # cost = -reward
    assert float(p0) == log.propensities[0]
    back = BanditLog.from_vw(text.splitlines(), n_actions=log.n_actions, dim=log.dim)
    assert_same_log(log, back, positions=False, action_context=False)
    path = tmp_path / "log.vw"
    log.to_vw(path)
    assert_same_log(
        log, BanditLog.from_vw(path, n_actions=4, dim=3), positions=False, action_context=False
    )


def test_vw_namespaces_and_tags():
    lines = [
        "2:-1:0.25 'tag1 |user age:0.5 vip |item:2 cat",
        "1:0:0.5 |user age:1.5",
        "",
    ]
    log = BanditLog.from_vw(lines)
    assert log.feature_names == ["user^age", "user^vip", "item^cat"]
    np.testing.assert_array_equal(log.contexts, [[0.5, 1.0, 2.0], [1.5, 0.0, 0.0]])
    np.testing.assert_array_equal(log.actions, [1, 0])
    np.testing.assert_array_equal(log.rewards, [1.0, 0.0])
    np.testing.assert_array_equal(log.propensities, [0.25, 0.5])


def test_vw_bad_lines():
    with pytest.raises(
        ValueError, match="vw line 1: expected exactly one 'action:cost:probability' label"
    ):
        BanditLog.from_vw(["1:0:0.5 2 | f0:1"])
    with pytest.raises(
        ValueError, match="vw line 2: expected 'action:cost:probability | features'"
    ):
        BanditLog.from_vw(["1:0:0.5 | f0:1", "1:0:0.5"])
    with pytest.raises(ValueError, match="vw line 1: cannot parse the label"):
        BanditLog.from_vw(["a:0:0.5 | f0:1"])
    with pytest.raises(ValueError, match="vw line 1: cannot parse the feature"):
        BanditLog.from_vw(["1:0:0.5 | f0:x"])
    with pytest.raises(IndexError, match="actions: Vowpal Wabbit actions are 1-based, got 0"):
        BanditLog.from_vw(["0:0:0.5 | f0:1"])
    with pytest.raises(ValueError, match=r"propensities: expected probabilities in \(0, 1\]"):
        BanditLog.from_vw(["1:0:0 | f0:1"])
    with pytest.raises(ValueError, match="source: no Vowpal Wabbit lines found"):
        BanditLog.from_vw([""])
    with pytest.raises(ValueError, match="dim: the lines use feature f4, more than dim=2 columns"):
        BanditLog.from_vw(["1:0:0.5 | f4:1"], dim=2)


def test_validation_errors():
    X, a, r, p = np.zeros((3, 2)), [0, 1, 2], [0.0, 1.0, 0.0], [0.5, 0.5, 0.5]
    with pytest.raises(
        ValueError,
        match=r"propensities: expected probabilities in \(0, 1\] \(at least 1e-300\), got 0.0",
    ):
        BanditLog(X, a, r, [0.5, 0.0, 0.5])
    with pytest.raises(
        ValueError,
        match=r"propensities: expected probabilities in \(0, 1\] \(at least 1e-300\), got 1.01",
    ):
        BanditLog(X, a, r, [0.5, 1.01, 0.5])
    with pytest.raises(IndexError, match="actions: index 2 is out of range for 2 entries"):
        BanditLog(X, a, r, p, n_actions=2)
    with pytest.raises(IndexError, match="actions: indices must be >= 0, got -1"):
        BanditLog(X, [0, -1, 2], r, p)
    with pytest.raises(TypeError, match="actions: expected integer indices"):
        BanditLog(X, [0.0, 1.0, 2.0], r, p)
    with pytest.raises(ValueError, match=r"actions: expected 3 values \(one per round\), got 2"):
        BanditLog(X, [0, 1], r, p)
    with pytest.raises(ValueError, match=r"contexts: expected 3 rows \(one per round\), got 2"):
        BanditLog(X[:2], a, r, p)
    with pytest.raises(ValueError, match=r"contexts: expected a 2-d array \(rounds x features\)"):
        BanditLog(np.zeros(3), a, r, p)
    with pytest.raises(ValueError, match="rewards: contains NaN or infinite values"):
        BanditLog(X, a, [0.0, np.nan, 1.0], p)
    Xn = X.copy()
    Xn[1, 1] = np.nan
    with pytest.raises(ValueError, match="contexts: contains NaN or infinite values"):
        BanditLog(Xn, a, r, p)
    with pytest.raises(ValueError, match="rewards: expected at least one round, got an empty log"):
        BanditLog(np.zeros((0, 2)), [], [], [])
    with pytest.raises(ValueError, match=r"positions: expected 3 values \(one per round\)"):
        BanditLog(X, a, r, p, positions=[0, 1])
    with pytest.raises(
        ValueError, match=r"action_context: expected 3 rows \(one per action\), got 2"
    ):
        BanditLog(X, a, r, p, action_context=np.zeros((2, 4)))
    with pytest.raises(ValueError, match=r"timestamps: expected 3 values \(one per round\)"):
        BanditLog(X, a, r, p, timestamps=[1, 2])
    with pytest.raises(ValueError, match="n_actions: expected a positive integer, got 0"):
        BanditLog(X, a, r, p, n_actions=0)
    with pytest.raises(TypeError, match="rewards: expected a 1-d array of numbers"):
        BanditLog(X, a, ["x", "y", "z"], p)
    with pytest.raises(ValueError, match="feature_names: expected 2 names"):
        BanditLog(X, a, r, p, feature_names=["a"])


def test_synthetic_log_is_consistent():
    env = SyntheticBanditEnvironment(
        n_actions=4, dim=2, behavior_policy="epsilon_greedy", epsilon=0.3, random_state=0
    )
    log = env.sample(20000, random_state=1)
    probs = env.behavior_probs(log.contexts)
    np.testing.assert_allclose(probs.sum(1), 1)
    np.testing.assert_array_equal(log.propensities, probs[np.arange(log.n_rounds), log.actions])
    # the logged actions follow the behaviour policy: frequencies match mean probabilities
    freq = np.bincount(log.actions, minlength=4) / log.n_rounds
    np.testing.assert_allclose(freq, probs.mean(0), atol=0.015)
    q = env.expected_rewards(log.contexts)
    assert abs(log.rewards.mean() - q[np.arange(log.n_rounds), log.actions].mean()) < 0.015
    pi = env.policy(log.contexts, "greedy")
    assert env.policy_value(pi, log.contexts) == pytest.approx(q.max(1).mean())
    with pytest.raises(ValueError, match="reward: expected one of"):
        SyntheticBanditEnvironment(reward="poisson")
    with pytest.raises(ValueError, match="policy: expected one of"):
        SyntheticBanditEnvironment(behavior_policy="thompson")
    with pytest.raises(ValueError, match="contexts: expected 2 columns, got 3"):
        env.expected_rewards(np.zeros((1, 3)))
    lin = SyntheticBanditEnvironment(
        reward="linear", behavior_policy="uniform", random_state=0
    ).sample(10)
    assert np.all(lin.propensities == 0.1)


# ---------------------------------------------------------------------- Open Bandit Dataset
@pytest.mark.parametrize("policy", ["random", "bts"])
@pytest.mark.parametrize("campaign", ["men", "women"])
def test_open_bandit_loader(obd_path, policy, campaign):
    pd = pytest.importorskip("pandas")
    log = load_open_bandit(obd_path, policy, campaign)
    n_items = {"men": 34, "women": 46}[campaign]
    assert (log.n_rounds, log.n_actions, log.n_positions) == (10000, n_items, 3)
    assert log.action_context.shape == (n_items, 4)
    assert np.all(np.diff(log.timestamps.astype(np.int64)) >= 0)
    if policy == "random":
        np.testing.assert_allclose(log.propensities, 1 / n_items)
    # independent check with pandas: stable sort by timestamp, one-hot with drop_first
    raw = pd.read_csv(obd_path / policy / campaign / f"{campaign}.csv", index_col=0)
    raw = raw.sort_values("timestamp", kind="stable")
    np.testing.assert_array_equal(log.actions, raw["item_id"].to_numpy())
    np.testing.assert_array_equal(log.positions, raw["position"].to_numpy() - 1)
    np.testing.assert_array_equal(log.rewards, raw["click"].to_numpy())
    np.testing.assert_array_equal(log.propensities, raw["propensity_score"].to_numpy())
    user = raw.loc[:, raw.columns.str.contains("user_feature")]
    dummies = pd.get_dummies(user, drop_first=True)
    np.testing.assert_array_equal(log.contexts, dummies.to_numpy(dtype=float))
    assert log.feature_names == list(dummies.columns)
    items = pd.read_csv(obd_path / policy / campaign / "item_context.csv", index_col=0)
    for j, col in enumerate(["item_feature_1", "item_feature_2", "item_feature_3"]):
        codes = pd.factorize(items[col], sort=True)[0]
        np.testing.assert_array_equal(log.action_context[:, j], codes)
    np.testing.assert_array_equal(log.action_context[:, 3], items["item_feature_0"].to_numpy())
    wide = load_open_bandit(obd_path, policy, campaign, include_affinity=True)
    assert wide.dim == log.dim + n_items


def test_open_bandit_errors(obd_path, tmp_path):
    with pytest.raises(ValueError, match="behavior_policy: expected one of"):
        load_open_bandit(obd_path, "ucb", "men")
    with pytest.raises(ValueError, match="campaign: expected one of"):
        load_open_bandit(obd_path, "random", "kids")
    with pytest.raises(FileNotFoundError, match="Open Bandit Dataset file not found"):
        load_open_bandit(tmp_path, "random", "all")


def test_open_bandit_round_trips(obd_path):
    log = load_open_bandit(obd_path, "bts", "women")
    assert_same_log(log, BanditLog.from_obp(log.to_obp()))
    back = BanditLog.from_vw(log.to_vw().splitlines(), n_actions=log.n_actions, dim=log.dim)
    assert_same_log(log, back, positions=False, action_context=False)
