"""reelrec.ImplicitALS vs implicit.cpu.als.AlternatingLeastSquares, side by side.

Same process, same data (binary implicit feedback, one random per-user 80/20
split), same threads, same hyperparameters. implicit weights a cell by the
stored value itself (C = alpha * r), reelrec by 1 + alpha * r, so implicit is
given the confidence matrix 1 + alpha * r with its alpha = 1: both then
minimise exactly the same objective. Reported per configuration: seconds per
fit (best of --repeats, the two libraries interleaved), the speed ratio,
NDCG@10 of each on the held-out 20%, achieved GFLOP/s, and peak resident memory
added by the fit (each library in a fresh subprocess; RSS high-water mark,
so native allocations count).

    python benchmarks/bench_als.py                  # ML-100K + synthetic 1M
    python benchmarks/bench_als.py --large          # + synthetic 10M
    python benchmarks/bench_als.py --quick          # ML-100K, factors 64, 1 repeat
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "python"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import _factorization_data as common  # noqa: E402

SCRIPT = Path(__file__).resolve()


def make_reelrec(args, factors: int, solver: str):
    from reelrec import ImplicitALS

    return ImplicitALS(
        factors=factors, regularization=args.regularization, alpha=args.alpha,
        iterations=args.iterations, solver=solver, cg_steps=args.cg_steps,
        num_threads=args.threads, random_state=0,
    )


def make_implicit(args, factors: int, solver: str):
    from implicit.cpu.als import AlternatingLeastSquares

    model = AlternatingLeastSquares(
        factors=factors, regularization=args.regularization, alpha=1.0,
        iterations=args.iterations, use_cg=solver == "cg", num_threads=args.threads, random_state=0,
    )
    model.cg_steps = args.cg_steps
    return model


def implicit_input(train, alpha: float):
    conf = train.copy()
    conf.data = (1 + alpha * conf.data).astype(np.float32)
    return conf


def fit_once(lib: str, args, train, conf, factors: int, solver: str):
    if lib == "reelrec":
        return make_reelrec(args, factors, solver).fit(train)
    model = make_implicit(args, factors, solver)
    model.fit(conf, show_progress=False)
    return model


def als_flops(n_users: int, n_items: int, nnz: int, d: int, solver: str, steps: int, iterations: int) -> float:
    """Useful flops of one fit (what a perfect implementation must do)."""
    gram = (n_users + n_items) * d * d  # upper triangles of the two Gram matrices
    rows = n_users + n_items
    if solver == "cg":
        per = rows * (steps + 1) * 2 * d * d + 2 * nnz * (steps + 1) * 4 * d
    else:
        per = 2 * nnz * d * d + rows * (d**3 / 3 + 2 * d * d)
    return float(iterations * (gram + per))


def ndcg(lib: str, model, train, test) -> float:
    users = common.eval_users(test)
    if lib == "reelrec":
        ids, _ = model.recommend(users, k=10)
    else:
        ids, _ = model.recommend(users, train[users], N=10, filter_already_liked_items=True)
    return common.ndcg_at_10(ids, test, users)


def profile_phases(args, train, factors: int) -> dict:
    """Where one reelrec fit spends its time (CG), by phase, single process."""
    from reelrec import ImplicitALS, _core
    from reelrec._validation import csr_arrays

    model = make_reelrec(args, factors, "cg")
    t0 = time.perf_counter()
    user_conf = model._confidence(train)
    item_conf = user_conf.T.tocsr()
    up, ui = csr_arrays(user_conf)
    ip, ii = csr_arrays(item_conf)
    prep = time.perf_counter() - t0
    U = _core.init_factors(train.shape[0], factors, 1, 0, 0.1 / np.sqrt(factors), args.threads)
    V = _core.init_factors(train.shape[1], factors, 1, 1, 0.1 / np.sqrt(factors), args.threads)
    t_gram = t_items = t_users = 0.0
    for _ in range(args.iterations):
        t = time.perf_counter()
        g = _core.als_gram(U, 1.0, args.threads)
        t_gram += time.perf_counter() - t
        t = time.perf_counter()
        _core.als_solve(ip, ii, item_conf.data, U, g, V, 1.0, args.regularization, False, 0, args.cg_steps, args.threads)
        t_items += time.perf_counter() - t
        t = time.perf_counter()
        g = _core.als_gram(V, 1.0, args.threads)
        t_gram += time.perf_counter() - t
        t = time.perf_counter()
        _core.als_solve(up, ui, user_conf.data, V, g, U, 1.0, args.regularization, False, 0, args.cg_steps, args.threads)
        t_users += time.perf_counter() - t
    it = args.iterations
    steps = args.cg_steps + 1
    d = factors
    solve_flops = lambda rows, nnz: it * (rows * steps * 2 * d * d + nnz * steps * 4 * d)  # noqa: E731
    del ImplicitALS
    return {
        "factors": factors,
        "isa": _core.factorization_isa(),
        "seconds": {"prepare": prep, "gram": t_gram, "item_solve": t_items, "user_solve": t_users},
        "gflops": {
            "gram": it * (train.shape[0] + train.shape[1]) * d * d / t_gram / 1e9,
            "item_solve": solve_flops(train.shape[1], train.nnz) / t_items / 1e9,
            "user_solve": solve_flops(train.shape[0], train.nnz) / t_users / 1e9,
        },
    }


def worker(argv: list[str]) -> None:
    """--worker LIB DATASET FACTORS SOLVER: print the fit's peak RSS delta (MiB)."""
    lib, dataset, factors, solver = argv[0], argv[1], int(argv[2]), argv[3]
    args = parse_args(argv[4:])
    from threadpoolctl import threadpool_limits

    X = common.load_dataset(dataset, Path(args.data))
    train, _ = common.split_per_user(X)
    conf = implicit_input(train, args.alpha)
    del X
    if lib == "implicit":
        import implicit.cpu.als  # noqa: F401  (import cost outside the measurement)
    with threadpool_limits(1, "blas"):
        delta = common.peak_rss_delta_mib(lambda: fit_once(lib, args, train, conf, factors, solver))
    print(f"{delta:.2f}")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=str(common.DEFAULT_DATA), help="MovieLens 100K folder (u.data)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=5,
                   help="fits per library on ML-100K (at most 3 on synthetic-1M, 1 on synthetic-10M); the best time counts")
    p.add_argument("--factors", type=int, nargs="+", default=[32, 64, 128])
    p.add_argument("--iterations", type=int, default=15)
    p.add_argument("--regularization", type=float, default=0.05)
    p.add_argument("--alpha", type=float, default=10.0, help="confidence 1 + alpha * r")
    p.add_argument("--cg-steps", type=int, default=3)
    p.add_argument("--large", action="store_true", help="also the ~10M-interaction synthetic matrix")
    p.add_argument("--quick", action="store_true", help="ML-100K, factors 64, one repeat, no memory runs")
    p.add_argument("--no-memory", action="store_true", help="skip the subprocess memory measurements")
    p.add_argument("--out", default=None, help="file in benchmarks/results (als.json; als_quick.json with --quick)")
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
        args.out = "als_quick.json" if args.quick else "als.json"
    datasets = ["ml-100k"] if args.quick else ["ml-100k", "synthetic-1M"]
    if args.large:
        datasets.append("synthetic-10M")
    import implicit

    rows = []
    profile = None
    print(f"threads={args.threads} iterations={args.iterations} regularization={args.regularization} "
          f"alpha={args.alpha} cg_steps={args.cg_steps} implicit {implicit.__version__}")
    for dataset in datasets:
        X = common.load_dataset(dataset, Path(args.data))
        train, test = common.split_per_user(X)
        conf = implicit_input(train, args.alpha)
        solvers = ["cg", "cholesky"] if dataset == "ml-100k" else ["cg"]
        repeats = {"ml-100k": args.repeats, "synthetic-1M": min(args.repeats, 3)}.get(dataset, 1)
        print(f"\n{dataset}: {X.shape[0]} users x {X.shape[1]} items, {train.nnz} training interactions")
        for solver in solvers:
            for factors in args.factors:
                best = {"reelrec": float("inf"), "implicit": float("inf")}
                best_cpu = dict(best)
                models = {}
                with threadpool_limits(1, "blas"):
                    for _ in range(repeats):  # interleaved, so both see the same machine load
                        for lib in ("reelrec", "implicit"):
                            start, cpu = time.perf_counter(), time.process_time()
                            models[lib] = fit_once(lib, args, train, conf, factors, solver)
                            best[lib] = min(best[lib], time.perf_counter() - start)
                            best_cpu[lib] = min(best_cpu[lib], time.process_time() - cpu)
                    quality = {lib: ndcg(lib, models[lib], train, test) for lib in models}
                flops = als_flops(*train.shape, train.nnz, factors, solver, args.cg_steps, args.iterations)
                row = {
                    "dataset": dataset, "solver": solver, "factors": factors,
                    "reelrec_s": best["reelrec"], "implicit_s": best["implicit"],
                    "reelrec_cpu_s": best_cpu["reelrec"], "implicit_cpu_s": best_cpu["implicit"],
                    "repeats": repeats,
                    "speedup": best["implicit"] / best["reelrec"],
                    "reelrec_ndcg": quality["reelrec"], "implicit_ndcg": quality["implicit"],
                    "ndcg_diff": quality["reelrec"] - quality["implicit"],
                    "reelrec_gflops": flops / best["reelrec"] / 1e9,
                    "implicit_gflops": flops / best["implicit"] / 1e9,
                }
                if not args.no_memory and factors == 64:
                    for lib in ("reelrec", "implicit"):
                        row[f"{lib}_mib"] = common.memory_in_subprocess(
                            SCRIPT, [lib, dataset, str(factors), solver, *sys.argv[1:]]
                        )
                rows.append(row)
                print(f"  {solver:8s} f={factors:3d}  reelrec {row['reelrec_s']:.3f}s  implicit "
                      f"{row['implicit_s']:.3f}s  x{row['speedup']:.2f}  ndcg {row['reelrec_ndcg']:.4f} "
                      f"vs {row['implicit_ndcg']:.4f}", flush=True)
        if dataset == datasets[-1] or profile is None:
            with threadpool_limits(1, "blas"):
                profile = profile_phases(args, train, 64) | {"dataset": dataset}
    peak = {"1": common.gemm_peak_gflops(1), str(args.threads): common.gemm_peak_gflops(args.threads)}

    print("\nImplicitALS vs implicit AlternatingLeastSquares (seconds per fit, best of "
          f"{args.repeats} / {min(args.repeats, 3)} / 1 on ML-100K / 1M / 10M; speedup = implicit / reelrec)")
    common.print_table(rows, [
        ("dataset", "dataset", "{}"), ("solver", "solver", "{}"), ("factors", "f", "{}"),
        ("reelrec_s", "reelrec s", "{:.3f}"), ("implicit_s", "implicit s", "{:.3f}"),
        ("speedup", "speedup", "{:.2f}x"),
        ("reelrec_cpu_s", "cpu s rr", "{:.2f}"), ("implicit_cpu_s", "cpu s imp", "{:.2f}"), ("reelrec_ndcg", "ndcg@10 rr", "{:.4f}"),
        ("implicit_ndcg", "ndcg@10 imp", "{:.4f}"), ("reelrec_gflops", "GF/s rr", "{:.1f}"),
        ("implicit_gflops", "GF/s imp", "{:.1f}"), ("reelrec_mib", "MiB rr", "{:.1f}"),
        ("implicit_mib", "MiB imp", "{:.1f}"),
    ])
    s = profile["seconds"]
    total = sum(s.values())
    print(f"\nreelrec time by phase ({profile['dataset']}, f=64, CG, {args.threads} threads, "
          f"kernels: {profile['isa']}): " + ", ".join(f"{k} {v:.3f}s ({100 * v / total:.0f}%)" for k, v in s.items()))
    print("achieved GFLOP/s: " + ", ".join(f"{k} {v:.1f}" for k, v in profile["gflops"].items())
          + f"; NumPy float32 GEMM peak: 1 thread {peak['1']:.1f}, {args.threads} threads "
          f"{peak[str(args.threads)]:.1f}")
    path = common.write_json(args.out, {
        "benchmark": "ImplicitALS vs implicit.cpu.als.AlternatingLeastSquares",
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "machine": common.machine(),
        "implicit_version": implicit.__version__,
        "params": {k: v for k, v in vars(args).items() if k not in ("out",)},
        "gemm_peak_gflops": peak,
        "results": rows,
        "profile": profile,
    })
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
