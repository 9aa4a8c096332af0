"""The single-precision screens of LinUCB (contextual.hpp): small d
(quadform_factor_rows_t) and large d (quadform_factor_rows, float factors
with rigorous bounds, survivors rescored in double). Decisions must be
exactly those of the double scores. References: the double path (an
all-ones mask skips the small-d screen; batches under 16 requests skip the
large-d one) and a NumPy argmax of ``theta . x + alpha sqrt(x^T P x)``."""

import numpy as np
import pytest

from reelrec import bandits as rb


def _log(d, n, n_arms, seed, collinear):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    if collinear:
        # redundant features: contexts avoid directions where the posterior
        # stays wide, the regime where x^T P x cancels badly in float
        X[:, -2:] = X[:, :2] @ rng.standard_normal((2, 2))
    arms = rng.integers(0, n_arms, n)
    rewards = (rng.random(n) < 0.3).astype(float)
    return X, arms, rewards


def _reference(policy, Xq, alpha):
    st = policy._native_state()
    n_arms, d = policy.n_slots_, int(policy.n_features)
    P = st["lin.cov"].reshape(n_arms, d, d)
    theta = st["lin.theta"].reshape(n_arms, d)
    q = np.einsum("ni,aij,nj->na", Xq, P, Xq)
    return Xq @ theta.T + alpha * np.sqrt(np.maximum(q, 0))


@pytest.mark.parametrize(
    ("d", "collinear"),
    [
        (1, False),
        (3, False),
        (8, False),
        (20, False),
        (24, False),
        (8, True),
        (20, True),
        (40, False),
        (40, True),
    ],
)
def test_screen_decisions_equal_double_path(d, collinear):
    X, arms, rewards = _log(d, 3000, 9, d, collinear)
    Xq = _log(d, 2000, 9, d + 100, collinear)[0]
    # near ties: requests duplicated with tiny perturbations
    Xq[1000:1500] = Xq[:500] * (1 + 1e-9)
    screened = rb.LinUCB(9, d, alpha=1.25).set_params(random_state=2).fit(arms, rewards, X)
    double = rb.LinUCB(9, d, alpha=1.25).set_params(random_state=2).fit(arms, rewards, X)
    a_s, p_s = screened.select(Xq)
    a_d, p_d = double.select(Xq, available=np.ones(9, dtype=bool))
    np.testing.assert_array_equal(a_s, a_d)
    np.testing.assert_array_equal(p_s, p_d)
    scores = _reference(screened, Xq, 1.25)
    top2 = np.sort(scores, axis=1)[:, -2:]
    clear = top2[:, 1] - top2[:, 0] > 1e-9 * np.abs(top2).max(axis=1)
    np.testing.assert_array_equal(a_s[clear, 0], np.argmax(scores[clear], axis=1))


def test_screen_exact_ties_go_to_the_slate_builder():
    # two arms with identical logs score identically for every request
    d = 6
    X, arms, rewards = _log(d, 2000, 3, 7, False)
    twin = arms == 0
    X = np.vstack([X, X[twin]])
    rewards = np.concatenate([rewards, rewards[twin]])
    arms = np.concatenate([arms, np.full(twin.sum(), 3)])
    Xq = _log(d, 1500, 4, 8, False)[0]
    screened = rb.LinUCB(4, d, alpha=2.0).set_params(random_state=5).fit(arms, rewards, X)
    double = rb.LinUCB(4, d, alpha=2.0).set_params(random_state=5).fit(arms, rewards, X)
    a_s, p_s = screened.select(Xq)
    a_d, p_d = double.select(Xq, available=np.ones(4, dtype=bool))
    np.testing.assert_array_equal(a_s, a_d)
    np.testing.assert_array_equal(p_s, p_d)
    tied = p_s[:, 0] == 0.5
    assert tied.any()
    assert set(np.unique(a_s[tied, 0])) == {0, 3}


def test_screen_handles_huge_contexts():
    # float overflow in the screen: such rows fall back to double scores
    d = 5
    X, arms, rewards = _log(d, 500, 3, 3, False)
    Xq = _log(d, 64, 3, 4, False)[0]
    Xq[::3] *= 1e25
    screened = rb.LinUCB(3, d).set_params(random_state=1).fit(arms, rewards, X)
    double = rb.LinUCB(3, d).set_params(random_state=1).fit(arms, rewards, X)
    a_s, p_s = screened.select(Xq)
    a_d, p_d = double.select(Xq, available=np.ones(3, dtype=bool))
    np.testing.assert_array_equal(a_s, a_d)
    np.testing.assert_array_equal(p_s, p_d)


@pytest.mark.parametrize("collinear", [False, True])
@pytest.mark.parametrize("d", [25, 40, 64])
def test_large_d_screen_equals_unscreened_batches(d, collinear):
    X, arms, rewards = _log(d, 4000, 12, d, collinear)
    Xq = _log(d, 1200, 12, d + 100, collinear)[0]
    Xq[600:900] = Xq[:300] * (1 + 1e-9)  # near ties
    screened = rb.LinUCB(12, d, alpha=1.25).set_params(random_state=3).fit(arms, rewards, X)
    double = rb.LinUCB(12, d, alpha=1.25).set_params(random_state=3).fit(arms, rewards, X)
    a_s, p_s = screened.select(Xq)
    parts = [double.select(Xq[i : i + 15]) for i in range(0, len(Xq), 15)]
    a_d = np.concatenate([a for a, _ in parts])
    p_d = np.concatenate([p for _, p in parts])
    np.testing.assert_array_equal(a_s, a_d)
    np.testing.assert_array_equal(p_s, p_d)
    scores = _reference(screened, Xq, 1.25)
    top2 = np.sort(scores, axis=1)[:, -2:]
    clear = top2[:, 1] - top2[:, 0] > 1e-9 * np.abs(top2).max(axis=1)
    np.testing.assert_array_equal(a_s[clear, 0], np.argmax(scores[clear], axis=1))
