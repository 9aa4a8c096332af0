import numpy as np
import pytest
import scipy.sparse as sp

from contract import RecommenderContract
from reelrec import Popularity, Random
from reelrec.data import Interactions


class TestPopularity(RecommenderContract):
    personalised = False

    def make_model(self, **params):
        return Popularity(**params)


class TestTrending(RecommenderContract):
    personalised = False

    def make_model(self, **params):
        return Popularity(weighting="weight", **params)


class TestRandom(RecommenderContract):
    personalised = False

    def make_model(self, **params):
        return Random(**params)


def test_popularity_counts_known_answer():
    X = sp.csr_matrix(np.array([[1, 0, 3], [1, 1, 0], [0, 0, 5]], np.float32))
    ids, scores = Popularity().fit(X).recommend(2, k=3, exclude_seen=False)
    np.testing.assert_array_equal(ids, [0, 2, 1])  # counts 2, 2, 1; tie -> lower index
    np.testing.assert_array_equal(scores, [2, 2, 1])
    ids, scores = Popularity(weighting="weight").fit(X).recommend(2, k=3, exclude_seen=False)
    np.testing.assert_array_equal(ids, [2, 0, 1])
    np.testing.assert_array_equal(scores, [8, 2, 1])


def test_trending_decays_old_interactions():
    X = sp.csr_matrix(np.array([[1, 1], [1, 0], [1, 0]], np.float32))
    # item 0 is watched three times long ago; item 1 once, now
    ts = np.array([0.0, 100.0, 0.0, 0.0])
    inter = Interactions(X, timestamps=ts)
    ids, scores = Popularity(half_life=10.0).fit(inter).recommend(0, k=2, exclude_seen=False)
    assert ids[0] == 1
    np.testing.assert_allclose(scores, [1.0, 3 * 2.0**-10], rtol=1e-5)
    with pytest.raises(ValueError, match="timestamps"):
        Popularity(half_life=10.0).fit(X)
    with pytest.raises(ValueError, match="half_life"):
        Popularity(half_life=-1.0).fit(inter)


def test_random_differs_per_user():
    X = sp.random(50, 200, density=0.05, format="csr", dtype=np.float32, random_state=0)
    ids, _ = Random(random_state=3).fit(X).recommend(np.arange(50), k=10)
    assert len({tuple(r) for r in ids.tolist()}) == 50
