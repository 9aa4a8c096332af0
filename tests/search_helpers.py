"""NumPy references and fixtures shared by the search tests."""

from __future__ import annotations

import threading

import numpy as np
import pytest


def reference_scores(queries, vectors, metric):
    """Scores as the indexes define them (higher is better), in float64."""
    Q = np.asarray(queries, np.float64)
    X = np.asarray(vectors, np.float64)
    if metric == "cosine":
        Q = Q / np.linalg.norm(Q, axis=1, keepdims=True)
        X = X / np.linalg.norm(X, axis=1, keepdims=True)
    if metric == "l2":  # expanded in float64: exact enough, and no (n_q, n, dim) temporary
        return -((Q**2).sum(1)[:, None] - 2.0 * Q @ X.T + (X**2).sum(1)[None, :])
    return Q @ X.T


def reference_search(queries, vectors, ids, k, metric, allow=None, deny=None, exclude=None):
    """Exact top-k: score descending, then id ascending; padded with -1 / -inf."""
    ids = np.asarray(ids, np.int64)
    S = reference_scores(queries, vectors, metric)
    n_q = S.shape[0]
    out_ids = np.full((n_q, k), -1, np.int64)
    out_scores = np.full((n_q, k), -np.inf)
    ok_all = np.ones(ids.size, bool)
    if allow is not None:
        ok_all &= np.isin(ids, allow)
    if deny is not None:
        ok_all &= ~np.isin(ids, deny)
    for q in range(n_q):
        ok = ok_all.copy()
        if exclude is not None:
            ok &= ~np.isin(ids, exclude[q])
        cand = np.flatnonzero(ok)
        order = cand[np.lexsort((ids[cand], -S[q, cand]))][:k]
        out_ids[q, : order.size] = ids[order]
        out_scores[q, : order.size] = S[q, order]
    return out_ids, out_scores


def clustered(n, dim, n_clusters=20, spread=0.15, seed=0):
    """Seeded Gaussian mixture: unit-scale centres plus isotropic noise."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((n_clusters, dim))
    labels = rng.integers(0, n_clusters, n)
    X = centres[labels] + spread * rng.standard_normal((n, dim))
    return X.astype(np.float32)


def recall_at_k(found, truth):
    hits = [len(set(f[f >= 0].tolist()) & set(t[t >= 0].tolist())) for f, t in zip(found, truth)]
    return float(np.sum(hits)) / float((truth >= 0).sum())


def run_threads(target, n_threads):
    """Starts target(i) for i < n_threads in threads; returns them and the list their errors go to."""
    errors = []

    def guarded(i):
        try:
            target(i)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=guarded, args=(i,)) for i in range(n_threads)]
    for t in threads:
        t.start()
    return threads, errors


def assert_concurrent_searches_equal_sequential(search, queries, n_threads=8):
    """search(Q) from n_threads threads at once (five times each) returns what it returns alone."""
    parts = [queries[i::n_threads] for i in range(n_threads)]
    expected = [search(part) for part in parts]
    results = [None] * n_threads

    def work(i):
        for _ in range(5):
            results[i] = search(parts[i])

    threads, errors = run_threads(work, n_threads)
    for t in threads:
        t.join()
    assert not errors
    for got, want in zip(results, expected):
        np.testing.assert_array_equal(got[0], want[0])
        np.testing.assert_array_equal(got[1], want[1])


def assert_searches_see_whole_batches(make_index, batches, queries):
    """Searches that run while batches are added see the index only between two adds.

    Returns the index the searches ran against and a reference built the same way.
    """
    ref = make_index()
    snapshots = {ref.search(queries, k=5)[0].tobytes()}
    for b in batches:
        ref.add(b)
        snapshots.add(ref.search(queries, k=5)[0].tobytes())
    index = make_index()
    seen = []
    done = threading.Event()

    def searcher(_):
        while not done.is_set():
            seen.append(index.search(queries, k=5)[0].tobytes())

    threads, errors = run_threads(searcher, 4)
    for b in batches:
        index.add(b)
    done.set()
    for t in threads:
        t.join()
    assert not errors and seen
    assert set(seen) <= snapshots, "a search saw a half-applied add"
    return index, ref


def assert_load_rejects(cls, raw, cases, tmp_path):
    """Loading each corrupt blob raises ValueError, and so does an unknown format version.

    ``cases`` maps a name to (blob, message fragment); ``raw`` is a valid file. A
    missing file raises FileNotFoundError.
    """
    path = tmp_path / "bad"
    for blob, message in cases.values():
        path.write_bytes(blob)
        with pytest.raises(ValueError, match=message):
            cls.load(path)
    version = bytearray(raw)
    version[8:12] = (99).to_bytes(4, "little")
    with pytest.raises(ValueError, match="unsupported format version 99"):
        cls.from_bytes(bytes(version))
    with pytest.raises(FileNotFoundError, match="no such file"):
        cls.load(tmp_path / "missing")
