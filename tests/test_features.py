"""TfidfFeaturizer (equal to scikit-learn's TfidfVectorizer) and encode_categorical."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from reelrec import NotFittedError
from reelrec.features import TfidfFeaturizer, encode_categorical

DOCS = [
    "The Matrix Reloaded: a hacker's journey",
    "the matrix",
    "Cats & Dogs 2 — the REVENGE of Kitty Galore",
    "Amélie (Le Fabuleux Destin d'Amélie Poulain)",
    "ΟΔΥΣΣΕΑΣ και ΣΕΙΡΗΝΕΣ",  # final sigma: str.lower context rule
    "東京物語 Tokyo Story 1953",
    "naïve café_au_lait 42nd street x y z",
    "",
    "a",
    "İstanbul KELVIN K sign and ǅemal",  # special casings
    "tab\tseparated\nnew line  double  space",
    "the matrix revolutions the matrix",
]


def _synthetic_titles(n, seed=0):
    rng = np.random.default_rng(seed)
    words = np.array([f"w{i}" for i in range(300)] + ["Film", "SHOW", "épisode", "Noël"])
    lengths = rng.integers(1, 9, n)
    return [" ".join(rng.choice(words, size=m, p=None)) for m in lengths]


SETTINGS = [
    {},
    {"ngram_range": (1, 1)},
    {"ngram_range": (1, 3)},
    {"ngram_range": (2, 2)},
    {"sublinear_tf": True},
    {"norm": "l1"},
    {"norm": None, "use_idf": False},
    {"smooth_idf": False},
    {"lowercase": False},
    {"min_df": 2},
    {"max_df": 0.5, "min_df": 0.01},
    {"max_df": 3},
    {"token_pattern": r"(?u)\b\w+\b"},
]


@pytest.mark.parametrize(
    "settings", SETTINGS, ids=lambda s: ",".join(f"{k}={v}" for k, v in s.items()) or "default"
)
@pytest.mark.parametrize("corpus", ["unicode", "synthetic"])
def test_equals_scikit_learn(settings, corpus):
    text = pytest.importorskip("sklearn.feature_extraction.text")
    docs = DOCS if corpus == "unicode" else _synthetic_titles(400)
    if corpus == "unicode" and settings.get("min_df") == 2:
        docs = DOCS * 2
    ours = TfidfFeaturizer(num_threads=2, **settings)
    kw = {"ngram_range": (1, 2)}
    kw.update(settings)
    ref = text.TfidfVectorizer(**kw)
    expected = ref.fit_transform(docs)
    got = ours.fit_transform(docs)
    assert isinstance(got, sp.csr_matrix) and got.dtype == np.float32 and got.has_sorted_indices
    assert ours.vocabulary_ == ref.vocabulary_
    if settings.get("use_idf", True):
        np.testing.assert_allclose(ours.idf_, ref.idf_, rtol=1e-12)
    np.testing.assert_allclose(got.toarray(), expected.toarray(), rtol=1e-5, atol=1e-7)
    new_docs = docs[::-1] + ["unseen words only", "The MATRIX"]
    np.testing.assert_allclose(
        ours.transform(new_docs).toarray(), ref.transform(new_docs).toarray(), rtol=1e-5, atol=1e-7
    )
    np.testing.assert_array_equal(ours.get_feature_names_out(), ref.get_feature_names_out())


def test_max_features_keeps_most_frequent_and_breaks_ties_by_term():
    docs = ["a1 a1 a1 b2 b2 c3 d4", "a1 b2 c3 e5", "z9 z9 z9 z9"]
    f = TfidfFeaturizer(ngram_range=(1, 1), max_features=3).fit(docs)
    # totals: a1 4, z9 4, b2 3, c3 2, d4 1, e5 1 -> a1, b2, z9
    assert f.vocabulary_ == {"a1": 0, "b2": 1, "z9": 2}
    f = TfidfFeaturizer(ngram_range=(1, 1), max_features=4).fit(docs)
    assert list(f.vocabulary_) == ["a1", "b2", "c3", "z9"]
    text = pytest.importorskip("sklearn.feature_extraction.text")
    ref = text.TfidfVectorizer(max_features=3).fit(docs)
    assert ref.vocabulary_ == f.__class__(ngram_range=(1, 1), max_features=3).fit(docs).vocabulary_


def test_known_answer_and_numpy_reference():
    docs = ["red red blue", "blue green", "green green green red"]
    X = TfidfFeaturizer(ngram_range=(1, 1)).fit_transform(docs).toarray()
    vocab = ["blue", "green", "red"]
    counts = np.array([[1, 0, 2], [1, 1, 0], [0, 3, 1]], float)
    df = (counts > 0).sum(axis=0)
    idf = np.log((1 + 3) / (1 + df)) + 1
    tfidf = counts * idf
    tfidf /= np.linalg.norm(tfidf, axis=1, keepdims=True)
    np.testing.assert_allclose(X, tfidf, rtol=1e-6)
    assert list(TfidfFeaturizer(ngram_range=(1, 1)).fit(docs).vocabulary_) == vocab


def test_output_independent_of_threads():
    docs = _synthetic_titles(3000, seed=3)
    a = TfidfFeaturizer(ngram_range=(1, 2), num_threads=1).fit_transform(docs)
    b = TfidfFeaturizer(ngram_range=(1, 2), num_threads=4).fit_transform(docs)
    assert (a != b).nnz == 0


def test_accepts_numpy_and_tuple_documents():
    a = TfidfFeaturizer().fit_transform(np.array(["x1 y2", "y2 z3"]))
    b = TfidfFeaturizer().fit_transform(("x1 y2", "y2 z3"))
    assert (a != b).nnz == 0


def test_bad_input():
    with pytest.raises(ValueError, match="raw_documents: expected an iterable"):
        TfidfFeaturizer().fit("one string")
    with pytest.raises(TypeError, match="raw_documents"):
        TfidfFeaturizer().fit(["ok", 3])
    with pytest.raises(TypeError, match="raw_documents"):
        TfidfFeaturizer().fit(42)
    with pytest.raises(ValueError, match="empty vocabulary"):
        TfidfFeaturizer().fit(["a", "", "!"])
    with pytest.raises(ValueError, match="ngram_range"):
        TfidfFeaturizer(ngram_range=(2, 1)).fit(["ab cd"])
    with pytest.raises(ValueError, match="token_pattern"):
        TfidfFeaturizer(token_pattern=r"[a-z]+").fit(["ab cd"])
    with pytest.raises(ValueError, match="norm"):
        TfidfFeaturizer(norm="max").fit(["ab cd"])
    with pytest.raises(ValueError, match="max_df"):
        TfidfFeaturizer(max_df=1.5).fit(["ab cd"])
    with pytest.raises(ValueError, match="min_df"):
        TfidfFeaturizer(min_df=5, max_df=1).fit(["ab cd"])
    with pytest.raises(ValueError, match="no terms remain"):
        TfidfFeaturizer(min_df=2).fit(["ab cd", "ef", "gh"])
    with pytest.raises(ValueError, match="max_features"):
        TfidfFeaturizer(max_features=0).fit(["ab cd"])
    with pytest.raises(NotFittedError, match="not fitted"):
        TfidfFeaturizer().transform(["ab"])
    with pytest.raises(ValueError, match="surrogate"):
        TfidfFeaturizer().fit(["ok \ud800 bad"])


# ------------------------------------------------------------------ categorical


def test_one_hot_known_answer():
    M, vocab = encode_categorical(["drama", "comedy", None, "drama", float("nan"), " comedy "])
    np.testing.assert_array_equal(vocab, ["comedy", "drama"])
    np.testing.assert_array_equal(M.toarray(), [[0, 1], [1, 0], [0, 0], [0, 1], [0, 0], [1, 0]])
    assert M.dtype == np.float32 and isinstance(M, sp.csr_matrix)


def test_multi_hot_strings_and_lists():
    M, vocab = encode_categorical(["a|b", "b| c |b", [], ("a", "d"), None, "", 7], multi=True)
    np.testing.assert_array_equal(vocab, ["7", "a", "b", "c", "d"])
    expected = np.array(
        [
            [0, 1, 1, 0, 0],
            [0, 0, 1, 1, 0],
            [0, 0, 0, 0, 0],
            [0, 1, 0, 0, 1],
            [0] * 5,
            [0] * 5,
            [1, 0, 0, 0, 0],
        ]
    )
    np.testing.assert_array_equal(M.toarray(), expected)
    M2, _ = encode_categorical(["a;b"], multi=True, sep=";")
    assert M2.nnz == 2


def test_fixed_vocabulary_ignores_unknown_categories():
    M, vocab = encode_categorical(["x|y", "z"], multi=True, vocabulary=["z", "x"])
    np.testing.assert_array_equal(vocab, ["z", "x"])
    np.testing.assert_array_equal(M.toarray(), [[0, 1], [1, 0]])


def test_categorical_bad_input():
    with pytest.raises(TypeError, match="values"):
        encode_categorical("drama")
    with pytest.raises(TypeError, match="values"):
        encode_categorical(5)
    with pytest.raises(ValueError, match="multi=True"):
        encode_categorical([["a", "b"]])
    with pytest.raises(ValueError, match="sep"):
        encode_categorical(["a"], multi=True, sep="")
    with pytest.raises(ValueError, match="distinct"):
        encode_categorical(["a"], vocabulary=["a", "a"])
    with pytest.raises(TypeError, match="multi"):
        encode_categorical(["a"], multi="yes")
