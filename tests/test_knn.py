"""ItemKNN, UserKNN and RP3Beta: contract, NumPy references, rating prediction, bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from conftest import block_user_items, random_user_items
from contract import RecommenderContract
from knn_reference import assert_topk_rows, csr_rows_as_topk, rp3beta, similarity
from reelrec import ItemKNN, RP3Beta, UserKNN

# ----------------------------------------------------------------- contract


class TestItemKNN(RecommenderContract):
    def make_model(self, **params):
        return ItemKNN(k=20, **params)


class TestItemKNNBM25(RecommenderContract):
    def make_model(self, **params):
        return ItemKNN(k=20, weighting="bm25", similarity="dot", **params)


class TestItemKNNAsymmetricNormalised(RecommenderContract):
    def make_model(self, **params):
        return ItemKNN(
            k=20,
            similarity="asymmetric_cosine",
            asymmetric_alpha=0.3,
            shrinkage=2.0,
            normalize_scores=True,
            **params,
        )


class TestUserKNN(RecommenderContract):
    def make_model(self, **params):
        return UserKNN(k=10, **params)


class TestUserKNNJaccard(RecommenderContract):
    def make_model(self, **params):
        return UserKNN(k=10, similarity="jaccard", **params)


class TestRP3Beta(RecommenderContract):
    def make_model(self, **params):
        return RP3Beta(k=20, **params)


# ------------------------------------------------------- similarity references

CASES = [
    ("cosine", {}),
    ("cosine", {"shrinkage": 3.0}),
    ("cosine", {"weighting": "tfidf"}),
    ("cosine", {"weighting": "bm25"}),
    ("dot", {"weighting": "bm25", "bm25_k1": 2.0, "bm25_b": 0.5}),
    ("adjusted_cosine", {}),
    ("pearson", {"shrinkage": 1.0}),
    ("pearson", {"weighting": "tfidf"}),
    ("jaccard", {"shrinkage": 0.5}),
    ("asymmetric_cosine", {"asymmetric_alpha": 0.2}),
    ("asymmetric_cosine", {"asymmetric_alpha": 1.0, "weighting": "bm25"}),
    ("dot", {}),
]


def _ref_kwargs(params):
    return {
        "shrinkage": params.get("shrinkage", 0.0),
        "alpha": params.get("asymmetric_alpha", 0.5),
        "weighting": params.get("weighting"),
        "k1": params.get("bm25_k1", 1.2),
        "b": params.get("bm25_b", 0.75),
    }


@pytest.mark.parametrize("model_class,vectors", [(ItemKNN, "items"), (UserKNN, "users")])
@pytest.mark.parametrize("kind,params", CASES)
def test_similarity_matches_numpy_reference(model_class, vectors, kind, params):
    X = random_user_items(n_users=30, n_items=45, density=0.2, seed=3)
    k = 7
    model = model_class(k=k, similarity=kind, num_threads=2, **params).fit(X)
    S = model.similarity_
    n = X.shape[1] if vectors == "items" else X.shape[0]
    assert S.shape == (n, n) and S.dtype == np.float32 and S.has_sorted_indices
    assert np.all(np.diff(S.indptr) <= k) and np.all(S.diagonal() == 0)
    ref = similarity(X, kind, vectors=vectors, **_ref_kwargs(params))
    ids, scores = csr_rows_as_topk(S, k)
    assert_topk_rows(ids, scores, ref, k)


def test_default_similarity_is_cosine_known_answer():
    # items 0 and 1 share user 0; 0 and 2 share users 0 and 1
    X = sp.csr_matrix(np.array([[1, 1, 1], [1, 0, 1], [0, 0, 1]], np.float32))
    S = ItemKNN(k=2).fit(X).similarity_.toarray()
    expected = np.array(
        [
            [0, 1 / np.sqrt(2), 2 / np.sqrt(6)],
            [1 / np.sqrt(2), 0, 1 / np.sqrt(3)],
            [2 / np.sqrt(6), 1 / np.sqrt(3), 0],
        ]
    )
    np.testing.assert_allclose(S, expected, rtol=1e-6)
    J = ItemKNN(k=2, similarity="jaccard").fit(X).similarity_.toarray()
    np.testing.assert_allclose(J, [[0, 0.5, 2 / 3], [0.5, 0, 1 / 3], [2 / 3, 1 / 3, 0]], rtol=1e-6)


def test_bm25_dot_equals_implicit_weighting():
    implicit_nn = pytest.importorskip("implicit.nearest_neighbours")
    X = random_user_items(n_users=50, n_items=40, density=0.2, seed=5)
    ours = ItemKNN(k=40, similarity="dot", weighting="bm25").fit(X).similarity_.toarray()
    weighted = implicit_nn.bm25_weight(X.T, K1=1.2, B=0.75).T.tocsr().astype(np.float64)
    ref = (weighted.T @ weighted).toarray()
    cooc = ((X.T != 0).astype(float) @ (X != 0).astype(float)).toarray() > 0
    ref = np.where(cooc, ref, 0)
    np.fill_diagonal(ref, 0)
    np.testing.assert_allclose(ours, ref, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("model_class", [ItemKNN, UserKNN, RP3Beta])
def test_similarity_identical_for_any_thread_count(model_class):
    # large enough (millions of additions) for the kernels to use several threads
    X = random_user_items(n_users=2000, n_items=1000, density=0.05, seed=7)
    kwargs = {} if model_class is RP3Beta else {"similarity": "pearson", "weighting": "bm25"}
    one = model_class(k=50, num_threads=1, **kwargs).fit(X)
    many = model_class(k=50, num_threads=4, **kwargs).fit(X)
    a, b = one.similarity_, many.similarity_
    np.testing.assert_array_equal(a.indptr, b.indptr)
    np.testing.assert_array_equal(a.indices, b.indices)
    np.testing.assert_array_equal(a.data, b.data)
    users = np.arange(X.shape[0])
    ids_a, scores_a = one.recommend(users, k=20)
    ids_b, scores_b = many.recommend(users, k=20)
    np.testing.assert_array_equal(ids_a, ids_b)
    np.testing.assert_array_equal(scores_a, scores_b)


def test_dense_and_sparse_accumulation_paths_agree():
    # a few very popular items push some rows onto the dense-scan path, the rest stay sparse
    rng = np.random.default_rng(0)
    dense = (rng.random((200, 500)) < 0.01).astype(np.float32)
    dense[:, :3] = 1.0
    X = sp.csr_matrix(dense)
    model = ItemKNN(k=10).fit(X)
    ids, scores = csr_rows_as_topk(model.similarity_, 10)
    assert_topk_rows(ids, scores, similarity(X, "cosine"), 10)


def test_rp3beta_matches_numpy_reference():
    X = random_user_items(n_users=35, n_items=50, density=0.15, seed=11)
    for alpha, beta, normalize in [(1.0, 0.6, True), (0.7, 0.0, False), (1.5, 1.0, True)]:
        model = RP3Beta(alpha=alpha, beta=beta, k=6, normalize=normalize).fit(X)
        ref = rp3beta(X, alpha, beta, 6, normalize)
        np.testing.assert_allclose(model.similarity_.toarray(), ref, rtol=2e-4, atol=1e-6)


# ------------------------------------------------------------- scoring references


def _reference_scores(H, S, normalize=False):
    H = H.toarray().astype(np.float64)
    scores = H @ S
    if normalize:
        w = (H != 0).astype(np.float64) @ np.abs(S)
        scores = np.where(w > 0, scores / np.where(w > 0, w, 1), 0.0)
    return scores


@pytest.mark.parametrize("normalize", [False, True])
def test_itemknn_recommend_matches_dense_product(normalize):
    X = random_user_items(n_users=40, n_items=60, density=0.15, seed=1)
    model = ItemKNN(k=8, similarity="pearson", normalize_scores=normalize).fit(X)
    S = model.similarity_.toarray().astype(np.float64)
    scores = _reference_scores(X, S, normalize)
    ids, got = model.recommend(np.arange(40), k=12)
    seen = X.toarray() != 0
    ref = np.where(seen, -np.inf, scores)
    # every unseen item is a candidate, including the zero-score ones
    assert_topk_rows(ids, got, ref, 12, candidates=~seen)


def test_userknn_recommend_matches_dense_product():
    X = random_user_items(n_users=40, n_items=60, density=0.15, seed=2)
    model = UserKNN(k=6, weighting="tfidf").fit(X)
    scores = model.similarity_.toarray().astype(np.float64) @ X.toarray()
    ids, got = model.recommend(np.arange(40), k=10, exclude_seen=False)
    assert_topk_rows(ids, got, scores, 10, candidates=np.ones_like(scores, bool))


def test_zero_score_items_fill_by_index_and_filters_apply():
    X = sp.csr_matrix(np.array([[1, 0, 0, 0, 0, 1], [1, 1, 0, 0, 0, 0]], np.float32))
    model = ItemKNN(k=5).fit(X)
    ids, scores = model.recommend(0, k=4)
    assert ids[0] == 1 and scores[0] > 0  # the only co-occurring unseen item
    np.testing.assert_array_equal(ids[1:], [2, 3, 4])
    np.testing.assert_array_equal(scores[1:], 0)
    ids, _ = model.recommend(0, k=3, items=[1, 3, 4], exclude_items=[3])
    np.testing.assert_array_equal(ids, [1, 4, -1])


@pytest.mark.parametrize("model_class", [UserKNN, ItemKNN, RP3Beta])
def test_fold_in_with_own_history_equals_training_user(model_class):
    X = random_user_items(seed=4)
    model = model_class(k=10).fit(X)
    users = np.array([0, 1, 2, 7])
    a_ids, a_scores = model.recommend(users, k=8)
    b_ids, b_scores = model.recommend(users, k=8, user_items=X[users])
    np.testing.assert_array_equal(a_ids, b_ids)
    np.testing.assert_allclose(a_scores, b_scores, rtol=1e-6)


def test_userknn_new_user_neighbours_use_training_statistics():
    X = random_user_items(seed=6)
    model = UserKNN(k=5, similarity="adjusted_cosine", weighting="bm25").fit(X)
    row = X[[2]]
    ids_new, _ = model.recommend(X.shape[0] + 3, k=6, user_items=row)
    # the new user equals user 2, so user 2 is its best neighbour and drives the ranking
    sims = similarity(
        sp.vstack([X, row]).tocsr(), "adjusted_cosine", vectors="users", weighting="bm25"
    )
    assert np.argmax(sims[-1]) == 2 or sims[-1, 2] == sims[-1].max()
    assert (ids_new >= 0).all()


def test_similar_items_come_from_the_similarity_matrix():
    X = random_user_items(seed=8)
    model = ItemKNN(k=6).fit(X)
    ids, scores = model.similar_items(np.arange(X.shape[1]), k=6)
    ref_ids, ref_scores = csr_rows_as_topk(model.similarity_, 6)
    np.testing.assert_array_equal(ids, np.where(ref_ids >= 0, ref_ids, -1))
    np.testing.assert_allclose(scores, ref_scores)
    assert ids[5][0] == -1  # the fixture's item 5 has no interactions, hence no neighbours
    uk = UserKNN(k=5).fit(X)
    u_ids, u_scores = uk.similar_items([0, 1], k=4)
    ref = similarity(X, "cosine")
    assert_topk_rows(u_ids, u_scores, ref[[0, 1]], 4)


def test_block_structure_recovered():
    train, test = block_user_items()
    for model in (ItemKNN(k=4), UserKNN(k=5), RP3Beta(k=4)):
        ids, _ = model.fit(train).recommend(np.arange(train.shape[0]), k=1)
        assert test[np.arange(train.shape[0]), ids[:, 0]].mean() == 1.0


# ------------------------------------------------------------ rating prediction


def _reference_predict(model, X, users, items, baseline):
    """Dense k-NN-with-means reference over the stored neighbours of the target."""
    D = X.toarray().astype(np.float64)
    R = D != 0
    S = model.similarity_.toarray().astype(np.float64)
    item_based = isinstance(model, ItemKNN)
    out = []
    mu = D[R].mean()
    item_mean = np.where(R.sum(0) > 0, D.sum(0) / np.maximum(R.sum(0), 1), mu)
    user_mean = np.where(R.sum(1) > 0, D.sum(1) / np.maximum(R.sum(1), 1), mu)
    for u, i in zip(users, items):
        if item_based:
            nbrs = np.flatnonzero((S[i] > 0) & R[u])
            sims, ratings, means, own = S[i, nbrs], D[u, nbrs], item_mean[nbrs], item_mean[i]
        else:
            nbrs = np.flatnonzero((S[u] > 0) & R[:, i])
            sims, ratings, means, own = S[u, nbrs], D[nbrs, i], user_mean[nbrs], user_mean[u]
        if baseline == "mean":
            pred = own + (sims @ (ratings - means)) / sims.sum() if nbrs.size else own
        else:
            pred = (sims @ ratings) / sims.sum() if nbrs.size else mu
        out.append(np.clip(pred, D[R].min(), D[R].max()))
    return np.array(out)


@pytest.mark.parametrize("model_class", [ItemKNN, UserKNN])
@pytest.mark.parametrize("baseline", ["mean", "none"])
def test_predict_matches_reference(model_class, baseline):
    X = random_user_items(n_users=40, n_items=50, density=0.3, seed=9)
    model = model_class(k=10, similarity="pearson", rating_baseline=baseline).fit(X)
    rng = np.random.default_rng(0)
    users, items = rng.integers(0, 40, 200), rng.integers(0, 50, 200)
    got = model.predict(users, items)
    assert got.dtype == np.float32 and got.shape == (200,)
    np.testing.assert_allclose(
        got, _reference_predict(model, X, users, items, baseline), rtol=1e-5, atol=1e-5
    )
    assert isinstance(model.predict(0, 1), np.floating)


def _load_ml100k(path: Path):
    raw = np.loadtxt(path / "u.data", dtype=np.int64)
    users, items, ratings = raw[:, 0] - 1, raw[:, 1] - 1, raw[:, 2].astype(np.float32)
    rng = np.random.default_rng(42)
    test = rng.random(users.size) < 0.2
    shape = (users.max() + 1, items.max() + 1)
    train = sp.csr_matrix((ratings[~test], (users[~test], items[~test])), shape=shape)
    return train, users[test], items[test], ratings[test]


def test_rating_prediction_rmse_on_ml100k(ml100k_path):
    train, users, items, truth = _load_ml100k(ml100k_path)

    def rmse(pred):
        return float(np.sqrt(np.mean((pred - truth) ** 2)))

    global_mean = rmse(np.full(truth.size, train.data.mean()))
    counts = np.bincount(train.indices, minlength=train.shape[1])
    sums = np.bincount(train.indices, weights=train.data, minlength=train.shape[1])
    item_mean = rmse(
        np.where(counts[items] > 0, sums[items] / np.maximum(counts[items], 1), train.data.mean())
    )
    item_knn = ItemKNN(k=300, similarity="pearson", shrinkage=50.0, rating_baseline="baseline").fit(
        train
    )
    user_knn = UserKNN(k=300, similarity="pearson", shrinkage=50.0, rating_baseline="mean").fit(
        train
    )
    item_rmse, user_rmse = (
        rmse(item_knn.predict(users, items)),
        rmse(user_knn.predict(users, items)),
    )
    # measured 0.917 / 0.943 on this split; published k-NN-with-means results are ~0.92-0.95
    assert item_rmse < 0.93 and user_rmse < 0.955, (item_rmse, user_rmse)
    assert item_rmse < item_mean - 0.04 and user_rmse < item_mean - 0.03
    assert global_mean > item_mean


# ------------------------------------------------------------------ bad input


def test_bad_parameters():
    X = random_user_items()
    with pytest.raises(ValueError, match="similarity"):
        ItemKNN(similarity="euclid").fit(X)
    with pytest.raises(ValueError, match="weighting"):
        ItemKNN(weighting="idf").fit(X)
    with pytest.raises(ValueError, match="weighting"):
        ItemKNN(similarity="jaccard", weighting="bm25").fit(X)
    with pytest.raises(ValueError, match="shrinkage"):
        ItemKNN(shrinkage=-1.0).fit(X)
    with pytest.raises(ValueError, match="shrinkage"):
        ItemKNN(similarity="dot", shrinkage=1.0).fit(X)
    with pytest.raises(TypeError, match="k"):
        UserKNN(k=2.5).fit(X)
    with pytest.raises(ValueError, match="k"):
        UserKNN(k=0).fit(X)
    with pytest.raises(ValueError, match="asymmetric_alpha"):
        ItemKNN(asymmetric_alpha=1.5).fit(X)
    with pytest.raises(ValueError, match="bm25_b"):
        ItemKNN(weighting="bm25", bm25_b=2.0).fit(X)
    with pytest.raises(TypeError, match="normalize_scores"):
        ItemKNN(normalize_scores="yes").fit(X)
    with pytest.raises(ValueError, match="rating_baseline"):
        ItemKNN(rating_baseline="median").fit(X)
    with pytest.raises(ValueError, match="alpha"):
        RP3Beta(alpha=0.0).fit(X)
    with pytest.raises(ValueError, match="beta"):
        RP3Beta(beta=-0.1).fit(X)
    with pytest.raises(TypeError, match="num_threads"):
        RP3Beta(num_threads=1.5).fit(X)


def test_bad_predict_input():
    X = random_user_items()
    model = ItemKNN(k=5).fit(X)
    with pytest.raises(ValueError, match="same length"):
        model.predict([0, 1], [0])
    with pytest.raises(IndexError, match="items"):
        model.predict([0], [X.shape[1]])
    with pytest.raises(IndexError, match="users"):
        model.predict([-1], [0])
    with pytest.raises(TypeError, match="users"):
        model.predict([0.5], [0])


def test_negative_weights_rejected_but_centred_similarities_work():
    X = random_user_items()
    neg = X.copy()
    neg.data[0] = -2.0
    with pytest.raises(ValueError, match="non-negative"):
        ItemKNN().fit(neg)
    S = ItemKNN(k=50, similarity="adjusted_cosine").fit(X).similarity_
    assert (S.data < 0).any(), "centred similarities can be negative and are kept"


def test_stored_zeros_do_not_count_as_interactions():
    X = random_user_items(seed=12)
    with_zeros = X.copy()
    with_zeros.data[::7] = 0.0
    cleaned = with_zeros.copy()
    cleaned.eliminate_zeros()
    for kind in ("jaccard", "cosine"):
        a = ItemKNN(k=10, similarity=kind).fit(with_zeros).similarity_
        b = ItemKNN(k=10, similarity=kind).fit(cleaned).similarity_
        assert (a != b).nnz == 0


def test_native_kernels_reject_out_of_range_indices():
    from reelrec import _core

    indptr = np.array([0, 1], np.int64)
    with pytest.raises(IndexError, match="out of range"):
        _core.csr_rows_topk(
            indptr, np.array([5], np.int32), np.ones(1, np.float32), 3, None, None, 2, 1
        )
    with pytest.raises(IndexError, match="rows"):
        _core.csr_rows_topk(
            indptr,
            np.array([0], np.int32),
            np.ones(1, np.float32),
            3,
            np.array([4], np.int64),
            None,
            2,
            1,
        )


def test_neighbour_ties_keep_the_lower_index():
    # item 0 co-occurs once with each of items 1..6, all with identical cosine
    dense = np.zeros((6, 7), np.float32)
    dense[:, 0] = 1
    dense[np.arange(6), np.arange(1, 7)] = 1
    S = ItemKNN(k=3).fit(sp.csr_matrix(dense)).similarity_
    np.testing.assert_array_equal(S[0].indices, [1, 2, 3])
    # many candidates with a few ties at the cut (exercises the sampled bound)
    rng = np.random.default_rng(3)
    dense = (rng.random((400, 900)) < 0.05).astype(np.float32)
    dense[:, 0] = 1
    X = sp.csr_matrix(dense)
    ids, scores = csr_rows_as_topk(ItemKNN(k=5).fit(X).similarity_, 5)
    ref = similarity(X, "cosine")
    for r in (0, 1, 17):
        row = ref[r]
        order = np.lexsort((np.arange(row.size), -np.round(row, 6)))[:5]
        np.testing.assert_allclose(scores[r], row[order], rtol=1e-5)


def test_queries_from_many_python_threads():
    from concurrent.futures import ThreadPoolExecutor

    X = random_user_items(n_users=200, n_items=300, density=0.05, seed=13)
    models = [ItemKNN(k=20).fit(X), UserKNN(k=10).fit(X), RP3Beta(k=20).fit(X)]
    users = np.arange(200)
    for model in models:
        expected = model.recommend(users, k=10)
        with ThreadPoolExecutor(max_workers=4) as pool:
            results = list(pool.map(lambda u: model.recommend(users[u::4], k=10), range(4)))  # noqa: B023
        for u, (ids, scores) in enumerate(results):
            np.testing.assert_array_equal(ids, expected[0][u::4])
            np.testing.assert_array_equal(scores, expected[1][u::4])


def test_fit_in_row_chunks_equals_one_call(monkeypatch):
    from reelrec.models import neighbours

    X = random_user_items(n_users=60, n_items=80, density=0.1, seed=14)
    whole = [
        m.fit(X).similarity_ for m in (ItemKNN(k=7), UserKNN(k=7, weighting="bm25"), RP3Beta(k=7))
    ]
    monkeypatch.setattr(neighbours, "_CHUNK_ROWS", 9)
    chunked = [
        m.fit(X).similarity_ for m in (ItemKNN(k=7), UserKNN(k=7, weighting="bm25"), RP3Beta(k=7))
    ]
    for a, b in zip(whole, chunked):
        assert a.shape == b.shape and (a != b).nnz == 0
        np.testing.assert_array_equal(a.indptr, b.indptr)
