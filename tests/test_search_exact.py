"""ExactIndex against a NumPy reference: metrics, filters, padding, persistence, threads."""

import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

import reelrec
from reelrec import _core
from reelrec.search import ExactIndex, IdFilter
from search_helpers import reference_search

METRICS = ["ip", "cosine", "l2"]


def assert_matches(got, ref, metric, tol=1e-4):
    """Same ids as the reference; where float32 rounding could swap near-ties, same scores."""
    ids, scores = got
    ref_ids, ref_scores = ref
    assert ids.dtype == np.int64 and scores.dtype == np.float32
    np.testing.assert_array_equal(np.isneginf(scores), np.isneginf(ref_scores))
    finite = np.isfinite(ref_scores)
    scale = 1.0 if metric != "l2" else max(1.0, float(np.abs(ref_scores[finite]).max(initial=1.0)))
    np.testing.assert_allclose(scores[finite], ref_scores[finite], rtol=tol, atol=tol * scale)
    mismatch = ids != ref_ids
    if mismatch.any():
        # only allowed between scores equal to float32 precision
        gap = np.abs(scores[mismatch] - ref_scores[mismatch])
        assert gap.max() <= tol * scale, (
            f"ids differ beyond ties: {ids[mismatch][:5]} vs {ref_ids[mismatch][:5]}"
        )


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((1000, 24)).astype(np.float32)
    Q = rng.standard_normal((70, 24)).astype(np.float32)
    ids = rng.permutation(10_000)[:1000].astype(np.int64) * 7 + 3  # arbitrary user ids
    return X, Q, ids


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("n", [1, 15, 17, 1000])  # inside / across 16-vector panels
@pytest.mark.parametrize("k", [1, 10])
def test_matches_numpy_reference(data, metric, n, k):
    X, Q, ids = data
    index = ExactIndex(24, metric=metric, num_threads=2).add(X[:n], ids[:n])
    got = index.search(Q, k=k)
    assert_matches(got, reference_search(Q, X[:n], ids[:n], k, metric), metric)


@pytest.mark.parametrize("metric", METRICS)
def test_filters_and_exclusions(data, metric):
    X, Q, ids = data
    rng = np.random.default_rng(1)
    allow = rng.choice(ids, 400, replace=False)
    deny = rng.choice(ids, 100, replace=False)
    exclude = [rng.choice(ids, rng.integers(0, 30), replace=False) for _ in range(len(Q))]
    index = ExactIndex(24, metric=metric).add(X, ids)
    got = index.search(Q, k=12, filter=IdFilter(allow=allow, deny=deny), exclude=exclude)
    assert_matches(got, reference_search(Q, X, ids, 12, metric, allow, deny, exclude), metric)
    # a very selective allow list takes the direct path
    few = allow[:5]
    got = index.search(Q, k=8, filter=IdFilter(allow=few))
    ref = reference_search(Q, X, ids, 8, metric, allow=few)
    assert_matches(got, ref, metric)
    assert (got[0][:, 5:] == -1).all()
    # exclusions as a sparse matrix whose column indices are ids
    rows = sp.csr_matrix(
        (np.ones(3), ([0, 0, 1], [ids[0], ids[1], ids[2]])), shape=(2, ids.max() + 1)
    )
    got = index.search(Q[:2], k=5, exclude=rows)
    ref = reference_search(Q[:2], X, ids, 5, metric, exclude=[ids[:2], ids[2:3]])
    assert_matches(got, ref, metric)


def test_unknown_filter_ids_are_ignored(data):
    X, Q, ids = data
    index = ExactIndex(24).add(X[:50], ids[:50])
    got, _ = index.search(Q[:3], k=4, filter=IdFilter(allow=[ids[0], -5, 10**12]))
    np.testing.assert_array_equal(got[:, 0], ids[0])
    assert (got[:, 1:] == -1).all()
    got, _ = index.search(Q[:3], k=4, filter=IdFilter(allow=[]))
    assert (got == -1).all()


def test_padding_and_empty_index(data):
    X, Q, _ = data
    empty = ExactIndex(24)
    ids, scores = empty.search(Q[:2], k=3)
    assert ids.shape == (2, 3) and (ids == -1).all() and np.isneginf(scores).all()
    small = ExactIndex(24).add(X[:4])
    ids, scores = small.search(Q[0], k=6)
    assert ids.shape == (6,)
    assert sorted(ids[:4].tolist()) == [0, 1, 2, 3]
    assert (ids[4:] == -1).all() and np.isneginf(scores[4:]).all()


def test_ties_rank_lower_id_first():
    v = np.ones((5, 4), np.float32)
    index = ExactIndex(4).add(v, [50, 10, 40, 20, 30])
    ids, scores = index.search(np.ones(4, np.float32), k=5)
    np.testing.assert_array_equal(ids, [10, 20, 30, 40, 50])
    np.testing.assert_array_equal(scores, [4.0] * 5)


# a few queries: the catalogue is split across threads; many: query chunks per thread
@pytest.mark.parametrize("n_q", [3, 200])
def test_thread_count_does_not_change_results(n_q):
    rng = np.random.default_rng(2)
    X = rng.standard_normal((60_000, 64)).astype(np.float32)  # enough work to go parallel
    Q = rng.standard_normal((n_q, 64)).astype(np.float32)
    results = []
    for threads in (1, 2, 3):
        index = ExactIndex(64, metric="l2", num_threads=threads).add(X)
        results.append(index.search(Q, k=7))
    for ids, scores in results[1:]:
        np.testing.assert_array_equal(ids, results[0][0])
        np.testing.assert_array_equal(scores, results[0][1])
    assert_matches(results[0], reference_search(Q, X, np.arange(60_000), 7, "l2"), "l2")


def test_default_ids_continue_and_delete(data):
    X, Q, _ = data
    index = ExactIndex(24, metric="cosine").add(X[:10]).add(X[10:20])
    np.testing.assert_array_equal(np.sort(index.ids), np.arange(20))
    index.delete([3, 0, 19])
    assert len(index) == 17 and 3 not in index and 4 in index
    keep = np.setdiff1d(np.arange(20), [0, 3, 19])
    assert_matches(
        index.search(Q, k=20), reference_search(Q, X[keep], keep, 20, "cosine"), "cosine"
    )
    with pytest.raises(KeyError, match="not in the index: 3"):
        index.delete([4, 3])
    assert 4 in index, "a failed delete removes nothing"
    index.add(X[:1])
    assert 20 in index, "default ids continue after the largest id ever added"
    np.testing.assert_allclose(index.get_vectors([20])[0], X[0] / np.linalg.norm(X[0]), rtol=1e-6)
    with pytest.raises(KeyError, match="not in the index"):
        index.get_vectors([0])


def test_save_load_round_trip(data, tmp_path):
    X, Q, ids = data
    index = ExactIndex(24, metric="l2", num_threads=1).add(X, ids)
    index.delete(ids[:10])
    path = tmp_path / "exact.idx"
    index.save(path)
    loaded = ExactIndex.load(path)
    assert (loaded.dim, loaded.metric, loaded.num_threads, len(loaded)) == (24, "l2", 1, 990)
    for a, b in zip(index.search(Q, k=9), loaded.search(Q, k=9)):
        np.testing.assert_array_equal(a, b)
    again = ExactIndex.from_bytes(index.to_bytes())
    np.testing.assert_array_equal(again.search(Q, k=3)[0], index.search(Q, k=3)[0])


def test_corrupt_files_raise_value_error(data, tmp_path):
    X, _, _ = data
    raw = ExactIndex(24).add(X[:100]).to_bytes()
    path = tmp_path / "bad.idx"
    cases = {
        "truncated": raw[: len(raw) // 2],
        "header only": raw[:20],
        "empty": b"",
        "wrong magic": b"NOTMAGIC" + raw[8:],
        "flipped byte": raw[:500] + bytes([raw[500] ^ 0xFF]) + raw[501:],
        "trailing": raw + b"x",
    }
    messages = {"wrong magic": "magic", "truncated": "truncated", "flipped byte": "checksum"}
    for name, blob in cases.items():
        path.write_bytes(blob)
        with pytest.raises(ValueError, match=messages.get(name, "not a valid")):
            ExactIndex.load(path)
    version = bytearray(raw)
    version[8:12] = (99).to_bytes(4, "little")
    with pytest.raises(ValueError, match="unsupported format version 99"):
        ExactIndex.from_bytes(bytes(version))
    with pytest.raises(FileNotFoundError, match="no such file"):
        ExactIndex.load(tmp_path / "missing.idx")


def test_bad_input(data):
    X, Q, _ = data
    index = ExactIndex(24, metric="cosine").add(X[:5])
    with pytest.raises(ValueError, match="dimension 24"):
        index.add(X[:2, :10])
    with pytest.raises(ValueError, match="dimension 24"):
        index.search(Q[:, :3])
    bad = X[:2].copy()
    bad[1, 3] = np.nan
    with pytest.raises(ValueError, match="row 1 contains NaN"):
        index.add(bad)
    with pytest.raises(ValueError, match="zero vector"):
        index.add(np.zeros((1, 24)))
    with pytest.raises(ValueError, match="zero vector"):
        index.search(np.zeros(24))
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
    with pytest.raises(ValueError, match="k"):
        index.search(Q, k=0)
    with pytest.raises(TypeError, match="k"):
        index.search(Q, k=2.0)
    with pytest.raises(TypeError, match="filter"):
        index.search(Q, filter=[1, 2])
    with pytest.raises(ValueError, match="one entry per query"):
        index.search(Q[:2], exclude=[[1]])
    with pytest.raises(ValueError, match="metric"):
        ExactIndex(4, metric="dot")
    with pytest.raises(ValueError, match="dim"):
        ExactIndex(0)
    with pytest.raises(ValueError, match="num_threads"):
        ExactIndex(4, num_threads=-1)
    assert len(index) == 5, "failed adds change nothing"
    with pytest.raises(ValueError, match="zero vector"):
        ExactIndex(3, metric="cosine").add(np.array([[1.0, 0, 0], [0, 0, 0]]))
    ExactIndex(3, metric="l2").add(np.zeros((1, 3)))  # zero vectors are fine outside cosine


def test_concurrent_searches_equal_sequential(data):
    X, Q, ids = data
    index = ExactIndex(24, metric="ip", num_threads=2).add(X, ids)
    expected = [index.search(Q[i::8], k=10) for i in range(8)]
    results = [None] * 8
    errors = []

    def work(i):
        try:
            for _ in range(5):
                results[i] = index.search(Q[i::8], k=10)
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


def test_concurrent_add_and_search_see_whole_batches():
    rng = np.random.default_rng(3)
    batches = [rng.standard_normal((500, 8)).astype(np.float32) for _ in range(6)]
    Q = rng.standard_normal((20, 8)).astype(np.float32)
    # what a search must return after each prefix of batches
    ref = ExactIndex(8)
    snapshots = [ref.search(Q, k=5)[0].tobytes()]
    for b in batches:
        ref.add(b)
        snapshots.append(ref.search(Q, k=5)[0].tobytes())
    index = ExactIndex(8)
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
    assert set(seen) <= set(snapshots), "a search saw a half-applied add"


@pytest.mark.parametrize("level", ["portable", "avx2"])
def test_simd_fallback_kernels_match_reference(level):
    if level == "avx2" and _core.search_simd_level() == "portable":
        pytest.skip("this CPU has no AVX2")
    script = (
        "import numpy as np\n"
        "from reelrec import _core\n"
        "from reelrec.search import ExactIndex, HNSWIndex\n"
        "rng = np.random.default_rng(0)\n"
        "X = rng.standard_normal((300, 20)).astype(np.float32)\n"
        "Q = rng.standard_normal((9, 20)).astype(np.float32)\n"
        "for metric in ('ip', 'l2'):\n"
        "    ids, s = ExactIndex(20, metric).add(X).search(Q, k=5)\n"
        "    hids, hs = HNSWIndex(20, metric, ef=300, random_state=0).add(X).search(Q, k=5)\n"
        "    S = Q @ X.T if metric == 'ip' else -((Q[:, None] - X[None]) ** 2).sum(-1)\n"
        "    best = np.sort(S, axis=1)[:, ::-1][:, :5]\n"
        "    assert np.allclose(s, best, atol=1e-4), metric\n"
        "    assert np.allclose(hs, best, atol=1e-4), metric\n"
        "print(_core.search_simd_level())\n"
    )
    package_root = Path(reelrec.__file__).resolve().parents[1]
    env = dict(os.environ, REELREC_SIMD=level, PYTHONPATH=str(package_root))
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == level
