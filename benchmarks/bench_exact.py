"""ExactIndex against NumPy (matmul + argpartition) and faiss IndexFlatIP when importable.

Exact top-10 by inner product of query batches against a catalogue, all
libraries on the same data and thread count, in one process. Throughput is
quoted as GFLOP/s (2 * queries * items * dim per batch) and as a fraction of
this machine's measured GEMM peak: a large float32 NumPy matmul (OpenBLAS,
same threads) and an Eigen GEMM through reelrec's own build (one thread, no
-march=native, i.e. what a portable wheel's Eigen reaches).

Timings are the best of ``--repeats`` wall-clock runs, alternating the
libraries so that background load hits all of them alike.

Usage::

    python benchmarks/bench_exact.py
    python benchmarks/bench_exact.py --n 20000 --batches 1,64   # quick look
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
from _common import best_of, brief_machine_info, write_json  # noqa: E402
from threadpoolctl import threadpool_limits

from reelrec import _core  # noqa: E402
from reelrec.search import ExactIndex  # noqa: E402

# NumPy scores at most this many query rows at once (bounds the score matrix).
NUMPY_CHUNK = 256


def numpy_topk(Q, X, k):
    ids = np.empty((len(Q), k), np.int64)
    for s in range(0, len(Q), NUMPY_CHUNK):
        S = Q[s : s + NUMPY_CHUNK] @ X.T
        part = np.argpartition(-S, k - 1, axis=1)[:, :k]
        top = np.take_along_axis(S, part, axis=1)
        order = np.argsort(-top, axis=1, kind="stable")
        ids[s : s + NUMPY_CHUNK] = np.take_along_axis(part, order, axis=1)
    return ids


def best_cpu(fn, repeats):
    """Best on-CPU seconds of the calling thread (work must run on it: one thread)."""
    best = float("inf")
    for _ in range(repeats):
        t0 = time.thread_time()
        fn()
        best = min(best, time.thread_time() - t0)
    return best


def gemm_peaks(threads, repeats, size):
    rng = np.random.default_rng(1)
    A = rng.standard_normal((size, size)).astype(np.float32)
    B = rng.standard_normal((size, size)).astype(np.float32)
    flops = 2.0 * size**3
    peaks = {}
    for t in sorted({1, threads}):
        with threadpool_limits(t):
            peaks[f"numpy_{t}t"] = flops / best_of(lambda: A @ B, repeats)[0] / 1e9
    peaks["eigen_1t"] = flops / best_of(lambda: _core.search_eigen_gemm_nt(A, B), repeats)[0] / 1e9
    return peaks


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--batches", default="1,16,256,2048")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--gemm-size", type=int, default=2048)
    parser.add_argument(
        "--out", default=str(Path(__file__).resolve().parent / "results" / "exact.json")
    )
    args = parser.parse_args(argv)

    try:
        import faiss  # optional peer; never installed by us
    except ImportError:
        faiss = None

    rng = np.random.default_rng(0)
    X = rng.standard_normal((args.n, args.dim)).astype(np.float32)
    index = ExactIndex(args.dim, metric="ip", num_threads=args.threads).add(X)
    fidx = None
    if faiss is not None:
        faiss.omp_set_num_threads(args.threads)
        fidx = faiss.IndexFlatIP(args.dim)
        fidx.add(X)

    peaks = gemm_peaks(args.threads, 2 * args.repeats, args.gemm_size)
    peak = peaks[f"numpy_{args.threads}t"]
    print(
        f"ExactIndex vs NumPy{' vs faiss' if fidx else ''}: {args.n} x {args.dim}, k={args.k}, "
        f"threads={args.threads}, simd={_core.search_simd_level()}"
    )
    print("GEMM peak GFLOP/s: " + ", ".join(f"{k} {v:.1f}" for k, v in peaks.items()))
    header = f"{'batch':>6} | {'reelrec ms':>10} {'GFLOP/s':>8} {'% peak':>7} | {'numpy ms':>9} {'GFLOP/s':>8} | {'speed-up':>8}"
    if fidx:
        header += f" | {'faiss ms':>9} {'GFLOP/s':>8}"
    print(header)
    rows = []
    for nq in [int(b) for b in args.batches.split(",")]:
        Q = rng.standard_normal((nq, args.dim)).astype(np.float32)
        flops = 2.0 * nq * args.n * args.dim
        t_ours = t_np = t_faiss = float("inf")
        with threadpool_limits(args.threads):
            for _ in range(args.repeats):
                t_ours = min(t_ours, best_of(lambda: index.search(Q, k=args.k), 1)[0])  # noqa: B023
                t_np = min(t_np, best_of(lambda: numpy_topk(Q, X, args.k), 1)[0])  # noqa: B023
                if fidx:
                    t_faiss = min(t_faiss, best_of(lambda: fidx.search(Q, args.k), 1)[0])  # noqa: B023
        ours_ids, _ = index.search(Q, k=args.k)
        agree = float(np.mean(ours_ids == numpy_topk(Q, X, args.k)))
        row = {
            "batch": nq,
            "reelrec_seconds": t_ours,
            "reelrec_gflops": flops / t_ours / 1e9,
            "reelrec_fraction_of_numpy_peak": flops / t_ours / 1e9 / peak,
            "numpy_seconds": t_np,
            "numpy_gflops": flops / t_np / 1e9,
            "speedup_vs_numpy": t_np / t_ours,
            "ids_agree_with_numpy": agree,
        }
        line = (
            f"{nq:>6} | {t_ours * 1e3:>10.2f} {row['reelrec_gflops']:>8.1f} "
            f"{100 * row['reelrec_fraction_of_numpy_peak']:>6.1f}% | {t_np * 1e3:>9.2f} "
            f"{row['numpy_gflops']:>8.1f} | {row['speedup_vs_numpy']:>7.2f}x"
        )
        if fidx:
            row["faiss_seconds"] = t_faiss
            row["faiss_gflops"] = flops / t_faiss / 1e9
            line += f" | {t_faiss * 1e3:>9.2f} {row['faiss_gflops']:>8.1f}"
        print(line)
        rows.append(row)

    # Descheduling by other processes inflates wall times on a shared machine;
    # on-CPU time of one thread is immune to it, so the kernel's efficiency is
    # also quoted that way: one thread, thread CPU time, best of the repeats.
    Q = rng.standard_normal((2048, args.dim)).astype(np.float32)
    single = ExactIndex(args.dim, metric="ip", num_threads=1).add(X)
    rng_gemm = np.random.default_rng(1)
    A = rng_gemm.standard_normal((args.gemm_size, args.gemm_size)).astype(np.float32)
    B = rng_gemm.standard_normal((args.gemm_size, args.gemm_size)).astype(np.float32)
    with threadpool_limits(1):
        cpu = {
            "reelrec_exact_search": 2.0
            * len(Q)
            * args.n
            * args.dim
            / best_cpu(lambda: single.search(Q, k=args.k), args.repeats),
            "numpy_gemm": 2.0 * args.gemm_size**3 / best_cpu(lambda: A @ B, args.repeats),
            "eigen_gemm": 2.0
            * args.gemm_size**3
            / best_cpu(lambda: _core.search_eigen_gemm_nt(A, B), args.repeats),
        }
    cpu = {k: v / 1e9 for k, v in cpu.items()}
    print(
        "one thread, GFLOP/s per CPU-second: ExactIndex search (batch 2048) "
        f"{cpu['reelrec_exact_search']:.1f} = {100 * cpu['reelrec_exact_search'] / cpu['numpy_gemm']:.0f}% of "
        f"NumPy GEMM {cpu['numpy_gemm']:.1f}, {100 * cpu['reelrec_exact_search'] / cpu['eigen_gemm']:.0f}% of "
        f"Eigen GEMM {cpu['eigen_gemm']:.1f}"
    )

    result = {
        "single_thread_cpu_gflops": cpu,
        "machine": brief_machine_info(simd=_core.search_simd_level(), load_average=os.getloadavg()),
        "params": vars(args),
        "gemm_peak_gflops": peaks,
        "faiss": fidx is not None,
        "rows": rows,
    }
    write_json(args.out, result)


if __name__ == "__main__":
    main()
