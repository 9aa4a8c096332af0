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

from ._table import format_table

__all__ = ["main", "demo_models"]


def demo_models(seed: int, threads: int) -> dict[str, Callable[[], Any]]:
    """Name -> factory of every model in the demo, with settings sized for it."""
    import reelrec as rr

    return {
        "Random": lambda: rr.Random(random_state=seed, num_threads=threads),
        "Popularity": lambda: rr.Popularity(num_threads=threads),
    }


class _Progress:
    """One line per step on stderr, with elapsed seconds; silent when quiet."""

    def __init__(self, total: int, quiet: bool):
        self.total, self.quiet, self.step = total, quiet, 0
        self.start = time.perf_counter()

    def __call__(self, message: str) -> None:
        self.step += 1
        if not self.quiet:
            elapsed = time.perf_counter() - self.start
            print(f"[{self.step:>2}/{self.total}] {elapsed:6.1f}s  {message}", file=sys.stderr, flush=True)


def run_demo(
    n_users: int = 3000,
    n_videos: int = 1500,
    seed: int = 0,
    k: int = 10,
    threads: int = 0,
    models: list[str] | None = None,
    quiet: bool = False,
) -> list[dict[str, Any]]:
    """Run the demo and return one row of results per model."""
    from .data import random_split
    from .datasets import synthetic_video_platform
    from .evaluation import evaluate

    available = demo_models(seed, threads)
    names = list(available) if models is None else models
    unknown = [m for m in names if m not in available]
    if unknown:
        raise ValueError(f"models: unknown model names {unknown}; available: {sorted(available)}")
    progress = _Progress(2 + len(names), quiet)
    progress(f"generating the synthetic video platform ({n_users} users x {n_videos} videos, seed {seed})")
    platform = synthetic_video_platform(n_users=n_users, n_videos=n_videos, seed=seed)
    split = random_split(platform.interactions, test_fraction=0.2, random_state=seed)
    progress(
        f"split per user 80/20: {split.train.nnz} train / {split.test.nnz} test interactions"
    )
    rows = []
    for name in names:
        progress(f"fitting {name}")
        model = available[name]()
        t0 = time.perf_counter()
        model.fit(split.train)
        fit_seconds = time.perf_counter() - t0
        result = evaluate(model, split.train, split.test, k=k, metrics=("ndcg", "recall", "coverage"))
        rows.append(
            {
                "model": name,
                f"ndcg@{k}": float(result["ndcg"]),
                f"recall@{k}": float(result["recall"]),
                "coverage": float(result["coverage"]),
                "fit_s": fit_seconds,
            }
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="reelrec", description="reelrec command-line tools")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="fit and compare every model on the synthetic video platform")
    demo.add_argument("--users", type=int, default=3000, help="number of users (default 3000)")
    demo.add_argument("--videos", type=int, default=1500, help="number of videos (default 1500)")
    demo.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    demo.add_argument("-k", type=int, default=10, help="list length for the metrics (default 10)")
    demo.add_argument("--threads", type=int, default=0, help="threads per model, 0 = all cores")
    demo.add_argument("--models", type=str, default=None, help="comma-separated subset of models")
    demo.add_argument("--json", type=str, default=None, help="also write the table to this JSON file")
    demo.add_argument("--quiet", action="store_true", help="no progress display")
    sub.add_parser("info", help="version, OpenMP and thread settings")
    args = parser.parse_args(argv)

    if args.command == "info":
        from . import __version__, _core

        print(f"reelrec {__version__}; OpenMP: {_core.openmp_enabled()}; threads: {_core.max_threads()}")
        return 0

    models = None if args.models is None else [m.strip() for m in args.models.split(",") if m.strip()]
    try:
        rows = run_demo(args.users, args.videos, args.seed, args.k, args.threads, models, args.quiet)
    except ValueError as exc:
        parser.error(str(exc))
    columns = ["model", f"ndcg@{args.k}", f"recall@{args.k}", "coverage", "fit_s"]
    print(format_table(rows, columns))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=2)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
