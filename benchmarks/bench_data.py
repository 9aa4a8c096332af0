"""Data-layer benchmark: building Interactions, splitting, generating, loading.

Peers, on the same arrays in the same process:
* building a users x items CSR: pandas.factorize (sorted ids) + scipy COO -> CSR
  with duplicates summed, the usual hand-written pipeline (it keeps no
  timestamps and no aggregation choice; reelrec also carries timestamps);
* splits: implicit 0.7's ``train_test_split`` (global random share of pairs)
  and ``leave_k_out_split`` (K random pairs per user) against reelrec's
  ``random_split`` (per-user share) and ``leave_last_n_out`` (latest pair per
  user, by time): same task family, not identical semantics;
* MovieLens 100K: pandas.read_csv + the same CSR pipeline.

Usage: python benchmarks/bench_data.py [--rows 25000000] [--data ../shared/data/ml-100k]
Writes benchmarks/results/data.json.
"""

from __future__ import annotations

import argparse
import json
import platform
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp
from _common import best_of

from reelrec.data import Interactions, leave_last_n_out, random_split
from reelrec.datasets import load_movielens, synthetic_video_platform

HERE = Path(__file__).resolve().parent


def compare(ours, peer, repeat, peer_repeat=None):
    """Best-of timings, alternating the two sides so neither pays all first-touch costs."""
    t_ours, t_peer = [], []
    out_ours = out_peer = None
    for r in range(repeat):
        t_ours_r, out_ours = best_of(ours, 1)
        t_ours.append(t_ours_r)
        if r < (repeat if peer_repeat is None else peer_repeat):
            t_peer_r, out_peer = best_of(peer, 1)
            t_peer.append(t_peer_r)
    return min(t_ours), min(t_peer), out_ours, out_peer


def peer_build(users, items, weights):
    ucodes, uniq_u = pd.factorize(users, sort=True)
    icodes, uniq_i = pd.factorize(items, sort=True)
    m = sp.coo_matrix((weights.astype(np.float32), (ucodes, icodes)), shape=(uniq_u.size, uniq_i.size)).tocsr()
    m.sum_duplicates()
    return m


def bench_splits(data, repeat, record):
    from implicit.evaluation import leave_k_out_split, train_test_split

    coo = data.matrix.tocoo()
    t_ours, t_peer, _, _ = compare(
        lambda: random_split(data, 0.2, random_state=0), lambda: train_test_split(coo, 0.8, random_state=0), repeat
    )
    record(f"random split 80/20 ({data.nnz:,} pairs)", t_ours, t_peer, "implicit train_test_split (global)")
    # implicit's leave_k_out_split is minutes at 25M pairs: time it once
    t_ours, t_peer, _, _ = compare(
        lambda: leave_last_n_out(data, 1, random_state=0),
        lambda: leave_k_out_split(data.matrix, K=1, random_state=0),
        repeat,
        peer_repeat=1,
    )
    record(f"leave-one-out per user ({data.nnz:,} pairs)", t_ours, t_peer, "implicit leave_k_out_split (random)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=25_000_000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--data", type=Path, default=HERE.parent.parent / "shared" / "data" / "ml-100k")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "data.json")
    args = parser.parse_args()

    n = args.rows
    n_users, n_items = max(10, n // 150), max(10, n // 400)  # MovieLens-25M-like density
    rng = np.random.default_rng(0)
    users = rng.integers(0, n_users, n)
    items = rng.integers(0, n_items, n)
    weights = rng.integers(1, 11, n) / 2.0
    stamps = rng.integers(0, 10**9, n).astype(np.float64)
    rows = []

    def record(task, ours, peer, peer_name):
        rows.append({"task": task, "reelrec_s": ours, "peer": peer_name, "peer_s": peer, "ratio": None if peer is None else peer / ours})

    t_ours, t_peer, data, ref = compare(
        lambda: Interactions.from_arrays(users, items, weights, stamps), lambda: peer_build(users, items, weights), args.repeat
    )
    assert (data.matrix != ref).nnz == 0
    record(f"build {n:,} rows, random order (+timestamps)", t_ours, t_peer, "pandas.factorize + scipy COO->CSR")
    order = np.lexsort((items, users))
    su, si, sw, st = users[order], items[order], weights[order], stamps[order]
    t_ours, t_peer, _, _ = compare(
        lambda: Interactions.from_arrays(su, si, sw, st), lambda: peer_build(su, si, sw), args.repeat
    )
    record(f"build {n:,} rows, sorted by user (ratings.csv order)", t_ours, t_peer, "pandas.factorize + scipy COO->CSR")
    m = max(1, n // 10)
    su_str = np.array([f"user{u}" for u in users[:m]], dtype=object)
    t_ours, t_peer, _, _ = compare(
        lambda: Interactions.from_arrays(su_str, items[:m], weights[:m]),
        lambda: peer_build(su_str, items[:m], weights[:m]),
        args.repeat,
    )
    record(f"build {m:,} rows, string user ids", t_ours, t_peer, "pandas.factorize + scipy COO->CSR")

    bench_splits(data, args.repeat, record)
    del data, ref

    t_ours, _ = best_of(lambda: synthetic_video_platform(), max(3, args.repeat))
    record("synthetic_video_platform() default (2k x 1k)", t_ours, None, "-")
    t_ours, big = best_of(lambda: synthetic_video_platform(100_000, 20_000, seed=1), args.repeat)
    record(f"synthetic_video_platform(100k users, 20k videos): {big.events['user'].size:,} events", t_ours, None, "-")

    if (args.data / "u.data").is_file():
        def peer_ml():
            df = pd.read_csv(args.data / "u.data", sep="\t", header=None, names=["u", "i", "r", "t"])
            return peer_build(df["u"].to_numpy(), df["i"].to_numpy(), df["r"].to_numpy())

        t_ours, t_peer, _, _ = compare(lambda: load_movielens("100k", path=args.data), peer_ml, max(3, args.repeat))
        record("load MovieLens 100K (+titles, genres, users)", t_ours, t_peer, "pandas.read_csv + COO->CSR (ratings only)")

    width = max(len(r["task"]) for r in rows)
    print(f"{'task':<{width}}  {'reelrec s':>9}  {'peer s':>8}  {'peer/reelrec':>12}  peer")
    for r in rows:
        peer = "-" if r["peer_s"] is None else f"{r['peer_s']:.3f}"
        ratio = "-" if r["ratio"] is None else f"{r['ratio']:.2f}x"
        print(f"{r['task']:<{width}}  {r['reelrec_s']:>9.3f}  {peer:>8}  {ratio:>12}  {r['peer']}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    meta = {"rows": n, "repeat": args.repeat, "machine": platform.platform(), "python": platform.python_version()}
    args.out.write_text(json.dumps({"meta": meta, "results": rows}, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
