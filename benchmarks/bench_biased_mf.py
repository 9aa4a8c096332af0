"""BiasedMF vs Surprise's SVD / SVDpp on MovieLens 100K, 5-fold cross-validation.

Both libraries get the same folds (a seeded permutation of the ratings cut in
five) and the same hyperparameters. Surprise is single-threaded; reelrec is
fitted once per thread count in ``--threads`` (default ``1,2``) and its model
is identical for every thread count (DSGD strata on a grid fixed by the data),
so the errors are reported once. Reported: mean RMSE / MAE over the folds
(predictions clipped to 1..5 by both), mean fit seconds (wall and process CPU)
and the predict seconds for the test fold.

Rows:
* ``SVD defaults``: Surprise's SVD defaults (100 factors, 20 epochs, lr 0.005,
  reg 0.02, init std 0.1), which are also BiasedMF's defaults.
* ``SVD tuned``: 30 epochs, lr 0.01, reg 0.08, and ``SVD tuned, 20 factors``:
  20 epochs, lr 0.015, reg 0.08, both chosen by a small grid on a separate
  seeded 80/20 split of ML-100K (seed 0), then run here for both libraries.
* ``SVD++ defaults``: Surprise's SVDpp defaults (20 factors, 20 epochs, lr 0.007,
  reg 0.02) for both; ``--no-svdpp`` skips it (Surprise needs minutes).
* ``ALS (reelrec only)``: BiasedMF(solver="als"), no Surprise counterpart.

Ratios: ``CPU x (1 thr)`` is Surprise's CPU seconds over reelrec's with one
thread (the steady measure on a shared machine); ``wall x (N thr)`` is
Surprise's wall seconds over reelrec's with N threads.

Usage::

    PYTHONPATH=python python benchmarks/bench_biased_mf.py --data /path/to/ml-100k
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import scipy.sparse as sp
from _common import DEFAULT_ML100K, load_ml100k, print_table, write_results
from threadpoolctl import threadpool_limits

from reelrec import BiasedMF

CONFIGS = [
    (
        "SVD defaults",
        dict(factors=100, iterations=20, learning_rate=0.005, regularization=0.02),
        False,
    ),
    ("SVD tuned", dict(factors=100, iterations=30, learning_rate=0.01, regularization=0.08), False),
    (
        "SVD tuned, 20 factors",
        dict(factors=20, iterations=20, learning_rate=0.015, regularization=0.08),
        False,
    ),
    (
        "SVD++ defaults",
        dict(factors=20, iterations=20, learning_rate=0.007, regularization=0.02),
        True,
    ),
]
ALS = dict(factors=100, iterations=10, regularization=0.1, solver="als")


def make_folds(n: int, n_folds: int, seed: int) -> list[np.ndarray]:
    return np.array_split(np.random.default_rng(seed).permutation(n), n_folds)


def errors(pred: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    diff = pred.astype(np.float64) - truth
    return float(np.sqrt(np.mean(diff**2))), float(np.mean(np.abs(diff)))


def run_reelrec(params, implicit, users, items, ratings, train, test, shape, seed, threads):
    """(rmse, mae, fit wall s, fit CPU s, predict wall s) for every thread count."""
    X = sp.csr_matrix((ratings[train], (users[train], items[train])), shape=shape)
    out, first = [], None
    for t in threads:
        model = BiasedMF(implicit_feedback=implicit, num_threads=t, random_state=seed, **params)
        t0, c0 = time.perf_counter(), time.process_time()
        model.fit(X)
        seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
        t0 = time.perf_counter()
        pred = model.predict(users[test], items[test])
        predict_seconds = time.perf_counter() - t0
        if first is None:
            first = pred
        elif not np.array_equal(pred, first):
            raise AssertionError(f"BiasedMF differs between {threads[0]} and {t} threads")
        out.append((*errors(pred, ratings[test]), seconds, cpu, predict_seconds))
    return out


def run_surprise(params, implicit, users, items, ratings, train, test, seed):
    import pandas as pd
    from surprise import SVD, Dataset, Reader, SVDpp

    frame = pd.DataFrame({"user": users, "item": items, "rating": ratings.astype(np.float64)})
    data = Dataset.load_from_df(frame, Reader(rating_scale=(1, 5)))
    rows = list(zip(users.tolist(), items.tolist(), ratings.astype(np.float64).tolist()))
    trainset = data.construct_trainset([(*rows[k], None) for k in train])
    testset = data.construct_testset([(*rows[k], None) for k in test])
    kwargs = dict(
        n_factors=params["factors"],
        n_epochs=params["iterations"],
        lr_all=params["learning_rate"],
        reg_all=params["regularization"],
        random_state=seed,
    )
    algo = SVDpp(**kwargs) if implicit else SVD(**kwargs)
    t0, c0 = time.perf_counter(), time.process_time()
    algo.fit(trainset)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    t0 = time.perf_counter()
    pred = np.array([p.est for p in algo.test(testset)])
    predict_seconds = time.perf_counter() - t0
    return (*errors(pred, ratings[test]), seconds, cpu, predict_seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(DEFAULT_ML100K), help="directory holding u.data")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=42, help="seed of the folds and of both models")
    parser.add_argument("--threads", default="1,2", help="comma-separated reelrec thread counts")
    parser.add_argument("--no-svdpp", action="store_true", help="skip the (slow) SVD++ row")
    parser.add_argument(
        "--max-folds", type=int, default=None, help="evaluate only the first folds (quick runs)"
    )
    args = parser.parse_args()
    threads = [int(t) for t in args.threads.split(",")]

    users, items, ratings, _ = load_ml100k(args.data)
    shape = (int(users.max()) + 1, int(items.max()) + 1)
    folds = make_folds(ratings.size, args.folds, args.seed)
    used = folds[: args.max_folds] if args.max_folds else folds
    configs = [c for c in CONFIGS if not (c[2] and args.no_svdpp)]

    rows, results = [], []
    # Surprise and NumPy stay on one BLAS thread; reelrec's threads are its own.
    with threadpool_limits(1):
        for name, params, implicit in configs + [("ALS (reelrec only)", ALS, False)]:
            ours, theirs = [], []
            for k, test in enumerate(used):
                train = np.concatenate([f for j, f in enumerate(folds) if j != k])
                ours.append(
                    run_reelrec(
                        params,
                        implicit,
                        users,
                        items,
                        ratings,
                        train,
                        test,
                        shape,
                        args.seed,
                        threads,
                    )
                )
                if params.get("solver") != "als":
                    theirs.append(
                        run_surprise(
                            params, implicit, users, items, ratings, train, test, args.seed
                        )
                    )
            o = np.mean(ours, axis=0)  # (thread count, column)
            row = {"config": name, "reelrec RMSE": o[0, 0], "reelrec MAE": o[0, 1]}
            entry = {
                "config": name,
                "params": params,
                "implicit_feedback": implicit,
                "reelrec": {
                    "rmse": o[0, 0],
                    "mae": o[0, 1],
                    "by_threads": {
                        str(t): {
                            "fit_seconds": o[j, 2],
                            "fit_cpu_seconds": o[j, 3],
                            "predict_seconds": o[j, 4],
                            "per_fold": [f[j] for f in ours],
                        }
                        for j, t in enumerate(threads)
                    },
                },
            }
            for j, t in enumerate(threads):
                row[f"fit s ({t} thr)"] = o[j, 2]
            row["fit CPU s (1 thr)" if threads[0] == 1 else f"fit CPU s ({threads[0]} thr)"] = o[
                0, 3
            ]
            if theirs:
                s_ = np.mean(theirs, axis=0)
                row.update(
                    {
                        "Surprise RMSE": s_[0],
                        "Surprise MAE": s_[1],
                        "Surprise fit s": s_[2],
                        "Surprise CPU s": s_[3],
                    }
                )
                row[f"CPU x ({threads[0]} thr)"] = f"{s_[3] / o[0, 3]:.1f}x"
                entry["surprise"] = {
                    "rmse": s_[0],
                    "mae": s_[1],
                    "fit_seconds": s_[2],
                    "fit_cpu_seconds": s_[3],
                    "predict_seconds": s_[4],
                    "per_fold": theirs,
                }
                entry["speedup_cpu"] = {str(threads[0]): s_[3] / o[0, 3]}
                entry["speedup_wall"] = {}
                for j, t in enumerate(threads):
                    row[f"wall x ({t} thr)"] = f"{s_[2] / o[j, 2]:.1f}x"
                    entry["speedup_wall"][str(t)] = s_[2] / o[j, 2]
                row["predict x"] = f"{s_[4] / o[0, 4]:.0f}x"
            rows.append(row)
            results.append(entry)
            print(f"done: {name}", flush=True)

    columns = ["config", "reelrec RMSE", "Surprise RMSE", "reelrec MAE", "Surprise MAE"]
    columns += [
        c
        for c in rows[0]
        if c.startswith(("fit", "Surprise fit", "Surprise CPU", "CPU x", "wall x"))
    ]
    columns += ["predict x"]
    print_table(
        f"BiasedMF vs Surprise on ML-100K, {len(used)} of {args.folds} folds, reelrec threads {threads}",
        rows,
        columns,
    )
    per_fold_columns = ["rmse", "mae", "fit_seconds", "fit_cpu_seconds", "predict_seconds"]
    write_results(
        "biased_mf",
        {
            "per_fold_columns": per_fold_columns,
            "dataset": "ml-100k",
            "folds": args.folds,
            "folds_evaluated": len(used),
            "seed": args.seed,
            "threads": threads,
            "results": results,
        },
    )


if __name__ == "__main__":
    main()
