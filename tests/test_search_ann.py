"""ANNRecommender: the contract suite, and agreement with the wrapped model."""

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from conftest import random_user_items
from contract import RecommenderContract
from reelrec import Popularity, Random, Recommender
from reelrec.search import ANNRecommender, ExactIndex, HNSWIndex


class TruncatedSVDModel(Recommender):
    """Test-only personalised factor model: items = right singular vectors, users fold in."""

    _state_attrs = ("item_factors_",)

    def __init__(self, factors: int = 4):
        self.factors = factors

    def _fit(self, X):
        _, _, vt = spla.svds(X.astype(np.float64), k=self.factors, random_state=0)
        self.item_factors_ = np.ascontiguousarray(vt.T, dtype=np.float32)

    def _user_vectors(self, users, user_items):
        rows = self.user_items_[users] if user_items is None else user_items
        return np.asarray(rows @ self.item_factors_, dtype=np.float32)

    def _item_vectors(self):
        return self.item_factors_, None


class ANNContract(RecommenderContract):
    def test_save_load_round_trip(self, fitted, tmp_path):
        # The wrapped model is rebuilt on load, so compare its parameters, not its identity.
        path = tmp_path / "model.npz"
        fitted.save(path)
        loaded = Recommender.load(path)
        assert type(loaded) is type(fitted)
        a, b = loaded.get_params(), fitted.get_params()
        assert a.pop("model").get_params() == b.pop("model").get_params()
        assert a == b
        for x, y in zip(fitted.recommend(np.arange(10), k=6), loaded.recommend(np.arange(10), k=6)):
            np.testing.assert_array_equal(x, y)
        c = type(fitted).load(path).similar_items([0, 4], k=3)
        np.testing.assert_array_equal(c[0], fitted.similar_items([0, 4], k=3)[0])


class TestExactOverRandom(ANNContract):
    personalised = False

    def make_model(self, **params):
        return ANNRecommender(Random(dim=8, random_state=0), index="exact", **params)


class TestHnswOverRandom(ANNContract):
    personalised = False

    def make_model(self, **params):
        return ANNRecommender(
            Random(dim=8, random_state=0), index="hnsw", index_params={"ef": 64}, **params
        )


class TestHnswOverPopularity(ANNContract):
    """Bias-only factor model (zero-dimensional vectors)."""

    personalised = False

    def make_model(self, **params):
        return ANNRecommender(Popularity(), index="hnsw", **params)


class TestHnswOverSVD(ANNContract):
    def make_model(self, **params):
        return ANNRecommender(TruncatedSVDModel(factors=3), index="hnsw", **params)


@pytest.mark.parametrize("index", ["exact", "hnsw"])
@pytest.mark.parametrize(
    "inner", [Random(dim=8, random_state=1), Popularity(), TruncatedSVDModel(4)]
)
def test_same_rankings_as_the_wrapped_model(index, inner):
    X = random_user_items(n_users=50, n_items=200, density=0.1, seed=3)
    model = type(inner)(**inner.get_params()).fit(X)
    ann = ANNRecommender.from_fitted(
        model, index=index, index_params={"ef": 200} if index == "hnsw" else None
    )
    users = np.arange(50)
    kwargs = {"items": np.arange(0, 200, 2), "exclude_items": [4, 8, 10]}
    for kw in ({}, kwargs, {"exclude_seen": False}):
        ids, scores = ann.recommend(users, k=15, **kw)
        ref_ids, ref_scores = model.recommend(users, k=15, **kw)
        np.testing.assert_allclose(scores, ref_scores, rtol=1e-4, atol=1e-4)
        np.testing.assert_array_equal(ids[ref_scores > -np.inf] >= 0, True)
        # ids may only differ between equal scores
        diff = ids != ref_ids
        assert np.allclose(scores[diff], ref_scores[diff], atol=1e-4)
    sim_ids, sim_scores = ann.similar_items(np.arange(0, 200, 7), k=5)
    ref_sim_ids, ref_sim_scores = model.similar_items(np.arange(0, 200, 7), k=5)
    np.testing.assert_allclose(sim_scores, ref_sim_scores, rtol=1e-4, atol=1e-4)


def test_from_fitted_does_not_refit_and_fit_clones():
    X = random_user_items()
    inner = Random(dim=4, random_state=2).fit(X)
    ann = ANNRecommender.from_fitted(inner, index="exact")
    assert ann.model_ is inner and isinstance(ann.index_, ExactIndex)
    fresh = ANNRecommender(Random(dim=4, random_state=2), random_state=0).fit(X)
    assert fresh.model_ is not fresh.model and not hasattr(fresh.model, "user_items_")
    assert isinstance(fresh.index_, HNSWIndex) and len(fresh.index_) == X.shape[1]
    np.testing.assert_array_equal(fresh.recommend(0, k=5)[0], inner.recommend(0, k=5)[0])


def test_bad_parameters():
    X = random_user_items()
    with pytest.raises(ValueError, match="index"):
        ANNRecommender(Random(), index="annoy").fit(X)
    with pytest.raises(ValueError, match="index_params: unknown"):
        ANNRecommender(Random(), index="hnsw", index_params={"metric": "ip"}).fit(X)
    with pytest.raises(ValueError, match="index_params: unknown"):
        ANNRecommender(Random(), index="exact", index_params={"ef": 10}).fit(X)
    with pytest.raises(TypeError, match="model"):
        ANNRecommender("Random").fit(X)
    with pytest.raises(ValueError, match="num_threads"):
        ANNRecommender(Random(), num_threads=-2).fit(X)


def test_mips_reduction_with_varied_norms():
    """Items of very different norms: L2 on augmented vectors still ranks by inner product."""
    rng = np.random.default_rng(0)
    X = sp.random(30, 500, density=0.05, format="csr", dtype=np.float32, random_state=0)
    model = Random(dim=16, random_state=0).fit(X)
    model.item_vectors_ = model.item_vectors_ * rng.uniform(0.1, 10.0, (500, 1)).astype(np.float32)
    ann = ANNRecommender.from_fitted(model, index="hnsw", index_params={"ef": 100}, random_state=0)
    ids, _ = ann.recommend(np.arange(30), k=10)
    ref, _ = model.recommend(np.arange(30), k=10)
    hits = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(ids, ref)])
    assert hits >= 0.95
