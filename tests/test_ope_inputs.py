"""Review fixes in reelrec.ope: the evaluator's reward-model cache, non-finite
reward models, Vowpal Wabbit parsing, error messages, rejected inputs and the
log's private copies."""

import warnings

import numpy as np
import pytest

from reelrec import ope
from reelrec.ope import (
    BanditLog,
    ConvergenceWarning,
    OffPolicyEvaluator,
    RewardModel,
    SyntheticBanditEnvironment,
    bootstrap_estimates,
    dm,
    dr,
    ips,
    load_open_bandit,
    snips,
)
from reelrec.ope._log import _private


@pytest.fixture(scope="module")
def synthetic():
    env = SyntheticBanditEnvironment(n_actions=4, dim=3, random_state=0)
    log = env.sample(1500, random_state=1)
    return env, log, env.policy(log.contexts, "uniform")


# ---------------------------------------------------------------------- 1. evaluator cache
def test_evaluator_refits_after_reward_model_is_replaced(synthetic):
    _, log, pi = synthetic
    ev = OffPolicyEvaluator(log, ["dm", "dr"], random_state=0)
    before = ev.evaluate(pi)["dm"].value
    ev.reward_model = RewardModel("ridge", l2=1e6, random_state=0)
    after = ev.evaluate(pi)["dm"].value
    fresh = OffPolicyEvaluator(
        log, ["dm"], reward_model=RewardModel("ridge", l2=1e6, random_state=0)
    ).evaluate(pi)["dm"]
    assert after == fresh.value and after != before
    # a parameter changed on the same model object counts as a new model
    ev.reward_model.l2 = 1.0
    expected = RewardModel("ridge", l2=1.0, random_state=0).fit_predict(log)
    ev.evaluate(pi)
    np.testing.assert_array_equal(ev.estimated_rewards_, expected)
    # nothing changed: the cached predictions are reused, not refitted
    q = ev.estimated_rewards_
    ev.evaluate(pi)
    assert ev.estimated_rewards_ is q


def test_evaluator_refits_after_log_is_replaced(synthetic):
    env, log, pi = synthetic
    ev = OffPolicyEvaluator(log, ["dm"], random_state=0)
    ev.evaluate(pi)
    other = env.sample(800, random_state=7)
    ev.log = other
    value = ev.evaluate(env.policy(other.contexts, "uniform"))["dm"].value
    expected = OffPolicyEvaluator(other, ["dm"], random_state=0).evaluate(
        env.policy(other.contexts, "uniform")
    )["dm"]
    assert ev.estimated_rewards_.shape == (800, 4) and value == expected.value
    # the default model follows the evaluator's random_state
    ev.random_state = 5
    ev.evaluate(env.policy(other.contexts, "uniform"))
    np.testing.assert_array_equal(
        ev.estimated_rewards_, RewardModel("logistic", random_state=5).fit_predict(other)
    )


# ---------------------------------------------------------------------- 2. non-finite models
def test_reward_model_rejects_huge_contexts_and_rewards(synthetic):
    _, log, pi = synthetic
    big = BanditLog(log.contexts * 1e160, log.actions, log.rewards, log.propensities)
    msg = r"contexts: expected values within \+-1e\+30 .*rescale the contexts"
    with pytest.raises(ValueError, match=msg):
        RewardModel().fit(big)
    with pytest.raises(ValueError, match=msg):
        RewardModel().fit_predict(big)
    with pytest.raises(ValueError, match=msg):
        RewardModel().fit(log).predict(log.contexts * 1e31)
    # the evaluator no longer turns them into NaN DM / DR values
    with pytest.raises(ValueError, match=msg):
        OffPolicyEvaluator(big, ["ips", "dm", "dr"], random_state=0).evaluate(pi, n_boot=10)
    loud = BanditLog(log.contexts, log.actions, log.rewards * 1e200, log.propensities)
    with pytest.raises(ValueError, match=r"rewards: expected values within \+-1e\+30"):
        RewardModel("ridge").fit(loud)
    # up to the limit the model is finite
    edge = BanditLog(log.contexts * 2.5e29, log.actions, log.rewards, log.propensities)
    assert np.isfinite(RewardModel("logistic").fit_predict(edge)).all()


class _NaNCoef(RewardModel):
    def _fit_rows(self, log, rows):
        coef, it = super()._fit_rows(log, rows)
        coef[0, 0] = np.nan
        return coef, it


class _HugeCoef(RewardModel):
    def _fit_rows(self, log, rows):
        coef, it = super()._fit_rows(log, rows)
        return np.full_like(coef, 1e308), it


def test_reward_model_refuses_non_finite_output(synthetic):
    _, log, _ = synthetic
    with pytest.raises(ValueError, match="contexts: the reward model's coefficients came out NaN"):
        _NaNCoef().fit(log)
    with pytest.raises(ValueError, match="contexts: the reward model's coefficients came out NaN"):
        _NaNCoef().fit_predict(log)
    with pytest.raises(ValueError, match="contexts: the reward model's predictions came out NaN"):
        _HugeCoef().fit(log).predict(log.contexts)
    with pytest.raises(ValueError, match="contexts: the reward model's predictions came out NaN"):
        _HugeCoef().fit_predict(log)
    dup = BanditLog(
        np.repeat(log.contexts[:, :1], 3, axis=1), log.actions, log.rewards, [1.0] * 1500
    )
    with pytest.raises(
        ValueError, match="l2: the reward model's normal equations are not positive"
    ):
        RewardModel(l2=1e-300).fit(dup)


class _NaNPredictions(RewardModel):
    def fit_predict(self, log):
        q = super().fit_predict(log)
        q[3, 1] = np.nan
        return q


def test_evaluator_validates_model_predictions(synthetic):
    _, log, pi = synthetic
    ev = OffPolicyEvaluator(log, ["dm", "dr"], reward_model=_NaNPredictions())
    with pytest.raises(
        ValueError,
        match=r"reward_model predictions \(estimated_rewards_\): contains NaN or infinite",
    ):
        ev.evaluate(pi)


def test_logistic_convergence_warning(synthetic):
    _, log, _ = synthetic
    with pytest.warns(ConvergenceWarning, match="stopped at max_iter=1"):
        model = RewardModel("logistic", max_iter=1).fit(log)
    assert model.n_iter_ == 1 and issubclass(ConvergenceWarning, RuntimeWarning)
    with pytest.warns(ConvergenceWarning):
        RewardModel("logistic", max_iter=1, random_state=0).fit_predict(log)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        RewardModel("logistic").fit(log)
        RewardModel("ridge", max_iter=1).fit(log)  # closed form: no iterations to run out


def test_predict_uses_the_fitted_kind_and_checks_threads(synthetic):
    _, log, _ = synthetic
    model = RewardModel("ridge").fit(log)
    q = model.predict(log.contexts[:5])
    model.kind = "logistic"
    np.testing.assert_array_equal(model.predict(log.contexts[:5]), q)
    model.num_threads = 2**31
    with pytest.raises(ValueError, match=r"num_threads: expected an integer in \[0, 65536\]"):
        model.predict(log.contexts[:5])


# ---------------------------------------------------------------------- 3. Vowpal Wabbit
def test_vw_tabs_separate_tokens():
    log = BanditLog.from_vw(["1:-1:0.5 |u\ta:1\tb:2", "2:0:0.5\t|u\ta:3"])
    assert log.feature_names == ["u^a", "u^b"]
    np.testing.assert_array_equal(log.contexts, [[1.0, 2.0], [3.0, 0.0]])


def test_vw_feature_names_are_exact_strings():
    log = BanditLog.from_vw(["1:-1:0.5 | f01:1 f1:2", "1:0:0.5 | f1:3"])
    assert log.feature_names == ["f01", "f1"]
    np.testing.assert_array_equal(log.contexts, [[1.0, 2.0], [0.0, 3.0]])
    # what to_vw writes keeps the column numbers
    numbered = BanditLog.from_vw(["1:-1:0.5 | f0:1 f2:2"])
    assert numbered.feature_names is None
    np.testing.assert_array_equal(numbered.contexts, [[1.0, 0.0, 2.0]])
    # the same name in two namespaces is two features
    assert BanditLog.from_vw(["1:0:0.5 |u a |v a"]).feature_names == ["u^a", "v^a"]


def test_vw_dim():
    with pytest.raises(ValueError, match="dim: the lines have 1 distinct named features"):
        BanditLog.from_vw(["1:-1:0.5 | a:1"], dim=5)
    assert BanditLog.from_vw(["1:-1:0.5 | a:1 b"], dim=2).dim == 2
    assert BanditLog.from_vw(["1:-1:0.5 | f1:1"], dim=np.int64(4)).dim == 4
    with pytest.raises(TypeError, match="dim: expected a non-negative integer, got str '3'"):
        BanditLog.from_vw(["1:-1:0.5 | f1:1"], dim="3")
    with pytest.raises(TypeError, match="dim: expected a non-negative integer, got bool"):
        BanditLog.from_vw(["1:-1:0.5 | f1:1"], dim=True)
    with pytest.raises(ValueError, match="dim: expected a non-negative integer, got -1"):
        BanditLog.from_vw(["1:-1:0.5 | f1:1"], dim=-1)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("1:-1:0.5 |u:x a", r"vw line 2: cannot parse the namespace weight in '\|u:x'"),
        ("1:-1:0.5 |u:nan a", r"vw line 2: cannot parse the namespace weight in '\|u:nan'"),
        ("1:x:0.5 | a", "vw line 2: cannot parse the label '1:x:0.5'"),
        ("1:nan:0.5 | a", "vw line 2: cannot parse the label '1:nan:0.5'"),
        ("1:0:inf | a", "vw line 2: cannot parse the label '1:0:inf'"),
        ("1.5:0:0.5 | a", "vw line 2: cannot parse the label '1.5:0:0.5'"),
        ("1_0:0:0.5 | a", "vw line 2: cannot parse the label '1_0:0:0.5'"),
        ("99999999999999999999:1:0.5 | a", "vw line 2: action 99999999999999999999 is beyond"),
        ("1:0:0.5 | a:nan", "vw line 2: cannot parse the feature 'a:nan'"),
        ("1:0:0.5 |u:1e300 a:1e300", "vw line 2: the feature 'a:1e300' overflows"),
        ("1:0:1.5 | a", r"propensities: expected probabilities in \(0, 1\], got 1.5 \(vw line 2\)"),
    ],
)
def test_vw_parse_errors_name_the_line(line, message):
    with pytest.raises(ValueError, match=message):
        BanditLog.from_vw(["1:0:0.5 | a", line])


def test_vw_action_below_one_names_the_line():
    with pytest.raises(IndexError, match=r"1-based, got -2 \(vw line 2\)"):
        BanditLog.from_vw(["1:0:0.5 | a", "-2:0:0.5 | a"])


def test_vw_text_source(tmp_path):
    rng = np.random.default_rng(0)
    log = BanditLog(rng.normal(size=(20, 3)), rng.integers(0, 4, 20), rng.random(20), [0.5] * 20)
    text = log.to_vw()
    back = BanditLog.from_vw(text, n_actions=log.n_actions, dim=log.dim)
    np.testing.assert_array_equal(back.contexts, log.contexts)
    np.testing.assert_array_equal(back.actions, log.actions)
    np.testing.assert_array_equal(back.rewards, log.rewards)
    assert BanditLog.from_vw("1:0:0.5 | a\r\n2:0:0.5 | b").n_rounds == 2
    with pytest.raises(FileNotFoundError, match="source: no file named '1:0:0.5 | a'.*line break"):
        BanditLog.from_vw("1:0:0.5 | a")
    with pytest.raises(FileNotFoundError):
        BanditLog.from_vw(str(tmp_path / "missing.vw"))
    with pytest.raises(TypeError, match="source: expected a path, Vowpal Wabbit text"):
        BanditLog.from_vw(b"1:0:0.5 | a\n")
    with pytest.raises(TypeError, match="source: expected a path, Vowpal Wabbit text"):
        BanditLog.from_vw(3)
    with pytest.raises(TypeError, match="source: line 2 is not a str, got bytes"):
        BanditLog.from_vw(["1:0:0.5 | a", b"1:0:0.5 | a"])


# ---------------------------------------------------------------------- 4. messages
def _fake_obd(root, rows, items=None, header=None):
    folder = root / "random" / "men"
    folder.mkdir(parents=True, exist_ok=True)
    header = header or ",timestamp,item_id,position,click,propensity_score,user_feature_0"
    (folder / "men.csv").write_text(header + "\n" + "\n".join(rows) + "\n")
    items = items or ["0,0,0.5,a", "1,1,0.2,b"]
    (folder / "item_context.csv").write_text(
        ",item_id,item_feature_0,item_feature_1\n" + "\n".join(items) + "\n"
    )


OK_ROW = "0,2019-11-24 00:03:13+00:00,1,1,0,0.5,aa"


@pytest.mark.parametrize(
    ("bad_row", "column", "what", "value"),
    [
        ("1,2019-11-24 00:03:14+00:00,1,1,,0.5,aa", "click", "a finite number", "''"),
        ("1,2019-11-24 00:03:14+00:00,1,1,nan,0.5,aa", "click", "a finite number", "'nan'"),
        ("1,2019-11-24 00:03:14+00:00,1.0,1,0,0.5,aa", "item_id", "an integer", "'1.0'"),
        ("1,2019-11-24 00:03:14+00:00,1,x,0,0.5,aa", "position", "an integer", "'x'"),
        ("1,2019-11-24 00:03:14+00:00,1,1,0,p,aa", "propensity_score", "a finite number", "'p'"),
        ("1,yesterday,1,1,0,0.5,aa", "timestamp", "an ISO 8601 timestamp", "'yesterday'"),
    ],
)
def test_open_bandit_conversion_errors_name_file_column_line(
    tmp_path, bad_row, column, what, value
):
    _fake_obd(tmp_path, [OK_ROW, bad_row])
    path = tmp_path / "random" / "men" / "men.csv"
    with pytest.raises(ValueError) as info:
        load_open_bandit(tmp_path, "random", "men")
    assert str(info.value) == f"{path}: column '{column}', line 3: expected {what}, got {value}"


def test_open_bandit_item_and_affinity_errors(tmp_path):
    _fake_obd(tmp_path, [OK_ROW], items=["0,0,0.5,a", "1,1,high,b"])
    with pytest.raises(ValueError, match=r"item_context.csv: column 'item_feature_0', line 3"):
        load_open_bandit(tmp_path, "random", "men")
    header = (
        ",timestamp,item_id,position,click,propensity_score,user_feature_0,user-item_affinity_0"
    )
    _fake_obd(tmp_path, [OK_ROW + ",0.5", OK_ROW + ",?"], header=header)
    assert load_open_bandit(tmp_path, "random", "men").dim == 0
    with pytest.raises(ValueError, match=r"men.csv: column 'user-item_affinity_0', line 3"):
        load_open_bandit(tmp_path, "random", "men", include_affinity=True)
    _fake_obd(tmp_path, [OK_ROW, "1,2019-11-24 00:03:14+00:00,1,1"])
    with pytest.raises(ValueError, match="men.csv: line 3 has 4 fields, the header 7"):
        load_open_bandit(tmp_path, "random", "men")


def test_open_bandit_timestamps_without_offset_are_utc(tmp_path):
    _fake_obd(
        tmp_path,
        ["0,2019-11-24 09:03:13+09:00,1,1,0,0.5,aa", "1,2019-11-24 00:03:14,0,2,1,0.5,bb"],
    )
    log = load_open_bandit(tmp_path, "random", "men")
    np.testing.assert_array_equal(
        log.timestamps,
        np.array(["2019-11-24T00:03:13", "2019-11-24T00:03:14"], dtype="datetime64[us]"),
    )


def test_from_obp_n_rounds_type():
    fb = {"action": [0], "reward": [1.0], "pscore": [1.0], "n_rounds": "x"}
    with pytest.raises(TypeError, match=r"feedback\['n_rounds'\]: expected an integer, got str"):
        BanditLog.from_obp(fb)
    fb["n_rounds"] = np.int32(1)
    assert BanditLog.from_obp(fb).n_rounds == 1


def test_mismatched_lengths_blame_the_odd_array():
    with pytest.raises(
        ValueError,
        match=r"rewards: expected 3 values \(one per round\), got 2 \(actions, propensities "
        r"and target_probs have 3\)",
    ):
        ips([1.0, 0.0], [0, 0, 0], [1.0, 1.0, 1.0], np.ones((3, 1)))
    with pytest.raises(
        ValueError, match=r"target_probs: expected 2 rows \(one per round\), got shape \(3, 1\)"
    ):
        snips([1.0, 0.0], [0, 0], [1.0, 1.0], np.ones((3, 1)))
    with pytest.raises(ValueError, match=r"positions: expected 2 values \(one per round\), got 4"):
        dr([1.0, 0.0], [0, 0], [1.0, 1.0], np.ones((2, 1)), np.ones((2, 1)), positions=[0] * 4)
    # a tie: the first argument's length is taken, and the message shows both sides
    with pytest.raises(
        ValueError, match=r"estimated_rewards: expected 2 rows .*\(target_probs has 2\)"
    ):
        dm(np.ones((2, 1)), np.ones((3, 1)))


def test_unsigned_indices_beyond_int64_report_their_value():
    big = np.array([2**64 - 1], dtype=np.uint64)
    with pytest.raises(IndexError, match="actions: index 18446744073709551615 is out of range"):
        ips([1.0], big, [1.0], [[1.0]])
    with pytest.raises(IndexError, match="actions: index 18446744073709551615 is beyond the int64"):
        BanditLog(None, big, [1.0], [1.0])
    with pytest.raises(IndexError, match="positions: index 18446744073709551615 is beyond"):
        ips([1.0], [0], [1.0], [[1.0]], positions=big)
    log = BanditLog(None, np.array([1], dtype=np.uint64), [1.0], [1.0])
    assert log.n_actions == 2 and log.actions.dtype == np.int64


def test_bootstrap_estimates_type_errors():
    e = ips([1.0, 0.0], [0, 0], [1.0, 1.0], np.ones((2, 1)))
    with pytest.raises(TypeError, match="estimates\\[0\\]: expected an Estimate, got int 1"):
        bootstrap_estimates([1])
    with pytest.raises(
        TypeError, match="estimates: expected a sequence of Estimate objects, got a single"
    ):
        bootstrap_estimates(e)
    with pytest.raises(
        TypeError, match="estimates: expected a sequence of Estimate objects, got int"
    ):
        bootstrap_estimates(3)
    assert len(bootstrap_estimates(iter([e]), 20, random_state=0)) == 1


def test_evaluator_position_slices_without_log_positions(synthetic):
    _, log, pi = synthetic
    with pytest.raises(
        ValueError,
        match=r"estimated_rewards: has 2 position slices \(axis 2\) but the log has no "
        r"positions.*positions=",
    ):
        OffPolicyEvaluator(log, ["dm"]).evaluate(pi, np.zeros((log.n_rounds, 4, 2)))
    pi3 = np.repeat(pi[:, :, None], 3, axis=2)
    with pytest.raises(ValueError, match=r"target_probs: has 3 position slices"):
        OffPolicyEvaluator(log, ["ips"]).evaluate(pi3)
    # one slice is fine: it applies to every round
    assert OffPolicyEvaluator(log, ["ips"]).evaluate(pi[:, :, None])["ips"].n == log.n_rounds


# ---------------------------------------------------------------------- 5. accepted bad inputs
def test_evaluate_n_boot_must_be_an_integer(synthetic):
    _, log, pi = synthetic
    ev = OffPolicyEvaluator(log, ["ips"], random_state=0)
    for bad in (0.0, 0.5, 10.0, True, "10"):
        with pytest.raises(TypeError, match="n_boot: expected an integer >= 0"):
            ev.evaluate(pi, n_boot=bad)
    with pytest.raises(ValueError, match="n_boot: expected an integer >= 0.*got -1"):
        ev.evaluate(pi, n_boot=-1)
    assert ev.evaluate(pi, n_boot=np.int64(0)).bootstrap == {}
    assert ev.evaluate(pi, n_boot=np.int64(20)).bootstrap["ips"].n_boot == 20


def test_masked_arrays_are_rejected():
    m = np.ma.masked_array([1.0, 999.0], mask=[0, 1])
    msg = "masked arrays are not supported"
    ones = np.ones((2, 1))
    with pytest.raises(TypeError, match=f"rewards: {msg}"):
        ips(m, [0, 0], [1.0, 1.0], ones)
    with pytest.raises(TypeError, match=f"actions: {msg}"):
        ips([1.0, 1.0], np.ma.masked_array([0, 0]), [1.0, 1.0], ones)
    with pytest.raises(TypeError, match=f"propensities: {msg}"):
        ips([1.0, 1.0], [0, 0], np.ma.masked_array([1.0, 1.0]), ones)
    with pytest.raises(TypeError, match=f"target_probs: {msg}"):
        ips([1.0, 1.0], [0, 0], [1.0, 1.0], np.ma.masked_array(ones))
    with pytest.raises(TypeError, match=f"estimated_rewards: {msg}"):
        dm(ones, np.ma.masked_array(ones))
    with pytest.raises(TypeError, match=f"positions: {msg}"):
        ips([1.0, 1.0], [0, 0], [1.0, 1.0], ones, positions=np.ma.masked_array([0, 0]))
    with pytest.raises(TypeError, match=f"contexts: {msg}"):
        BanditLog(np.ma.masked_array(ones), [0, 0], [1.0, 1.0], [1.0, 1.0])
    with pytest.raises(TypeError, match=f"rewards: {msg}"):
        BanditLog(None, [0, 0], m, [1.0, 1.0])
    log = BanditLog(None, [0, 1], [1.0, 1.0], [1.0, 1.0])
    with pytest.raises(TypeError, match=f"rounds: {msg}"):
        log.subset(np.ma.masked_array([0]))


@pytest.mark.parametrize("dtype", ["timedelta64[s]", "datetime64[s]"])
def test_time_arrays_are_rejected(dtype):
    t = np.array([1, 1], dtype=dtype)
    ones = np.ones((2, 1))
    with pytest.raises(TypeError, match="rewards: expected a 1-d array of numbers"):
        ips(t, [0, 0], [1.0, 1.0], ones)
    with pytest.raises(TypeError, match="actions: expected integer indices"):
        ips([1.0, 1.0], t, [1.0, 1.0], ones)
    with pytest.raises(TypeError, match="propensities: expected a 1-d array of numbers"):
        ips([1.0, 1.0], [0, 0], t, ones)
    with pytest.raises(TypeError, match="target_probs: expected a float array"):
        ips([1.0, 1.0], [0, 0], [1.0, 1.0], np.array([[1], [1]], dtype=dtype))
    with pytest.raises(TypeError, match="positions: expected integer indices"):
        ips([1.0, 1.0], [0, 0], [1.0, 1.0], ones, positions=t)
    with pytest.raises(TypeError, match="contexts: expected a 2-d array of numbers"):
        BanditLog(np.zeros((2, 1), dtype=dtype), [0, 0], [1.0, 1.0], [1.0, 1.0])
    with pytest.raises(TypeError, match="actions: expected integer indices"):
        BanditLog(None, t, [1.0, 1.0], [1.0, 1.0])
    # timestamps are the one place for them
    assert BanditLog(None, [0, 0], [1.0, 1.0], [1.0, 1.0], timestamps=t).timestamps.dtype == t.dtype


# ---------------------------------------------------------------------- 6. private copies
def test_log_does_not_share_memory_with_inputs():
    rng = np.random.default_rng(0)
    X, a, r, p = rng.normal(size=(30, 3)), rng.integers(0, 4, 30), rng.random(30), np.full(30, 0.5)
    pos, ts, ac = rng.integers(0, 2, 30), np.arange(30).astype("datetime64[s]"), np.ones((4, 2))
    log = BanditLog(X, a, r, p, positions=pos, timestamps=ts, n_actions=4, action_context=ac)
    for mine, theirs in [
        (log.contexts, X),
        (log.actions, a),
        (log.rewards, r),
        (log.propensities, p),
        (log.positions, pos),
        (log.timestamps, ts),
        (log.action_context, ac),
    ]:
        assert not np.shares_memory(mine, theirs)
    X[0, 0], a[0], r[0], p[:] = np.nan, 10**9, np.inf, 0.0
    assert np.isfinite(log.contexts).all() and log.actions.max() < 4
    assert np.isfinite(log.rewards).all() and log.propensities.min() > 0
    # views (a strided slice, a buffer) are copied too
    sliced = BanditLog(X[::2, 1:], a[::2] % 4, r[1::2], p[::2] + 0.5)
    assert not np.shares_memory(sliced.contexts, X) and not np.shares_memory(sliced.rewards, r)


def test_private_copies_only_when_sharing():
    x32 = np.ones((4, 2), dtype=np.float32)
    converted = np.ascontiguousarray(x32, dtype=np.float64)
    assert _private(converted, x32) is converted  # the conversion already copied
    x64 = np.ones((4, 2))
    same = np.ascontiguousarray(x64, dtype=np.float64)
    kept = _private(same, x64)
    assert kept is not x64 and not np.shares_memory(kept, x64)
    buf = np.frombuffer(bytearray(32), dtype=np.float64)
    assert _private(buf, buf.tolist()) is not buf  # a view of someone's buffer
    fresh = np.asarray([1.0, 2.0])
    assert _private(fresh, [1.0, 2.0]) is fresh


# ---------------------------------------------------------------------- synthetic softmax
def test_softmax_policy_with_huge_beta_is_greedy_not_nan():
    env = SyntheticBanditEnvironment(reward="linear", random_state=0)
    X = np.ones((2, 5)) * 3
    q = env.expected_rewards(X)
    for beta, pick in ((1e308, q.argmax(1)), (-1e308, q.argmin(1))):
        pi = env.policy(X, "softmax", beta=beta)
        expected = np.zeros_like(q)
        expected[np.arange(2), pick] = 1.0
        np.testing.assert_array_equal(pi, expected)
    np.testing.assert_array_equal(env.policy(X, "softmax", beta=0.0), np.full((2, 10), 0.1))
    log = SyntheticBanditEnvironment(reward="linear", beta=1e308, random_state=0).sample(10)
    assert np.all(log.propensities == 1.0)
    # unchanged for ordinary betas
    z = 2.0 * q
    e = np.exp(z - z.max(1, keepdims=True))
    np.testing.assert_allclose(env.policy(X, "softmax", beta=2.0), e / e.sum(1, keepdims=True))
    assert ope.SyntheticBanditEnvironment is SyntheticBanditEnvironment


def test_tiny_propensities():
    from reelrec import ope

    # weights near 1e160: Kish's ESS must not overflow (it is scale-free)
    est = ope.snips([1.0, 0.0], [0, 0], [1e-160, 1e-160], [[1.0], [1.0]])
    assert float(est) == 0.5 and est.ess == pytest.approx(2.0)
    with pytest.raises(
        ValueError, match=r"propensities: expected probabilities in \(0, 1\] \(at least 1e-300\)"
    ):
        ope.ips([1.0], [0], [5e-324], [[1.0]])


def test_evaluator_default_model_on_short_logs():
    from reelrec import ope

    log = ope.BanditLog(np.ones((2, 2)), [0, 1], [1.0, 0.0], [0.5, 0.5], n_actions=2)
    res = ope.OffPolicyEvaluator(log, ["dm", "dr"], random_state=0).evaluate(np.full((2, 2), 0.5))
    assert np.isfinite(float(res["dm"])) and np.isfinite(float(res["dr"]))


def test_huge_integer_parameters_named():
    from reelrec import ope

    with pytest.raises(ValueError, match="below 2\\*\\*62"):
        ope.RewardModel(n_folds=2**64).fit_predict(
            ope.BanditLog(
                np.ones((4, 2)), [0, 1, 0, 1], [1.0, 0.0, 1.0, 0.0], [0.5] * 4, n_actions=2
            )
        )


def test_dr_os_large_finite_lambda_tends_to_dr():
    from reelrec import ope

    r, a, pb = np.array([1.0, 0.0]), np.array([0, 1]), np.array([0.5, 0.5])
    tp, er = np.array([[1.0, 0.0], [0.5, 0.5]]), np.full((2, 2), 0.5)
    dr = float(ope.dr(r, a, pb, tp, er))
    # lambda * w overflowed near the float maximum (inf or NaN estimates)
    for lam in (1e307, 1e308, 1.7e308, np.inf):
        assert float(ope.dr_os(r, a, pb, tp, er, lam)) == pytest.approx(dr, rel=1e-12)
    assert float(ope.dr_os(r, a, pb, tp, er, 0.0)) == pytest.approx(float(ope.dm(tp, er)))
    assert float(ope.dr_os(r, a, pb, tp, er, 1e-300)) == pytest.approx(float(ope.dm(tp, er)))
