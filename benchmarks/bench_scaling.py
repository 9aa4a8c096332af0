"""Thread scaling of reelrec's parallel kernels (no peer: speed-up over 1 thread).

The CI machine has 2 cores; this script is meant for a bigger one. For each
kernel it times the same call with 1, 2, 4, ... threads (best of ``--repeat``)
and reports the speed-up over one thread, the parallel efficiency, and whether
the result is bitwise identical to the single-thread result -- the library
promises thread-count-independent results for all of these kernels.

Kernels: ImplicitALS fit (conjugate gradient), BPR fit, ItemKNN fit, exact
inner-product search, LinUCB select (MABWiser's parallel-example shape) and an
IPS bootstrap interval.

Usage::

    python benchmarks/bench_scaling.py                      # 1, 2, 4, ... up to cpu_count
    python benchmarks/bench_scaling.py --threads 1 2 --scale 0.1   # quick
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import best_wall_cpu, power_law_matrix, print_table, write_results  # noqa: E402

from reelrec import BPR, ImplicitALS, ItemKNN  # noqa: E402
from reelrec.bandits import LinUCB  # noqa: E402
from reelrec.ope import ips  # noqa: E402
from reelrec.search import ExactIndex  # noqa: E402


def kernels(scale: float):
    """name -> (description, run(threads) -> array to compare across thread counts)."""
    nnz = int(2_000_000 * scale)
    X = power_law_matrix(max(1000, int(60_000 * scale)), max(500, int(20_000 * scale)), nnz, seed=0)
    rng = np.random.default_rng(0)
    n_vec, dim, n_query = max(2000, int(200_000 * scale)), 64, max(256, int(4096 * scale))
    vectors = rng.standard_normal((n_vec, dim)).astype(np.float32)
    queries = rng.standard_normal((n_query, dim)).astype(np.float32)
    n_arms, d, n_train, n_pred = (
        100,
        200,
        max(2000, int(100_000 * scale)),
        max(1000, int(30_000 * scale)),
    )
    ctx = rng.standard_normal((n_train + n_pred, d))
    decisions = rng.integers(0, n_arms, n_train)
    clicks = (rng.random(n_train) < 0.01).astype(np.float64)
    n_log, n_actions = max(10_000, int(1_000_000 * scale)), 80
    actions = rng.integers(0, n_actions, n_log)
    rewards = (rng.random(n_log) < 0.05).astype(np.float64)
    propensities = np.full(n_log, 1.0 / n_actions)
    target = rng.dirichlet(np.ones(n_actions), size=n_log)

    def als(t):
        m = ImplicitALS(
            factors=64, iterations=5, regularization=0.05, random_state=0, num_threads=t
        ).fit(X)
        return m.item_factors_

    def bpr(t):
        return BPR(factors=64, iterations=5, random_state=0, num_threads=t).fit(X).item_factors_

    def knn(t):
        return ItemKNN(k=50, num_threads=t).fit(X).similarity_.data

    def search(t):
        index = ExactIndex(dim, num_threads=t).add(vectors)
        return index.search(queries, k=10)[0]

    def linucb(t):
        policy = LinUCB(n_arms, d, alpha=1.5, num_threads=t).fit(decisions, clicks, ctx[:n_train])
        return policy.select(ctx[n_train:])[0]

    def boot(t):
        est = ips(rewards, actions, propensities, target, num_threads=t)
        lower, upper = est.bootstrap(n_boot=1000, random_state=0, num_threads=t, method="indices")
        return np.array([lower, upper])

    return {
        "ImplicitALS fit": (f"{X.shape[0]}x{X.shape[1]}, nnz {X.nnz}, f=64, 5 it", als),
        "BPR fit": ("same matrix, f=64, 5 epochs", bpr),
        "ItemKNN fit": ("same matrix, cosine, k=50", knn),
        "ExactIndex search": (f"{n_vec}x{dim}, {n_query} queries, k=10", search),
        "LinUCB fit+select": (f"{n_arms} arms, d={d}, {n_train} train, {n_pred} requests", linucb),
        "IPS bootstrap": (f"{n_log} rounds, 1000 resamples", boot),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    cpus = os.cpu_count() or 1
    default_threads = [t for t in (1, 2, 4, 8, 16, 32, 64) if t <= cpus]
    parser.add_argument("--threads", type=int, nargs="+", default=default_threads)
    parser.add_argument(
        "--scale", type=float, default=1.0, help="data size multiplier (1.0 = sizes in the code)"
    )
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--only", nargs="*", default=None, help="kernel names to run (default all)")
    parser.add_argument("--out", default="scaling", help="results/<out>.json")
    args = parser.parse_args()

    rows = []
    for name, (what, run) in kernels(args.scale).items():
        if args.only and name not in args.only:
            continue
        base_wall, reference = None, None
        for t in args.threads:
            wall, cpu, out = best_wall_cpu(lambda t=t, run=run: run(t), repeat=args.repeat)
            out = np.asarray(out)
            if base_wall is None:
                base_wall, reference = wall, out
            speedup = base_wall / wall
            rows.append(
                {
                    "kernel": name,
                    "data": what,
                    "threads": t,
                    "wall_s": round(wall, 4),
                    "cpu_s": round(cpu, 4),
                    "speedup": round(speedup, 2),
                    "efficiency": round(speedup / t, 2),
                    "identical": bool(
                        out.shape == reference.shape and np.array_equal(out, reference)
                    ),
                }
            )
            print(f"{name:18s} threads={t:3d} wall={wall:8.4f}s speedup={speedup:5.2f}", flush=True)
    print_table(
        "Thread scaling (speed-up over 1 thread)",
        rows,
        ["kernel", "threads", "wall_s", "speedup", "efficiency", "identical"],
    )
    write_results(
        args.out,
        {
            "benchmark": "scaling",
            "scale": args.scale,
            "command": "python " + " ".join(sys.argv),
            "results": rows,
        },
    )


if __name__ == "__main__":
    main()
