"""Command-line interface: ``reelrec demo`` and ``reelrec info``.

``reelrec demo`` is the library's end-to-end smoke run: it generates the
synthetic video platform, splits it per user, fits every model reelrec ships,
evaluates them on the held-out part and prints one comparison table.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any, Callable

import numpy as np

from ._table import format_table

__all__ = ["main", "demo_models"]


def demo_models(seed: int, threads: int) -> dict[str, Callable[[], Any]]:
    """Name -> factory of every model in the demo, with settings sized for it."""
    import reelrec as rr

    return {
        "Random": lambda: rr.Random(random_state=seed, num_threads=threads),
        "Popularity": lambda: rr.Popularity(num_threads=threads),
        "ImplicitALS": lambda: rr.ImplicitALS(
            factors=32,
            regularization=10.0,
            alpha=10.0,
            iterations=15,
            random_state=seed,
            num_threads=threads,
        ),
        "BPR": lambda: rr.BPR(factors=64, iterations=50, random_state=seed, num_threads=threads),
        "BiasedMF": lambda: rr.BiasedMF(
            factors=32, iterations=20, random_state=seed, num_threads=threads
        ),
        "PureSVD": lambda: rr.PureSVD(factors=32, random_state=seed, num_threads=threads),
        "EASE": lambda: rr.EASE(l2=200.0, num_threads=threads),
        "ItemKNN": lambda: rr.ItemKNN(k=100, num_threads=threads),
        "UserKNN": lambda: rr.UserKNN(k=100, num_threads=threads),
        "RP3Beta": lambda: rr.RP3Beta(num_threads=threads),
        "ContentKNN": lambda: rr.ContentKNN(num_threads=threads),
        "Hybrid": lambda: _cold_start_hybrid(threads),
    }


def _cold_start_hybrid(threads: int) -> Any:
    """Item kNN for videos with history, content similarity as fallback for new uploads."""
    import reelrec as rr

    return rr.Hybrid(
        [rr.ItemKNN(k=100, num_threads=threads), rr.ContentKNN(num_threads=threads)],
        weights=[1.0, 0.1],
        cold_start_fallback=True,
        num_threads=threads,
    )


def cold_start_rows(platform: Any, k: int, threads: int) -> list[dict[str, Any]]:
    """Temporal split: videos uploaded after the cut have no history in train.

    Reports each model's NDCG/recall on the whole test part and its recall on
    the cold (new-upload) videos only, where collaborative models are blind.
    """
    import scipy.sparse as sp

    import reelrec as rr

    from .data import temporal_split
    from .evaluation import evaluate, evaluate_recommendations

    split = temporal_split(platform.interactions, quantile=0.8)
    cold = np.zeros(split.test.n_items, dtype=bool)
    cold[np.asarray(split.cold_items, dtype=np.int64)] = True
    cold_test = sp.csr_matrix(split.test.matrix.multiply(cold[None, :]))
    cold_test.eliminate_zeros()
    cold_users = np.flatnonzero(np.diff(cold_test.indptr))
    models = {
        "ItemKNN": rr.ItemKNN(k=100, num_threads=threads),
        "ContentKNN": rr.ContentKNN(num_threads=threads),
        "Hybrid": _cold_start_hybrid(threads),
    }
    rows = []
    for name, model in models.items():
        model.fit(split.train)
        overall = evaluate(model, split.train, split.test, k=k, metrics=("ndcg", "recall"))
        recs, _ = model.recommend(cold_users, k=k)
        on_cold = evaluate_recommendations(recs, cold_test[cold_users], k=k, metrics=("recall",))
        rows.append(
            {
                "model": name,
                f"ndcg@{k}": float(overall["ndcg"]),
                f"recall@{k}": float(overall["recall"]),
                f"cold_recall@{k}": float(on_cold["recall"]),
            }
        )
    return rows


class _Progress:
    """One line per step on stderr, with elapsed seconds; silent when quiet."""

    def __init__(self, total: int, quiet: bool):
        self.total, self.quiet, self.step = total, quiet, 0
        self.start = time.perf_counter()

    def __call__(self, message: str) -> None:
        self.step += 1
        if not self.quiet:
            elapsed = time.perf_counter() - self.start
            print(
                f"[{self.step:>2}/{self.total}] {elapsed:6.1f}s  {message}",
                file=sys.stderr,
                flush=True,
            )


def run_demo(
    n_users: int = 3000,
    n_videos: int = 1500,
    seed: int = 0,
    k: int = 10,
    threads: int = 0,
    models: list[str] | None = None,
    quiet: bool = False,
    cold_start: bool = True,
) -> dict[str, list[dict[str, Any]]]:
    """Run the demo; ``{"models": one row per model, "cold_start": rows of the cold-start table}``."""
    from .data import random_split
    from .datasets import synthetic_video_platform
    from .evaluation import evaluate

    available = demo_models(seed, threads)
    names = list(available) if models is None else models
    unknown = [m for m in names if m not in available]
    if unknown:
        raise ValueError(f"models: unknown model names {unknown}; available: {sorted(available)}")
    progress = _Progress(2 + len(names) + int(cold_start), quiet)
    progress(
        f"generating the synthetic video platform ({n_users} users x {n_videos} videos, seed {seed})"
    )
    platform = synthetic_video_platform(n_users=n_users, n_videos=n_videos, seed=seed)
    split = random_split(platform.interactions, test_fraction=0.2, random_state=seed)
    progress(f"split per user 80/20: {split.train.nnz} train / {split.test.nnz} test interactions")
    rows = []
    for name in names:
        progress(f"fitting {name}")
        model = available[name]()
        t0 = time.perf_counter()
        model.fit(split.train)
        fit_seconds = time.perf_counter() - t0
        result = evaluate(
            model, split.train, split.test, k=k, metrics=("ndcg", "recall", "coverage")
        )
        rows.append(
            {
                "model": name,
                f"ndcg@{k}": float(result["ndcg"]),
                f"recall@{k}": float(result["recall"]),
                "coverage": float(result["coverage"]),
                "fit_s": fit_seconds,
            }
        )
    result = {"models": rows, "cold_start": []}
    if cold_start:
        progress("cold start: temporal split, new uploads have no history")
        result["cold_start"] = cold_start_rows(platform, k, threads)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="reelrec", description="reelrec command-line tools")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser(
        "demo", help="fit and compare every model on the synthetic video platform"
    )
    demo.add_argument("--users", type=int, default=3000, help="number of users (default 3000)")
    demo.add_argument("--videos", type=int, default=1500, help="number of videos (default 1500)")
    demo.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    demo.add_argument("-k", type=int, default=10, help="list length for the metrics (default 10)")
    demo.add_argument("--threads", type=int, default=0, help="threads per model, 0 = all cores")
    demo.add_argument("--models", type=str, default=None, help="comma-separated subset of models")
    demo.add_argument(
        "--json", type=str, default=None, help="also write the table to this JSON file"
    )
    demo.add_argument("--quiet", action="store_true", help="no progress display")
    demo.add_argument("--no-cold-start", action="store_true", help="skip the cold-start table")
    sub.add_parser("info", help="version, OpenMP and thread settings")
    args = parser.parse_args(argv)

    if args.command == "info":
        from . import __version__, _core

        print(
            f"reelrec {__version__}; OpenMP: {_core.openmp_enabled()}; threads: {_core.max_threads()}"
        )
        return 0

    models = (
        None if args.models is None else [m.strip() for m in args.models.split(",") if m.strip()]
    )
    try:
        result = run_demo(
            args.users,
            args.videos,
            args.seed,
            args.k,
            args.threads,
            models,
            args.quiet,
            not args.no_cold_start,
        )
    except ValueError as exc:
        parser.error(str(exc))
    columns = ["model", f"ndcg@{args.k}", f"recall@{args.k}", "coverage", "fit_s"]
    print(format_table(result["models"], columns))
    if result["cold_start"]:
        print(
            "\nCold start (temporal split; cold_recall = recall on videos uploaded after the cut)"
        )
        print(format_table(result["cold_start"]))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(result, fh, indent=2)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
