"""Bad inputs give precise exceptions, never a crash or a silent wrong answer."""

import numpy as np
import pytest

from reelrec.bandits import (
    UCB1,
    EpsilonGreedy,
    HybridLinUCB,
    LinTS,
    LinUCB,
    LogisticTS,
    Softmax,
    ThompsonSampling,
)

X3 = np.ones((4, 3))


@pytest.mark.parametrize(
    "call, exc, match",
    [
        # contexts
        (lambda: LinUCB(5, 3).select(np.ones((4, 2))), ValueError, "contexts: expected 3 columns"),
        (lambda: LinUCB(5, 3).select(np.ones(3)), ValueError, r"contexts: expected a 2-d array, got shape \(3,\) \(use x.reshape"),
        (lambda: LinTS(5, 3).select(), ValueError, "contexts: LinTS is contextual and needs a contexts array"),
        (lambda: LinUCB(5, 3).select(np.array([[1, np.nan, 0]])), ValueError, "contexts: contains NaN or infinite"),
        (lambda: LinUCB(5, 3).select(np.array([["a", "b", "c"]])), TypeError, "contexts: expected real numbers"),
        (lambda: LinUCB(5, 3).update([0, 1], [1.0, 0.0], np.array([[1, 2, np.inf]] * 2)), ValueError,
         "contexts: contains NaN or infinite"),
        (lambda: HybridLinUCB(5, 3, 2).select(np.ones((2, 4))), ValueError, "contexts: expected 3 columns"),
        # rewards and lengths
        (lambda: UCB1(5).update([0, 1], [1.0, np.nan]), ValueError, "rewards: contains NaN or infinite"),
        (lambda: UCB1(5).update([0, 1, 2], [1.0, 0.0]), ValueError, "actions and rewards differ in length: 3 vs 2"),
        (lambda: UCB1(5).fit([0, 1, 2], [1.0, 0.0]), ValueError, "decisions and rewards differ in length: 3 vs 2"),
        (lambda: LinUCB(5, 3).update([0, 1, 2], [1.0, 0.0, 1.0], np.ones((2, 3))), ValueError,
         r"contexts: expected one row per action \(3\), got 2"),
        (lambda: UCB1(5).update([0, 1], [1.0, 0.0], np.ones((3, 2))), ValueError, "contexts: expected a 2-d array with one row per action"),
        (lambda: ThompsonSampling(5).update([0], [2.0]), ValueError, r"rewards: ThompsonSampling expects rewards in \[0, 1\]"),
        (lambda: LogisticTS(5, 3).update([0], [-1.0], X3[:1]), ValueError, r"expects rewards in \[0, 1\]"),
        (lambda: UCB1(5).update([0], ["x"]), TypeError, "rewards: expected real numbers"),
        (lambda: UCB1(5).update([[0, 1]], [[1.0, 0.0]]), ValueError, "actions: expected a 1-d array of arm ids"),
        # arm ids
        (lambda: UCB1(5).update([0, 7], [1.0, 0.0]), IndexError, "actions: arm id 7 is out of range for 5 arm slots"),
        (lambda: UCB1(5).update([-1], [1.0]), IndexError, "actions: arm id -1 is out of range"),
        (lambda: LinUCB(5, 3).fit([9], [1.0], X3[:1]), IndexError, "decisions: arm id 9 is out of range"),
        (lambda: UCB1(5).update([0.0, 1.0], [1.0, 0.0]), TypeError, "actions: expected integer arm ids"),
        (lambda: UCB1(5).remove_arm("a"), TypeError, "arm_id: expected an integer"),
        (lambda: UCB1(5).remove_arm(-2), ValueError, "arm_id: expected an integer >= 0"),
        # k, availability, request counts
        (lambda: UCB1(5).select(k=0), ValueError, "k: expected a positive integer"),
        (lambda: UCB1(5).select(k=1.5), TypeError, "k: expected a positive integer"),
        (lambda: UCB1(5).select(available=np.ones(5)), TypeError, "available: expected a boolean mask"),
        (lambda: UCB1(5).select(available=np.ones(4, bool)), ValueError, r"available: a 1-d mask needs shape \(5,\)"),
        (lambda: LinUCB(5, 3).select(X3, available=np.ones((3, 5), bool)), ValueError,
         r"available: a 2-d mask needs shape \(4, 5\)"),
        (lambda: UCB1(5).select(n_requests=3, available=np.ones((2, 5), bool)), ValueError,
         "n_requests: inconsistent numbers of requests"),
        (lambda: UCB1(5).select(np.ones(3)), ValueError, "contexts: expected a 2-d array"),
        (lambda: UCB1(5).select(n_requests=-1), ValueError, "n_requests: expected an integer >= 0"),
        # parameters
        (lambda: EpsilonGreedy(5, epsilon=1.5).select(), ValueError, r"epsilon: expected a finite value in \[0.0, 1.0\], got 1.5"),
        (lambda: EpsilonGreedy(5, decay=-1).select(), ValueError, "decay: expected a finite value"),
        (lambda: UCB1(-1).select(), ValueError, "n_arms: expected an integer >= 0, got -1"),
        (lambda: UCB1("3").select(), TypeError, "n_arms: expected an integer"),
        (lambda: UCB1(3, alpha=-1).select(), ValueError, "alpha: expected a finite value"),
        (lambda: Softmax(3, temperature=0).select(), ValueError, "temperature: expected a finite value in \\(0.0, inf\\]"),
        (lambda: ThompsonSampling(3, likelihood="poisson").select(), ValueError, "likelihood: expected 'bernoulli' or 'gaussian'"),
        (lambda: ThompsonSampling(3, n_mc=0).select(), ValueError, "n_mc: expected an integer >= 1"),
        (lambda: ThompsonSampling(3, prior=(0.0, 1.0)).select(), ValueError, "prior: Beta prior parameters must be > 0"),
        (lambda: ThompsonSampling(3, likelihood="gaussian", prior=(0.0, 0.0)).select(), ValueError, "prior precision tau0"),
        (lambda: ThompsonSampling(3, prior="ab").select(), TypeError, "prior: expected a pair of numbers"),
        (lambda: EpsilonGreedy(3, prior=(0.0, -1.0)).select(), ValueError, "pseudo-count"),
        (lambda: LogisticTS(3, 2, precision="banded").select(np.ones((1, 2))), ValueError, "precision: expected 'diagonal' or 'full'"),
        (lambda: LinUCB(3, 0).select(np.ones((1, 0))), ValueError, "n_features: expected an integer >= 1"),
        (lambda: LinUCB(3, 2, l2=0).select(np.ones((1, 2))), ValueError, "l2: expected a finite value in \\(0.0, inf\\]"),
        (lambda: LinUCB(3, 2, num_threads=-1).select(np.ones((1, 2))), ValueError, "num_threads"),
        (lambda: LinUCB(3, 2, new_arm_share=2.0).select(np.ones((1, 2))), ValueError, "new_arm_share"),
        (lambda: LinUCB(3, 2, new_arm_pulls=0).select(np.ones((1, 2))), ValueError, "new_arm_pulls"),
        (lambda: HybridLinUCB(3, 2, 0).select(np.ones((1, 2))), ValueError, "n_arm_features: expected an integer >= 1"),
        (lambda: UCB1(3, random_state="x").select(), TypeError, "random_state"),
        (lambda: UCB1(3).set_params(beta=1), ValueError, "set_params: UCB1 has no parameter 'beta'"),
        # arms: features and priors
        (lambda: UCB1(3).add_arm(features=[1.0]), ValueError, "features: UCB1 does not use arm features"),
        (lambda: UCB1(3).add_arm(prior=(1.0,)), TypeError, "prior: expected a pair of numbers"),
        (lambda: ThompsonSampling(3).add_arm(prior=(1.0, -2.0)), ValueError, "Beta prior parameters must be > 0"),
        (lambda: LinUCB(3, 2).add_arm(prior=[1.0]), ValueError, "prior: expected a prior mean of 2 values, got 1"),
        (lambda: LinUCB(3, 2).add_arm(features=[[1.0]]), ValueError, "features: expected a 1-d array"),
        (lambda: LinUCB(3, 2).set_arm_features(np.ones((2, 2))), ValueError, r"features: expected one row per arm id \(3\), got 2"),
        (lambda: LinUCB(3, 2).set_arm_features(np.ones((3, 2))).add_arm(features=[1.0]), ValueError,
         "features: expected 2 arm features"),
        (lambda: LinUCB(3, 2).set_arm_features(np.ones((1, 2)), arm_ids=[5]), IndexError, "arm_ids: arm id 5 is out of range"),
        (lambda: HybridLinUCB(3, 2, 2).set_arm_features(np.ones((3, 3))), ValueError,
         r"features: expected 2 arm features \(n_arm_features\), got 3"),
        (lambda: HybridLinUCB(3, 2, 2).add_arm(prior=[1.0, 2.0, 3.0]), ValueError, "prior: expected a prior mean of 2 values"),
    ],
)
def test_bad_inputs(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


@pytest.mark.parametrize("make", [lambda: LinUCB(3, 2), lambda: LogisticTS(3, 2), lambda: HybridLinUCB(3, 2, 1),
                                  lambda: UCB1(3), lambda: ThompsonSampling(3)])
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
    policy = LinTS(3, 2, random_state=0)
    actions, props = policy.select(np.empty((0, 2)), k=2)
    assert actions.shape == (0, 2) and props.shape == (0, 2)
    policy.update(np.empty(0, np.int64), np.empty(0), np.empty((0, 2)))
    assert policy.n_updates_ == 0
    assert UCB1(3).select(n_requests=0)[0].shape == (0, 1)
