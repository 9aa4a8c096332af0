"""The contract every Recommender passes.

A model's test module gets the whole suite with one class::

    class TestMyModel(RecommenderContract):
        def make_model(self, **params):
            return MyModel(factors=8, **params)

``make_model`` receives ``random_state`` / ``num_threads`` only when the model
takes them (see ``supports``).
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest
import scipy.sparse as sp

from conftest import block_user_items, random_user_items
from reelrec import NotFittedError, Recommender


class RecommenderContract:
    #: whether the model should reach precision@1 = 1 on the block fixture
    personalised = True

    def make_model(self, **params) -> Recommender:  # pragma: no cover - overridden
        raise NotImplementedError

    def supports(self, name: str) -> bool:
        model = self.make_model()
        return name in inspect.signature(type(model).__init__).parameters

    def seeded(self, **params) -> Recommender:
        kw = dict(params)
        if self.supports("random_state"):
            kw.setdefault("random_state", 42)
        return self.make_model(**kw)

    @pytest.fixture
    def X(self):
        return random_user_items()

    @pytest.fixture
    def fitted(self, X):
        return self.seeded().fit(X)

    # ------------------------------------------------------------------ basics
    def test_fit_returns_self_and_sets_attributes(self, X):
        model = self.seeded()
        assert model.fit(X) is model
        assert model.n_users_ == X.shape[0] and model.n_items_ == X.shape[1]
        assert model.user_items_.shape == X.shape

    def test_params_round_trip(self):
        model = self.make_model()
        params = model.get_params()
        clone = type(model)(**params)
        assert clone.get_params() == params
        assert type(model).__name__ in repr(model)

    def test_not_fitted(self):
        with pytest.raises(NotFittedError, match="not fitted"):
            self.make_model().recommend(0)
        with pytest.raises(NotFittedError):
            self.make_model().similar_items(0)

    def test_single_user_shapes_and_order(self, fitted):
        ids, scores = fitted.recommend(0, k=5)
        assert ids.shape == (5,) and scores.shape == (5,)
        assert ids.dtype == np.int32 and scores.dtype == np.float32
        valid = scores[ids >= 0]
        assert np.all(np.diff(valid) <= 0), "scores must be sorted best first"

    def test_batch_equals_one_by_one(self, fitted, X):
        users = np.arange(X.shape[0])
        ids, scores = fitted.recommend(users, k=7)
        assert ids.shape == (X.shape[0], 7)
        for u in users:
            one_ids, one_scores = fitted.recommend(int(u), k=7)
            np.testing.assert_array_equal(one_ids, ids[u])
            np.testing.assert_allclose(one_scores, scores[u], rtol=1e-5, atol=1e-6)

    def test_exclude_seen(self, fitted, X):
        ids, _ = fitted.recommend(np.arange(X.shape[0]), k=10)
        for u in range(X.shape[0]):
            seen = set(X[u].indices.tolist())
            assert not seen & set(ids[u][ids[u] >= 0].tolist())

    def test_include_seen(self, fitted, X):
        ids, _ = fitted.recommend(0, k=X.shape[1], exclude_seen=False)
        assert (ids >= 0).sum() == X.shape[1]
        assert len(set(ids.tolist())) == X.shape[1]

    def test_items_allowlist_and_exclusions(self, fitted, X):
        allowed = np.array([1, 2, 7, 11, 19, 30])
        ids, _ = fitted.recommend(np.arange(5), k=4, items=allowed, exclude_items=[2])
        got = set(ids[ids >= 0].tolist())
        assert got <= set(allowed.tolist()) - {2}

    def test_k_larger_than_catalogue_pads(self, fitted, X):
        n_items = X.shape[1]
        ids, scores = fitted.recommend(1, k=n_items + 10)
        assert ids.shape == (n_items + 10,)
        valid = ids >= 0
        assert valid.sum() == n_items - X[1].nnz
        assert np.all(ids[~valid] == -1) and np.all(np.isneginf(scores[~valid]))
        assert np.all(valid[: valid.sum()]), "padding only at the end"
        assert len(set(ids[valid].tolist())) == valid.sum()

    def test_user_without_history(self, fitted, X):
        assert X[3].nnz == 0
        ids, scores = fitted.recommend(3, k=5)
        assert (ids >= 0).all() and np.isfinite(scores).all()

    def test_fold_in_with_user_items(self, fitted, X):
        rows = X[[0, 1]]
        ids, _ = fitted.recommend([X.shape[0] + 5, 1], k=5, user_items=rows)
        assert ids.shape == (2, 5)
        for r in range(2):
            assert not set(rows[r].indices.tolist()) & set(ids[r].tolist())

    def test_similar_items(self, fitted, X):
        ids, scores = fitted.similar_items([0, 1, 2], k=4)
        assert ids.shape == (3, 4) and scores.shape == (3, 4)
        for r, item in enumerate([0, 1, 2]):
            assert item not in ids[r].tolist()
        one_ids, _ = fitted.similar_items(1, k=4)
        np.testing.assert_array_equal(one_ids, ids[1])

    def test_save_load_round_trip(self, fitted, tmp_path):
        path = tmp_path / "model.npz"
        fitted.save(path)
        loaded = Recommender.load(path)
        assert type(loaded) is type(fitted)
        assert loaded.get_params() == fitted.get_params()
        a = fitted.recommend(np.arange(10), k=6)
        b = loaded.recommend(np.arange(10), k=6)
        np.testing.assert_array_equal(a[0], b[0])
        np.testing.assert_allclose(a[1], b[1], rtol=1e-6)
        c = type(fitted).load(path).similar_items([0, 4], k=3)
        np.testing.assert_array_equal(c[0], fitted.similar_items([0, 4], k=3)[0])

    def test_load_rejects_garbage(self, tmp_path):
        path = tmp_path / "bad.npz"
        path.write_bytes(b"not a model")
        with pytest.raises(ValueError, match="not a reelrec model"):
            type(self.make_model()).load(path)

    def test_deterministic_with_seed(self, X):
        a = self.seeded().fit(X).recommend(np.arange(X.shape[0]), k=5)
        b = self.seeded().fit(X).recommend(np.arange(X.shape[0]), k=5)
        np.testing.assert_array_equal(a[0], b[0])
        np.testing.assert_allclose(a[1], b[1], rtol=1e-6)

    def test_thread_count_does_not_change_results(self, X):
        if not self.supports("num_threads"):
            pytest.skip("model has no num_threads parameter")
        a = self.seeded(num_threads=1).fit(X).recommend(np.arange(X.shape[0]), k=5)
        b = self.seeded(num_threads=3).fit(X).recommend(np.arange(X.shape[0]), k=5)
        np.testing.assert_array_equal(a[0], b[0])
        np.testing.assert_allclose(a[1], b[1], rtol=1e-5, atol=1e-6)

    def test_block_fixture_precision_at_1(self):
        if not self.personalised:
            pytest.skip("non-personalised baseline")
        train, test = block_user_items()
        model = self.seeded().fit(train)
        ids, _ = model.recommend(np.arange(train.shape[0]), k=1)
        hits = np.asarray(test[np.arange(train.shape[0]), ids[:, 0]]).ravel()
        # in-block: the only unseen in-block item is the held-out one
        assert hits.mean() == 1.0

    # --------------------------------------------------------------- bad input
    def test_bad_input(self, fitted, X):
        with pytest.raises(IndexError, match="users"):
            fitted.recommend(X.shape[0], k=3)
        with pytest.raises(IndexError, match="users"):
            fitted.recommend(-1, k=3)
        with pytest.raises(TypeError, match="users"):
            fitted.recommend(np.array([0.5]), k=3)
        with pytest.raises(ValueError, match="k"):
            fitted.recommend(0, k=0)
        with pytest.raises(TypeError, match="k"):
            fitted.recommend(0, k=2.5)
        with pytest.raises(IndexError, match="items"):
            fitted.recommend(0, k=3, items=[X.shape[1]])
        with pytest.raises(IndexError, match="items"):
            fitted.similar_items(X.shape[1])
        with pytest.raises(ValueError, match="user_items"):
            fitted.recommend([0, 1], user_items=X[[0]])

    def test_bad_training_input(self, X):
        with pytest.raises(TypeError, match="X"):
            self.seeded().fit(X.toarray())
        bad = X.copy()
        bad.data[0] = np.nan
        with pytest.raises(ValueError, match="NaN"):
            self.seeded().fit(bad)
        with pytest.raises(ValueError, match="non-empty"):
            self.seeded().fit(sp.csr_matrix((0, 5), dtype=np.float32))
        if not type(self.make_model())._allow_negative:
            neg = X.copy()
            neg.data[0] = -1
            with pytest.raises(ValueError, match="non-negative"):
                self.seeded().fit(neg)
