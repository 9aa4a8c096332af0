"""EASE and PureSVD (and Popularity) on MovieLens 100K, binarised, top-10 ranking.

Every rating becomes a 1; a seeded per-user holdout puts ~20% of each user's
items in the test set (``_common.split_per_user``). Each model is fitted on the
training matrix and ranks the unseen items of every user with test items;
reported are fit seconds, wall and process CPU (best of ``--repeat``), and
NDCG@10 / Recall@10, for every thread count in ``--threads`` (the peers' BLAS
limited to the same count with threadpoolctl). PureSVD's NDCG depends on the
random sketch: both libraries are run with ``--svd-seeds`` seeds and the mean
is reported. Ratio rows divide the peer's seconds by reelrec's. Unless
``--no-synthetic``, PureSVD is also timed on a 30k x 10k power-law matrix with
~1M nonzeros, with the largest relative error of the top singular values
against a much larger sketch.

Peers, run in the same process on the same split and thread count:
* EASE in NumPy as published with the paper (dense ``X^T X``, ``np.linalg.inv``);
* PureSVD via scikit-learn's ``randomized_svd`` with the same rank, oversampling,
  power iterations and seed.

Usage::

    PYTHONPATH=python python benchmarks/bench_ease_puresvd.py --data /path/to/ml-100k
"""

from __future__ import annotations

import argparse

import numpy as np
import scipy.sparse as sp
from _common import (
    DEFAULT_ML100K,
    best_wall_cpu,
    load_ml100k,
    power_law_matrix,
    print_table,
    split_per_user,
    write_results,
)
from sklearn.utils.extmath import randomized_svd
from threadpoolctl import threadpool_limits

from reelrec import EASE, Popularity, PureSVD

K = 10


def ndcg_recall_at_k(
    top: np.ndarray, test: sp.csr_matrix, users: np.ndarray, k: int = K
) -> tuple[float, float]:
    """Mean binary NDCG@k and Recall@k of ``top`` (rows aligned with ``users``)."""
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    ndcg, recall = [], []
    for row, u in enumerate(users):
        relevant = test.indices[test.indptr[u] : test.indptr[u + 1]]
        hits = np.isin(top[row, :k], relevant)
        ideal = discounts[: min(relevant.size, k)].sum()
        ndcg.append((hits * discounts).sum() / ideal)
        recall.append(hits.sum() / min(relevant.size, k))
    return float(np.mean(ndcg)), float(np.mean(recall))


def top_k_dense(scores: np.ndarray, seen: sp.csr_matrix, k: int = K) -> np.ndarray:
    """Peer ranking: mask seen items, then argpartition + sort (ties: lower index first)."""
    scores = scores.astype(np.float64, copy=True)
    scores[seen.nonzero()] = -np.inf
    part = np.argpartition(-scores, k, axis=1)[:, :k]
    order = np.lexsort((part, -np.take_along_axis(scores, part, axis=1)), axis=1)
    return np.take_along_axis(part, order, axis=1)


def numpy_ease(X: sp.csr_matrix, l2: float) -> np.ndarray:
    G = (X.T @ X).toarray().astype(np.float64)
    G[np.diag_indices_from(G)] += l2
    P = np.linalg.inv(G)
    B = P / (-np.diag(P))
    B[np.diag_indices_from(B)] = 0.0
    return B


def sklearn_puresvd(
    X: sp.csr_matrix, factors: int, oversampling: int, power_iterations: int, seed: int
) -> np.ndarray:
    _, _, Vt = randomized_svd(
        X.astype(np.float64),
        factors,
        n_oversamples=oversampling,
        n_iter=power_iterations,
        power_iteration_normalizer="QR",
        random_state=seed,
    )
    return Vt.T


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(DEFAULT_ML100K), help="directory holding u.data")
    parser.add_argument(
        "--seed", type=int, default=42, help="seed of the split (and first PureSVD seed)"
    )
    parser.add_argument("--threads", default="1,2", help="comma-separated thread counts")
    parser.add_argument(
        "--repeat", type=int, default=3, help="fit timings are the best of this many"
    )
    parser.add_argument("--l2", type=float, default=500.0, help="EASE l2 (both implementations)")
    parser.add_argument(
        "--factors", type=int, default=50, help="PureSVD rank (both implementations)"
    )
    parser.add_argument(
        "--svd-seeds", type=int, default=5, help="PureSVD sketch seeds (NDCG is their mean)"
    )
    parser.add_argument(
        "--no-synthetic",
        dest="synthetic",
        action="store_false",
        help="skip the PureSVD timing on a 30k x 10k power-law matrix with ~1M nonzeros",
    )
    args = parser.parse_args()

    users, items, _, _ = load_ml100k(args.data)
    shape = (int(users.max()) + 1, int(items.max()) + 1)
    X = sp.csr_matrix((np.ones(users.size, np.float32), (users, items)), shape=shape)
    train, test = split_per_user(X, 0.2, seed=args.seed)
    train.data[:] = 1
    eval_users = np.flatnonzero(np.diff(test.indptr) > 0)
    seen = train[eval_users]
    svd_seeds = [args.seed + j for j in range(args.svd_seeds)]
    rows, results = [], []

    def record(name, library, t, timings, tops):
        """timings: (wall, cpu) per run; tops: top-k lists per run (e.g. per seed)."""
        scores = np.array([ndcg_recall_at_k(top, test, eval_users) for top in tops])
        wall, cpu = np.mean(timings, axis=0)
        row = {
            "model": name,
            "library": library,
            "threads": t,
            "fit s": wall,
            "fit CPU s": cpu,
            "NDCG@10": scores[:, 0].mean(),
            "Recall@10": scores[:, 1].mean(),
        }
        rows.append(row)
        results.append(
            {
                "model": name,
                "library": library,
                "threads": t,
                "fit_seconds": wall,
                "fit_cpu_seconds": cpu,
                "ndcg_at_10": scores[:, 0].mean(),
                "ndcg_at_10_per_run": scores[:, 0].tolist(),
                "recall_at_10": scores[:, 1].mean(),
            }
        )
        return row

    def ratio(ours, peer, t):
        rows.append(
            {
                "model": ours["model"],
                "library": "ratio (peer / reelrec)",
                "threads": t,
                "fit s": f"{peer['fit s'] / ours['fit s']:.2f}x",
                "fit CPU s": f"{peer['fit CPU s'] / ours['fit CPU s']:.2f}x",
            }
        )
        results[-1]["speedup_wall"] = peer["fit s"] / ours["fit s"]
        results[-1]["speedup_cpu"] = peer["fit CPU s"] / ours["fit CPU s"]

    svd_name = f"PureSVD f={args.factors}"
    for t in [int(v) for v in args.threads.split(",")]:
        # The peers' BLAS gets the same thread count as reelrec's OpenMP.
        with threadpool_limits(t):
            wall, cpu, model = best_wall_cpu(
                lambda t=t: EASE(l2=args.l2, num_threads=t).fit(train), args.repeat
            )
            ours = record(
                f"EASE l2={args.l2:g}",
                "reelrec",
                t,
                [(wall, cpu)],
                [model.recommend(eval_users, k=K)[0]],
            )
            wall, cpu, B = best_wall_cpu(lambda: numpy_ease(train, args.l2), args.repeat)
            peer = record(
                f"EASE l2={args.l2:g}",
                "NumPy (paper code)",
                t,
                [(wall, cpu)],
                [top_k_dense(seen @ B, seen)],
            )
            ratio(ours, peer, t)

            timings, tops = [], []
            for seed in svd_seeds:
                wall, cpu, model = best_wall_cpu(
                    lambda seed=seed, t=t: PureSVD(
                        factors=args.factors, random_state=seed, num_threads=t
                    ).fit(train),
                    args.repeat,
                )
                timings.append((wall, cpu))
                tops.append(model.recommend(eval_users, k=K)[0])
            ours = record(svd_name, "reelrec", t, timings, tops)
            timings, tops = [], []
            for seed in svd_seeds:
                wall, cpu, V = best_wall_cpu(
                    lambda seed=seed: sklearn_puresvd(train, args.factors, 10, 4, seed), args.repeat
                )
                timings.append((wall, cpu))
                tops.append(top_k_dense((seen @ V) @ V.T, seen))
            peer = record(svd_name, "scikit-learn", t, timings, tops)
            ratio(ours, peer, t)

            wall, cpu, model = best_wall_cpu(
                lambda t=t: Popularity(num_threads=t).fit(train), args.repeat
            )
            record("Popularity", "reelrec", t, [(wall, cpu)], [model.recommend(eval_users, k=K)[0]])

    if args.synthetic:
        # Larger power-law matrix (binarised): fit time and agreement of the
        # top singular values; NDCG is not meaningful on random data.
        Xs = power_law_matrix(30_000, 10_000, 1_000_000, seed=args.seed)
        Xs.data[:] = 1
        name = f"PureSVD f={args.factors}, power-law 30k x 10k, {Xs.nnz / 1e6:.2f}M nnz"
        s_exact = None
        for t in [int(v) for v in args.threads.split(",")]:
            with threadpool_limits(t):
                wall, cpu, model = best_wall_cpu(
                    lambda t=t: PureSVD(
                        factors=args.factors, random_state=args.seed, num_threads=t
                    ).fit(Xs),
                    args.repeat,
                )
                pwall, pcpu, (_, s_peer, _) = best_wall_cpu(
                    lambda: randomized_svd(
                        Xs.astype(np.float64),
                        args.factors,
                        n_oversamples=10,
                        n_iter=4,
                        power_iteration_normalizer="QR",
                        random_state=args.seed,
                    ),
                    args.repeat,
                )
            if s_exact is None:  # reference: a much larger sketch
                s_exact = randomized_svd(
                    Xs.astype(np.float64),
                    args.factors,
                    n_oversamples=100,
                    n_iter=10,
                    random_state=0,
                )[1]
            ours_err = float(np.max(np.abs(model.singular_values_ - s_exact) / s_exact))
            peer_err = float(np.max(np.abs(s_peer - s_exact) / s_exact))
            for library, w, c, err in (
                ("reelrec", wall, cpu, ours_err),
                ("scikit-learn", pwall, pcpu, peer_err),
            ):
                rows.append(
                    {
                        "model": name,
                        "library": library,
                        "threads": t,
                        "fit s": w,
                        "fit CPU s": c,
                        "max rel. err s_k": err,
                    }
                )
                results.append(
                    {
                        "model": name,
                        "library": library,
                        "threads": t,
                        "fit_seconds": w,
                        "fit_cpu_seconds": c,
                        "max_rel_err_singular_values": err,
                    }
                )
            rows.append(
                {
                    "model": name,
                    "library": "ratio (peer / reelrec)",
                    "threads": t,
                    "fit s": f"{pwall / wall:.2f}x",
                    "fit CPU s": f"{pcpu / cpu:.2f}x",
                }
            )
            results[-1]["speedup_wall"] = pwall / wall
            results[-1]["speedup_cpu"] = pcpu / cpu

    print_table(
        f"ML-100K binarised, per-user 80/20 split (seed {args.seed}), {eval_users.size} users; "
        f"PureSVD: mean over sketch seeds {svd_seeds}",
        rows,
        [
            "model",
            "library",
            "threads",
            "fit s",
            "fit CPU s",
            "NDCG@10",
            "Recall@10",
            "max rel. err s_k",
        ],
    )
    write_results(
        "ease_puresvd",
        {
            "dataset": "ml-100k (binarised)",
            "split": "per-user 80/20",
            "seed": args.seed,
            "svd_seeds": svd_seeds,
            "threads": args.threads,
            "n_eval_users": int(eval_users.size),
            "results": results,
        },
    )


if __name__ == "__main__":
    main()
