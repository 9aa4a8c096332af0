"""reelrec.bandits vs MABWiser 2.7.4: fit on a historical log, then predict.

Both libraries run in this process on the same data with the same threads
(reelrec ``num_threads``, MABWiser ``n_jobs``, BLAS limited to the same count
unless ``--mabwiser-blas`` says otherwise) and the same hyperparameters:

* LinUCB: MABWiser ``LinUCB(alpha, l2_lambda)`` scores
  ``x . beta + alpha * sqrt(x^T (l2 I + X^T X)^-1 x)`` without scaling, which is
  reelrec's ``LinUCB(alpha, l2)``; decisions must be identical (reported).
* LinTS: MABWiser ``LinTS(alpha=v, l2_lambda)`` = reelrec ``LinTS(v, l2)``.
* UCB1(alpha): ``mean + alpha * sqrt(2 ln T / n_a)`` in both; decisions must
  be identical once every arm has data.
* EpsilonGreedy(epsilon=0.1), ThompsonSampling (Beta(1, 1) prior, binary rewards).
  With epsilon = 0 epsilon-greedy is deterministic; its agreement with MABWiser
  is reported over requests whose best arm is unique.

The large shape is MABWiser's parallel example (examples/parallel_mab.py):
100 arms, 100k x 200 ``make_classification`` contexts with 1% clicks and
uniformly logged decisions; reelrec is timed including its propensities
(MABWiser returns none), Thompson sampling with ``n_mc`` Monte Carlo draws.

Times are wall-clock seconds (best of ``--repeats``); ``cpu x`` is the ratio
of process CPU seconds, which a busy shared machine disturbs less (at one
thread it is the ratio of work done; MABWiser's predict workers are separate
processes, so above one thread only wall time compares). ``best x`` divides
MABWiser's fastest wall time for the shape and policy over all ``--threads``
of the run by reelrec's at the row's threads: MABWiser's n_jobs can slow it
down. ``--mabwiser-blas 1`` keeps its BLAS on one thread per job.

Roofline (LinUCB, LinTS): selection is bound by the quadratic forms
``x^T A_a^-1 x``, ``d (d + 1) / 2`` fused multiply-adds per (request, arm)
(symmetry, or the triangular factor, halves the d^2), plus
``n_train d (d + 1) / 2`` for the Gram matrices of fit. The core's peak FMA
rates are measured at the start of the run (``_core.bandits_fma_peak_probe``:
12 independent vector FMA chains with the instruction set reelrec dispatches
to, best of 3, process CPU time), in double and single precision;
``--peak-gfma`` overrides the double rate (single = 2x). The table's
``roof s`` is the least time that arithmetic needs on ``threads`` cores at
those peaks: single precision for the screened LinUCB widths and LinTS
widths, double for the fit; ``max x`` is MABWiser's CPU seconds over the
roofline's core-seconds (JSON: ``max_speedup_cpu``; ``max_speedup`` uses wall
time), the speed-up no implementation of the same arithmetic can exceed;
``kernel %`` is the share of that peak our selection reached (its measured
FMA rate over the peak).

Usage::

    python benchmarks/bench_bandits.py                # both shapes
    python benchmarks/bench_bandits.py --sizes small  # quick run
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]

import _common  # noqa: E402, F401 -- picks the reelrec under test (development build or installed)
from threadpoolctl import threadpool_limits  # noqa: E402

from reelrec import _core  # noqa: E402
from reelrec.bandits import UCB1, EpsilonGreedy, LinTS, LinUCB, ThompsonSampling  # noqa: E402

SHAPES = {
    # name: (n_arms, n_train, n_features, n_predict)
    "small": (10, 10_000, 20, 10_000),
    "large": (100, 100_000, 200, 30_000),
}


def make_log(n_arms, n_train, n_features, n_predict, seed=111):
    from sklearn.datasets import make_classification

    X, y = make_classification(
        n_samples=n_train + n_predict,
        n_features=n_features,
        n_informative=min(20, n_features - 4),
        weights=[0.99],
        random_state=seed,
    )
    rng = np.random.default_rng(seed)
    decisions = rng.integers(0, n_arms, n_train)
    return decisions, y[:n_train].astype(np.float64), X[:n_train], X[n_train:]


def measure_peak_gfma(repeats=3, iterations=10_000_000):
    """One core's peak FMA rates (double, single) in G/s, process CPU time."""
    rates = []
    for single in (False, True):
        best = 0.0
        for _ in range(repeats):
            c0 = time.process_time()
            _, per_step = _core.bandits_fma_peak_probe(single, iterations)
            best = max(best, per_step * iterations / (time.process_time() - c0) / 1e9)
        rates.append(best)
    return tuple(rates)


def roofline(row, peak_double, peak_single):
    """Fewest seconds the quadratic forms of fit + select need at peak."""
    if not row["policy"].startswith("Lin"):
        return {}
    tri = row["n_features"] * (row["n_features"] + 1) / 2
    select_fma = row["n_predict"] * row["n_arms"] * tri
    fit_fma = row["n_train"] * tri
    rate = peak_double * 1e9 * row["threads"]
    rate_single = peak_single * 1e9 * row["threads"]
    roof = select_fma / rate_single + fit_fma / rate
    return {
        "select_fma": select_fma,
        "fit_fma": fit_fma,
        "roofline_s": roof,
        "max_speedup": (row["mabwiser_fit_s"] + row["mabwiser_predict_s"]) / roof,
        # CPU seconds over the roofline's core-seconds: less disturbed by a busy machine
        "max_speedup_cpu": row["mabwiser_cpu_s"] / (roof * row["threads"]),
        "kernel_peak_share": (select_fma / rate_single) / row["reelrec_predict_s"],
    }


def timed(fn):
    """(result, (wall seconds, process CPU seconds over all threads))."""
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return out, (time.perf_counter() - t0, time.process_time() - c0)


def run_mabwiser(policy_name, n_arms, decisions, rewards, X, Xq, threads, blas_threads, seed=7):
    from mabwiser.mab import MAB, LearningPolicy

    policies = {
        "LinUCB": LearningPolicy.LinUCB(alpha=1.25, l2_lambda=1.0),
        "LinTS": LearningPolicy.LinTS(alpha=1.0, l2_lambda=1.0),
        "EpsilonGreedy": LearningPolicy.EpsilonGreedy(epsilon=0.1),
        "EpsilonGreedy(0)": LearningPolicy.EpsilonGreedy(epsilon=0.0),
        "ThompsonSampling": LearningPolicy.ThompsonSampling(),
        "UCB1": LearningPolicy.UCB1(alpha=1.25),
    }
    contextual = policy_name.startswith("Lin")
    mab = MAB(list(range(n_arms)), policies[policy_name], seed=seed, n_jobs=threads)
    with threadpool_limits(blas_threads):
        _, t_fit = timed(lambda: mab.fit(decisions, rewards, X if contextual else None))
        # non-contextual MABWiser policies take contexts only to size the batch
        pred, t_pred = timed(lambda: mab.predict(Xq))
    return np.asarray(pred, dtype=np.int64), t_fit, t_pred, mab


def run_reelrec(policy_name, n_arms, n_features, decisions, rewards, X, Xq, threads, n_mc, seed=7):
    makers = {
        "LinUCB": lambda: LinUCB(n_arms, n_features, alpha=1.25, l2=1.0),
        "LinTS": lambda: LinTS(n_arms, n_features, v=1.0, l2=1.0, n_mc=n_mc),
        "EpsilonGreedy": lambda: EpsilonGreedy(n_arms, epsilon=0.1),
        "EpsilonGreedy(0)": lambda: EpsilonGreedy(n_arms, epsilon=0.0),
        "ThompsonSampling": lambda: ThompsonSampling(n_arms, n_mc=n_mc),
        "UCB1": lambda: UCB1(n_arms, alpha=1.25),
    }
    contextual = policy_name.startswith("Lin")
    policy = makers[policy_name]().set_params(random_state=seed, num_threads=threads)
    _, t_fit = timed(lambda: policy.fit(decisions, rewards, X if contextual else None))
    (actions, props), t_pred = timed(
        lambda: policy.select(
            Xq if contextual else None, n_requests=None if contextual else len(Xq)
        )
    )
    return actions[:, 0], props[:, 0], t_fit, t_pred, policy


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", nargs="+", default=["small", "large"], choices=sorted(SHAPES))
    parser.add_argument(
        "--threads",
        type=int,
        nargs="+",
        default=[2],
        help="thread counts to compare at (reelrec num_threads = MABWiser n_jobs = BLAS threads, "
        "unless --mabwiser-blas)",
    )
    parser.add_argument(
        "--n-mc", type=int, default=100, help="reelrec Monte Carlo draws for TS propensities"
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=1,
        help="run each side this many times (fresh models) and keep the fastest",
    )
    parser.add_argument(
        "--policies",
        nargs="+",
        default=[
            "LinUCB",
            "LinTS",
            "UCB1",
            "EpsilonGreedy",
            "EpsilonGreedy(0)",
            "ThompsonSampling",
        ],
    )
    parser.add_argument(
        "--peak-gfma",
        type=float,
        default=None,
        help="one core's double-precision FMA rate in G/s for the roofline (single = 2x); "
        "default: measured at the start of the run",
    )
    parser.add_argument(
        "--mabwiser-blas",
        type=int,
        default=None,
        help="BLAS threads for MABWiser (default: the row's thread count). With n_jobs > 1 its "
        "fit runs one thread per arm group, each calling BLAS: 1 here avoids n_jobs x n_jobs "
        "threads on n_jobs cores (measured on 16 cores, large shape: LinUCB fit 75 s, 0.11 s with 1)",
    )
    parser.add_argument(
        "--settle",
        type=float,
        default=0.3,
        help="seconds of pause before each side's repeats: thread pools that spin after a call "
        "(OpenBLAS's, OpenMP's) go idle first, so neither side runs against the other's "
        "(measured on 2 cores with a finer thread grain: a 2-thread LinTS fit + select of the "
        "small shape took 2 ms or 12 ms, run by run, straight after MABWiser)",
    )
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "bandits.json"))
    args = parser.parse_args(argv)

    from mabwiser._version import __version__ as mabwiser_version

    if args.peak_gfma is None:
        peak_double, peak_single = measure_peak_gfma()
    else:
        peak_double, peak_single = args.peak_gfma, 2 * args.peak_gfma
    print(f"peak FMA rate per core: {peak_double:.1f} G/s double, {peak_single:.1f} G/s single")

    rows = []
    for threads in args.threads:
        mab_blas = threads if args.mabwiser_blas is None else args.mabwiser_blas
        with threadpool_limits(threads):
            for size in args.sizes:
                n_arms, n_train, d, n_pred = SHAPES[size]
                decisions, rewards, X, Xq = make_log(n_arms, n_train, d, n_pred)
                for name in args.policies:
                    inf = (float("inf"), float("inf"))
                    r_fit = r_pred = m_fit = m_pred = inf
                    # Each side's repeats back to back (the first may run cold),
                    # after a pause when the side changes.
                    time.sleep(args.settle)
                    for _ in range(args.repeats):
                        ours, props, f, p, policy = run_reelrec(
                            name, n_arms, d, decisions, rewards, X, Xq, threads, args.n_mc
                        )
                        r_fit, r_pred = min(r_fit, f), min(r_pred, p)
                    time.sleep(args.settle)
                    for _ in range(args.repeats):
                        theirs, f, p, _ = run_mabwiser(
                            name, n_arms, decisions, rewards, X, Xq, threads, mab_blas
                        )
                        m_fit, m_pred = min(m_fit, f), min(m_pred, p)
                    row = {
                        "threads": threads,
                        "shape": size,
                        "policy": name,
                        "n_arms": n_arms,
                        "n_train": n_train,
                        "n_features": d,
                        "n_predict": n_pred,
                        "reelrec_fit_s": r_fit[0],
                        "reelrec_predict_s": r_pred[0],
                        "mabwiser_blas_threads": mab_blas,
                        "mabwiser_fit_s": m_fit[0],
                        "mabwiser_predict_s": m_pred[0],
                        "reelrec_cpu_s": r_fit[1] + r_pred[1],
                        "mabwiser_cpu_s": m_fit[1] + m_pred[1],
                        "speedup_fit": m_fit[0] / r_fit[0],
                        "speedup_predict": m_pred[0] / r_pred[0],
                        "speedup_total": (m_fit[0] + m_pred[0]) / (r_fit[0] + r_pred[0]),
                        "speedup_cpu": (m_fit[1] + m_pred[1]) / (r_fit[1] + r_pred[1]),
                        "mean_propensity": float(np.mean(props)),
                    }
                    if name in ("LinUCB", "UCB1"):
                        row["identical_decisions"] = float(np.mean(ours == theirs))
                    if name == "EpsilonGreedy(0)":
                        means = policy.means_
                        unique = np.sum(means == means.max()) == 1
                        row["identical_decisions"] = (
                            float(np.mean(ours == theirs)) if unique else None
                        )
                        row["note"] = (
                            "best arm unique"
                            if unique
                            else "best arm tied: tie-breaks differ by design"
                        )
                    row.update(roofline(row, peak_double, peak_single))
                    rows.append(row)
                    print(
                        f"  threads {threads} {size:5s} {name:17s} reelrec fit {r_fit[0]:8.3f}s predict "
                        f"{r_pred[0]:8.3f}s | mabwiser fit {m_fit[0]:8.3f}s predict {m_pred[0]:8.3f}s",
                        flush=True,
                    )

    # MABWiser's parallelism can slow it down (small shapes, BLAS inside its
    # fit threads): each row is also compared with MABWiser's fastest thread
    # count for the same shape and policy in this run.
    for r in rows:
        best = min(
            q["mabwiser_fit_s"] + q["mabwiser_predict_s"]
            for q in rows
            if q["shape"] == r["shape"] and q["policy"] == r["policy"]
        )
        r["speedup_vs_best_mabwiser"] = best / (r["reelrec_fit_s"] + r["reelrec_predict_s"])

    header = (
        f"{'thr':3s} {'shape':6s} {'policy':17s} {'reelrec fit+pred s':>19s} {'MABWiser fit+pred s':>20s} "
        f"{'fit x':>7s} {'pred x':>8s} {'total x':>8s} {'best x':>7s} {'cpu x':>7s} {'same':>6s} "
        f"{'roof s':>8s} {'max x':>6s} {'kernel %':>8s}"
    )
    print()
    print(header)
    print("-" * len(header))
    for r in rows:
        same = r.get("identical_decisions")
        same_s = "" if same is None else f"{100 * same:.1f}%"
        print(
            f"{r['threads']:<3d} {r['shape']:6s} {r['policy']:17s} "
            f"{r['reelrec_fit_s']:9.5f}+{r['reelrec_predict_s']:<9.5f} "
            f"{r['mabwiser_fit_s']:9.4f}+{r['mabwiser_predict_s']:<9.4f} "
            f"{r['speedup_fit']:7.1f} {r['speedup_predict']:8.1f} {r['speedup_total']:8.1f} "
            f"{r['speedup_vs_best_mabwiser']:7.1f} {r['speedup_cpu']:7.1f} {same_s:>6s} "
            + (
                f"{r['roofline_s']:8.4f} {r['max_speedup_cpu']:6.1f} {100 * r['kernel_peak_share']:7.0f}%"
                if "roofline_s" in r
                else ""
            )
        )

    result = {
        "benchmark": "bandits",
        "peer": f"mabwiser {mabwiser_version}",
        "threads": args.threads,
        "load_average": os.getloadavg(),
        "n_mc": args.n_mc,
        "peak_gfma_per_core": peak_double,
        "peak_gfma_single_per_core": peak_single,
        "peak_measured": args.peak_gfma is None,
        "repeats": args.repeats,
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor(),
            "cpu_count": os.cpu_count(),
            "quadform_isa": _core.bandits_quadform_isa(),
        },
        "command": "python benchmarks/bench_bandits.py "
        + " ".join(argv if argv is not None else sys.argv[1:]),
        "results": rows,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
