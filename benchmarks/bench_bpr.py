"""reelrec.BPR vs implicit.cpu.bpr.BayesianPersonalizedRanking, side by side.

Same process, same binary data and per-user 80/20 split, same threads,
factors, learning rate, regularisation and epochs; both verify negatives.
Reported: seconds per fit (best of --repeats, interleaved), training samples
per second (nnz x epochs / seconds; both draw nnz samples per epoch), NDCG@10
on the held-out 20% and peak resident memory added by the fit (fresh
subprocess per library).

Differences in method, not in settings: implicit runs Hogwild SGD and draws
negatives from the popularity distribution (a random stored cell's item),
skipping a sample whose negative was seen; reelrec runs stratified SGD
(thread-count deterministic) with uniform negatives, re-drawn when seen.

    python benchmarks/bench_bpr.py            # ML-100K + synthetic 1M
    python benchmarks/bench_bpr.py --large    # + synthetic 10M
    python benchmarks/bench_bpr.py --quick
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "python"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import _factorization_data as common  # noqa: E402

SCRIPT = Path(__file__).resolve()


def fit_once(lib: str, args, train, factors: int, epochs: int):
    if lib == "reelrec":
        from reelrec import BPR

        return BPR(
            factors=factors, learning_rate=args.learning_rate, regularization=args.regularization,
            iterations=epochs, num_threads=args.threads, random_state=0,
        ).fit(train)
    from implicit.cpu.bpr import BayesianPersonalizedRanking

    model = BayesianPersonalizedRanking(
        factors=factors, learning_rate=args.learning_rate, regularization=args.regularization,
        iterations=epochs, num_threads=args.threads, random_state=0, verify_negative_samples=True,
    )
    model.fit(train, show_progress=False)
    return model


def ndcg(lib: str, model, train, test) -> float:
    users = common.eval_users(test)
    if lib == "reelrec":
        ids, _ = model.recommend(users, k=10)
    else:
        ids, _ = model.recommend(users, train[users], N=10, filter_already_liked_items=True)
    return common.ndcg_at_10(ids, test, users)


def epochs_for(args, dataset: str) -> int:
    return args.iterations if dataset == "ml-100k" else args.large_iterations


def worker(argv: list[str]) -> None:
    lib, dataset, factors = argv[0], argv[1], int(argv[2])
    args = parse_args(argv[3:])
    X = common.load_dataset(dataset, Path(args.data))
    train, _ = common.split_per_user(X)
    del X
    if lib == "implicit":
        import implicit.cpu.bpr  # noqa: F401
    delta = common.peak_rss_delta_mib(lambda: fit_once(lib, args, train, factors, epochs_for(args, dataset)))
    print(f"{delta:.2f}")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=str(common.DEFAULT_DATA), help="MovieLens 100K folder (u.data)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=5,
                   help="fits per library on ML-100K (at most 3 on synthetic-1M, 1 on synthetic-10M); the best time counts")
    p.add_argument("--factors", type=int, nargs="+", default=[32, 64, 128])
    p.add_argument("--iterations", type=int, default=100, help="epochs on ML-100K")
    p.add_argument("--large-iterations", type=int, default=20, help="epochs on the synthetic matrices")
    p.add_argument("--learning-rate", type=float, default=0.05)
    p.add_argument("--regularization", type=float, default=0.01)
    p.add_argument("--large", action="store_true", help="also the ~10M-interaction synthetic matrix")
    p.add_argument("--quick", action="store_true", help="ML-100K, factors 64, one repeat, no memory runs")
    p.add_argument("--no-memory", action="store_true")
    p.add_argument("--out", default=None, help="file in benchmarks/results (bpr.json; bpr_quick.json with --quick)")
    return p.parse_args(argv)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker(sys.argv[2:])
        return
    args = parse_args()
    from threadpoolctl import threadpool_limits

    if args.quick:
        args.factors, args.repeats, args.no_memory = [64], 1, True
    if args.out is None:
        args.out = "bpr_quick.json" if args.quick else "bpr.json"
    datasets = ["ml-100k"] if args.quick else ["ml-100k", "synthetic-1M"]
    if args.large:
        datasets.append("synthetic-10M")
    import implicit

    rows = []
    print(f"threads={args.threads} learning_rate={args.learning_rate} regularization={args.regularization} "
          f"implicit {implicit.__version__}")
    for dataset in datasets:
        X = common.load_dataset(dataset, Path(args.data))
        train, test = common.split_per_user(X)
        epochs = epochs_for(args, dataset)
        repeats = {"ml-100k": args.repeats, "synthetic-1M": min(args.repeats, 3)}.get(dataset, 1)
        print(f"\n{dataset}: {X.shape[0]} users x {X.shape[1]} items, {train.nnz} training interactions, "
              f"{epochs} epochs")
        for factors in args.factors:
            best = {"reelrec": float("inf"), "implicit": float("inf")}
            best_cpu = dict(best)
            models = {}
            with threadpool_limits(1, "blas"):
                for _ in range(repeats):
                    for lib in ("reelrec", "implicit"):
                        start, cpu = time.perf_counter(), time.process_time()
                        models[lib] = fit_once(lib, args, train, factors, epochs)
                        best[lib] = min(best[lib], time.perf_counter() - start)
                        best_cpu[lib] = min(best_cpu[lib], time.process_time() - cpu)
                quality = {lib: ndcg(lib, models[lib], train, test) for lib in models}
            samples = float(train.nnz) * epochs
            row = {
                "dataset": dataset, "factors": factors, "epochs": epochs,
                "reelrec_s": best["reelrec"], "implicit_s": best["implicit"],
                "reelrec_cpu_s": best_cpu["reelrec"], "implicit_cpu_s": best_cpu["implicit"],
                "repeats": repeats,
                "reelrec_msamples_s": samples / best["reelrec"] / 1e6,
                "implicit_msamples_s": samples / best["implicit"] / 1e6,
                "speedup": best["implicit"] / best["reelrec"],
                "reelrec_ndcg": quality["reelrec"], "implicit_ndcg": quality["implicit"],
                "ndcg_diff": quality["reelrec"] - quality["implicit"],
            }
            if not args.no_memory and factors == 64:
                for lib in ("reelrec", "implicit"):
                    row[f"{lib}_mib"] = common.memory_in_subprocess(SCRIPT, [lib, dataset, str(factors), *sys.argv[1:]])
            rows.append(row)
            print(f"  f={factors:3d}  reelrec {row['reelrec_s']:.3f}s ({row['reelrec_msamples_s']:.1f} M/s)  "
                  f"implicit {row['implicit_s']:.3f}s ({row['implicit_msamples_s']:.1f} M/s)  "
                  f"x{row['speedup']:.2f}  ndcg {row['reelrec_ndcg']:.4f} vs {row['implicit_ndcg']:.4f}", flush=True)

    print(f"\nBPR vs implicit BayesianPersonalizedRanking (best of {args.repeats} / {min(args.repeats, 3)} / 1 "
          "on ML-100K / 1M / 10M; speedup = samples/s ratio)")
    common.print_table(rows, [
        ("dataset", "dataset", "{}"), ("factors", "f", "{}"), ("epochs", "epochs", "{}"),
        ("reelrec_s", "reelrec s", "{:.3f}"), ("implicit_s", "implicit s", "{:.3f}"),
        ("reelrec_msamples_s", "Msamples/s rr", "{:.2f}"), ("implicit_msamples_s", "Msamples/s imp", "{:.2f}"),
        ("speedup", "speedup", "{:.2f}x"),
        ("reelrec_cpu_s", "cpu s rr", "{:.2f}"), ("implicit_cpu_s", "cpu s imp", "{:.2f}"), ("reelrec_ndcg", "ndcg@10 rr", "{:.4f}"),
        ("implicit_ndcg", "ndcg@10 imp", "{:.4f}"), ("reelrec_mib", "MiB rr", "{:.1f}"),
        ("implicit_mib", "MiB imp", "{:.1f}"),
    ])
    path = common.write_json(args.out, {
        "benchmark": "BPR vs implicit.cpu.bpr.BayesianPersonalizedRanking",
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "machine": common.machine(),
        "implicit_version": implicit.__version__,
        "params": {k: v for k, v in vars(args).items() if k not in ("out",)},
        "results": rows,
    })
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
