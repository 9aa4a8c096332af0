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
from functools import partial
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _factorization_data as common  # noqa: E402

SCRIPT = Path(__file__).resolve()


def make_reelrec(args, factors: int, solver: str):
    from reelrec import ImplicitALS

    return ImplicitALS(
        factors=factors, regularization=args.regularization, alpha=args.alpha, iterations=args.iterations,
        solver=solver, cg_steps=args.cg_steps, num_threads=args.threads, random_state=0,
    )  # fmt: skip


def make_implicit(args, factors: int, solver: str):
    from implicit.cpu.als import AlternatingLeastSquares

    model = AlternatingLeastSquares(
        factors=factors, regularization=args.regularization, alpha=1.0, iterations=args.iterations,
        use_cg=solver == "cg", num_threads=args.threads, random_state=0,
    )  # fmt: skip
    model.cg_steps = args.cg_steps
    return model


def implicit_input(train, alpha: float):
    conf = train.copy()
    conf.data = (1 + alpha * conf.data).astype(np.float32)
    return conf


def fit_once(lib: str, args, train, factors: int, solver: str):
    """One fit from the same training matrix; implicit's includes building its
    confidence matrix (reelrec builds its own inside ``fit``)."""
    if lib == "reelrec":
        return make_reelrec(args, factors, solver).fit(train)
    model = make_implicit(args, factors, solver)
    model.fit(implicit_input(train, args.alpha), show_progress=False)
    return model


def als_flops(
    n_users: int, n_items: int, nnz: int, d: int, solver: str, steps: int, iterations: int
) -> float:
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
    seconds = dict.fromkeys(("gram", "item_solve", "user_solve"), 0.0)

    def timed(phase, fn, *fn_args):
        start = time.perf_counter()
        out = fn(*fn_args)
        seconds[phase] += time.perf_counter() - start
        return out

    for _ in range(args.iterations):
        g = timed("gram", _core.als_gram, U, 1.0, args.threads)
        timed(
            "item_solve",
            _core.als_solve,
            ip,
            ii,
            item_conf.data,
            U,
            g,
            V,
            1.0,
            args.regularization,
            False,
            0,
            args.cg_steps,
            args.threads,
        )
        g = timed("gram", _core.als_gram, V, 1.0, args.threads)
        timed(
            "user_solve",
            _core.als_solve,
            up,
            ui,
            user_conf.data,
            V,
            g,
            U,
            1.0,
            args.regularization,
            False,
            0,
            args.cg_steps,
            args.threads,
        )
    t_gram, t_items, t_users = seconds["gram"], seconds["item_solve"], seconds["user_solve"]
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
    X = common.load_dataset(dataset, Path(args.data))
    train, _ = common.split_per_user(X)
    del X
    common.measure_fit_memory(lib, lambda: fit_once(lib, args, train, factors, solver))


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    common.add_common_args(p, "als")
    p.add_argument("--iterations", type=int, default=15)
    p.add_argument("--regularization", type=float, default=0.05)
    p.add_argument("--alpha", type=float, default=10.0, help="confidence 1 + alpha * r")
    p.add_argument("--cg-steps", type=int, default=3)
    return p.parse_args(argv)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker(sys.argv[2:])
        return
    args = parse_args()
    datasets = common.plan(args, "als")
    from threadpoolctl import threadpool_limits

    rows = []
    profile = None
    print(
        f"threads={args.threads} iterations={args.iterations} regularization={args.regularization} "
        f"alpha={args.alpha} cg_steps={args.cg_steps}"
    )
    for dataset, train, test, repeats in common.each_dataset(args, datasets):
        solvers = ["cg", "cholesky"] if dataset == "ml-100k" else ["cg"]
        for solver in solvers:
            for factors in args.factors:
                timing, models = common.time_pair(
                    partial(fit_once, args=args, train=train, factors=factors, solver=solver),
                    repeats,
                )
                flops = als_flops(
                    *train.shape, train.nnz, factors, solver, args.cg_steps, args.iterations
                )
                row = {
                    "dataset": dataset,
                    "solver": solver,
                    "factors": factors,
                    **timing,
                    **common.quality(ndcg, models, train, test),
                    "reelrec_gflops": flops / timing["reelrec_s"] / 1e9,
                    "implicit_gflops": flops / timing["implicit_s"] / 1e9,
                }
                if not args.no_memory and factors == 64:
                    row |= common.memory(SCRIPT, [dataset, str(factors), solver, *sys.argv[1:]])
                rows.append(row)
                print(
                    f"  {solver:8s} f={factors:3d}  reelrec {row['reelrec_s']:.3f}s  implicit "
                    f"{row['implicit_s']:.3f}s  x{row['speedup']:.2f} (cpu x{row['cpu_speedup']:.2f})  "
                    f"ndcg {row['reelrec_ndcg']:.4f} vs {row['implicit_ndcg']:.4f}",
                    flush=True,
                )
        if dataset == datasets[-1] or profile is None:
            with threadpool_limits(1, "blas"):
                profile = profile_phases(args, train, 64) | {"dataset": dataset}
    peak = {
        "1": common.gemm_peak_gflops(1),
        str(args.threads): common.gemm_peak_gflops(args.threads),
    }

    common.finish(
        args,
        "ImplicitALS vs implicit AlternatingLeastSquares (seconds per fit, best of "
        f"{args.repeats} / {min(args.repeats, 3)} / 1 on ML-100K / 1M / 10M; speedup = implicit / reelrec, "
        "wall and process CPU)",
        rows,
        [
            ("dataset", "dataset", "{}"),
            ("solver", "solver", "{}"),
            ("factors", "f", "{}"),
            *common.TIMING_COLUMNS,
            *common.QUALITY_COLUMNS,
            ("reelrec_gflops", "GF/s rr", "{:.1f}"),
            ("implicit_gflops", "GF/s imp", "{:.1f}"),
            *common.MEMORY_COLUMNS,
        ],
        {
            "benchmark": "ImplicitALS vs implicit.cpu.als.AlternatingLeastSquares",
            "gemm_peak_gflops": peak,
            "profile": profile,
        },
    )
    s = profile["seconds"]
    total = sum(s.values())
    print(
        f"\nreelrec time by phase ({profile['dataset']}, f=64, CG, {args.threads} threads, "
        f"kernels: {profile['isa']}): "
        + ", ".join(f"{k} {v:.3f}s ({100 * v / total:.0f}%)" for k, v in s.items())
    )
    print(
        "achieved GFLOP/s: "
        + ", ".join(f"{k} {v:.1f}" for k, v in profile["gflops"].items())
        + f"; NumPy float32 GEMM peak: 1 thread {peak['1']:.1f}, {args.threads} threads "
        f"{peak[str(args.threads)]:.1f}"
    )


if __name__ == "__main__":
    main()
