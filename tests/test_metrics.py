"""reelrec.metrics against plain reference implementations, known answers and bad inputs."""

import numpy as np
import pytest
import scipy.sparse as sp

import metrics_reference as ref
from conftest import block_user_items
from metrics_reference import RANKING
from reelrec import metrics as M
from reelrec.data import Interactions
from reelrec.exceptions import CopyWarning

FUNCTIONS = {
    "precision": M.precision_at_k,
    "recall": M.recall_at_k,
    "f1": M.f1_at_k,
    "map": M.map_at_k,
    "ndcg": M.ndcg_at_k,
    "mrr": M.mrr_at_k,
    "hit_rate": M.hit_rate_at_k,
    "auc": M.auc,
}


def random_case(seed, n_users=250, n_items=40):
    """Lists with pads and repeats; graded gains with explicit zeros and users without relevant items."""
    rng = np.random.default_rng(seed)
    k = int(rng.integers(1, 13))
    cols = k + int(rng.integers(0, 4))
    rec = rng.integers(0, n_items, (n_users, cols))
    rec[rng.random(rec.shape) < 0.1] = -1
    dense = (rng.random((n_users, n_items)) < 0.12) * rng.integers(1, 6, (n_users, n_items)).astype(
        np.float32
    )
    dense[rng.random(n_users) < 0.15] = 0  # users without relevant items
    rel = sp.csr_matrix(dense)
    zeros = rng.random(n_users) < 0.2  # explicit zeros: stored but not relevant
    rel = rel + sp.csr_matrix(
        (
            np.zeros(zeros.sum(), np.float32),
            (np.flatnonzero(zeros), rng.integers(0, n_items, zeros.sum())),
        ),
        shape=rel.shape,
    )
    rel.sort_indices()
    return rec, rel, k


# ------------------------------------------------------------------- reference
@pytest.mark.parametrize("seed", range(6))
def test_ranking_metrics_match_reference(seed):
    rec, rel, k = random_case(seed)
    expected = ref.ranking(rec, rel, k)
    got = M.ranking_metrics_at_k(rec, rel, k, metrics=RANKING, per_user=True)
    for name in RANKING:
        np.testing.assert_allclose(got[name], expected[name], rtol=1e-12, atol=1e-12, err_msg=name)
        value = FUNCTIONS[name](rec, rel, k)
        np.testing.assert_allclose(value, ref.nanmean(expected[name]), rtol=1e-12, err_msg=name)
        np.testing.assert_allclose(
            FUNCTIONS[name](rec, rel, k, per_user=True), expected[name], rtol=1e-12
        )


def test_input_layouts_agree():
    rec, rel, k = random_case(11)
    base = M.ndcg_at_k(rec.astype(np.int32), rel, k, per_user=True)
    wide = np.hstack(
        [rec, np.full((rec.shape[0], 5), 99)]
    )  # columns after k are ignored (even out of range)
    np.testing.assert_array_equal(M.ndcg_at_k(wide, rel, k, per_user=True), base)
    np.testing.assert_array_equal(M.ndcg_at_k(np.asfortranarray(rec), rel, k, per_user=True), base)
    unsigned = np.where(rec < 0, 0, rec)  # no pads: unsigned ids are fine
    np.testing.assert_array_equal(
        M.ndcg_at_k(unsigned.astype(np.uint16), rel, k, per_user=True),
        M.ndcg_at_k(unsigned, rel, k, per_user=True),
    )
    np.testing.assert_array_equal(M.ndcg_at_k(rec.tolist(), rel, k, per_user=True), base)
    np.testing.assert_array_equal(
        M.ndcg_at_k(rec, Interactions(rel.astype(np.float32)), k, per_user=True), base
    )
    with pytest.warns(CopyWarning, match="COO"):
        np.testing.assert_array_equal(M.ndcg_at_k(rec, rel.tocoo(), k, per_user=True), base)


@pytest.mark.parametrize("threads", [1, 2, 3, 8])
def test_thread_count_invariance(threads):
    rng = np.random.default_rng(5)
    n_users, n_items, k = 6000, 500, 20  # above the single-thread threshold
    rec = rng.integers(-1, n_items, (n_users, k)).astype(np.int32)
    rel = sp.random(n_users, n_items, density=0.05, format="csr", dtype=np.float32, random_state=1)
    one = M.ranking_metrics_at_k(rec, rel, k, metrics=RANKING, per_user=True, num_threads=1)
    many = M.ranking_metrics_at_k(rec, rel, k, metrics=RANKING, per_user=True, num_threads=threads)
    for name in RANKING:
        np.testing.assert_array_equal(many[name], one[name])


def test_many_python_threads_at_once():
    from concurrent.futures import ThreadPoolExecutor

    rec, rel, k = random_case(3)
    expected = M.map_at_k(rec, rel, k)
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: M.map_at_k(rec, rel, k, num_threads=2), range(8)))
    assert results == [expected] * 8


# ----------------------------------------------------------------- known answers
def test_known_answers_single_user():
    # catalogue of 6 items; relevant: item 2 (gain 3), item 4 (gain 1), item 5 (gain 2)
    rel = sp.csr_matrix(np.array([[0, 0, 3, 0, 1, 2]], np.float32))
    rec = np.array([[2, 0, 4, 1]])  # hits at ranks 1 and 3, k = 4
    # precision = 2/4; recall = 2/3; F1 = 2 * .5 * .6667 / 1.1667 = 4/7
    assert M.precision_at_k(rec, rel, 4) == pytest.approx(0.5)
    assert M.recall_at_k(rec, rel, 4) == pytest.approx(2 / 3)
    assert M.f1_at_k(rec, rel, 4) == pytest.approx(4 / 7)
    # AP = (1/1 + 2/3) / min(4, 3) = 5/9
    assert M.map_at_k(rec, rel, 4) == pytest.approx(5 / 9)
    # DCG = 3/log2(2) + 1/log2(4) = 3.5; IDCG = 3 + 2/log2(3) + 1/log2(4) = 4.761860
    assert M.ndcg_at_k(rec, rel, 4) == pytest.approx(3.5 / (3.5 + 2 / np.log2(3)))
    assert M.mrr_at_k(rec, rel, 4) == 1.0
    assert M.hit_rate_at_k(rec, rel, 4) == 1.0
    # k = 2: hits only at rank 1 -> precision 1/2, AP = 1 / min(2, 3) = 1/2
    assert M.precision_at_k(rec, rel, 2) == pytest.approx(0.5)
    assert M.map_at_k(rec, rel, 2) == pytest.approx(0.5)
    # AUC, k = 4: order 2 > 0 > 4 > 1 > {3, 5 tied}; negatives {0, 1, 3}
    # item 2 beats 3 negatives; item 4 beats 1 and 3 (2); item 5 ties with 3 (0.5) -> 5.5 / 9
    assert M.auc(rec, rel) == pytest.approx(5.5 / 9)


def test_known_answers_first_hit_late():
    rel = sp.csr_matrix(np.array([[1, 0, 0, 0, 0], [0, 0, 0, 0, 0]], np.float32))
    rec = np.array([[3, 2, 0], [0, 1, 2]])
    # user 0: first hit at rank 3 -> RR = 1/3; DCG = 1/log2(4) = 0.5, IDCG = 1 -> 0.5
    # user 1 has no relevant item: NaN per user, left out of the mean
    np.testing.assert_allclose(M.mrr_at_k(rec, rel, 3, per_user=True), [1 / 3, np.nan])
    assert M.ndcg_at_k(rec, rel, 3) == pytest.approx(0.5)
    assert M.recall_at_k(rec, rel, 2) == 0.0
    assert M.mrr_at_k(rec, rel, 2) == 0.0


def test_repeated_items_count_once_and_pads_are_misses():
    rel = sp.csr_matrix(np.array([[0, 2, 0, 0]], np.float32))
    rec = np.array([[1, 1, 1, -1]])
    # one distinct hit at rank 1; repeats and the pad are misses
    assert M.precision_at_k(rec, rel, 4) == pytest.approx(0.25)
    assert M.map_at_k(rec, rel, 4) == pytest.approx(1.0)
    assert M.ndcg_at_k(rec, rel, 4) == pytest.approx(1.0)  # never above 1
    assert M.recall_at_k(rec, rel, 4) == pytest.approx(1.0)
    # AUC: item 1 first, negatives 0, 2, 3 all unlisted -> 1
    assert M.auc(rec, rel) == pytest.approx(1.0)
    # repeats of a negative count once in AUC: 0, 0, 1 -> item 1 loses to 0 only: 2/3
    assert M.auc(np.array([[0, 0, 1]]), rel) == pytest.approx(2 / 3)


def test_explicit_zeros_are_not_relevant():
    rel = sp.csr_matrix(
        (np.array([0.0, 1.0], np.float32), (np.array([0, 0]), np.array([0, 1]))), shape=(2, 3)
    )
    assert rel.nnz == 2
    rec = np.array([[0, 1], [0, 1]])
    np.testing.assert_allclose(M.precision_at_k(rec, rel, 2, per_user=True), [0.5, np.nan])
    np.testing.assert_allclose(M.recall_at_k(rec, rel, 1, per_user=True), [0.0, np.nan])


def test_no_relevant_items_anywhere_gives_nan_without_warning():
    rel = sp.csr_matrix((3, 5), dtype=np.float32)
    rec = np.zeros((3, 2), np.int32)
    assert np.isnan(M.ndcg_at_k(rec, rel, 2))
    assert np.isnan(M.ndcg_at_k(rec, rel, 2, per_user=True)).all()
    assert np.isnan(M.precision_at_k(np.zeros((0, 2), np.int32), sp.csr_matrix((0, 5)), 2))


def test_auc_of_a_full_ranking_is_roc_auc():
    sklearn_metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(0)
    n_users, n_items = 30, 25
    scores = rng.standard_normal((n_users, n_items))
    labels = rng.random((n_users, n_items)) < 0.3
    labels[:, 0] = True  # at least one positive...
    labels[:, 1] = False  # ...and one negative per user
    rec = np.argsort(-scores, axis=1)
    got = M.auc(rec, sp.csr_matrix(labels.astype(np.float32)), per_user=True)
    expected = [sklearn_metrics.roc_auc_score(labels[u], scores[u]) for u in range(n_users)]
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_perfect_ranking_on_block_fixture():
    train, test = block_user_items()
    # the held-out item of each user ranked first, then the rest of the block
    held = test.indices.reshape(-1, 1)
    rec = np.hstack([held, np.roll(held, 1, axis=0)])
    assert M.precision_at_k(rec, test, 1) == 1.0
    for fn in (M.ndcg_at_k, M.map_at_k, M.mrr_at_k, M.hit_rate_at_k, M.recall_at_k):
        assert fn(rec, test, 1) == 1.0
    assert M.precision_at_k(rec, test, 2) == 0.5
    # the training items are wrong answers: they are not in test
    assert M.hit_rate_at_k(train.indices.reshape(test.shape[0], -1)[:, :3], test, 3) == 0.0


# -------------------------------------------------------------------- bad inputs
@pytest.fixture
def small():
    rel = sp.csr_matrix(np.array([[1, 0, 2], [0, 1, 0]], np.float32))
    rec = np.array([[0, 1], [2, -1]])
    return rec, rel


def test_bad_recommended(small):
    rec, rel = small
    with pytest.raises(TypeError, match="recommended: expected integer item ids"):
        M.ndcg_at_k(rec.astype(float), rel, 2)
    with pytest.raises(TypeError, match="recommended: expected integer item ids"):
        M.ndcg_at_k(rec > 0, rel, 2)
    with pytest.raises(TypeError, match="recommended: expected a dense"):
        M.ndcg_at_k(sp.csr_matrix(rec), rel, 2)
    with pytest.raises(
        ValueError, match=r"recommended: expected a 2-d users x k array, got shape \(2,\)"
    ):
        M.ndcg_at_k(rec[0], rel, 2)
    with pytest.raises(
        IndexError, match="recommended: item ids must be >= 0, or -1 for padding; got -2"
    ):
        M.ndcg_at_k(np.array([[0, -2], [1, 1]]), rel, 2)
    with pytest.raises(IndexError, match="recommended: item id 3 is out of range for 3 items"):
        M.ndcg_at_k(np.array([[0, 3], [1, 1]]), rel, 2)
    with pytest.raises(IndexError, match="out of range"):
        M.ndcg_at_k(np.array([[0, 2**40], [1, 1]]), rel, 2)
    # int32 C-contiguous lists are range-checked by the kernel itself, with the same messages
    with pytest.raises(
        IndexError,
        match=r"recommended: item ids must be >= 0, or -1 for padding; got -2 \(user row 0, column 1\)",
    ):
        M.ndcg_at_k(np.array([[0, -2], [1, 1]], np.int32), rel, 2)
    with pytest.raises(
        IndexError,
        match=r"recommended: item id 3 is out of range for 3 items \(user row 1, column 0\)",
    ):
        M.precision_at_k(np.array([[0, 1], [3, 1]], np.int32), rel, 2, num_threads=2)


def test_bad_k(small):
    rec, rel = small
    with pytest.raises(ValueError, match="k: expected a positive integer, got 0"):
        M.precision_at_k(rec, rel, 0)
    with pytest.raises(ValueError, match="k: expected a positive integer, got -1"):
        M.precision_at_k(rec, rel, -1)
    with pytest.raises(TypeError, match="k: expected a positive integer"):
        M.precision_at_k(rec, rel, 2.0)
    with pytest.raises(ValueError, match="k: 3 exceeds the 2 columns of recommended"):
        M.precision_at_k(rec, rel, 3)


def test_bad_relevant(small):
    rec, rel = small
    with pytest.raises(ValueError, match="relevant: has 2 user rows but recommended has 1 rows"):
        M.recall_at_k(rec[:1], rel, 2)
    with pytest.raises(
        TypeError,
        match="relevant: expected a reelrec.data.Interactions or a users x items scipy.sparse",
    ):
        M.recall_at_k(rec, rel.toarray(), 2)
    bad = rel.copy()
    bad.data[0] = np.nan
    with pytest.raises(ValueError, match="relevant: contains NaN"):
        M.recall_at_k(rec, bad, 2)
    bad.data[0] = -1
    with pytest.raises(ValueError, match="relevant: expected non-negative"):
        M.recall_at_k(rec, bad, 2)
    with pytest.raises(IndexError, match="out of range for 2 items"):
        M.recall_at_k(rec, rel[:, :2], 2)


def test_bad_options(small):
    rec, rel = small
    with pytest.raises(ValueError, match=r"num_threads: expected an integer in \[0, 65536\]"):
        M.mrr_at_k(rec, rel, 2, num_threads=-1)
    with pytest.raises(ValueError, match="metrics: unknown ranking metric 'ndgc'"):
        M.ranking_metrics_at_k(rec, rel, 2, metrics=["ndgc"])
    with pytest.raises(ValueError, match="metrics: expected at least one metric"):
        M.ranking_metrics_at_k(rec, rel, 2, metrics=[])
    assert set(M.ranking_metrics_at_k(rec, rel, 2, metrics="ndcg")) == {"ndcg"}


def test_native_kernel_rejects_bad_ids_itself(small):
    from reelrec import _core

    rec, rel = small
    bad = np.array([[0, 7], [1, 1]], np.int32)
    with pytest.raises(
        IndexError, match=r"item id 7 is out of range for 3 items \(user row 0, column 1\)"
    ):
        _core.ranking_metrics(
            bad, 2, rel.indptr.astype(np.int64), rel.indices, rel.data, 3, ["ndcg"], 1
        )
    with pytest.raises(ValueError, match="unknown ranking metric"):
        _core.ranking_metrics(
            rec.astype(np.int32), 2, rel.indptr.astype(np.int64), rel.indices, rel.data, 3, ["x"], 1
        )


# ------------------------------------------------------------------ rating errors
def test_rmse_mae_known_answers():
    # errors 1, -2, 0, 1 -> RMSE sqrt(6/4), MAE 4/4
    assert M.rmse([3, 1, 4, 5], [2, 3, 4, 4]) == pytest.approx(np.sqrt(1.5))
    assert M.mae(np.array([3, 1, 4, 5]), np.array([2.0, 3, 4, 4])) == pytest.approx(1.0)
    assert M.rmse([[1.0, 2.0]], [[1.0, 2.0]]) == 0.0


def test_rmse_mae_bad_inputs():
    with pytest.raises(
        ValueError, match=r"y_pred: expected the shape of y_true \(3,\), got \(2,\)"
    ):
        M.rmse([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match="y_pred: contains NaN"):
        M.mae([1, 2], [1, np.nan])
    with pytest.raises(ValueError, match="y_true: expected at least one value"):
        M.rmse([], [])
    with pytest.raises(TypeError, match="y_true: expected real numbers"):
        M.rmse(["a"], [1])
    with pytest.raises(TypeError, match="y_pred: expected a dense array"):
        M.mae([1.0], sp.csr_matrix([[1.0]]))


# ------------------------------------------------------------ beyond accuracy
@pytest.mark.parametrize("seed", range(3))
def test_beyond_accuracy_match_reference(seed):
    rec, _, k = random_case(seed, n_users=60)
    n_items = 40
    rng = np.random.default_rng(seed)
    assert M.coverage(rec, n_items, k) == pytest.approx(ref.coverage(rec, n_items, k))
    assert M.coverage(rec, n_items) == pytest.approx(ref.coverage(rec, n_items, rec.shape[1]))
    c = ref.counts(rec, n_items, k)
    assert M.gini(rec, n_items, k=k) == pytest.approx(ref.gini(c))
    assert M.gini(counts=c) == pytest.approx(ref.gini(c))
    pop = rng.integers(0, 30, n_items)
    np.testing.assert_allclose(
        M.novelty(rec, pop, n_users=60, k=k, per_user=True), ref.novelty(rec, pop, 60, k)
    )
    np.testing.assert_allclose(
        M.novelty(rec, pop, k=k), ref.nanmean(ref.novelty(rec, pop, pop.sum(), k))
    )
    vectors = rng.standard_normal((n_items, 4))
    vectors[3] = 0  # a zero vector: distance 1 to everything
    np.testing.assert_allclose(
        M.intra_list_diversity(rec, vectors, k=k, per_user=True),
        ref.diversity(rec, vectors, k),
        atol=1e-12,
    )
    assert M.intra_list_diversity(rec, vectors, k=k) == pytest.approx(
        ref.nanmean(ref.diversity(rec, vectors, k))
    )
    assert M.personalization(rec, k=k) == pytest.approx(ref.personalization(rec, k), abs=1e-12)


def test_beyond_accuracy_known_answers():
    rec = np.array([[0, 1], [0, 1], [2, -1]])
    # items 0, 1, 2 of 4 appear -> coverage 3/4
    assert M.coverage(rec, 4) == 0.75
    # counts (2, 2, 1, 0) sorted (0, 1, 2, 2), weights (-3, -1, 1, 3): (0 - 1 + 2 + 6) / (4 * 5) = 7/20
    assert M.gini(rec, 4) == pytest.approx(7 / 20)
    assert M.gini(counts=[5, 5, 5]) == 0.0
    assert M.gini(counts=[0, 0, 9]) == pytest.approx(2 / 3)  # (n - 1) / n
    assert np.isnan(M.gini(counts=[0, 0]))
    # pairs: (u0, u1) cos 1; (u0, u2) 0; (u1, u2) 0 -> mean 1/3 -> personalization 2/3
    assert M.personalization(rec) == pytest.approx(2 / 3)
    assert M.personalization(np.array([[0, 1], [0, 1]])) == pytest.approx(0.0)
    assert M.personalization(np.array([[0, 1], [2, 3]])) == pytest.approx(1.0)
    assert np.isnan(M.personalization(np.array([[0, 1], [-1, -1]])))
    # popularity (8, 4, 1, 0) of 8 users: -log2 shares 0, 1, 3, (pop 0 -> 1) 3
    pop = [8, 4, 1, 0]
    np.testing.assert_allclose(M.novelty(rec, pop, n_users=8, per_user=True), [0.5, 0.5, 3.0])
    assert M.novelty(np.array([[3]]), pop, n_users=8) == pytest.approx(3.0)
    # orthogonal one-hot vectors: every pair at distance 1; the list of one item is NaN
    np.testing.assert_allclose(
        M.intra_list_diversity(rec, np.eye(4), per_user=True), [1, 1, np.nan]
    )
    # opposite vectors: distance 2; identical: 0
    vectors = np.array([[1.0, 0], [-2.0, 0], [3.0, 0], [0, 1]])
    assert M.intra_list_diversity(np.array([[0, 1]]), vectors) == pytest.approx(2.0)
    assert M.intra_list_diversity(np.array([[0, 2]]), vectors) == pytest.approx(0.0)


def test_beyond_accuracy_repeats_count_once():
    rec = np.array([[0, 0, 1], [1, 1, 1]])
    assert M.gini(rec, 2) == pytest.approx(ref.gini([1, 2]))
    np.testing.assert_allclose(M.intra_list_diversity(rec, np.eye(2), per_user=True), [1.0, np.nan])
    # distinct sets {0, 1} and {1}: cos = 1 / sqrt(2)
    assert M.personalization(rec) == pytest.approx(1 - 1 / np.sqrt(2))


def test_beyond_accuracy_bad_inputs():
    rec = np.array([[0, 1], [2, -1]])
    with pytest.raises(IndexError, match="recommended: item id 2 is out of range for 2 items"):
        M.coverage(rec, 2)
    with pytest.raises(ValueError, match="n_items: expected a positive integer, got 0"):
        M.coverage(rec, 0)
    with pytest.raises(TypeError, match="gini: pass exactly one of recommended"):
        M.gini()
    with pytest.raises(TypeError, match="gini: pass exactly one of recommended"):
        M.gini(rec, 3, counts=[1, 2, 3])
    with pytest.raises(TypeError, match="n_items: required with recommended"):
        M.gini(rec)
    with pytest.raises(ValueError, match="counts: expected non-negative counts"):
        M.gini(counts=[1, -1])
    with pytest.raises(ValueError, match="counts: expected 4 entries"):
        M.gini(counts=[1, 1], n_items=4)
    with pytest.raises(ValueError, match="counts: contains NaN"):
        M.gini(counts=[1, np.nan])
    with pytest.raises(ValueError, match="item_popularity: expected non-negative"):
        M.novelty(rec, [1, -1, 2])
    with pytest.raises(
        ValueError, match=r"n_users: expected an integer >= max\(item_popularity\) = 5"
    ):
        M.novelty(rec, [1, 5, 2], n_users=3)
    with pytest.raises(ValueError, match="item_popularity: all zero"):
        M.novelty(rec, [0, 0, 0])
    with pytest.raises(IndexError, match="out of range for 2 items"):
        M.novelty(rec, [1, 1])
    with pytest.raises(
        ValueError,
        match=r"item_vectors: expected a non-empty 2-d n_items x d array, got shape \(3,\)",
    ):
        M.intra_list_diversity(rec, np.ones(3))
    with pytest.raises(ValueError, match="item_vectors: contains NaN"):
        M.intra_list_diversity(rec, np.full((3, 2), np.nan))
    with pytest.raises(IndexError, match="out of range for 2 items"):
        M.intra_list_diversity(rec, np.ones((2, 2)))
    with pytest.raises(IndexError, match="item ids must be >= 0, or -1 for padding; got -5"):
        M.personalization(np.array([[0, -5]]))
    with pytest.raises(ValueError, match="k: 3 exceeds the 2 columns"):
        M.personalization(rec, k=3)
