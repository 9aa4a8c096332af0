"""HNSWIndex: recall against ExactIndex, deletes and slot reuse, filters, persistence, threads."""

import threading

import numpy as np
import pytest

from reelrec.search import ExactIndex, HNSWIndex, IdFilter
from search_helpers import clustered, recall_at_k, reference_search

METRICS = ["ip", "cosine", "l2"]


@pytest.fixture(scope="module")
def clusters():
    X = clustered(3000, 32, n_clusters=30, seed=0)
    Q = clustered(200, 32, n_clusters=30, seed=0)[:200] + 0.05
    return X, Q.astype(np.float32)


@pytest.fixture(scope="module")
def built(clusters):
    """Default parameters, two threads (the graph then depends on scheduling)."""
    X, _ = clusters
    return {m: HNSWIndex(32, metric=m, random_state=0, num_threads=2).add(X) for m in METRICS}


@pytest.mark.parametrize("metric", METRICS)
def test_recall_against_exact_with_default_params(clusters, built, metric):
    X, Q = clusters
    truth, _ = ExactIndex(32, metric=metric).add(X).search(Q, k=10)
    found, scores = built[metric].search(Q, k=10)
    assert found.dtype == np.int64 and scores.dtype == np.float32
    assert recall_at_k(found, truth) >= 0.95
    assert np.all(np.diff(scores, axis=1) <= 0), "best first"


@pytest.mark.parametrize("metric", METRICS)
def test_exact_on_tiny_sets(metric):
    rng = np.random.default_rng(5)
    X = rng.standard_normal((60, 8)).astype(np.float32)
    Q = rng.standard_normal((25, 8)).astype(np.float32)
    index = HNSWIndex(8, metric=metric, ef=64, random_state=1).add(X)
    ids, scores = index.search(Q, k=10)
    ref_ids, ref_scores = reference_search(Q, X, np.arange(60), 10, metric)
    assert recall_at_k(ids, ref_ids) == 1.0
    np.testing.assert_allclose(scores, ref_scores, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("metric", METRICS)
def test_heavily_duplicated_vectors_stay_reachable(metric):
    """1500 vectors, 10 distinct: every copy must be reachable from the entry point."""
    rng = np.random.default_rng(0)
    distinct = rng.standard_normal((10, 16)).astype(np.float32)
    X = distinct[rng.integers(0, 10, 1500)]
    index = HNSWIndex(16, metric=metric, random_state=0, num_threads=2).add(X)
    ids, _ = index.search(distinct, k=1500, ef=1500)
    assert (ids >= 0).all()
    if metric == "ip":
        return  # the best inner product need not be the query's own copies
    # and the nearest results are copies of the query
    ids, _ = index.search(distinct, k=20)
    for q in range(10):
        np.testing.assert_array_equal(X[ids[q]], np.repeat(distinct[q : q + 1], 20, axis=0))


def test_single_thread_build_is_deterministic(clusters):
    X, Q = clusters
    a = HNSWIndex(32, random_state=7, num_threads=1).add(X[:800]).add(X[800:1000])
    b = HNSWIndex(32, random_state=7, num_threads=1).add(X[:800]).add(X[800:1000])
    assert a.to_bytes() == b.to_bytes()
    np.testing.assert_array_equal(a.search(Q, k=5)[0], b.search(Q, k=5)[0])
    c = HNSWIndex(32, random_state=8, num_threads=1).add(X[:800]).add(X[800:1000])
    assert c.to_bytes() != a.to_bytes()


def test_deleted_ids_are_never_returned_and_slots_are_reused(clusters):
    X, Q = clusters
    n = 1500
    index = HNSWIndex(32, metric="l2", random_state=0, num_threads=1).add(X[:n])
    gone = np.arange(0, n, 3)
    index.delete(gone)
    assert len(index) == n - gone.size and index.n_deleted == gone.size
    ids, _ = index.search(Q, k=20)
    assert not np.isin(ids, gone).any()
    keep = np.setdiff1d(np.arange(n), gone)
    truth, _ = reference_search(Q, X[keep], keep, 10, "l2")
    assert recall_at_k(ids[:, :10], truth) >= 0.95
    # re-adding fills the deleted slots first and repairs the graph around them
    new_ids = np.arange(10_000, 10_000 + gone.size)
    index.add(X[gone] + 0.01, ids=new_ids)
    assert index.n_deleted == 0 and len(index) == n
    all_ids = np.concatenate([keep, new_ids])
    all_vecs = np.concatenate([X[keep], X[gone] + 0.01])
    truth, _ = reference_search(Q, all_vecs, all_ids, 10, "l2")
    ids, _ = index.search(Q, k=10)
    assert recall_at_k(ids, truth) >= 0.95
    assert not np.isin(ids, gone).any()
    # a deleted id can come back as a new vector
    index.delete([5])
    index.add(X[5:6] * 2, ids=[5])
    assert 5 in index
    np.testing.assert_allclose(index.get_vectors([5])[0], X[5] * 2)


def test_delete_everything_then_search_pads(clusters):
    X, Q = clusters
    index = HNSWIndex(32, random_state=0).add(X[:100])
    index.delete(np.arange(100))
    ids, scores = index.search(Q[:3], k=4)
    assert (ids == -1).all() and np.isneginf(scores).all()
    index.add(X[100:110])
    ids, _ = index.search(Q[:3], k=4)
    assert np.isin(ids, np.arange(100, 110)).all()


def test_delete_unknown_ids_raises_key_error(clusters):
    X, _ = clusters
    index = HNSWIndex(32, random_state=0).add(X[:50])
    with pytest.raises(KeyError, match="not in the index: 77"):
        index.delete([3, 77])
    assert 3 in index, "a failed delete removes nothing"
    index.delete(3)
    with pytest.raises(KeyError, match="not in the index: 3"):
        index.delete(3)


def test_filters_walk_and_exact_fallback(clusters, built):
    X, Q = clusters
    index = built["cosine"]
    ids_all = np.arange(len(X))
    # a mild deny filter stays on the graph walk
    deny = ids_all[::10]
    assert not index.uses_exact_search(IdFilter(deny=deny))
    ids, _ = index.search(Q, k=10, filter=IdFilter(deny=deny))
    assert not np.isin(ids, deny).any()
    truth, _ = reference_search(Q, X, ids_all, 10, "cosine", deny=deny)
    assert recall_at_k(ids, truth) >= 0.95
    # a selective allow list is answered exactly: equal to the reference
    allow = ids_all[7::97]
    assert index.uses_exact_search(IdFilter(allow=allow))
    ids, scores = index.search(Q, k=10, filter=IdFilter(allow=allow))
    ref_ids, ref_scores = reference_search(Q, X, ids_all, 10, "cosine", allow=allow)
    np.testing.assert_array_equal(ids, ref_ids)
    np.testing.assert_allclose(scores, ref_scores, rtol=1e-5, atol=1e-5)
    # the threshold: n_allowed**2 <= max(ef, k) * 2M * n
    bound = int(np.sqrt(50 * 32 * len(X)))
    assert index.uses_exact_search(IdFilter(allow=ids_all[:bound]))
    assert not index.uses_exact_search(IdFilter(allow=ids_all[: bound + 2]))
    assert index.uses_exact_search(IdFilter(allow=ids_all[: bound + 2]), ef=60)
    # per-query exclusions with allow + deny combined
    exclude = [ids_all[q * 5 : q * 5 + 40] for q in range(len(Q))]
    flt = IdFilter(allow=ids_all[:2000], deny=ids_all[:100])
    ids, _ = index.search(Q, k=10, filter=flt, exclude=exclude)
    for q in range(len(Q)):
        got = ids[q][ids[q] >= 0]
        assert got.size == 10
        assert np.all((got >= 100) & (got < 2000)) and not np.isin(got, exclude[q]).any()


def test_padding_when_fewer_than_k(clusters):
    X, Q = clusters
    index = HNSWIndex(32, random_state=0).add(X[:7])
    ids, scores = index.search(Q[:4], k=12)
    assert ids.shape == (4, 12)
    assert (ids[:, :7] >= 0).all() and (ids[:, 7:] == -1).all() and np.isneginf(scores[:, 7:]).all()
    empty = HNSWIndex(32)
    ids, scores = empty.search(Q[0], k=3)
    assert ids.shape == (3,) and (ids == -1).all() and np.isneginf(scores).all()
    ids, _ = index.search(Q[:2], k=3, filter=IdFilter(allow=[]))
    assert (ids == -1).all()


def test_save_load_round_trip_keeps_parameters(clusters, tmp_path):
    X, Q = clusters
    index = HNSWIndex(
        32, metric="l2", M=8, ef_construction=64, ef=33, random_state=3, num_threads=1
    )
    index.add(X[:600])
    index.delete([1, 2, 3])
    path = tmp_path / "graph.hnsw"
    index.save(path)
    loaded = HNSWIndex.load(path)
    assert loaded._params() == index._params()
    assert loaded.ef == 33 and len(loaded) == 597 and loaded.n_deleted == 3
    for a, b in zip(index.search(Q, k=10), loaded.search(Q, k=10)):
        np.testing.assert_array_equal(a, b)
    # the RNG stream continues: adding to both gives identical graphs
    index.add(X[600:700])
    loaded.add(X[600:700])
    assert index.to_bytes() == loaded.to_bytes()


def test_corrupt_files_raise_value_error(clusters, tmp_path):
    X, _ = clusters
    raw = HNSWIndex(32, random_state=0, num_threads=1).add(X[:200]).to_bytes()
    path = tmp_path / "bad.hnsw"
    cases = {
        "truncated": (raw[: len(raw) - 100], "truncated"),
        "cut in header": (raw[:40], "truncated|too short"),
        "empty": (b"", "too short"),
        "wrong magic": (b"REELEXCT" + raw[8:], "magic"),
        "flipped byte": (raw[:3000] + bytes([raw[3000] ^ 0x5A]) + raw[3001:], "checksum"),
        "huge count": (
            raw[: 8 + 4 + 8 + 4 + 8 * 6 + 4 + 8]
            + (2**40).to_bytes(8, "little")
            + raw[8 + 4 + 8 + 4 + 8 * 6 + 4 + 16 :],
            "not a valid",
        ),
    }
    for blob, message in cases.values():
        path.write_bytes(blob)
        with pytest.raises(ValueError, match=message):
            HNSWIndex.load(path)
    version = bytearray(raw)
    version[8:12] = (2).to_bytes(4, "little")
    with pytest.raises(ValueError, match="unsupported format version 2"):
        HNSWIndex.from_bytes(bytes(version))
    with pytest.raises(ValueError, match="magic"):
        HNSWIndex.from_bytes(ExactIndex(4).to_bytes())
    with pytest.raises(FileNotFoundError):
        HNSWIndex.load(tmp_path / "missing")


def test_growth_and_max_elements(clusters):
    X, _ = clusters
    index = (
        HNSWIndex(32, random_state=0).add(X[:1000]).add(X[1000:2100])
    )  # past the first 1024 slots
    assert len(index) == 2100
    capped = HNSWIndex(32, max_elements=100, random_state=0).add(X[:90])
    with pytest.raises(ValueError, match="max_elements=100"):
        capped.add(X[90:120])
    assert len(capped) == 90
    capped.delete(np.arange(20))
    capped.add(X[90:120])  # reuses the deleted slots
    assert len(capped) == 100


def test_concurrent_searches_equal_sequential(clusters, built):
    _, Q = clusters
    index = built["cosine"]
    expected = [index.search(Q[i::8], k=10, ef=40) for i in range(8)]
    results, errors = [None] * 8, []

    def work(i):
        try:
            for _ in range(5):
                results[i] = index.search(Q[i::8], k=10, ef=40)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for got, want in zip(results, expected):
        np.testing.assert_array_equal(got[0], want[0])
        np.testing.assert_array_equal(got[1], want[1])


def test_concurrent_add_and_search_see_whole_batches(clusters):
    X, Q = clusters
    batches = [X[i * 100 : (i + 1) * 100] for i in range(6)]
    Q = Q[:20]
    ref = HNSWIndex(32, random_state=4, num_threads=1)
    snapshots = {ref.search(Q, k=5)[0].tobytes()}
    for b in batches:
        ref.add(b)
        snapshots.add(ref.search(Q, k=5)[0].tobytes())
    index = HNSWIndex(32, random_state=4, num_threads=1)
    seen, errors = [], []
    done = threading.Event()

    def searcher():
        try:
            while not done.is_set():
                seen.append(index.search(Q, k=5)[0].tobytes())
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=searcher) for _ in range(4)]
    for t in threads:
        t.start()
    for b in batches:
        index.add(b)
    done.set()
    for t in threads:
        t.join()
    assert not errors and seen
    assert set(seen) <= snapshots, "a search saw a half-applied add"
    assert index.to_bytes() == ref.to_bytes()


def test_ef_parameter(clusters):
    X, Q = clusters
    index = HNSWIndex(32, ef=10, random_state=0).add(X[:500])
    assert index.ef == 10
    index.ef = 80
    assert index.ef == 80
    with pytest.raises(ValueError, match="ef"):
        index.ef = 0
    with pytest.raises(TypeError, match="ef"):
        index.search(Q, ef=1.5)
    ids, _ = index.search(Q, k=30, ef=5)  # the walk keeps at least k
    assert (ids >= 0).all()


def test_bad_input(clusters):
    X, Q = clusters
    index = HNSWIndex(32, metric="cosine", random_state=0).add(X[:20])
    with pytest.raises(ValueError, match="dimension 32"):
        index.add(X[:2, :5])
    with pytest.raises(ValueError, match="dimension 32"):
        index.search(Q[:, :5])
    with pytest.raises(ValueError, match="expected shape"):
        index.add(X[0])
    bad = X[:3].copy()
    bad[2, 0] = np.inf
    with pytest.raises(ValueError, match="row 2 contains NaN or infinite"):
        index.add(bad)
    with pytest.raises(ValueError, match="zero vector"):
        index.add(np.zeros((2, 32)))
    with pytest.raises(ValueError, match="zero vector"):
        index.search(np.zeros((1, 32)))
    with pytest.raises(ValueError, match="already in the index"):
        index.add(X[:1], ids=[0])
    with pytest.raises(ValueError, match="repeated"):
        index.add(X[:2], ids=[100, 100])
    with pytest.raises(ValueError, match="k"):
        index.search(Q, k=0)
    with pytest.raises(ValueError, match="k"):
        index.search(Q, k=-3)
    with pytest.raises(TypeError, match="queries"):
        index.search([["a"] * 32])
    with pytest.raises(TypeError, match="filter"):
        index.search(Q, filter={"allow": [1]})
    with pytest.raises(ValueError, match="M"):
        HNSWIndex(4, M=1)
    with pytest.raises(ValueError, match="ef_construction"):
        HNSWIndex(4, ef_construction=0)
    with pytest.raises(TypeError, match="random_state"):
        HNSWIndex(4, random_state="seed")
    with pytest.raises(ValueError, match="max_elements"):
        HNSWIndex(4, max_elements=0)
    assert len(index) == 20, "failed adds change nothing"
    HNSWIndex(3, metric="l2").add(np.zeros((2, 3)))  # zero vectors are fine outside cosine
