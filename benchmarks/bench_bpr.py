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
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _factorization_data as common  # noqa: E402

SCRIPT = Path(__file__).resolve()


def fit_once(lib: str, args, train, factors: int, epochs: int):
    params = {
        "factors": factors, "learning_rate": args.learning_rate, "regularization": args.regularization,
        "iterations": epochs, "num_threads": args.threads, "random_state": 0,
    }  # fmt: skip
    if lib == "reelrec":
        from reelrec import BPR

        return BPR(**params).fit(train)
    from implicit.cpu.bpr import BayesianPersonalizedRanking

    model = BayesianPersonalizedRanking(**params, verify_negative_samples=True)
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
    """--worker LIB DATASET FACTORS: print the fit's peak RSS delta (MiB)."""
    lib, dataset, factors = argv[0], argv[1], int(argv[2])
    args = parse_args(argv[3:])
    X = common.load_dataset(dataset, Path(args.data))
    train, _ = common.split_per_user(X)
    del X
    common.measure_fit_memory(
        lib, lambda: fit_once(lib, args, train, factors, epochs_for(args, dataset))
    )


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    common.add_common_args(p, "bpr")
    p.add_argument("--iterations", type=int, default=100, help="epochs on ML-100K")
    p.add_argument(
        "--large-iterations", type=int, default=20, help="epochs on the synthetic matrices"
    )
    p.add_argument("--learning-rate", type=float, default=0.05)
    p.add_argument("--regularization", type=float, default=0.01)
    return p.parse_args(argv)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker(sys.argv[2:])
        return
    args = parse_args()
    datasets = common.plan(args, "bpr")
    rows = []
    print(
        f"threads={args.threads} learning_rate={args.learning_rate} regularization={args.regularization}"
    )
    for dataset, train, test, repeats in common.each_dataset(args, datasets):
        epochs = epochs_for(args, dataset)
        print(f"  {epochs} epochs")
        for factors in args.factors:
            timing, models = common.time_pair(
                partial(fit_once, args=args, train=train, factors=factors, epochs=epochs), repeats
            )
            samples = float(train.nnz) * epochs
            row = {
                "dataset": dataset,
                "factors": factors,
                "epochs": epochs,
                **timing,
                "reelrec_msamples_s": samples / timing["reelrec_s"] / 1e6,
                "implicit_msamples_s": samples / timing["implicit_s"] / 1e6,
                **common.quality(ndcg, models, train, test),
            }
            if not args.no_memory and factors == 64:
                row |= common.memory(SCRIPT, [dataset, str(factors), *sys.argv[1:]])
            rows.append(row)
            print(
                f"  f={factors:3d}  reelrec {row['reelrec_s']:.3f}s ({row['reelrec_msamples_s']:.1f} M/s)  "
                f"implicit {row['implicit_s']:.3f}s ({row['implicit_msamples_s']:.1f} M/s)  "
                f"x{row['speedup']:.2f} (cpu x{row['cpu_speedup']:.2f})  "
                f"ndcg {row['reelrec_ndcg']:.4f} vs {row['implicit_ndcg']:.4f}",
                flush=True,
            )

    common.finish(
        args,
        f"BPR vs implicit BayesianPersonalizedRanking (best of {args.repeats} / {min(args.repeats, 3)} / 1 "
        "on ML-100K / 1M / 10M; speedup = implicit / reelrec seconds, wall and process CPU)",
        rows,
        [
            ("dataset", "dataset", "{}"),
            ("factors", "f", "{}"),
            ("epochs", "epochs", "{}"),
            *common.TIMING_COLUMNS,
            ("reelrec_msamples_s", "Msamples/s rr", "{:.2f}"),
            ("implicit_msamples_s", "Msamples/s imp", "{:.2f}"),
            *common.QUALITY_COLUMNS,
            *common.MEMORY_COLUMNS,
        ],
        {"benchmark": "BPR vs implicit.cpu.bpr.BayesianPersonalizedRanking"},
    )


if __name__ == "__main__":
    main()
