"""ContentKNN and Hybrid: contract, references, cold start, metadata, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from conftest import random_user_items
from contract import RecommenderContract
from knn_reference import assert_topk_rows, csr_rows_as_topk
from reelrec import ContentKNN, Hybrid, ItemKNN, Popularity, Recommender, RP3Beta, UserKNN
from reelrec.data import Interactions


def block_features(n_items: int, block: int = 5, seed: int = 0) -> sp.csr_matrix:
    """One-hot of ``item // block`` plus a little seeded noise on 3 extra columns."""
    rng = np.random.default_rng(seed)
    blocks = sp.csr_matrix(
        (np.ones(n_items), (np.arange(n_items), np.arange(n_items) // block)),
        shape=(n_items, (n_items + block - 1) // block),
    )
    noise = sp.csr_matrix(0.1 * rng.random((n_items, 3)) * (rng.random((n_items, 3)) < 0.5))
    return sp.hstack([blocks, noise], format="csr", dtype=np.float32)


class FixtureContentKNN(ContentKNN):
    """ContentKNN whose fit supplies block features when none are given (contract fixtures)."""

    def fit(self, X, item_features=None):
        if item_features is None:
            n_items = X.shape[1]
            item_features = block_features(n_items)
        return super().fit(X, item_features=item_features)


class TestContentKNN(RecommenderContract):
    def make_model(self, **params):
        return FixtureContentKNN(k=10, **params)


class TestHybrid(RecommenderContract):
    def make_model(self, **params):
        return Hybrid([("itemknn", ItemKNN(k=20), 1.0), ("popular", Popularity(), 0.3)], **params)


class TestHybridRankZscore(RecommenderContract):
    def make_model(self, **params):
        return Hybrid(
            [UserKNN(k=10), RP3Beta(k=20), FixtureContentKNN(k=10)],
            weights=[1.0, 1.0, 0.5],
            normalize="zscore",
            candidate_multiplier=3,
            **params,
        )


# ---------------------------------------------------------------- ContentKNN


def test_content_similarity_and_scores_match_numpy():
    X = random_user_items(seed=2)
    F = block_features(X.shape[1], block=7, seed=1)
    model = ContentKNN(k=5).fit(X, item_features=F)
    D = F.toarray().astype(np.float64)
    unit = D / np.where(
        np.linalg.norm(D, axis=1, keepdims=True) > 0, np.linalg.norm(D, axis=1, keepdims=True), 1
    )
    cos = unit @ unit.T
    np.fill_diagonal(cos, 0)
    ids, scores = csr_rows_as_topk(model.similarity_, 5)
    assert_topk_rows(ids, scores, cos, 5)
    H = X.toarray().astype(np.float64)
    profiles = H @ unit / np.where(H.sum(1, keepdims=True) > 0, H.sum(1, keepdims=True), 1)
    ref = profiles @ unit.T
    got_ids, got_scores = model.recommend(np.arange(X.shape[0]), k=8)
    seen = H != 0
    assert_topk_rows(got_ids, got_scores, np.where(seen, -np.inf, ref), 8, candidates=~seen)


def test_cold_items_are_recommended():
    X = random_user_items(seed=0)  # item 5 has no interactions
    assert X[:, 5].nnz == 0
    F = block_features(X.shape[1])
    model = ContentKNN(k=10).fit(X, item_features=F)
    # a user who only watched items of block 1 (items 5..9) gets the cold item 5 first
    history = sp.csr_matrix(([1.0, 1.0], ([0, 0], [6, 7])), shape=(1, X.shape[1]), dtype=np.float32)
    ids, _ = model.recommend(X.shape[0], k=3, user_items=history)
    assert 5 in ids.tolist()


def test_features_from_interactions_metadata():
    X = random_user_items(
        n_items=6, n_users=10, density=0.5, seed=1, empty_items=(), empty_users=()
    )
    inter = Interactions(X)
    inter.item_metadata = {
        "title": ["Space Wars", "Space Wars II", "Cooking Show", "Baking Show", "Space Docs", None],
        "tags": ["scifi|action", "scifi", "food", ["food", "kids"], "scifi|docs", np.nan],
        "topic": ["film", "film", "tv", "tv", "docs", "tv"],
        "ignored": list(range(6)),
    }
    model = ContentKNN(k=3, ngram_range=(1, 1)).fit(inter)
    assert model.feature_columns_ == ("title", "tags", "topic")
    names = set(model.feature_names_.tolist())
    assert {"text:space", "text:wars", "tags:scifi", "tags:kids", "topic:tv"} <= names
    sim_ids, _ = model.similar_items(0, k=2)
    assert sim_ids[0] == 1  # Space Wars II
    assert model.item_features_.shape == (6, len(names))
    only_text = ContentKNN(k=3, categorical_columns=(), ngram_range=(1, 1)).fit(inter)
    assert all(n.startswith("text:") for n in only_text.feature_names_.tolist())
    with pytest.raises(ValueError, match="none of the columns"):
        ContentKNN(text_columns=("plot",), categorical_columns=("genre",)).fit(inter)
    inter.item_metadata = {"title": ["a", "b"]}
    with pytest.raises(ValueError, match="one per item"):
        ContentKNN().fit(inter)


def test_content_save_load_with_feature_names(tmp_path):
    X = random_user_items(
        n_items=6, n_users=10, density=0.5, seed=1, empty_items=(), empty_users=()
    )
    inter = Interactions(X)
    inter.item_metadata = {"title": ["a b", "b c", "c d", "d e", "e f", "f g"]}
    model = ContentKNN(k=2, ngram_range=[1, 1]).fit(inter)
    assert model.ngram_range == (1, 1)
    model.save(tmp_path / "m.npz")
    loaded = Recommender.load(tmp_path / "m.npz")
    np.testing.assert_array_equal(loaded.feature_names_, model.feature_names_)
    assert loaded.get_params() == model.get_params()
    np.testing.assert_array_equal(
        loaded.recommend(np.arange(10), k=3)[0], model.recommend(np.arange(10), k=3)[0]
    )


def test_content_bad_input():
    X = random_user_items()
    with pytest.raises(ValueError, match="item_features"):
        ContentKNN().fit(X)
    with pytest.raises(ValueError, match="item_features: expected 60 rows"):
        ContentKNN().fit(X, item_features=sp.random(10, 4, format="csr"))
    with pytest.raises(TypeError, match="item_features"):
        ContentKNN().fit(X, item_features="genres")
    bad = block_features(60).toarray()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        ContentKNN().fit(X, item_features=bad)
    with pytest.raises(ValueError, match="text_weight"):
        ContentKNN(text_weight=-1.0).fit(X, item_features=block_features(60))
    with pytest.raises(TypeError, match="text_columns"):
        ContentKNN(text_columns="title").fit(X, item_features=block_features(60))


# ------------------------------------------------------------------- Hybrid


def _minmax(ids, scores):
    out = {}
    valid = ids >= 0
    s = scores[valid]
    lo, hi = s.min(), s.max()
    for i, v in zip(ids[valid], s):
        out[int(i)] = (v - lo) / (hi - lo) if hi > lo else 0.0
    return out


def test_hybrid_equals_weighted_minmax_when_candidates_cover_catalogue():
    X = random_user_items(seed=3, empty_items=())
    a, b = ItemKNN(k=15).fit(X), RP3Beta(k=15).fit(X)
    hybrid = Hybrid(
        [("a", ItemKNN(k=15), 2.0), ("b", RP3Beta(k=15), 1.0)], candidate_multiplier=100
    ).fit(X)
    n_items = X.shape[1]
    for u in range(5):
        ref = np.full(n_items, -np.inf)
        na = _minmax(*a.recommend(u, k=n_items))
        nb = _minmax(*b.recommend(u, k=n_items))
        for i in na:
            ref[i] = (2.0 * na[i] + 1.0 * nb.get(i, 0.0)) / 3.0
        ids, scores = hybrid.recommend(u, k=10)
        assert_topk_rows(
            ids[None], scores[None], ref[None], 10, candidates=np.isfinite(ref)[None], atol=1e-6
        )


def test_hybrid_cold_start_fallback_uses_content_only():
    X = random_user_items(seed=0)  # item 5 is cold
    F = block_features(X.shape[1])
    history = sp.csr_matrix(([1.0, 1.0], ([0, 0], [6, 7])), shape=(1, X.shape[1]), dtype=np.float32)
    models = [("cf", ItemKNN(k=10), 1.0), ("content", ContentKNN(k=10), 1.0)]
    with_fallback = Hybrid(models, candidate_multiplier=100).fit(X, item_features=F)
    content = ContentKNN(k=10).fit(X, item_features=F)
    ids, scores = with_fallback.recommend(X.shape[0], k=X.shape[1], user_items=history)
    c_ids, c_scores = content.recommend(X.shape[0], k=X.shape[1], user_items=history)
    lo, hi = c_scores[c_ids >= 0].min(), c_scores[c_ids >= 0].max()
    expected_cold = (c_scores[c_ids.tolist().index(5)] - lo) / (hi - lo)
    np.testing.assert_allclose(scores[ids.tolist().index(5)], expected_cold, rtol=1e-5)
    without = Hybrid(models, candidate_multiplier=100, cold_start_fallback=False).fit(
        X, item_features=F
    )
    ids2, scores2 = without.recommend(X.shape[0], k=X.shape[1], user_items=history)
    assert scores2[ids2.tolist().index(5)] < scores[ids.tolist().index(5)]


def test_hybrid_rank_normalisation_and_components_are_clones():
    X = random_user_items(seed=5)
    given = ItemKNN(k=10)
    hybrid = Hybrid([given, Popularity()], normalize="rank").fit(X)
    assert not hasattr(given, "similarity_"), "the given models are not fitted in place"
    assert [name for name, _, _ in hybrid.models_] == ["itemknn", "popularity"]
    ids, scores = hybrid.recommend(0, k=5)
    assert np.all(np.diff(scores) <= 0) and scores[0] <= 1.0


def test_nested_hybrid_save_load(tmp_path):
    X = random_user_items(seed=6)
    inner = Hybrid([ItemKNN(k=5), Popularity()], weights=[1.0, 0.2])
    outer = Hybrid([("inner", inner, 1.0), ("user", UserKNN(k=5), 0.5)]).fit(X)
    outer.save(tmp_path / "h.npz")
    loaded = Recommender.load(tmp_path / "h.npz")
    assert loaded.get_params() == outer.get_params()
    np.testing.assert_array_equal(
        loaded.recommend(np.arange(10), k=5)[0], outer.recommend(np.arange(10), k=5)[0]
    )
    assert isinstance(loaded.models_[0][1], Hybrid)


def test_hybrid_bad_input():
    X = random_user_items()
    with pytest.raises(ValueError, match="models"):
        Hybrid([]).fit(X)
    with pytest.raises(TypeError, match=r"models\[1\]"):
        Hybrid([ItemKNN(), "popularity"]).fit(X)
    with pytest.raises(TypeError, match=r"models\[0\]"):
        Hybrid([("knn", object(), 1.0)]).fit(X)
    with pytest.raises(ValueError, match="weights"):
        Hybrid([ItemKNN(), Popularity()], weights=[1.0]).fit(X)
    with pytest.raises(ValueError, match="weights"):
        Hybrid([("a", ItemKNN(), 1.0)], weights=[1.0]).fit(X)
    with pytest.raises(ValueError, match=r"weights\[0\]"):
        Hybrid([ItemKNN()], weights=[-1.0]).fit(X)
    with pytest.raises(ValueError, match="positive sum"):
        Hybrid([ItemKNN()], weights=[0.0]).fit(X)
    with pytest.raises(ValueError, match="normalize"):
        Hybrid([ItemKNN()], normalize="softmax").fit(X)
    with pytest.raises(ValueError, match="candidate_multiplier"):
        Hybrid([ItemKNN()], candidate_multiplier=0).fit(X)
