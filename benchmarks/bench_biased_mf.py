"""BiasedMF vs Surprise's SVD / SVDpp on MovieLens 100K, 5-fold cross-validation.

Both libraries get the same folds (a seeded permutation of the ratings cut in
five), the same hyperparameters and one thread (Surprise is single-threaded;
at this size reelrec's SGD is serial anyway). Reported: mean RMSE / MAE over the
folds (predictions clipped to 1..5 by both) and mean fit seconds.

Rows:
* ``SVD defaults``: Surprise's SVD defaults (100 factors, 20 epochs, lr 0.005,
  reg 0.02), which are also BiasedMF's defaults.
* ``SVD tuned``: 30 epochs, lr 0.01, reg 0.08, and ``SVD tuned, 20 factors``:
  20 epochs, lr 0.015, reg 0.08, both chosen by a small grid on a separate
  seeded 80/20 split of ML-100K (seed 0), then run here for both libraries.
* ``SVD++ defaults``: Surprise's SVDpp defaults (20 factors, 20 epochs, lr 0.007,
  reg 0.02) for both; ``--no-svdpp`` skips it (Surprise needs minutes).

Fit time is reported as wall-clock seconds and as process CPU seconds; with
one thread the latter is the steadier measure on a shared machine.
* ``ALS (reelrec only)``: BiasedMF(solver="als"), no Surprise counterpart.

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
    ("SVD defaults", dict(factors=100, iterations=20, learning_rate=0.005, regularization=0.02), False),
    ("SVD tuned", dict(factors=100, iterations=30, learning_rate=0.01, regularization=0.08), False),
    ("SVD tuned, 20 factors", dict(factors=20, iterations=20, learning_rate=0.015, regularization=0.08), False),
    ("SVD++ defaults", dict(factors=20, iterations=20, learning_rate=0.007, regularization=0.02), True),
]
ALS = dict(factors=100, iterations=10, regularization=0.1, solver="als")


def make_folds(n: int, n_folds: int, seed: int) -> list[np.ndarray]:
    return np.array_split(np.random.default_rng(seed).permutation(n), n_folds)


def errors(pred: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    diff = pred.astype(np.float64) - truth
    return float(np.sqrt(np.mean(diff**2))), float(np.mean(np.abs(diff)))


def run_reelrec(params, implicit, users, items, ratings, train, test, shape, seed, threads):
    X = sp.csr_matrix((ratings[train], (users[train], items[train])), shape=shape)
    model = BiasedMF(implicit_feedback=implicit, num_threads=threads, random_state=seed, **params)
    t0, c0 = time.perf_counter(), time.process_time()
    model.fit(X)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    return (*errors(model.predict(users[test], items[test]), ratings[test]), seconds, cpu)


def run_surprise(params, implicit, users, items, ratings, train, test, seed):
    import pandas as pd
    from surprise import SVD, Dataset, Reader, SVDpp

    frame = pd.DataFrame({"user": users, "item": items, "rating": ratings.astype(np.float64)})
    data = Dataset.load_from_df(frame, Reader(rating_scale=(1, 5)))
    rows = list(zip(users.tolist(), items.tolist(), ratings.astype(np.float64).tolist()))
    trainset = data.construct_trainset([(*rows[k], None) for k in train])
    testset = data.construct_testset([(*rows[k], None) for k in test])
    kwargs = dict(
        n_factors=params["factors"], n_epochs=params["iterations"], lr_all=params["learning_rate"],
        reg_all=params["regularization"], random_state=seed,
    )
    algo = SVDpp(**kwargs) if implicit else SVD(**kwargs)
    t0, c0 = time.perf_counter(), time.process_time()
    algo.fit(trainset)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    pred = np.array([p.est for p in algo.test(testset)])
    return (*errors(pred, ratings[test]), seconds, cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(DEFAULT_ML100K), help="directory holding u.data")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=42, help="seed of the folds and of both models")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--no-svdpp", action="store_true", help="skip the (slow) SVD++ row")
    parser.add_argument("--max-folds", type=int, default=None, help="evaluate only the first folds (quick runs)")
    args = parser.parse_args()

    users, items, ratings, _ = load_ml100k(args.data)
    shape = (int(users.max()) + 1, int(items.max()) + 1)
    folds = make_folds(ratings.size, args.folds, args.seed)
    used = folds[: args.max_folds] if args.max_folds else folds
    configs = [c for c in CONFIGS if not (c[2] and args.no_svdpp)]

    rows, results = [], []
    with threadpool_limits(args.threads):
        for name, params, implicit in configs + [("ALS (reelrec only)", ALS, False)]:
            ours, theirs = [], []
            for k, test in enumerate(used):
                train = np.concatenate([f for j, f in enumerate(folds) if j != k])
                ours.append(run_reelrec(params, implicit, users, items, ratings, train, test, shape, args.seed, args.threads))
                if params.get("solver") != "als":
                    theirs.append(run_surprise(params, implicit, users, items, ratings, train, test, args.seed))
            o = np.mean(ours, axis=0)
            row = {"config": name, "reelrec RMSE": o[0], "reelrec MAE": o[1], "reelrec fit s": o[2]}
            entry = {"config": name, "params": params, "implicit_feedback": implicit,
                     "reelrec": {"rmse": o[0], "mae": o[1], "fit_seconds": o[2], "fit_cpu_seconds": o[3],
                                 "per_fold": ours}}
            if theirs:
                t = np.mean(theirs, axis=0)
                row.update({"Surprise RMSE": t[0], "Surprise MAE": t[1], "Surprise fit s": t[2],
                            "speed-up": f"{t[2] / o[2]:.1f}x", "speed-up (CPU)": f"{t[3] / o[3]:.1f}x"})
                entry["surprise"] = {"rmse": t[0], "mae": t[1], "fit_seconds": t[2], "fit_cpu_seconds": t[3],
                                     "per_fold": theirs}
                entry["speedup"] = t[2] / o[2]
                entry["speedup_cpu"] = t[3] / o[3]
            rows.append(row)
            results.append(entry)
            print(f"done: {name}", flush=True)

    columns = ["config", "reelrec RMSE", "Surprise RMSE", "reelrec MAE", "Surprise MAE",
               "reelrec fit s", "Surprise fit s", "speed-up", "speed-up (CPU)"]
    print_table(f"BiasedMF vs Surprise on ML-100K, {len(used)} of {args.folds} folds, {args.threads} thread(s)",
                rows, columns)
    per_fold_columns = ["rmse", "mae", "fit_seconds", "fit_cpu_seconds"]
    write_results("biased_mf", {
        "per_fold_columns": per_fold_columns,
        "dataset": "ml-100k", "folds": args.folds, "folds_evaluated": len(used), "seed": args.seed,
        "threads": args.threads, "results": results,
    })


if __name__ == "__main__":
    main()
