"""ItemKNN fit time vs implicit's CosineRecommender / BM25Recommender.

Both libraries run in this process on the same users x items matrix with the
same number of threads and K. implicit keeps the item itself among its K
neighbours, so it runs with K = k + 1 and its lists are compared after dropping
the item (reelrec never lists an item as its own neighbour).

Reported per dataset, model and thread count: best-of-N fit wall seconds of
each library and the speedup (implicit / reelrec), the best-of-N process CPU
seconds (all threads) and their ratio (steadier than wall time on a shared
machine), and the fraction of items whose neighbour lists are identical up to
ties (same scores within 1e-4 relative, and the same items wherever the scores
are not tied with the list's last value).

    python benchmarks/bench_knn.py --data ../shared/data/ml-100k [--large] [--threads 0,1]
"""

from __future__ import annotations

import argparse
import platform
import sys
import warnings
from pathlib import Path

import numpy as np
import scipy.sparse as sp

REPO = Path(__file__).resolve().parents[1]

import _common  # noqa: E402
from _common import best_wall_cpu, brief_machine_info, write_json  # noqa: E402

from reelrec import ItemKNN, _core  # noqa: E402


def load_ml100k(path: Path) -> sp.csr_matrix:
    users, items, _, _ = _common.load_ml100k(path)
    X = sp.csr_matrix((np.ones(users.size, np.float32), (users, items)))
    X.sum_duplicates()
    return X


def power_law(n_users: int, n_items: int, nnz: int, seed: int) -> sp.csr_matrix:
    """Play counts with log-normal user activity and Zipf(1) item popularity."""
    rng = np.random.default_rng(seed)
    activity = rng.lognormal(0.0, 1.0, n_users)
    counts = np.clip(np.round(activity / activity.sum() * nnz), 1, 2000).astype(np.int64)
    popularity = 1.0 / np.arange(1, n_items + 1)
    items = rng.permutation(n_items)[
        rng.choice(n_items, size=int(counts.sum()), p=popularity / popularity.sum())
    ]
    users = np.repeat(np.arange(n_users), counts)
    X = sp.csr_matrix((np.ones(users.size, np.float32), (users, items)), shape=(n_users, n_items))
    X.sum_duplicates()  # repeated draws become play counts
    return X


def implicit_lists(similarity: sp.csr_matrix, rows: np.ndarray, k: int):
    S = similarity.tocsr()
    for r in rows:
        lo, hi = S.indptr[r], S.indptr[r + 1]
        ids, scores = S.indices[lo:hi], S.data[lo:hi]
        keep = ids != r
        ids, scores = ids[keep], scores[keep]
        order = np.lexsort((ids, -scores))[:k]
        yield ids[order], scores[order]


def identical_up_to_ties(a_ids, a_scores, b_ids, b_scores, rtol=1e-4, atol=1e-6) -> bool:
    if a_ids.size != b_ids.size:
        return False
    if a_ids.size == 0:
        return True
    if not np.allclose(np.sort(a_scores), np.sort(b_scores), rtol=rtol, atol=atol):
        return False
    last = min(a_scores.min(), b_scores.min())
    tol = atol + rtol * abs(last)
    return set(a_ids[a_scores > last + tol].tolist()) == set(b_ids[b_scores > last + tol].tolist())


def compare(ours: sp.csr_matrix, theirs: sp.csr_matrix, k: int, sample: int, seed: int) -> float:
    n = ours.shape[0]
    rng = np.random.default_rng(seed)
    rows = np.arange(n) if n <= sample else np.sort(rng.choice(n, sample, replace=False))
    ids, scores = _core.csr_rows_topk(
        ours.indptr.astype(np.int64), ours.indices, ours.data, n, rows.astype(np.int64), None, k, 0
    )
    same = 0
    for r, (t_ids, t_scores) in enumerate(implicit_lists(theirs, rows, k)):
        valid = ids[r] >= 0
        same += identical_up_to_ties(ids[r][valid], scores[r][valid], t_ids, t_scores)
    return same / rows.size


def run(name: str, X: sp.csr_matrix, threads: int, args) -> list[dict]:
    from implicit.nearest_neighbours import BM25Recommender, CosineRecommender

    k = args.k
    repeats = args.repeats if X.nnz < 5_000_000 else max(1, args.repeats - 1)
    models = [
        (
            "cosine",
            lambda: ItemKNN(k=k, similarity="cosine", num_threads=threads),
            lambda: CosineRecommender(K=k + 1, num_threads=threads),
        ),
        (
            "bm25",
            lambda: ItemKNN(
                k=k,
                similarity="dot",
                weighting="bm25",
                bm25_k1=1.2,
                bm25_b=0.75,
                num_threads=threads,
            ),
            lambda: BM25Recommender(K=k + 1, K1=1.2, B=0.75, num_threads=threads),
        ),
    ]
    rows = []
    for model_name, make_ours, make_theirs in models:
        ours_s, ours_cpu, ours = best_wall_cpu(lambda: make_ours().fit(X), repeats)  # noqa: B023
        theirs_model = make_theirs()
        theirs_s, theirs_cpu, _ = best_wall_cpu(
            lambda: theirs_model.fit(X, show_progress=False),  # noqa: B023
            repeats,
        )
        identical = compare(ours.similarity_, theirs_model.similarity, k, args.sample, seed=0)
        rows.append(
            {
                "dataset": name,
                "shape": list(X.shape),
                "nnz": int(X.nnz),
                "model": model_name,
                "threads": threads,
                "reelrec_fit_s": round(ours_s, 4),
                "implicit_fit_s": round(theirs_s, 4),
                "speedup": round(theirs_s / ours_s, 2),
                "reelrec_cpu_s": round(ours_cpu, 4),
                "implicit_cpu_s": round(theirs_cpu, 4),
                "cpu_ratio": round(theirs_cpu / ours_cpu, 2),
                "identical_lists": round(identical, 4),
            }
        )
        r = rows[-1]
        print(
            f"{name:<14} {X.shape[0]:>7}x{X.shape[1]:<7} {X.nnz:>10,} {model_name:<7} {threads:>3} "
            f"{ours_s:>9.3f} {theirs_s:>10.3f} {r['speedup']:>7.2f}x "
            f"{ours_cpu:>8.3f} {theirs_cpu:>9.3f} {r['cpu_ratio']:>6.2f}x {identical:>9.2%}",
            flush=True,
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=REPO / ".." / "shared" / "data" / "ml-100k")
    parser.add_argument("--k", type=int, default=100)
    parser.add_argument(
        "--threads",
        default="0",
        help="comma-separated thread counts for both libraries (0 = all cores)",
    )
    parser.add_argument(
        "--repeats", type=int, default=3, help="fits per measurement (best is kept)"
    )
    parser.add_argument("--sample", type=int, default=5000, help="rows checked for identical lists")
    parser.add_argument("--large", action="store_true", help="add the ~10M-interaction matrix")
    parser.add_argument("--small", action="store_true", help="quick run: ML-100K and a 100k matrix")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "knn.json")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")  # implicit warns about the COO input it builds itself

    datasets = []
    if (args.data / "u.data").exists():
        datasets.append(("ml-100k", lambda: load_ml100k(args.data)))
    else:
        print(f"ML-100K not found at {args.data}; skipping it", file=sys.stderr)
    if args.small:
        datasets.append(("powerlaw-100k", lambda: power_law(10_000, 5_000, 100_000, seed=1)))
    else:
        datasets.append(("powerlaw-1m", lambda: power_law(50_000, 20_000, 1_000_000, seed=1)))
    if args.large:
        datasets.append(("powerlaw-10m", lambda: power_law(300_000, 100_000, 10_000_000, seed=2)))

    thread_counts = [int(t) or _core.max_threads() for t in str(args.threads).split(",")]
    print(
        f"reelrec vs implicit ItemKNN fit, k={args.k}, best of {args.repeats} (wall and process CPU seconds)"
    )
    print(
        f"{'dataset':<14} {'users x items':>15} {'nnz':>10} {'model':<7} {'thr':>3} {'reelrec s':>9} "
        f"{'implicit s':>10} {'speedup':>8} {'cpu ours':>8} {'cpu impl':>9} {'ratio':>7} {'identical':>9}"
    )
    results = []
    for name, load in datasets:
        X = load()
        for threads in thread_counts:
            results.extend(run(name, X, threads, args))
    import implicit

    report = {
        "benchmark": "ItemKNN fit: reelrec vs implicit.nearest_neighbours",
        "k": args.k,
        "threads": thread_counts,
        "repeats": args.repeats,
        "implicit_version": implicit.__version__,
        "machine": brief_machine_info(python=platform.python_version()),
        "results": results,
    }
    write_json(args.out, report)


if __name__ == "__main__":
    main()
