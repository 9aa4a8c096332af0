"""HNSWIndex against hnswlib: build time, recall@10 and queries/s over an ef sweep.

Both libraries index the same vectors with the same M, ef_construction and
thread count, in one process, and answer the same batched queries. Ground
truth is reelrec's ExactIndex. Two data sets:

* ``clustered``: a seeded Gaussian mixture (64-d by default), cosine.
* ``als``: ALS-like item factors, i.e. a seeded low-rank matrix with
  popularity-skewed norms, queried by inner product with user factors.

Timings are the best of ``--repeats`` runs, taken alternately for the two
libraries so that load from other processes hits both alike.

Usage::

    python benchmarks/bench_hnsw.py                      # ~100k vectors (slow)
    python benchmarks/bench_hnsw.py --n 20000 --queries 500   # quick look
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
from _common import brief_machine_info, write_json  # noqa: E402

from reelrec import _core  # noqa: E402
from reelrec.search import ExactIndex, HNSWIndex  # noqa: E402

EF_SWEEP = [10, 16, 24, 32, 48, 64, 96, 128, 192, 256]


def clustered_data(n, n_queries, dim, seed):
    rng = np.random.default_rng(seed)
    n_clusters = max(10, n // 1000)
    centres = rng.standard_normal((n_clusters, dim))
    spread = rng.uniform(0.2, 0.6, n_clusters)

    def sample(m):
        c = rng.integers(0, n_clusters, m)
        return (centres[c] + spread[c, None] * rng.standard_normal((m, dim))).astype(np.float32)

    return sample(n), sample(n_queries), "cosine"


def als_like_data(n, n_queries, dim, seed, rank=16):
    """Item and user factors of a seeded low-rank preference model, ALS-shaped.

    Latent tastes live in a ``rank``-dimensional subspace of the ``dim`` factor
    space (plus small noise, as ALS factors have), and item norms follow a
    log-normal popularity skew, so inner-product search is a genuine MIPS task.
    """
    rng = np.random.default_rng(seed)
    basis = rng.standard_normal((rank, dim)) / np.sqrt(rank)
    items = rng.standard_normal((n, rank)) @ basis + 0.05 * rng.standard_normal((n, dim))
    items *= rng.lognormal(0.0, 0.5, (n, 1))
    users = rng.standard_normal((n_queries, rank)) @ basis + 0.05 * rng.standard_normal(
        (n_queries, dim)
    )
    return items.astype(np.float32), users.astype(np.float32), "ip"


def recall(found, truth):
    hits = sum(len(set(f.tolist()) & set(t.tolist())) for f, t in zip(found, truth))
    return hits / truth.size


def run_dataset(name, X, Q, metric, args):
    import hnswlib

    n, dim = X.shape
    print(
        f"\n== {name}: {n} x {dim}, {len(Q)} queries, metric={metric}, M={args.M}, "
        f"ef_construction={args.ef_construction}, threads={args.threads}"
    )
    exact = ExactIndex(dim, metric=metric, num_threads=args.threads).add(X)
    truth, _ = exact.search(Q, k=10)

    builds = {"reelrec": [], "hnswlib": []}
    build_cpu = {"reelrec": [], "hnswlib": []}
    ours = theirs = None
    for _ in range(args.build_repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        ours = HNSWIndex(
            dim,
            metric=metric,
            M=args.M,
            ef_construction=args.ef_construction,
            random_state=0,
            num_threads=args.threads,
        ).add(X)
        builds["reelrec"].append(time.perf_counter() - t0)
        build_cpu["reelrec"].append(time.process_time() - c0)
        t0, c0 = time.perf_counter(), time.process_time()
        theirs = hnswlib.Index(space=metric, dim=dim)
        theirs.init_index(
            max_elements=n, M=args.M, ef_construction=args.ef_construction, random_seed=0
        )
        theirs.set_num_threads(args.threads)
        theirs.add_items(X, np.arange(n))
        builds["hnswlib"].append(time.perf_counter() - t0)
        build_cpu["hnswlib"].append(time.process_time() - c0)
    build = {k: min(v) for k, v in builds.items()}
    cpu = {k: min(v) for k, v in build_cpu.items()}
    cpu_build_ratio = cpu["reelrec"] / cpu["hnswlib"]
    cpu_build = dict(cpu)
    print(
        f"build seconds (wall): reelrec {build['reelrec']:.2f}  hnswlib {build['hnswlib']:.2f}  "
        f"ratio {build['reelrec'] / build['hnswlib']:.2f}   "
        f"(CPU seconds: {cpu['reelrec']:.2f} vs {cpu['hnswlib']:.2f}, ratio {cpu['reelrec'] / cpu['hnswlib']:.2f})"
    )

    rows = []
    print(
        f"{'ef':>5} | {'recall':>7} {'QPS':>8} {'CPU us/q':>9} | {'recall':>7} {'QPS':>8} {'CPU us/q':>9} | QPS ratio"
    )
    print(f"{'':>5} | {'reelrec':>26} | {'hnswlib':>26} |")
    for ef in EF_SWEEP:
        wall = {"reelrec": float("inf"), "hnswlib": float("inf")}
        cpu = {"reelrec": float("inf"), "hnswlib": float("inf")}
        theirs.set_ef(ef)
        for _ in range(args.repeats):  # alternate so background load hits both
            for lib, fn in (
                ("reelrec", lambda: ours.search(Q, k=10, ef=ef)),  # noqa: B023
                ("hnswlib", lambda: theirs.knn_query(Q, k=10)),
            ):
                t0, c0 = time.perf_counter(), time.process_time()
                out = fn()
                wall[lib] = min(wall[lib], time.perf_counter() - t0)
                cpu[lib] = min(cpu[lib], time.process_time() - c0)
                if lib == "reelrec":
                    ids = out[0]
                else:
                    labels = out[0].astype(np.int64)
        row = {
            "ef": ef,
            "recall_reelrec": recall(ids, truth),
            "recall_hnswlib": recall(labels, truth),
        }
        for lib in ("reelrec", "hnswlib"):
            row[f"qps_{lib}"] = len(Q) / wall[lib]
            row[f"cpu_us_per_query_{lib}"] = 1e6 * cpu[lib] / len(Q)
        rows.append(row)
        print(
            f"{ef:>5} | {row['recall_reelrec']:>7.4f} {row['qps_reelrec']:>8.0f} {row['cpu_us_per_query_reelrec']:>9.1f} | "
            f"{row['recall_hnswlib']:>7.4f} {row['qps_hnswlib']:>8.0f} {row['cpu_us_per_query_hnswlib']:>9.1f} | "
            f"{row['qps_reelrec'] / row['qps_hnswlib']:.2f}"
        )

    def at_target(lib, target=0.95):
        """The row of the smallest ef whose recall reaches the target."""
        for r in rows:
            if r[f"recall_{lib}"] >= target:
                return r
        return None

    summary = {
        "build_wall_ratio": build["reelrec"] / build["hnswlib"],
        "build_cpu_ratio": cpu_build_ratio,
    }
    ra, rb = at_target("reelrec"), at_target("hnswlib")
    if ra and rb:
        summary.update(
            {
                "ef_at_recall_0.95": {"reelrec": ra["ef"], "hnswlib": rb["ef"]},
                "qps_at_recall_0.95": {"reelrec": ra["qps_reelrec"], "hnswlib": rb["qps_hnswlib"]},
                "qps_ratio_at_recall_0.95": ra["qps_reelrec"] / rb["qps_hnswlib"],
                "cpu_ratio_at_recall_0.95": ra["cpu_us_per_query_reelrec"]
                / rb["cpu_us_per_query_hnswlib"],
            }
        )
        print(
            f"at recall@10 >= 0.95 (smallest ef reaching it: reelrec {ra['ef']}, hnswlib {rb['ef']}): "
            f"QPS reelrec {ra['qps_reelrec']:.0f} vs hnswlib {rb['qps_hnswlib']:.0f} "
            f"(ratio {summary['qps_ratio_at_recall_0.95']:.2f}); CPU per query ratio "
            f"{summary['cpu_ratio_at_recall_0.95']:.2f}"
        )
    return {
        "n": n,
        "dim": dim,
        "queries": len(Q),
        "metric": metric,
        "build_seconds": build,
        "build_cpu_seconds": cpu_build,
        "sweep": rows,
        "summary": summary,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--M", type=int, default=16)
    parser.add_argument("--ef-construction", type=int, default=200)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--build-repeats", type=int, default=1)
    parser.add_argument("--datasets", default="clustered,als")
    parser.add_argument(
        "--out", default=str(Path(__file__).resolve().parent / "results" / "hnsw.json")
    )
    args = parser.parse_args(argv)

    makers = {"clustered": clustered_data, "als": als_like_data}
    results = {
        "machine": brief_machine_info(simd=_core.search_simd_level(), load_average=os.getloadavg()),
        "params": vars(args),
        "datasets": {},
    }
    for i, name in enumerate(args.datasets.split(",")):
        X, Q, metric = makers[name](args.n, args.queries, args.dim, seed=i)
        results["datasets"][name] = run_dataset(name, X, Q, metric, args)
    print()
    write_json(args.out, results)


if __name__ == "__main__":
    main()
