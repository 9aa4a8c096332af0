import numpy as np
import pytest
import scipy.sparse as sp

from conftest import block_user_items, random_user_items
from contract import RecommenderContract
from factorization_isas import ISAS
from reelrec import BPR, CopyWarning, Recommender, _core


class TestBPR(RecommenderContract):
    def make_model(self, **params):
        return BPR(factors=8, iterations=60, **params)


class TestBPRUnverified(RecommenderContract):
    def make_model(self, **params):
        return BPR(
            factors=8, iterations=60, learning_rate=0.1, verify_negative_samples=False, **params
        )


# ------------------------------------------------------------ NumPy reference
def _reference_replay(U, V, b, users, pos, neg, lr, reg):
    """Rendle et al.'s SGD step, one triple at a time, in float32."""
    U, V, b = U.copy(), V.copy(), b.copy()
    lr, reg = np.float32(lr), np.float32(reg)
    decay = np.float32(1) - lr * reg
    total = 0.0
    for u, i, j in zip(users, pos, neg):
        score = np.float64(U[u] @ (V[i] - V[j])) + b[i] - b[j]
        total += np.log1p(np.exp(-score))
        g = lr * np.float32(1 / (1 + np.exp(score)))
        # gradients from the values before the step (when i == j the negative's write wins)
        xu, vi, vj, bi, bj = U[u].copy(), V[i].copy(), V[j].copy(), b[i], b[j]
        U[u] = decay * xu + g * (vi - vj)
        V[i] = decay * vi + g * xu
        V[j] = decay * vj - g * xu
        b[i] = decay * bi + g
        b[j] = decay * bj - g
    return U, V, b, total


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("d", [12, 64])
def test_replay_matches_numpy_reference(isa, d):
    rng = np.random.default_rng(0)
    n_users, n_items, n = 15, 20, 400
    U = (0.3 * rng.standard_normal((n_users, d))).astype(np.float32)
    V = (0.3 * rng.standard_normal((n_items, d))).astype(np.float32)
    b = (0.1 * rng.standard_normal(n_items)).astype(np.float32)
    users = rng.integers(0, n_users, n).astype(np.int32)
    pos = rng.integers(0, n_items, n).astype(np.int32)
    neg = rng.integers(0, n_items, n).astype(np.int32)
    neg[:3] = pos[:3]  # an unverified negative equal to the positive is legal
    ref_u, ref_v, ref_b, ref_loss = _reference_replay(U, V, b, users, pos, neg, 0.05, 0.02)
    got_u, got_v, got_b = U.copy(), V.copy(), b.copy()
    loss = _core.bpr_replay(got_u, got_v, got_b, users, pos, neg, 0.05, 0.02, isa)
    np.testing.assert_allclose(got_u, ref_u, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(got_v, ref_v, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(got_b, ref_b, rtol=1e-4, atol=1e-6)
    assert loss == pytest.approx(ref_loss, rel=1e-4)


def test_replay_rejects_bad_triples():
    U = np.zeros((3, 4), np.float32)
    V = np.zeros((5, 4), np.float32)
    b = np.zeros(5, np.float32)
    ok = np.array([0], np.int32)
    with pytest.raises(ValueError, match="positives"):
        _core.bpr_replay(U, V, b, ok, np.array([5], np.int32), ok, 0.1, 0.0)
    with pytest.raises(ValueError, match="users"):
        _core.bpr_replay(U, V, b, np.array([3], np.int32), ok, ok, 0.1, 0.0)
    with pytest.raises(ValueError, match="lengths"):
        _core.bpr_replay(U, V, b, ok, ok, np.array([0, 1], np.int32), 0.1, 0.0)
    with pytest.raises(TypeError):  # float64 tables cannot be updated in place
        _core.bpr_replay(U.astype(np.float64), V, b, ok, ok, ok, 0.1, 0.0)


# ------------------------------------------------------------- the schedule
@pytest.fixture
def medium():
    # big enough that the epoch is split into several strata and runs in parallel
    return random_user_items(
        n_users=900, n_items=700, density=0.1, seed=5, empty_users=(), empty_items=()
    )


def test_strata_grow_with_the_data(medium):
    assert _core.bpr_strata(40, 60, 300) == 1
    assert _core.bpr_strata(*medium.shape, medium.nnz) >= 4
    assert _core.bpr_strata(10**7, 10**6, 10**9) == 64
    assert _core.bpr_strata(10**6, 20, 10**7) == 1  # blocks keep >= 16 items


def test_thread_count_does_not_change_results_when_parallel(medium):
    models = [
        BPR(factors=16, iterations=3, num_threads=t, random_state=1).fit(medium) for t in (1, 2, 3)
    ]
    for other in models[1:]:
        np.testing.assert_array_equal(other.user_factors_, models[0].user_factors_)
        np.testing.assert_array_equal(other.item_factors_, models[0].item_factors_)
        np.testing.assert_array_equal(other.item_biases_, models[0].item_biases_)
        assert other.history_["loss"] == models[0].history_["loss"]


def test_epoch_uses_every_stored_cell_once_per_epoch(medium):
    model = BPR(factors=8, iterations=2, random_state=0).fit(medium)
    assert model.history_["skipped"] == [0, 0]
    loss = model.history_["loss"]
    assert loss[0] == pytest.approx(np.log(2), abs=0.01)  # near-zero initial factors


def test_verify_negative_samples_redraws_seen_items():
    # every user has seen every item: no valid negative exists, every sample is skipped
    X = sp.csr_matrix(np.ones((2, 6), np.float32))
    verified = BPR(factors=4, iterations=1, random_state=0).fit(X)
    assert verified.history_["skipped"] == [12]
    np.testing.assert_array_equal(verified.item_biases_, 0)
    unverified = BPR(factors=4, iterations=1, random_state=0, verify_negative_samples=False).fit(X)
    assert unverified.history_["skipped"] == [0]


def test_training_improves_ranking():
    train, test = block_user_items(n_blocks=4, users_per_block=10, items_per_block=8)
    model = BPR(factors=8, iterations=40, random_state=3).fit(train, eval_set=test)
    ndcg = model.history_["ndcg@10"]
    assert len(ndcg) == 40 and ndcg[-1] > 0.9 > ndcg[0]
    assert model.history_["loss"][-1] < 0.5 * model.history_["loss"][0]
    assert model.item_biases_.shape == (train.shape[1],) and model.item_biases_.dtype == np.float32


def test_batched_and_per_epoch_runs_agree(medium):
    # without a hook all epochs run in one native call; with one, epoch by epoch
    batched = BPR(factors=16, iterations=3, num_threads=2, random_state=4).fit(medium)
    stepped = BPR(factors=16, iterations=3, num_threads=2, random_state=4)
    stepped.fit(medium, callback=lambda *_: True)
    np.testing.assert_array_equal(batched.item_factors_, stepped.item_factors_)
    np.testing.assert_array_equal(batched.user_factors_, stepped.user_factors_)
    assert batched.history_["loss"] == stepped.history_["loss"]
    assert len(batched.history_["seconds"]) == 3 and all(s > 0 for s in batched.history_["seconds"])


def test_callback_stops_training_early():
    X = random_user_items()
    calls = []
    model = BPR(factors=4, iterations=50, random_state=0)
    model.fit(X, callback=lambda it, sec, loss: calls.append(loss) or it < 4)
    assert len(calls) == 5 and model.history_["iteration"] == [0, 1, 2, 3, 4]
    assert all(np.isfinite(calls))


# ------------------------------------------------------------------ fold-in
def test_fold_in_is_deterministic_and_per_user():
    train, _ = block_user_items()
    model = BPR(factors=8, iterations=30, random_state=0).fit(train)
    rows = train[[0, 7, 13]]
    users = np.array([100, 101, 102])
    a = model._user_vectors(users, rows)
    b = model._user_vectors(users, rows)
    np.testing.assert_array_equal(a, b)
    single = model._user_vectors(users[1:2], rows[1])
    np.testing.assert_array_equal(single[0], a[1])
    # a folded-in user of block b prefers block b's items
    ids, _ = model.recommend(users, k=1, user_items=rows, exclude_seen=False)
    blocks = np.array([0, 7, 13]) // 6
    assert np.array_equal(ids[:, 0] // 5, blocks)
    assert np.all(
        model._user_vectors(np.array([5]), sp.csr_matrix((1, train.shape[1]), dtype=np.float32))
        == 0
    )


def test_save_load_keeps_the_fold_in_seed(tmp_path):
    train, _ = block_user_items()
    model = BPR(factors=4, iterations=5, random_state=9).fit(train)
    model.save(tmp_path / "bpr.npz")
    loaded = Recommender.load(tmp_path / "bpr.npz")
    rows = train[[2, 3]]
    np.testing.assert_array_equal(
        loaded._user_vectors(np.array([50, 51]), rows),
        model._user_vectors(np.array([50, 51]), rows),
    )


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("params", "error", "match"),
    [
        ({"factors": 0}, ValueError, "factors"),
        ({"factors": 1.5}, TypeError, "factors"),
        ({"learning_rate": 0.0}, ValueError, "learning_rate"),
        ({"learning_rate": float("nan")}, ValueError, "learning_rate"),
        ({"regularization": -0.1}, ValueError, "regularization"),
        (
            {"learning_rate": 2.0, "regularization": 0.5},
            ValueError,
            "learning_rate \\* regularization",
        ),
        ({"iterations": 0}, ValueError, "iterations"),
        ({"verify_negative_samples": 1}, TypeError, "verify_negative_samples"),
        ({"random_state": "seed"}, TypeError, "random_state"),
    ],
)
def test_bad_parameters(params, error, match):
    with pytest.raises(error, match=match):
        BPR(**params).fit(random_user_items())


def test_non_csr_input_warns_and_matches():
    X = random_user_items()
    ref = BPR(factors=4, iterations=2, random_state=0).fit(X).item_factors_
    with pytest.warns(CopyWarning, match="CSR"):
        got = BPR(factors=4, iterations=2, random_state=0).fit(X.tocsc()).item_factors_
    np.testing.assert_array_equal(got, ref)
    got = BPR(factors=4, iterations=2, random_state=0).fit(X.astype(np.float64)).item_factors_
    np.testing.assert_array_equal(got, ref)


def test_divergence_is_reported():
    X = random_user_items()
    with pytest.raises(FloatingPointError, match="learning_rate"):
        BPR(factors=8, learning_rate=1e30, regularization=0.0, iterations=5, random_state=0).fit(X)


def test_weights_are_only_a_pattern():
    X = random_user_items()
    weighted = X.copy()
    weighted.data = weighted.data * 7
    a = BPR(factors=4, iterations=3, random_state=0).fit(X)
    b = BPR(factors=4, iterations=3, random_state=0).fit(weighted)
    np.testing.assert_array_equal(a.item_factors_, b.item_factors_)
    zeros = X.copy()
    zeros.data[:4] = 0  # stored zeros are not positives
    c = BPR(factors=4, iterations=3, random_state=0).fit(zeros)
    assert c.history_["skipped"] == [0, 0, 0]
