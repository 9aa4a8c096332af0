"""reelrec.evaluate / evaluate_recommendations / compare against metrics computed by hand."""

import numpy as np
import pytest
import scipy.sparse as sp

import metrics_reference as ref
import reelrec
from conftest import block_user_items, random_user_items
from reelrec import NotFittedError, Popularity, Random, Recommender
from reelrec import metrics as M
from reelrec.data import Interactions
from reelrec.evaluation import DEFAULT_METRICS, ComparisonTable, EvaluationResult


def split(seed=0, n_users=120, n_items=70):
    """Disjoint train / test with a few users lacking test items."""
    X = random_user_items(n_users, n_items, density=0.2, seed=seed)
    rng = np.random.default_rng(seed)
    coo = X.tocoo()
    held = rng.random(coo.nnz) < 0.25
    train = sp.csr_matrix((coo.data[~held], (coo.row[~held], coo.col[~held])), shape=X.shape)
    test = sp.csr_matrix((coo.data[held], (coo.row[held], coo.col[held])), shape=X.shape)
    return train, test


def popularity_reference(train, seen, users, k):
    """Popularity lists by brute force: counts from ``train``, ties -> lower index, ``seen`` items removed."""
    counts = np.bincount(train.indices, minlength=train.shape[1])
    order = np.lexsort((np.arange(train.shape[1]), -counts))
    out = np.full((len(users), k), -1)
    for row, u in enumerate(users):
        excluded = set(seen[u].indices.tolist())
        kept = [i for i in order.tolist() if i not in excluded][:k]
        out[row, : len(kept)] = kept
    return out


def test_evaluate_popularity_matches_hand_computed_metrics():
    train, test = split()
    model = Popularity().fit(train)
    k = 7
    result = reelrec.evaluate(
        model,
        train,
        test,
        k=k,
        metrics=ref.RANKING + ("coverage", "gini", "novelty", "personalization"),
    )
    users = np.flatnonzero(np.diff(test.indptr) > 0)
    np.testing.assert_array_equal(result.users, users)
    rec = popularity_reference(train, train, users, k)
    np.testing.assert_array_equal(rec, model.recommend(users, k=k)[0])
    expected = ref.ranking(rec, test[users], k)
    for name in ref.RANKING:
        assert result[name] == pytest.approx(ref.nanmean(expected[name]), rel=1e-12), name
        np.testing.assert_allclose(result.per_user[name], expected[name], rtol=1e-12)
    assert result["coverage"] == pytest.approx(ref.coverage(rec, train.shape[1], k))
    assert result["gini"] == pytest.approx(ref.gini(ref.counts(rec, train.shape[1], k)))
    pop = np.bincount(train.indices, minlength=train.shape[1])
    assert result["novelty"] == pytest.approx(ref.nanmean(ref.novelty(rec, pop, train.shape[0], k)))
    assert result["personalization"] == pytest.approx(ref.personalization(rec, k))
    assert result.n_users == users.size and result.k == k


def test_batches_and_inputs_do_not_change_the_result():
    train, test = split(1)
    model = Popularity().fit(train)
    base = reelrec.evaluate(model, train, test, k=5)
    small = reelrec.evaluate(model, None, Interactions(test), k=5, batch_size=7, num_threads=1)
    assert dict(small) == pytest.approx(dict(base), rel=1e-12)
    same = reelrec.evaluate(model, Interactions(train), test, k=5, batch_size=1)
    assert dict(same) == pytest.approx(dict(base), rel=1e-12)


def test_train_beyond_the_models_own_data_is_excluded():
    train, test = split(2)
    fitted_on = train.copy()
    fitted_on.data[::2] = 0  # the model saw only part of train
    fitted_on.eliminate_zeros()
    model = Popularity().fit(fitted_on)
    k = 6
    result = reelrec.evaluate(model, train, test, k=k, metrics=["ndcg", "precision", "coverage"])
    users = result.users
    rec = popularity_reference(fitted_on, train, users, k)
    expected = ref.ranking(rec, test[users], k)
    assert result["ndcg"] == pytest.approx(ref.nanmean(expected["ndcg"]), rel=1e-12)
    assert result["precision"] == pytest.approx(ref.nanmean(expected["precision"]), rel=1e-12)
    assert result["coverage"] == pytest.approx(ref.coverage(rec, train.shape[1], k))


def test_evaluate_equals_evaluate_recommendations():
    train, test = split(3)
    model = Random(random_state=0).fit(train)
    result = reelrec.evaluate(model, train, test, k=8)
    assert "diversity" in result  # Random exposes item vectors
    rec, _ = model.recommend(result.users, k=8)
    again = reelrec.evaluate_recommendations(
        rec,
        test,
        users=result.users,
        train=train,
        item_vectors=model.item_vectors_,
        metrics=list(result),
    )
    assert dict(again) == pytest.approx(dict(result), rel=1e-12)
    assert M.intra_list_diversity(rec, model.item_vectors_) == pytest.approx(result["diversity"])


def test_evaluate_recommendations_defaults():
    train, test = split(4)
    rec = np.tile(np.arange(5), (test.shape[0], 1))
    res = reelrec.evaluate_recommendations(rec, test)
    assert "novelty" not in res and "diversity" not in res  # no popularity, no vectors
    assert res["ndcg"] == pytest.approx(M.ndcg_at_k(rec, test, 5))
    assert res["personalization"] == pytest.approx(0.0)
    assert res["coverage"] == pytest.approx(5 / test.shape[1])
    pop = np.arange(test.shape[1]) + 1.0
    res = reelrec.evaluate_recommendations(rec, test, k=3, item_popularity=pop)
    assert res["novelty"] == pytest.approx(M.novelty(rec, pop, k=3))
    assert res["precision"] == pytest.approx(M.precision_at_k(rec, test, 3))


def test_perfect_model_on_block_fixture():
    train, test = block_user_items()

    class Oracle(Recommender):
        """Scores each user's held-out items highest (a test double, not a model)."""

        def _fit(self, X):
            self.answers_ = test

        def _recommend(self, users, k, filt, user_items):
            return self._recommend_dense(users, k, filt, user_items)

        def _score_rows(self, users, user_items):
            return self.answers_[users].toarray() + 0.5 * (self.user_items_[users].toarray() == 0)

    result = reelrec.evaluate(Oracle().fit(train), train, test, k=1)
    for name in ("precision", "recall", "ndcg", "map", "mrr", "hit_rate"):
        assert result[name] == 1.0
    assert result["coverage"] == 1.0
    # users u and u + 5 of a block hold out the same item: 3 of the 18 * 17 / 2 pairs overlap
    assert result["personalization"] == pytest.approx(1 - 3 / 153)


def test_result_object():
    train, test = split(5)
    res = reelrec.evaluate(Popularity().fit(train), train, test, k=4, label="pop")
    assert isinstance(res, EvaluationResult)
    assert list(res) == [m for m in DEFAULT_METRICS if m != "diversity"]
    assert len(res) == len(list(res)) and res.to_dict() == dict(res.items())
    assert all(isinstance(v, float) for v in res.values())
    text = repr(res)
    assert text.startswith(
        f"EvaluationResult(k=4, n_users={res.n_users} of {res.users.size} evaluated, label='pop')"
    )
    assert "ndcg" in text and f"{res['ndcg']:.6g}" in text
    with pytest.raises(KeyError, match="'auc': not computed"):
        res["auc"]
    for name in ("ndcg", "novelty"):
        assert res.per_user[name].shape == res.users.shape
    pytest.importorskip("pandas")
    frame = res.to_frame()
    assert frame.shape == (1, len(res)) and list(frame.index) == ["pop"]
    assert frame.loc["pop", "ndcg"] == res["ndcg"]


def test_explicit_users_and_users_without_test_items():
    train, test = split(6)
    model = Popularity().fit(train)
    empty = np.flatnonzero(np.diff(test.indptr) == 0)
    assert empty.size > 0
    users = np.concatenate([[0, 1, 2], empty[:2]])
    res = reelrec.evaluate(model, train, test, k=5, users=users, metrics=["recall", "coverage"])
    np.testing.assert_array_equal(res.users, users)
    assert np.isnan(res.per_user["recall"][-2:]).all()
    assert res.n_users == np.count_nonzero(np.diff(test.indptr)[users])
    rec, _ = model.recommend(users, k=5)
    assert res["coverage"] == pytest.approx(
        M.coverage(rec, train.shape[1])
    )  # empty users' lists count


def test_compare_models():
    train, test = split(7)
    models = {"pop": Popularity().fit(train), "random": Random(random_state=1).fit(train)}
    table = reelrec.compare(models, train, test, k=5)
    assert isinstance(table, ComparisonTable) and len(table) == 2
    assert [row["model"] for row in table] == ["pop", "random"]
    assert "diversity" not in table[0] and "diversity" not in table[1]  # only common columns
    assert table[0]["ndcg"] == pytest.approx(
        reelrec.evaluate(models["pop"], train, test, k=5)["ndcg"]
    )
    assert table.results["random"].label == "random"
    text = repr(table).splitlines()
    assert text[0].split()[:3] == ["model", "ndcg", "recall"] and text[1].startswith("pop")
    pytest.importorskip("pandas")
    frame = table.to_frame()
    assert (
        list(frame.index) == ["pop", "random"] and frame.loc["random", "ndcg"] == table[1]["ndcg"]
    )


def test_bad_inputs():
    train, test = split(8)
    model = Popularity().fit(train)
    with pytest.raises(TypeError, match="model: expected a fitted reelrec Recommender"):
        reelrec.evaluate(object(), train, test)
    with pytest.raises(NotFittedError, match="not fitted"):
        reelrec.evaluate(Popularity(), train, test)
    with pytest.raises(ValueError, match=r"train: expected the shape of test \(120, 70\)"):
        reelrec.evaluate(model, train[:, :60], test)
    with pytest.raises(ValueError, match="test: has 60 items but the model was fitted on 70"):
        reelrec.evaluate(model, None, test[:, :60])
    with pytest.raises(ValueError, match="metrics: unknown metric 'ndgc'"):
        reelrec.evaluate(model, train, test, metrics=["ndgc"])
    with pytest.raises(ValueError, match="metrics: 'diversity' needs item vectors"):
        reelrec.evaluate(model, train, test, metrics=["diversity"])
    with pytest.raises(ValueError, match="k: expected a positive integer, got 0"):
        reelrec.evaluate(model, train, test, k=0)
    with pytest.raises(ValueError, match="batch_size: expected a positive finite value"):
        reelrec.evaluate(model, train, test, batch_size=0)
    with pytest.raises(IndexError, match="users: index 500 is out of range"):
        reelrec.evaluate(model, train, test, users=[500])
    with pytest.raises(ValueError, match=r"item_vectors: expected 70 rows \(one per item\), got 3"):
        reelrec.evaluate(model, train, test, item_vectors=np.ones((3, 2)))
    with pytest.raises(TypeError, match="test: expected a reelrec.data.Interactions"):
        reelrec.evaluate(model, train, test.toarray())
    rec = np.zeros((5, 3), np.int32)
    with pytest.raises(
        ValueError,
        match=r"recommended: expected one row per test user \(120\) or users=..., got 5 rows",
    ):
        reelrec.evaluate_recommendations(rec, test)
    with pytest.raises(
        ValueError, match=r"users: expected one entry per row of recommended \(5\), got 2"
    ):
        reelrec.evaluate_recommendations(rec, test, users=[0, 1])
    with pytest.raises(ValueError, match="metrics: 'novelty' needs item popularity"):
        reelrec.evaluate_recommendations(rec, test, users=np.arange(5), metrics=["novelty"])
    with pytest.raises(TypeError, match="models: expected a non-empty mapping"):
        reelrec.compare([model], train, test)


def test_duck_typed_model_without_training_matrix():
    train, test = split(9)
    order = np.arange(train.shape[1])[::-1].astype(np.int32)

    class FixedList:
        """Recommends the same order to everyone and knows nothing of train."""

        def recommend(self, users, k=10, exclude_seen=True):
            ids = np.tile(order[:k], (len(users), 1))
            return ids, np.zeros(ids.shape, np.float32)

    k = 5
    res = reelrec.evaluate(FixedList(), train, test, k=k, metrics=["ndcg", "hit_rate"])
    rec = np.array([[i for i in order if i not in set(train[u].indices)][:k] for u in res.users])
    expected = ref.ranking(rec, test[res.users], k)
    assert res["ndcg"] == pytest.approx(ref.nanmean(expected["ndcg"]), rel=1e-12)
    assert res["hit_rate"] == pytest.approx(ref.nanmean(expected["hit_rate"]), rel=1e-12)
    with pytest.raises(ValueError, match="train: required for a model without a user_items_"):
        reelrec.evaluate(FixedList(), None, test)


def test_no_users():
    train, test = split(10)
    res = reelrec.evaluate(Popularity().fit(train), train, test, users=np.array([], np.int64))
    assert res.users.size == 0 and res.n_users == 0
    assert np.isnan(res["ndcg"]) and res["coverage"] == 0.0 and np.isnan(res["personalization"])
