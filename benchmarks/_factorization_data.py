"""Data, splits, metrics and measurement helpers shared by bench_als.py and bench_bpr.py.

Both libraries always see the same matrices: binary implicit feedback, a
random per-user 80/20 split (fixed seed), NDCG@10 computed by one function on
top-10 lists that exclude the training items.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

REPO = Path(__file__).resolve().parents[1]
# ../shared/data relative to the repository, unless REELREC_SHARED_DATA says otherwise (as in tests/conftest.py)
DEFAULT_DATA = Path(os.environ.get("REELREC_SHARED_DATA", REPO.parent / "shared" / "data")) / "ml-100k"
RESULTS = REPO / "benchmarks" / "results"


# ------------------------------------------------------------------- data
def load_ml100k(path: Path) -> sp.csr_matrix:
    """MovieLens 100K as binary users x items (every rating counts as an interaction)."""
    raw = np.loadtxt(Path(path) / "u.data", dtype=np.int64, usecols=(0, 1))
    users, items = raw[:, 0] - 1, raw[:, 1] - 1
    X = sp.csr_matrix(
        (np.ones(len(raw), np.float32), (users, items)), shape=(users.max() + 1, items.max() + 1)
    )
    X.data[:] = 1
    return X


def powerlaw_matrix(n_users: int, n_items: int, nnz: int, seed: int = 0, clusters: int = 32) -> sp.csr_matrix:
    """Binary users x items with power-law activity and popularity and some cluster structure.

    User activity ~ rank^-0.7 and item popularity ~ rank^-0.9 (long tails); each
    user belongs to a cluster and draws 60% of its items from that cluster's
    items, so there is something beyond popularity to learn.
    """
    rng = np.random.default_rng(seed)
    p_user = 1.0 / np.arange(1, n_users + 1) ** 0.7
    p_item = 1.0 / np.arange(1, n_items + 1) ** 0.9
    p_user /= p_user.sum()
    p_item /= p_item.sum()
    item_cluster = rng.integers(0, clusters, n_items)
    user_cluster = rng.integers(0, clusters, n_users)
    # Inverse-CDF sampling inside a cluster: cluster c's items own the interval
    # [c, c + 1) in proportion to their popularity.
    by_cluster = np.argsort(item_cluster, kind="stable")
    weight = p_item[by_cluster]
    cluster_total = np.bincount(item_cluster, weights=p_item, minlength=clusters)
    cdf = np.cumsum(weight)
    start = np.concatenate([[0.0], np.cumsum(cluster_total)])[item_cluster[by_cluster]]
    keys_cdf = item_cluster[by_cluster] + (cdf - start) / cluster_total[item_cluster[by_cluster]]
    keys = np.empty(0, np.int64)
    while keys.size < nnz:
        m = int(1.3 * (nnz - keys.size)) + 1000
        users = rng.choice(n_users, m, p=p_user)
        items = rng.choice(n_items, m, p=p_item)
        local = rng.random(m) < 0.6
        target = user_cluster[users[local]] + rng.random(int(local.sum()))
        pos = np.minimum(np.searchsorted(keys_cdf, target, side="right"), n_items - 1)
        items[local] = by_cluster[pos]
        keys = np.sort(np.concatenate([keys, users.astype(np.int64) * n_items + items]))
        keys = keys[np.concatenate([[True], keys[1:] != keys[:-1]])]
    keys = rng.permutation(keys)[:nnz]
    X = sp.csr_matrix(
        (np.ones(nnz, np.float32), (keys // n_items, keys % n_items)), shape=(n_users, n_items)
    )
    return X


DATASETS = {
    "synthetic-1M": (30_000, 10_000, 1_000_000),
    "synthetic-10M": (300_000, 50_000, 10_000_000),
}


def load_dataset(name: str, data_path: Path) -> sp.csr_matrix:
    if name == "ml-100k":
        return load_ml100k(data_path)
    return powerlaw_matrix(*DATASETS[name], seed=7)


def split_per_user(X: sp.csr_matrix, test_fraction: float = 0.2, seed: int = 42):
    """Random per-user split: round(test_fraction * n_u) of each user's items go to test."""
    rng = np.random.default_rng(seed)
    rows = np.repeat(np.arange(X.shape[0]), np.diff(X.indptr))
    order = np.lexsort((rng.random(X.nnz), rows))
    rank = np.empty(X.nnz, np.int64)
    rank[order] = np.arange(X.nnz) - X.indptr[rows[order]]
    n_test = np.floor(test_fraction * np.diff(X.indptr) + 0.5).astype(np.int64)
    test_mask = rank < n_test[rows]
    coo = X.tocoo()
    train = sp.csr_matrix((coo.data[~test_mask], (coo.row[~test_mask], coo.col[~test_mask])), shape=X.shape)
    test = sp.csr_matrix((coo.data[test_mask], (coo.row[test_mask], coo.col[test_mask])), shape=X.shape)
    return train.astype(np.float32), test.astype(np.float32)


# ---------------------------------------------------------------- metrics
def ndcg_at_10(ids: np.ndarray, test: sp.csr_matrix, users: np.ndarray) -> float:
    """reelrec.metrics.ndcg_at_k of top-10 lists for ``users`` (binary test matrix: binary gains)."""
    from reelrec.metrics import ndcg_at_k

    return float(ndcg_at_k(np.ascontiguousarray(ids, dtype=np.int64), test[users], 10))


def eval_users(test: sp.csr_matrix) -> np.ndarray:
    return np.flatnonzero(np.diff(test.indptr) > 0)


# ------------------------------------------------------------ measurement
def best_of(fn, repeats: int) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def _status_kib(field: str) -> int | None:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def peak_rss_delta_mib(fn) -> float:
    """Peak resident memory added by ``fn()`` (MiB), native allocations included.

    Linux: give freed heap pages back to the OS first (malloc_trim; otherwise the
    fit could reuse pages that data loading left resident and look free), reset
    the high-water mark (/proc/self/clear_refs = 5) and read VmHWM; elsewhere:
    ru_maxrss before/after (an underestimate if an earlier peak was higher).
    """
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass
    rss = _status_kib("VmRSS")
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        fn()
        return max(0, _status_kib("VmHWM") - rss) / 1024
    except OSError:
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        fn()
        return max(0, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024


def memory_in_subprocess(script: Path, args: list[str]) -> float | None:
    """Runs ``script --worker ARGS`` in a fresh interpreter; it prints the peak delta (MiB)."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO / "python"), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run(
        [sys.executable, str(script), "--worker", *args], capture_output=True, text=True, env=env, check=False
    )
    if proc.returncode != 0:
        print(f"  memory worker failed: {proc.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
        return None
    return float(proc.stdout.strip().splitlines()[-1])


def gemm_peak_gflops(threads: int, n: int = 2048, repeats: int = 3) -> float:
    """float32 GEMM rate of NumPy's BLAS with ``threads`` threads: the machine's practical peak."""
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    with threadpool_limits(threads, "blas"):
        a @ b
        seconds, _ = best_of(lambda: a @ b, repeats)
    return 2 * n**3 / seconds / 1e9


def write_json(name: str, payload: dict) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / name
    path.write_text(json.dumps(payload, indent=2) + "\n")
    return path


def machine() -> dict:
    info = {"cpus": os.cpu_count()}
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        info["load_average_at_start"] = os.getloadavg()
    except OSError:
        pass
    return info


def print_table(rows: list[dict], columns: list[tuple[str, str, str]]) -> None:
    """columns: (key, header, format)."""
    cells = [[fmt.format(r[k]) if r.get(k) is not None else "-" for k, _, fmt in columns] for r in rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, (_, h, _) in enumerate(columns)]
    print("  ".join(h.rjust(w) for (_, h, _), w in zip(columns, widths)))
    for c in cells:
        print("  ".join(v.rjust(w) for v, w in zip(c, widths)))
