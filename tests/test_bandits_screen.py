"""The single-precision screens of LinUCB (contextual.hpp): small d
(ucb_screen_step) and large d (quadform_factor_rows, float factors
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


def _assert_clear_calls_match_numpy(policy, Xq, actions, alpha=1.25):
    """Requests whose top two NumPy scores differ by more than rounding."""
    scores = _reference(policy, Xq, alpha)
    top2 = np.sort(scores, axis=1)[:, -2:]
    clear = top2[:, 1] - top2[:, 0] > 1e-9 * np.abs(top2).max(axis=1)
    assert clear.mean() > 0.5
    np.testing.assert_array_equal(actions[clear, 0], np.argmax(scores[clear], axis=1))


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
    _assert_clear_calls_match_numpy(screened, Xq, a_s)


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
    _assert_clear_calls_match_numpy(screened, Xq, a_s)


def _gamma(n):
    u = 2.0**-24
    return 1.05 * n * u / (1 - n * u)


def _screen_inputs(d, n, n_arms, seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    N, mu = [], []
    for _ in range(n_arms):
        M = rng.standard_normal((d + 3, d))
        S = np.linalg.inv(np.eye(d) + M.T @ M)
        N.append(np.linalg.cholesky(S).T.astype(np.float32).astype(np.float64))
        mu.append(rng.standard_normal(d).astype(np.float32).astype(np.float64) * 0.1)
    N, mu = np.array(N), np.array(mu)
    cw = _gamma(d + 2) * np.sqrt((N**2).sum(axis=(1, 2)))
    emu = _gamma(d + 4) * np.linalg.norm(mu, axis=1)
    return X, N, mu, cw, emu


@pytest.mark.parametrize("isa", ["generic", "avx2", "avx512"])
@pytest.mark.parametrize("d", [1, 5, 16, 20, 24])
def test_screen_kernel_bounds_hold(isa, d):
    """ucb_screen_step against NumPy scores mu . x + scale |N x| (float inputs, double arithmetic)."""
    from reelrec import _core

    n, n_arms, scale = 71, 5, 1.25
    X, N, mu, cw, emu = _screen_inputs(d, n, n_arms, d)
    X[::7] *= 1e-3  # near-zero widths
    out = _core.bandits_ucb_screen(X, N, mu, cw, _gamma(d + 2), emu, scale, isa)
    if out is None:
        pytest.skip(f"this CPU cannot run the {isa} kernel")
    xn, lo, arg, hi_arg, hi_other = out
    np.testing.assert_allclose(xn, np.linalg.norm(X, axis=1), rtol=1e-14)
    scores = X @ mu.T + scale * np.linalg.norm(np.einsum("aij,nj->nai", N, X), axis=2)
    a = arg.astype(int)
    own = scores[np.arange(n), a]
    assert np.all(lo <= own) and np.all(own <= hi_arg)
    others = np.where(np.arange(n_arms)[None, :] == a[:, None], -np.inf, scores).max(axis=1)
    assert np.all(others <= hi_other)
    # the bounds are tight enough to decide clear rows, and decide them right
    decided = hi_other < lo
    assert decided.mean() > 0.9
    np.testing.assert_array_equal(a[decided], scores[decided].argmax(axis=1))
    # a row's bounds do not depend on the rows batched with it
    part = _core.bandits_ucb_screen(X[17:40], N, mu, cw, _gamma(d + 2), emu, scale, isa)
    for full, sub in zip(out, part):
        np.testing.assert_array_equal(full[17:40], sub)


@pytest.mark.parametrize("isa", ["generic", "avx2", "avx512"])
def test_screen_kernel_non_finite_rows_stay_open(isa):
    from reelrec import _core

    d = 6
    X, N, mu, cw, emu = _screen_inputs(d, 20, 3, 9)
    X[4] *= 1e40  # overflows in float
    out = _core.bandits_ucb_screen(X, N, mu, cw, _gamma(d + 2), emu, 1.0, isa)
    if out is None:
        pytest.skip(f"this CPU cannot run the {isa} kernel")
    _, lo, _, _, hi_other = out
    assert not hi_other[4] < lo[4]
    assert (hi_other < lo).sum() > 10
