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
from _common import best_of

REPO = Path(__file__).resolve().parents[1]
# ../shared/data relative to the repository, unless REELREC_SHARED_DATA says otherwise (as in tests/conftest.py)
DEFAULT_DATA = (
    Path(os.environ.get("REELREC_SHARED_DATA", REPO.parent / "shared" / "data")) / "ml-100k"
)
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


def powerlaw_matrix(
    n_users: int, n_items: int, nnz: int, seed: int = 0, clusters: int = 32
) -> sp.csr_matrix:
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
    train = sp.csr_matrix(
        (coo.data[~test_mask], (coo.row[~test_mask], coo.col[~test_mask])), shape=X.shape
    )
    test = sp.csr_matrix(
        (coo.data[test_mask], (coo.row[test_mask], coo.col[test_mask])), shape=X.shape
    )
    return train.astype(np.float32), test.astype(np.float32)


# ---------------------------------------------------------------- metrics
def ndcg_at_10(ids: np.ndarray, test: sp.csr_matrix, users: np.ndarray) -> float:
    """reelrec.metrics.ndcg_at_k of top-10 lists for ``users`` (binary test matrix: binary gains)."""
    from reelrec.metrics import ndcg_at_k

    return float(ndcg_at_k(np.ascontiguousarray(ids, dtype=np.int64), test[users], 10))


def eval_users(test: sp.csr_matrix) -> np.ndarray:
    return np.flatnonzero(np.diff(test.indptr) > 0)


# ------------------------------------------------------------ measurement
def add_common_args(p, out_name: str) -> None:
    """The options bench_als.py and bench_bpr.py share."""
    p.add_argument("--data", default=str(DEFAULT_DATA), help="MovieLens 100K folder (u.data)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument(
        "--repeats",
        type=int,
        default=5,
        help="fits per library on ML-100K (at most 3 on synthetic-1M, 1 on synthetic-10M); the best time counts",
    )
    p.add_argument("--factors", type=int, nargs="+", default=[32, 64, 128])
    p.add_argument(
        "--large", action="store_true", help="also the ~10M-interaction synthetic matrix"
    )
    p.add_argument(
        "--quick", action="store_true", help="ML-100K, factors 64, one repeat, no memory runs"
    )
    p.add_argument(
        "--no-memory", action="store_true", help="skip the subprocess memory measurements"
    )
    p.add_argument(
        "--out",
        default=None,
        help=f"file in benchmarks/results ({out_name}.json; {out_name}_quick.json with --quick)",
    )


def plan(args, out_name: str) -> list[str]:
    """Applies --quick and the default --out; returns the datasets to run."""
    if args.quick:
        args.factors, args.repeats, args.no_memory = [64], 1, True
    if args.out is None:
        args.out = f"{out_name}_quick.json" if args.quick else f"{out_name}.json"
    datasets = ["ml-100k"] if args.quick else ["ml-100k", "synthetic-1M"]
    return datasets + ["synthetic-10M"] if args.large else datasets


def repeats_for(args, dataset: str) -> int:
    return {"ml-100k": args.repeats, "synthetic-1M": min(args.repeats, 3)}.get(dataset, 1)


def each_dataset(args, datasets: list[str]):
    """Yields ``(name, train, test, repeats)`` per dataset, after printing its size."""
    for name in datasets:
        X = load_dataset(name, Path(args.data))
        train, test = split_per_user(X)
        print(
            f"\n{name}: {X.shape[0]} users x {X.shape[1]} items, {train.nnz} training interactions"
        )
        del X
        yield name, train, test, repeats_for(args, name)


LIBS = ("reelrec", "implicit")


def time_pair(fit, repeats: int) -> tuple[dict, dict]:
    """Best wall-clock and process-CPU seconds of ``fit(lib)`` per library (the two
    interleaved, so both see the same machine load), and the last fitted models.

    Returns ``(timing, models)``; ``timing`` holds ``<lib>_s``, ``<lib>_cpu_s``,
    ``repeats``, ``speedup`` (wall, implicit / reelrec) and ``cpu_speedup``.
    """
    from threadpoolctl import threadpool_limits

    wall = dict.fromkeys(LIBS, float("inf"))
    cpu = dict(wall)
    models = {}
    with threadpool_limits(1, "blas"):
        for _ in range(repeats):
            for lib in LIBS:
                start, start_cpu = time.perf_counter(), time.process_time()
                models[lib] = fit(lib)
                wall[lib] = min(wall[lib], time.perf_counter() - start)
                cpu[lib] = min(cpu[lib], time.process_time() - start_cpu)
    timing = {f"{lib}_s": wall[lib] for lib in LIBS} | {f"{lib}_cpu_s": cpu[lib] for lib in LIBS}
    timing |= {
        "repeats": repeats,
        "speedup": wall["implicit"] / wall["reelrec"],
        "cpu_speedup": cpu["implicit"] / cpu["reelrec"],
    }
    return timing, models


TIMING_COLUMNS = [
    ("reelrec_s", "reelrec s", "{:.3f}"),
    ("implicit_s", "implicit s", "{:.3f}"),
    ("speedup", "speedup", "{:.2f}x"),
    ("reelrec_cpu_s", "cpu s rr", "{:.2f}"),
    ("implicit_cpu_s", "cpu s imp", "{:.2f}"),
    ("cpu_speedup", "cpu speedup", "{:.2f}x"),
]
QUALITY_COLUMNS = [
    ("reelrec_ndcg", "ndcg@10 rr", "{:.4f}"),
    ("implicit_ndcg", "ndcg@10 imp", "{:.4f}"),
]
MEMORY_COLUMNS = [("reelrec_mib", "MiB rr", "{:.1f}"), ("implicit_mib", "MiB imp", "{:.1f}")]


def quality(ndcg, models: dict, train, test) -> dict:
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, "blas"):
        q = {lib: ndcg(lib, models[lib], train, test) for lib in LIBS}
    return {
        "reelrec_ndcg": q["reelrec"],
        "implicit_ndcg": q["implicit"],
        "ndcg_diff": q["reelrec"] - q["implicit"],
    }


def memory(script: Path, worker_args: list[str]) -> dict:
    return {f"{lib}_mib": memory_in_subprocess(script, [lib, *worker_args]) for lib in LIBS}


def measure_fit_memory(lib: str, fit) -> None:
    """Worker side: import the library first (import cost is not the fit's), then
    print the fit's peak RSS delta (MiB)."""
    from threadpoolctl import threadpool_limits

    if lib == "implicit":
        import implicit.cpu.als  # noqa: F401
        import implicit.cpu.bpr  # noqa: F401
    else:
        import reelrec  # noqa: F401
    with threadpool_limits(1, "blas"):
        delta = peak_rss_delta_mib(fit)
    print(f"{delta:.2f}")


def finish(args, title: str, rows: list[dict], columns: list, payload: dict) -> None:
    """Prints the table and writes benchmarks/results/<args.out>."""
    print(f"\n{title}")
    print_table(rows, columns)
    import implicit

    path = write_json(
        args.out,
        {
            **payload,
            "command": " ".join([Path(sys.executable).name, *sys.argv]),
            "machine": machine(),
            "implicit_version": implicit.__version__,
            "params": {k: v for k, v in vars(args).items() if k != "out"},
            "results": rows,
        },
    )
    print(f"wrote {path}")


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
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join([str(REPO / "python"), os.environ.get("PYTHONPATH", "")]),
    )
    proc = subprocess.run(
        [sys.executable, str(script), "--worker", *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
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
    cells = [
        [fmt.format(r[k]) if r.get(k) is not None else "-" for k, _, fmt in columns] for r in rows
    ]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, (_, h, _) in enumerate(columns)]
    print("  ".join(h.rjust(w) for (_, h, _), w in zip(columns, widths)))
    for c in cells:
        print("  ".join(v.rjust(w) for v, w in zip(c, widths)))
