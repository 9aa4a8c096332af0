"""Ranking metrics: reelrec's native kernel vs a vectorised NumPy implementation (and implicit).

Synthetic data: ``--users`` users, a Zipf-like catalogue of ``--items`` items,
test sets of 1 + Poisson(9) items per user with integer gains 1..5, and top-k
lists drawn from the same popularity (repeats replaced by -1, so every
implementation sees the same distinct lists). For each k the three metrics
NDCG@k, recall@k and MAP@k are computed in one call by each implementation on
the same arrays; the table reports the best of ``--repeat`` wall times.

Peers:
* NumPy: the vectorised formulation a user would write (sorted-key membership
  test with ``searchsorted``, cumulative sums over the k columns, ideal DCG from
  a lexsort of the relevance values). Single-threaded by nature.
* implicit 0.7 ``ranking_metrics_at_k``: it scores a *model*, so it is fed a
  stub whose ``recommend`` returns slices of the same precomputed lists. It
  uses binary relevance, so its timing row is taken on the binary version of
  the test matrix and its NDCG/MAP are compared with reelrec's on that matrix.
  It also computes precision and AUC in the same pass (more work per user,
  but the same single pass over the lists).

Usage::

    python benchmarks/bench_metrics.py                   # 100k users, k = 10, 20, 50, 100
    python benchmarks/bench_metrics.py --users 20000 --ks 10 50
"""

from __future__ import annotations

import argparse
import os
import platform
from pathlib import Path

import numpy as np
import scipy.sparse as sp

ROOT = Path(__file__).resolve().parents[1]

from _common import best_of, write_json  # noqa: E402

from reelrec import _core  # noqa: E402
from reelrec import metrics as M  # noqa: E402
from reelrec.metrics._lists import distinct_lists  # noqa: E402


def make_data(n_users: int, n_items: int, k_max: int, seed: int):
    rng = np.random.default_rng(seed)
    weights = 1.0 / np.arange(1, n_items + 1) ** 0.8
    prob = weights / weights.sum()
    sizes = 1 + rng.poisson(9, n_users)
    rows = np.repeat(np.arange(n_users), sizes)
    cols = rng.choice(n_items, size=rows.size, p=prob)
    gains = rng.integers(1, 6, rows.size).astype(np.float32)
    test = sp.csr_matrix((gains, (rows, cols)), shape=(n_users, n_items))
    test.sum_duplicates()
    test.data = np.minimum(test.data, 5).astype(np.float32)
    rec = rng.choice(n_items, size=(n_users, k_max), p=prob).astype(np.int32)
    rec = distinct_lists(rec, k_max)
    return rec, test


def numpy_metrics(rec: np.ndarray, rel: sp.csr_matrix, k: int) -> dict[str, float]:
    """Vectorised NDCG@k, recall@k and MAP@k (lists without repeats; -1 pads)."""
    n, m = rel.shape
    ids = rec[:, :k].astype(np.int64)
    row_of = np.repeat(np.arange(n, dtype=np.int64), np.diff(rel.indptr))
    rel_keys = row_of * m + rel.indices  # sorted: canonical CSR
    keys = np.arange(n, dtype=np.int64)[:, None] * m + ids
    pos = np.minimum(np.searchsorted(rel_keys, keys), rel_keys.size - 1)
    found = (rel_keys[pos] == keys) & (ids >= 0)
    gains = np.where(found, rel.data[pos], 0.0)
    hit = gains > 0
    n_rel = np.bincount(row_of[rel.data > 0], minlength=n)
    cum = np.cumsum(hit, axis=1)
    ranks = np.arange(1, k + 1)
    discount = 1.0 / np.log2(ranks + 1)
    dcg = gains @ discount
    order = np.lexsort((-rel.data, row_of))  # by user, gains decreasing
    within = np.arange(rel.nnz) - rel.indptr[row_of[order]]
    top = within < k
    idcg = np.bincount(
        row_of[order][top], weights=rel.data[order][top] * discount[within[top]], minlength=n
    )
    users = n_rel > 0
    recall = cum[:, -1] / np.maximum(n_rel, 1)
    ap = (hit * cum / ranks).sum(axis=1) / np.maximum(np.minimum(k, n_rel), 1)
    ndcg = dcg / np.where(idcg > 0, idcg, 1)
    return {"ndcg": ndcg[users].mean(), "recall": recall[users].mean(), "map": ap[users].mean()}


class ListStub:
    """A 'model' for implicit.evaluation that returns precomputed lists."""

    def __init__(self, rec: np.ndarray):
        self.rec = rec

    def recommend(self, userid, user_items, N=10, **kwargs):
        ids = self.rec[np.asarray(userid), :N]
        return ids, np.zeros(ids.shape, np.float32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--ks", type=int, nargs="+", default=[10, 20, 50, 100])
    parser.add_argument(
        "--threads", type=int, default=0, help="threads for the parallel runs (0 = all)"
    )
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-implicit", action="store_true")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "metrics.json"))
    args = parser.parse_args()

    threads = args.threads or _core.max_threads()
    rec, test = make_data(args.users, args.items, max(args.ks), args.seed)
    binary = test.copy()
    binary.data[:] = 1.0
    implicit_eval = None
    if not args.no_implicit:
        try:
            import implicit.evaluation as implicit_eval
        except ImportError:
            print("implicit not installed: skipping its column")
    empty_train = sp.csr_matrix(test.shape, dtype=np.float32)
    names = ["ndcg", "recall", "map"]
    print(
        f"{args.users} users, {args.items} items, {test.nnz} test pairs, {threads} threads "
        f"(OpenMP: {_core.openmp_enabled()}), best of {args.repeat}"
    )

    rows = []
    for k in args.ks:
        t1, ours = best_of(
            lambda k=k: M.ranking_metrics_at_k(rec, test, k, metrics=names, num_threads=1),
            args.repeat,
        )
        tn, ours_n = best_of(
            lambda k=k: M.ranking_metrics_at_k(rec, test, k, metrics=names, num_threads=threads),
            args.repeat,
        )
        tnp, theirs = best_of(lambda k=k: numpy_metrics(rec, test, k), args.repeat)
        assert ours == ours_n
        diff = max(abs(ours[n] - theirs[n]) for n in names)
        row = {
            "k": k,
            "reelrec_1_thread_s": t1,
            "reelrec_threads_s": tn,
            "numpy_s": tnp,
            "numpy_over_reelrec_1_thread": tnp / t1,
            "numpy_over_reelrec_threads": tnp / tn,
            "max_abs_diff_vs_numpy": diff,
            "values": ours,
        }
        if implicit_eval is not None:
            stub = ListStub(rec)
            ti, theirs_i = best_of(
                lambda k=k, stub=stub: implicit_eval.ranking_metrics_at_k(
                    stub, empty_train, binary, K=k, show_progress=False, num_threads=threads
                ),
                args.repeat,
            )
            tb, ours_b = best_of(
                lambda k=k: M.ranking_metrics_at_k(
                    rec, binary, k, metrics=["ndcg", "map"], num_threads=threads
                ),
                args.repeat,
            )
            row.update(
                {
                    "implicit_s": ti,
                    "reelrec_binary_threads_s": tb,
                    "implicit_over_reelrec_threads": ti / tb,
                    "max_abs_diff_vs_implicit": max(
                        abs(ours_b[n] - theirs_i[n]) for n in ("ndcg", "map")
                    ),
                }
            )
        rows.append(row)

    header = f"{'k':>4} {'reelrec 1t':>11} {'reelrec ' + str(threads) + 't':>11} {'numpy':>9} {'numpy/rr1':>10} {'numpy/rrN':>10} {'|diff|':>8}"
    if implicit_eval is not None:
        header += f" {'implicit':>9} {'impl/rrN':>9} {'|diff|':>8}"
    print(header)
    for r in rows:
        line = (
            f"{r['k']:>4} {r['reelrec_1_thread_s']:>10.4f}s {r['reelrec_threads_s']:>10.4f}s {r['numpy_s']:>8.3f}s "
            f"{r['numpy_over_reelrec_1_thread']:>9.1f}x {r['numpy_over_reelrec_threads']:>9.1f}x {r['max_abs_diff_vs_numpy']:>8.1e}"
        )
        if "implicit_s" in r:
            line += f" {r['implicit_s']:>8.3f}s {r['implicit_over_reelrec_threads']:>8.1f}x {r['max_abs_diff_vs_implicit']:>8.1e}"
        print(line)

    result = {
        "benchmark": "ranking metrics (ndcg, recall, map at k in one call)",
        "config": {
            "users": args.users,
            "items": args.items,
            "test_pairs": int(test.nnz),
            "threads": threads,
            "repeat": args.repeat,
            "seed": args.seed,
            "machine": platform.platform(),
            "cpu_count": os.cpu_count(),
            "load_average_1min_at_end": os.getloadavg()[0],
        },
        "rows": rows,
    }
    write_json(args.out, result)


if __name__ == "__main__":
    main()
