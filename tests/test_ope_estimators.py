"""Off-policy estimators: native results against straight NumPy formulas, and bad inputs."""

import functools

import numpy as np
import pytest

import ope_reference as ref
from reelrec.ope import (
    Estimate,
    SyntheticBanditEnvironment,
    dm,
    dr,
    dr_os,
    ips,
    load_open_bandit,
    replay,
    sndr,
    snips,
    switch_dr,
)

RTOL = 1e-9
load_cached = functools.lru_cache(load_open_bandit)


def all_estimates(r, a, ps, pi, q, positions=None):
    """(native Estimate, reference value) for every estimator and a few parameters."""
    kw = {"positions": positions}
    return [
        (replay(r, a, pi, **kw), ref.replay(r, a, pi, positions)),
        (ips(r, a, ps, pi, **kw), ref.ips(r, a, ps, pi, positions=positions)),
        (ips(r, a, ps, pi, clip=2.0, **kw), ref.ips(r, a, ps, pi, 2.0, positions)),
        (snips(r, a, ps, pi, **kw), ref.snips(r, a, ps, pi, positions)),
        (dm(pi, q, **kw), ref.dm(pi, q, positions)),
        (dr(r, a, ps, pi, q, **kw), ref.dr(r, a, ps, pi, q, positions=positions)),
        (dr(r, a, ps, pi, q, clip=3.0, **kw), ref.dr(r, a, ps, pi, q, 3.0, positions)),
        (sndr(r, a, ps, pi, q, **kw), ref.sndr(r, a, ps, pi, q, positions)),
        (switch_dr(r, a, ps, pi, q, 1.5, **kw), ref.switch_dr(r, a, ps, pi, q, 1.5, positions)),
        (switch_dr(r, a, ps, pi, q, np.inf, **kw), ref.dr(r, a, ps, pi, q, positions=positions)),
        (switch_dr(r, a, ps, pi, q, 0.0, **kw), ref.dm(pi, q, positions)),
        (dr_os(r, a, ps, pi, q, 5.0, **kw), ref.dr_os(r, a, ps, pi, q, 5.0, positions)),
        (dr_os(r, a, ps, pi, q, 0.0, **kw), ref.dm(pi, q, positions)),
        (dr_os(r, a, ps, pi, q, np.inf, **kw), ref.dr(r, a, ps, pi, q, positions=positions)),
    ]


@pytest.fixture(scope="module")
def synthetic():
    env = SyntheticBanditEnvironment(
        n_actions=6, dim=4, behavior_policy="softmax", beta=2.0, random_state=3
    )
    log = env.sample(3000, random_state=4)
    pi = env.policy(log.contexts, "softmax", beta=-3.0)
    q = env.expected_rewards(log.contexts) + 0.05  # a deliberately biased model
    return log, pi, q


def test_matches_numpy_on_synthetic(synthetic):
    log, pi, q = synthetic
    for est, expected in all_estimates(log.rewards, log.actions, log.propensities, pi, q):
        assert isinstance(est, Estimate)
        np.testing.assert_allclose(float(est), expected, rtol=RTOL, atol=1e-12, err_msg=est.name)


def test_deterministic_replay_is_matched_mean(synthetic):
    log, pi, _ = synthetic
    greedy = np.zeros_like(pi)
    greedy[np.arange(len(pi)), pi.argmax(1)] = 1
    match = log.actions == pi.argmax(1)
    assert float(replay(log.rewards, log.actions, greedy)) == pytest.approx(
        log.rewards[match].mean(), rel=1e-12
    )


def test_position_slices_and_broadcasting():
    rng = np.random.default_rng(0)
    n, A, P = 500, 4, 3
    pi3 = rng.dirichlet(np.ones(A), size=(n, P)).transpose(0, 2, 1).copy()
    q3 = rng.random((n, A, P))
    a = rng.integers(0, A, n)
    pos = rng.integers(0, P, n)
    r = rng.random(n)
    ps = np.full(n, 1 / A)
    for est, expected in all_estimates(r, a, ps, pi3, q3, positions=pos):
        np.testing.assert_allclose(float(est), expected, rtol=RTOL, err_msg=est.name)
    # a 2-d array applies to every position: equal to its broadcast 3-d version
    pi2 = pi3[:, :, 0].copy()
    broadcast = np.repeat(pi2[:, :, None], P, axis=2)
    assert float(dr(r, a, ps, pi2, q3, positions=pos)) == pytest.approx(
        float(dr(r, a, ps, broadcast, q3, positions=pos)), rel=1e-13
    )
    assert float(dm(pi3, q3[:, :, 1], positions=pos)) == pytest.approx(
        ref.dm(pi3, np.repeat(q3[:, :, 1:2], P, axis=2), pos), rel=1e-12
    )


@pytest.mark.parametrize("policy", ["random", "bts"])
def test_matches_numpy_on_open_bandit(obd_path, policy):
    log = load_cached(obd_path, policy, "men")
    bts = load_cached(obd_path, "bts", "men")
    pi = ref.bts_action_dist(bts, log.n_rounds)  # OBP's example: evaluate BTS on the logs
    rng = np.random.default_rng(1)
    q = rng.random((log.n_rounds, log.n_actions, log.n_positions)) * 0.01
    r, a, ps, pos = log.rewards, log.actions, log.propensities, log.positions
    for est, expected in all_estimates(r, a, ps, pi, q, positions=pos):
        np.testing.assert_allclose(float(est), expected, rtol=RTOL, atol=1e-15, err_msg=est.name)


def test_clt_interval_and_diagnostics(synthetic):
    log, pi, q = synthetic
    r, a, ps = log.rewards, log.actions, log.propensities
    w = ref.weights(pi, a, ps)
    est = ips(r, a, ps, pi)
    se = np.std(w * r, ddof=1) / np.sqrt(len(r))
    assert est.stderr == pytest.approx(se, rel=1e-10)
    assert est.ci == pytest.approx(
        (float(est) - 1.959963984540054 * se, float(est) + 1.959963984540054 * se)
    )
    assert est.ess == pytest.approx(w.sum() ** 2 / (w**2).sum(), rel=1e-12)
    assert est.max_weight == pytest.approx(w.max())
    assert est.n == len(r)
    lo, hi = est.clt_interval(0.1)
    assert lo > est.ci[0] and hi < est.ci[1]
    # SNIPS: delta-method linearisation; its mean is the estimate
    s = snips(r, a, ps, pi)
    R = np.sum(w * r) / np.sum(w)
    psi = R + (w * r - R * w) / w.mean()
    assert s.round_values == pytest.approx(psi, rel=1e-9, abs=1e-12)
    assert s.round_values.mean() == pytest.approx(float(s), rel=1e-9)
    assert s.stderr == pytest.approx(np.std(psi, ddof=1) / np.sqrt(len(r)), rel=1e-9)
    assert dm(pi, q).ess is None and dm(pi, q).max_weight is None
    rep = replay(r, a, pi)
    m = pi[np.arange(len(a)), a]
    assert rep.ess == pytest.approx(m.sum() ** 2 / (m**2).sum()) and rep.max_weight <= 1


def test_replay_without_matches_warns_nan():
    pi = np.tile([1.0, 0.0], (4, 1))
    with pytest.warns(RuntimeWarning, match="zero weight under the target policy"):
        est = replay(np.ones(4), np.ones(4, dtype=int), pi)
    assert np.isnan(float(est))


def test_thread_count_does_not_change_results(synthetic):
    log, pi, q = synthetic
    args = (log.rewards, log.actions, log.propensities, pi, q)
    a = dr(*args, num_threads=1).round_values
    b = dr(*args, num_threads=2).round_values
    np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------------- bad inputs
@pytest.fixture
def small():
    rng = np.random.default_rng(0)
    n, A = 20, 3
    return {
        "r": rng.random(n),
        "a": rng.integers(0, A, n),
        "ps": np.full(n, 1 / A),
        "pi": np.full((n, A), 1 / A),
        "q": rng.random((n, A)),
    }


def test_bad_propensities(small):
    s = small
    for bad in (0.0, 1.5, -0.1):
        ps = s["ps"].copy()
        ps[3] = bad
        with pytest.raises(ValueError, match=r"propensities: expected probabilities in \(0, 1\]"):
            ips(s["r"], s["a"], ps, s["pi"])


def test_bad_actions(small):
    s = small
    a = s["a"].copy()
    a[0] = 3
    with pytest.raises(IndexError, match="actions: index 3 is out of range for 3 entries"):
        snips(s["r"], a, s["ps"], s["pi"])
    a[0] = -1
    with pytest.raises(IndexError, match="actions: indices must be >= 0"):
        dr(s["r"], a, s["ps"], s["pi"], s["q"])
    with pytest.raises(TypeError, match="actions: expected integer indices"):
        ips(s["r"], s["a"].astype(float), s["ps"], s["pi"])


def test_mismatched_lengths(small):
    s = small
    with pytest.raises(ValueError, match=r"actions: expected 20 values \(one per round\)"):
        ips(s["r"], s["a"][:-1], s["ps"], s["pi"])
    with pytest.raises(
        ValueError, match=r"propensities: expected 20 values \(one per round\), got 19"
    ):
        ips(s["r"], s["a"], s["ps"][:-1], s["pi"])
    with pytest.raises(ValueError, match=r"target_probs: expected 20 rows \(one per round\)"):
        ips(s["r"], s["a"], s["ps"], s["pi"][:-1])
    with pytest.raises(ValueError, match="estimated_rewards: expected 20 rows"):
        dr(s["r"], s["a"], s["ps"], s["pi"], s["q"][:5])
    with pytest.raises(ValueError, match=r"estimated_rewards: expected 3 actions \(axis 1\)"):
        dr(s["r"], s["a"], s["ps"], s["pi"], s["q"][:, :2])


def test_nan_values(small):
    s = small
    r = s["r"].copy()
    r[2] = np.nan
    with pytest.raises(ValueError, match="rewards: contains NaN or infinite values"):
        ips(r, s["a"], s["ps"], s["pi"])
    q = s["q"].copy()
    q[1, 1] = np.inf
    with pytest.raises(ValueError, match="estimated_rewards: contains NaN or infinite values"):
        dm(s["pi"], q)
    pi = s["pi"].copy()
    pi[0, 0] = np.nan
    with pytest.raises(ValueError, match="target_probs: contains NaN or infinite values"):
        ips(s["r"], s["a"], s["ps"], pi)


def test_target_probs_with_positions_sum_to_one_per_position():
    """(n, A, P): every round and position sums to 1 (checked per position, not in total)."""
    from reelrec.ope.estimators import check_target_probs

    rng = np.random.default_rng(3)
    pi = rng.random((50, 7, 3))
    pi /= pi.sum(axis=1, keepdims=True)
    assert check_target_probs(pi) is not None
    bad = pi.copy()
    # moves 0.05 of probability from position 1 to position 0 of round 31:
    # the round's total over positions is still 3
    bad[31, 2, 0] += 0.05
    bad[31, 2, 1] -= min(0.05, bad[31, 2, 1])
    with pytest.raises(ValueError, match="sum to 1 over actions.*round 31"):
        check_target_probs(bad)


def test_bad_target_probs(small):
    s = small
    pi = s["pi"].copy()
    pi[4] = [0.5, 0.5, 0.5]
    with pytest.raises(
        ValueError,
        match="target_probs: each round's probabilities must sum to 1 over actions.*round 4",
    ):
        ips(s["r"], s["a"], s["ps"], pi)
    pi = s["pi"].copy()
    pi[0] = [1.2, -0.1, -0.1]
    with pytest.raises(ValueError, match="target_probs: probabilities must be >= 0"):
        ips(s["r"], s["a"], s["ps"], pi)
    with pytest.raises(
        ValueError, match=r"target_probs: expected shape \(n_rounds, n_actions\) or"
    ):
        ips(s["r"], s["a"], s["ps"], s["pi"][:, 0])
    with pytest.raises(
        ValueError, match=r"target_probs: expected shape \(n_rounds, n_actions\) or"
    ):
        ips(s["r"], s["a"], s["ps"], s["pi"][:, :, None, None])
    with pytest.raises(TypeError, match="target_probs: expected a float array"):
        ips(s["r"], s["a"], s["ps"], [["a", "b", "c"]] * 20)


def test_positions_required_and_in_range(small):
    s = small
    pi3 = np.repeat(s["pi"][:, :, None], 3, axis=2)
    with pytest.raises(
        ValueError, match="positions: required because target_probs has 3 position slices"
    ):
        ips(s["r"], s["a"], s["ps"], pi3)
    pos = np.zeros(20, dtype=int)
    pos[5] = 3
    with pytest.raises(
        IndexError, match=r"positions: position 3 has no slice in target_probs \(3 slices"
    ):
        ips(s["r"], s["a"], s["ps"], pi3, positions=pos)
    with pytest.raises(IndexError, match="positions: indices must be >= 0"):
        ips(s["r"], s["a"], s["ps"], pi3, positions=-pos)
    # one slice applies to every position
    assert float(ips(s["r"], s["a"], s["ps"], pi3[:, :, :1], positions=pos)) == pytest.approx(
        float(ips(s["r"], s["a"], s["ps"], s["pi"]))
    )


def test_empty_log():
    with pytest.raises(ValueError, match="rewards: expected at least one round, got an empty log"):
        ips(np.zeros(0), np.zeros(0, int), np.zeros(0), np.zeros((0, 3)))
    with pytest.raises(ValueError, match="target_probs: expected at least one round"):
        dm(np.zeros((0, 3)), np.zeros((0, 3)))


def test_bad_parameters(small):
    s = small
    args = (s["r"], s["a"], s["ps"], s["pi"])
    with pytest.raises(ValueError, match=r"clip: expected a value > 0 \(inf allowed\), got 0.0"):
        ips(*args, clip=0)
    with pytest.raises(ValueError, match="tau: expected a value >= 0"):
        switch_dr(*args, s["q"], -1)
    with pytest.raises(ValueError, match="lambda_: expected a value >= 0"):
        dr_os(*args, s["q"], float("nan"))
    with pytest.raises(TypeError, match="tau: expected a number, got str"):
        switch_dr(*args, s["q"], "10")
    with pytest.raises(ValueError, match=r"num_threads: expected an integer in \[0, 65536\]"):
        ips(*args, num_threads=-1)
    assert ips(*args, clip=1.0).name == "ips(clip=1)"
    assert switch_dr(*args, s["q"], np.inf).name == "switch_dr(tau=inf)"
