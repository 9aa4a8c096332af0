"""Argument checks that ExactIndex and HNSWIndex share (one Python layer serves both)."""

import numpy as np
import pytest

from reelrec.search import ExactIndex, HNSWIndex

DIM = 24
INDEXES = {
    "exact": lambda dim, metric: ExactIndex(dim, metric=metric),
    "hnsw": lambda dim, metric: HNSWIndex(dim, metric=metric, random_state=0),
}


@pytest.fixture(params=sorted(INDEXES))
def make_index(request):
    return INDEXES[request.param]


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    return rng.standard_normal((8, DIM)).astype(np.float32), rng.standard_normal((4, DIM)).astype(
        np.float32
    )


def test_bad_vectors_and_ids_change_nothing(make_index, data):
    X, Q = data
    index = make_index(DIM, "cosine").add(X[:5])
    with pytest.raises(ValueError, match=f"dimension {DIM}"):
        index.add(X[:2, :10])
    with pytest.raises(ValueError, match=f"dimension {DIM}"):
        index.search(Q[:, :3])
    with pytest.raises(ValueError, match="expected shape"):
        index.add(X[0])
    for value, row in ((np.nan, 1), (np.inf, 2)):
        bad = X[:3].copy()
        bad[row, 3] = value
        with pytest.raises(ValueError, match=f"row {row} contains NaN or infinite"):
            index.add(bad)
    with pytest.raises(ValueError, match="zero vector"):
        index.add(np.zeros((2, DIM)))
    with pytest.raises(ValueError, match="zero vector"):
        index.search(np.zeros(DIM))
    with pytest.raises(ValueError, match="zero vector"):
        index.search(np.zeros((1, DIM)))
    with pytest.raises(ValueError, match="already in the index"):
        index.add(X[:1], ids=[2])
    with pytest.raises(ValueError, match="repeated within this call"):
        index.add(X[:2], ids=[7, 7])
    with pytest.raises(ValueError, match=">= 0"):
        index.add(X[:1], ids=[-1])
    with pytest.raises(ValueError, match="one id per vector"):
        index.add(X[:2], ids=[8])
    with pytest.raises(TypeError, match="ids"):
        index.add(X[:1], ids=[1.5])
    assert len(index) == 5, "failed adds change nothing"


def test_bad_search_arguments(make_index, data):
    X, Q = data
    index = make_index(DIM, "ip").add(X)
    for k in (0, -3):
        with pytest.raises(ValueError, match="k"):
            index.search(Q, k=k)
    with pytest.raises(TypeError, match="k"):
        index.search(Q, k=2.0)
    with pytest.raises(TypeError, match="queries"):
        index.search([["a"] * DIM])
    with pytest.raises(TypeError, match="filter"):
        index.search(Q, filter=[1, 2])
    with pytest.raises(TypeError, match="filter"):
        index.search(Q, filter={"allow": [1]})
    with pytest.raises(ValueError, match="one entry per query"):
        index.search(Q[:2], exclude=[[1]])


def test_bad_constructor_arguments(make_index):
    with pytest.raises(ValueError, match="metric"):
        make_index(4, "dot")
    with pytest.raises(ValueError, match="dim"):
        make_index(0, "ip")


def test_zero_vectors_are_fine_outside_cosine(make_index):
    for metric in ("ip", "l2"):
        assert len(make_index(3, metric).add(np.zeros((2, 3)))) == 2
    with pytest.raises(ValueError, match="zero vector"):
        make_index(3, "cosine").add(np.array([[1.0, 0, 0], [0, 0, 0]]))
