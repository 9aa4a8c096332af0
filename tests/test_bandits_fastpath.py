"""The one-pass selection of LinUCB / LinTS (k = 1, no mask, no exploration
share) against the general slate builder, which serves every other case."""

import numpy as np
import pytest

from reelrec import bandits as rb


def _fitted(make, d, seed=0, n=600, n_arms=7):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    arms = rng.integers(0, n_arms, n)
    rewards = (rng.random(n) < 0.3).astype(float)
    return make(n_arms, d).set_params(random_state=11).fit(arms, rewards, X)


MAKERS = {
    "LinUCB": lambda a, d: rb.LinUCB(a, d, alpha=1.25),
    "LinTS": lambda a, d: rb.LinTS(a, d, v=1.0, n_mc=100),
    "LinTS-odd-mc": lambda a, d: rb.LinTS(a, d, v=0.5, n_mc=13),
}


@pytest.mark.parametrize("name", sorted(MAKERS))
@pytest.mark.parametrize("d", [3, 20, 30])
def test_fast_path_equals_general_path(name, d):
    Xq = np.random.default_rng(d).standard_normal((700, d))
    fast = _fitted(MAKERS[name], d)
    masked = _fitted(MAKERS[name], d)
    slate = _fitted(MAKERS[name], d)
    a_fast, p_fast = fast.select(Xq)
    # an all-ones mask and the first slot of a 2-slate both take the general path
    a_mask, p_mask = masked.select(Xq, available=np.ones(masked.n_slots_, dtype=bool))
    a_slate, p_slate = slate.select(Xq, k=2)
    np.testing.assert_array_equal(a_fast, a_mask)
    np.testing.assert_array_equal(p_fast, p_mask)
    np.testing.assert_array_equal(a_fast[:, 0], a_slate[:, 0])
    np.testing.assert_array_equal(p_fast[:, 0], p_slate[:, 0])
    assert np.all((p_fast > 0) & (p_fast <= 1))


def test_fast_path_with_many_arms_equals_general_path():
    # more candidates than a vector pass holds in registers (the one-pass
    # Monte Carlo scan keeps up to 512 on the stack)
    make = MAKERS["LinTS"]
    Xq = np.random.default_rng(8).standard_normal((300, 30))
    fast = _fitted(make, 30, n=3000, n_arms=100)
    masked = _fitted(make, 30, n=3000, n_arms=100)
    a_fast, p_fast = fast.select(Xq)
    a_mask, p_mask = masked.select(Xq, available=np.ones(100, dtype=bool))
    np.testing.assert_array_equal(a_fast, a_mask)
    np.testing.assert_array_equal(p_fast, p_mask)
    assert len(np.unique(a_fast)) > 10


def test_fast_path_hands_ties_to_the_general_path():
    # unfitted arms score identically: every request is a 7-way tie
    make = MAKERS["LinUCB"]
    Xq = np.random.default_rng(1).standard_normal((300, 4))
    fast = make(7, 4).set_params(random_state=3)
    general = make(7, 4).set_params(random_state=3)
    a_fast, p_fast = fast.select(Xq)
    a_gen, p_gen = general.select(Xq, available=np.ones(7, dtype=bool))
    np.testing.assert_array_equal(a_fast, a_gen)
    np.testing.assert_array_equal(p_fast, np.full((300, 1), 1 / 7))
    assert len(np.unique(a_fast)) == 7


@pytest.mark.parametrize("name", ["LinUCB", "LinTS"])
def test_fast_path_thread_and_batch_invariant(name):
    d = 20
    Xq = np.random.default_rng(5).standard_normal((40_000, d))
    one = _fitted(MAKERS[name], d).set_params(num_threads=1)
    two = _fitted(MAKERS[name], d).set_params(num_threads=2)
    split = _fitted(MAKERS[name], d).set_params(num_threads=1)
    a1, p1 = one.select(Xq)
    a2, p2 = two.select(Xq)
    parts = [split.select(Xq[i : i + 777]) for i in range(0, len(Xq), 777)]
    np.testing.assert_array_equal(a1, a2)
    np.testing.assert_array_equal(p1, p2)
    np.testing.assert_array_equal(a1, np.concatenate([a for a, _ in parts]))
    if name == "LinUCB":
        # (Thompson propensities use one Monte Carlo pool per call, by design)
        np.testing.assert_array_equal(p1, np.concatenate([p for _, p in parts]))
