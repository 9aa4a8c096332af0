"""Off-policy evaluation: reelrec.ope against Open Bandit Pipeline (OBP).

Same data, same target policy, same reward-model predictions fed to both:

1. Open Bandit Dataset sample (random logging policy, men and women campaigns),
   evaluating the Bernoulli-TS policy's action distribution as OBP's examples do
   (``BernoulliTS(is_zozotown_prior=True).compute_batch_action_dist``);
2. a synthetic log (reelrec's SyntheticBanditEnvironment, softmax logging).

It checks that the estimates are identical (relative difference), and times the
bootstrap confidence intervals with the same ``n_boot`` and alpha: OBP's
``estimate_interval`` against ``Estimate.bootstrap``, and OBP's
``summarize_off_policy_estimates`` (a table of estimators with intervals) against
``OffPolicyEvaluator.evaluate(n_boot=...)``. OBP runs single-threaded NumPy, so
``cpu_ratio`` compares its CPU seconds with reelrec's on one thread (robust on a
shared machine) and ``wall_ratio`` its wall seconds with reelrec on all threads.

OBP 0.5.7 declares Python < 3.11 and pins old pandas / scikit-learn; it installs
with ``pip install --no-deps --ignore-requires-python obp`` plus a CPU torch, and
its ``OpenBanditDataset.pre_process`` needs a one-line shim for pandas 3 (below).
Without OBP the script compares against straight NumPy formulas of OBP's
documented estimators and times OBP's bootstrap loop re-implemented in NumPy.

Run:  PYTHONPATH=python /work/venv-obp/bin/python benchmarks/bench_ope.py --data /work/shared/data/open-bandit-dataset
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from _common import best_wall_cpu

import reelrec
from reelrec import _core, ope

REPO = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).resolve().parent / "results"
DEFAULT_OBD = (
    Path(os.environ.get("REELREC_SHARED_DATA", REPO.parent / "shared" / "data"))
    / "open-bandit-dataset"
)

try:  # the peer
    import obp
    from obp.ope import (
        DirectMethod,
        DoublyRobust,
        DoublyRobustWithShrinkage,
        InverseProbabilityWeighting,
        OffPolicyEvaluation,
        ReplayMethod,
        SelfNormalizedDoublyRobust,
        SwitchDoublyRobust,
    )
    from obp.ope import SelfNormalizedInverseProbabilityWeighting as SNIPW
    from obp.policy import BernoulliTS

    HAVE_OBP = True
except Exception as exc:  # noqa: BLE001 - any import failure means "no peer"
    HAVE_OBP = False
    OBP_ERROR = f"{type(exc).__name__}: {exc}"


def table(title: str, rows: list[dict[str, Any]]) -> None:
    cols = list(rows[0])

    def cell(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:.4g}" if abs(v) >= 1e-3 or v == 0 else f"{v:.3e}"
        return str(v)

    cells = [[cell(r[c]) for c in cols] for r in rows]
    width = [max(len(c), *(len(r[j]) for r in cells)) for j, c in enumerate(cols)]
    print(f"\n{title}")
    print("  ".join(c.rjust(w) for c, w in zip(cols, width)))
    for r in cells:
        print("  ".join(v.rjust(w) for v, w in zip(r, width)))


# ---------------------------------------------------------------------- the two sides
def greedy(pi: np.ndarray) -> np.ndarray:
    """The deterministic policy taking each slice's most likely action (replay needs one:
    OBP's ReplayMethod counts only rounds whose logged action has probability exactly 1)."""
    out = np.zeros_like(pi)
    n, _, P = pi.shape
    best = pi.argmax(axis=1)
    out[np.arange(n)[:, None], best, np.arange(P)[None, :]] = 1.0
    return out


ESTIMATORS = [
    "rm(greedy)",
    "ipw",
    "snipw",
    "dm",
    "dr",
    "sndr",
    "switch-ope.dr(tau=5)",
    "dr-os(lambda=50)",
]


def obp_estimators() -> dict[str, Any]:
    return {
        "rm(greedy)": ReplayMethod(),
        "ipw": InverseProbabilityWeighting(),
        "snipw": SNIPW(),
        "dm": DirectMethod(),
        "dr": DoublyRobust(),
        "sndr": SelfNormalizedDoublyRobust(),
        "switch-ope.dr(tau=5)": SwitchDoublyRobust(lambda_=5.0),
        "dr-os(lambda=50)": DoublyRobustWithShrinkage(lambda_=50.0),
    }


def reelrec_estimates(
    log: ope.BanditLog, pi: np.ndarray, q: np.ndarray, threads: int
) -> dict[str, Any]:
    args = (log.rewards, log.actions, log.propensities, pi)
    kw = {"positions": log.positions, "num_threads": threads}
    return {
        "rm(greedy)": ope.replay(log.rewards, log.actions, greedy(pi), **kw),
        "ipw": ope.ips(*args, **kw),
        "snipw": ope.snips(*args, **kw),
        "dm": ope.dm(pi, q, **kw),
        "dr": ope.dr(*args, q, **kw),
        "sndr": ope.sndr(*args, q, **kw),
        "switch-ope.dr(tau=5)": ope.switch_dr(*args, q, 5.0, **kw),
        "dr-os(lambda=50)": ope.dr_os(*args, q, 50.0, **kw),
    }


def numpy_reference(log: ope.BanditLog, pi: np.ndarray, q: np.ndarray) -> dict[str, np.ndarray]:
    """OBP's documented per-round formulas in NumPy (used when OBP is missing)."""
    n = log.n_rounds
    rows = np.arange(n)
    pos = np.zeros(n, int) if log.positions is None else log.positions
    pi_p = pi[rows, :, pos]
    q_p = q[rows, :, pos]
    w = pi_p[rows, log.actions] / log.propensities
    r = log.rewards
    qa = q_p[rows, log.actions]
    base = np.average(q_p, weights=pi_p, axis=1)
    match = greedy(pi)[rows, :, pos][rows, log.actions] == 1
    return {
        "rm(greedy)": match * r / match.mean() if match.any() else np.zeros(n),
        "ipw": w * r,
        "snipw": w * r / w.mean(),
        "dm": base,
        "dr": base + w * (r - qa),
        "sndr": base + w * (r - qa) / w.mean(),
        "switch-ope.dr(tau=5)": base + (w <= 5.0) * w * (r - qa),
        "dr-os(lambda=50)": base + 50.0 * w / (w**2 + 50.0) * (r - qa),
    }


def peer_values(log: ope.BanditLog, pi: np.ndarray, q: np.ndarray) -> dict[str, float]:
    if not HAVE_OBP:
        return {k: float(v.mean()) for k, v in numpy_reference(log, pi, q).items()}
    fb = log.to_obp()
    out = {}
    for name, est in obp_estimators().items():
        out[name] = float(
            est.estimate_policy_value(
                reward=fb["reward"],
                action=fb["action"],
                position=fb["position"],
                pscore=fb["pscore"],
                action_dist=greedy(pi) if name.startswith("rm") else pi,
                estimated_rewards_by_reg_model=q,
            )
        )
    return out


EVALUATOR_SPECS = {
    "ipw": "ips",
    "snipw": "snips",
    "dm": "dm",
    "dr": "dr",
    "sndr": "sndr",
    "switch-ope.dr(tau=5)": ("switch_dr", {"tau": 5.0}),
    "dr-os(lambda=50)": ("dr_os", {"lambda_": 50.0}),
}


def peer_summary(
    names: list[str], log: ope.BanditLog, pi: np.ndarray, q: np.ndarray, n_boot: int
) -> Any:
    est = obp_estimators()
    ope = OffPolicyEvaluation(bandit_feedback=log.to_obp(), ope_estimators=[est[n] for n in names])
    return ope.summarize_off_policy_estimates(
        action_dist=pi, estimated_rewards_by_reg_model=q, n_bootstrap_samples=n_boot, random_state=0
    )


def peer_interval(
    name: str, log: ope.BanditLog, pi: np.ndarray, q: np.ndarray, n_boot: int
) -> tuple[float, float]:
    """OBP's estimate_interval (or its loop in NumPy without OBP): (lower, upper)."""
    if HAVE_OBP:
        fb = log.to_obp()
        res = obp_estimators()[name].estimate_interval(
            reward=fb["reward"],
            action=fb["action"],
            position=fb["position"],
            pscore=fb["pscore"],
            action_dist=pi,
            estimated_rewards_by_reg_model=q,
            n_bootstrap_samples=n_boot,
            random_state=0,
        )
        vals = list(res.values())
        return float(vals[1]), float(vals[2])
    samples = numpy_reference(log, pi, q)[name]
    rs = np.random.RandomState(0)
    boot = [np.mean(rs.choice(samples, size=samples.shape[0])) for _ in range(n_boot)]
    return float(np.percentile(boot, 2.5)), float(np.percentile(boot, 97.5))


# ---------------------------------------------------------------------- data sets
def obd_setting(
    path: Path, campaign: str, threads: int
) -> tuple[ope.BanditLog, np.ndarray, np.ndarray, dict]:
    log = ope.load_open_bandit(path, "random", campaign)
    info: dict[str, Any] = {
        "data": f"OBD random/{campaign}",
        "n_rounds": log.n_rounds,
        "n_actions": log.n_actions,
    }
    if HAVE_OBP:
        policy = BernoulliTS(
            n_actions=log.n_actions,
            len_list=3,
            is_zozotown_prior=True,
            campaign=campaign,
            random_state=12345,
        )
        pi = policy.compute_batch_action_dist(n_rounds=log.n_rounds, n_sim=100000)
        info["target"] = "OBP BernoulliTS(is_zozotown_prior) action_dist"
        info["loader"] = compare_loader(path, campaign, log)
    else:
        bts = ope.load_open_bandit(path, "bts", campaign)
        total = np.zeros((log.n_actions, 3))
        np.add.at(total, (bts.actions, bts.positions), bts.propensities)
        count = np.zeros_like(total)
        np.add.at(count, (bts.actions, bts.positions), 1)
        mean = np.where(count > 0, total / np.maximum(count, 1), 1e-4)
        pi = np.ascontiguousarray(
            np.broadcast_to((mean / mean.sum(0))[None], (log.n_rounds, log.n_actions, 3))
        )
        info["target"] = "mean BTS propensity per (item, position) from the bts log"
    q = ope.RewardModel(
        "logistic", l2=1.0, n_folds=3, random_state=0, num_threads=threads
    ).fit_predict(log)
    return log, np.ascontiguousarray(pi), q, info


def compare_loader(path: Path, campaign: str, log: ope.BanditLog) -> str:
    """reelrec's loader against OBP's OpenBanditDataset (pandas-3 shim for its pre_process)."""
    import pandas as pd
    from obp.dataset import OpenBanditDataset
    from sklearn.preprocessing import LabelEncoder

    class Shimmed(OpenBanditDataset):
        def pre_process(
            self,
        ) -> None:  # OBP's own steps; drop(columns=..., axis=1) fails on pandas 3
            user_cols = self.data.columns.str.contains("user_feature")
            self.context = pd.get_dummies(self.data.loc[:, user_cols], drop_first=True).values
            cat = self.item_context.drop(columns=["item_id", "item_feature_0"]).apply(
                LabelEncoder().fit_transform
            )
            self.action_context = pd.concat(
                [cat, self.item_context["item_feature_0"].to_frame()], axis=1
            ).values

    fb = Shimmed(
        behavior_policy="random", campaign=campaign, data_path=path
    ).obtain_batch_bandit_feedback()
    ours = log.to_obp()
    same = [
        k
        for k in ("action", "position", "reward", "pscore", "context", "action_context")
        if np.array_equal(np.asarray(fb[k], float), np.asarray(ours[k], float))
    ]
    differ = sorted(
        set(("action", "position", "reward", "pscore", "context", "action_context")) - set(same)
    )
    rows_differ = int((fb["action"] != ours["action"]).sum())

    def key(d: dict) -> list:
        return sorted(
            zip(d["action"], d["position"], d["reward"], d["pscore"], map(tuple, d["context"]))
        )

    multiset = key(fb) == key(ours)
    if not differ:
        return "identical"
    return (
        f"identical except {differ} in {rows_differ} rounds with tied timestamps "
        f"(OBP sorts unstably); same multiset of rounds: {multiset}"
    )


def synthetic_setting(n: int, threads: int) -> tuple[ope.BanditLog, np.ndarray, np.ndarray, dict]:
    env = ope.SyntheticBanditEnvironment(
        n_actions=10, dim=5, behavior_policy="softmax", beta=3.0, random_state=0
    )
    log = env.sample(n, random_state=1)
    pi3 = env.policy(log.contexts, "softmax", beta=-3.0)[:, :, None]
    q = ope.RewardModel("logistic", n_folds=3, random_state=0, num_threads=threads).fit_predict(
        log
    )[:, :, None]
    log = ope.BanditLog(
        log.contexts,
        log.actions,
        log.rewards,
        log.propensities,
        positions=np.zeros(n, np.int64),
        n_actions=log.n_actions,
    )
    info = {
        "data": f"synthetic n={n}",
        "n_rounds": n,
        "n_actions": 10,
        "truth": env.policy_value(pi3[:, :, 0], log.contexts),
    }
    return log, np.ascontiguousarray(pi3), q, info


# ---------------------------------------------------------------------- main
def timing_row(
    info: dict,
    what: str,
    n_boot: int,
    peer_wall: float,
    peer_cpu: float,
    one_cpu: float,
    all_wall: float,
    sampler: str,
    peer_ci: str,
    ours_ci: str,
) -> dict[str, Any]:
    """One timing row. The peer runs single-threaded NumPy, so its CPU seconds are
    compared with reelrec on one thread (robust on a shared machine), and its wall
    seconds with reelrec on all threads."""
    return {
        "data": info["data"],
        "what": what,
        "n_boot": n_boot,
        "peer_cpu_s": peer_cpu,
        "reelrec_1thr_cpu_s": one_cpu,
        "cpu_ratio": peer_cpu / one_cpu,
        # reelrec's single-thread cost per round and resample (the peer's is peer_cpu_s likewise)
        "reelrec_ns_per_round_resample": one_cpu / (info["n_rounds"] * n_boot) * 1e9,
        "peer_wall_s": peer_wall,
        "reelrec_all_wall_s": all_wall,
        "wall_ratio": peer_wall / all_wall,
        "sampler": sampler,
        "peer_ci": peer_ci,
        "reelrec_ci": ours_ci,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_OBD, help="Open Bandit Dataset root")
    ap.add_argument("--n-boot", type=int, default=1000)
    ap.add_argument("--synthetic-n", type=int, default=100_000)
    ap.add_argument("--threads", type=int, default=0, help="0 = all cores")
    ap.add_argument("--quick", action="store_true", help="small sizes for a smoke run")
    args = ap.parse_args()
    n_boot = 100 if args.quick else args.n_boot
    syn_n = 5000 if args.quick else args.synthetic_n
    threads = args.threads or _core.max_threads()
    peer = (
        f"obp {obp.__version__}"
        if HAVE_OBP
        else f"NumPy formulas of OBP's estimators (OBP unavailable: {OBP_ERROR})"
    )
    print(
        f"reelrec {reelrec.__version__} vs {peer}; {threads} threads; load average {os.getloadavg()}"
    )

    settings = []
    if (args.data / "random").exists():
        for campaign in ("men", "women"):
            settings.append(obd_setting(args.data, campaign, threads))
    else:
        print(f"Open Bandit Dataset not found at {args.data}: OBD rows skipped (pass --data)")
    settings.append(synthetic_setting(syn_n, threads))

    value_rows, timing_rows, infos = [], [], []
    for log, pi, q, info in settings:
        infos.append(info)
        ours = reelrec_estimates(log, pi, q, threads)
        theirs = peer_values(log, pi, q)
        for name in ESTIMATORS:
            a, b = float(ours[name]), theirs[name]
            value_rows.append(
                {
                    "data": info["data"],
                    "estimator": name,
                    "reelrec": a,
                    "peer": b,
                    "rel_diff": abs(a - b) / abs(b) if b != 0 else abs(a - b),
                }
            )
        for name in ("ipw", "snipw", "dm", "dr"):
            est = ours[name]
            peer_wall, peer_cpu, (plo, phi) = best_wall_cpu(
                functools.partial(peer_interval, name, log, pi, q, n_boot), 3
            )
            _, one_cpu, b_one = best_wall_cpu(
                functools.partial(est.bootstrap, n_boot, random_state=0, num_threads=1), 5
            )
            all_wall, _, _ = best_wall_cpu(
                functools.partial(est.bootstrap, n_boot, random_state=0, num_threads=threads), 5
            )
            timing_rows.append(
                timing_row(
                    info,
                    f"{name}.bootstrap",
                    n_boot,
                    peer_wall,
                    peer_cpu,
                    one_cpu,
                    all_wall,
                    b_one.method,
                    f"[{plo:.4g}, {phi:.4g}]",
                    f"[{b_one.lower:.4g}, {b_one.upper:.4g}]",
                )
            )
        # the whole table: OBP's OffPolicyEvaluation.summarize_off_policy_estimates (one
        # estimate_interval per estimator) vs OffPolicyEvaluator.evaluate (shared resamples)
        if HAVE_OBP:
            names = [n for n in ESTIMATORS if not n.startswith("rm")]
            peer_wall, peer_cpu, _ = best_wall_cpu(
                functools.partial(peer_summary, names, log, pi, q, n_boot),
                1 if log.n_rounds > 50_000 else 3,
            )
            ev1 = ope.OffPolicyEvaluator(log, [EVALUATOR_SPECS[n] for n in names], num_threads=1)
            evn = ope.OffPolicyEvaluator(
                log, [EVALUATOR_SPECS[n] for n in names], num_threads=threads
            )
            _, one_cpu, _ = best_wall_cpu(
                functools.partial(ev1.evaluate, pi, q, n_boot=n_boot, random_state=0), 3
            )
            all_wall, _, _ = best_wall_cpu(
                functools.partial(evn.evaluate, pi, q, n_boot=n_boot, random_state=0), 3
            )
            timing_rows.append(
                timing_row(
                    info,
                    f"table of {len(names)} + bootstrap",
                    n_boot,
                    peer_wall,
                    peer_cpu,
                    one_cpu,
                    all_wall,
                    "-",
                    "-",
                    "-",
                )
            )

    table(
        "Policy value estimates (same data, target policy and reward-model predictions)", value_rows
    )
    table(
        f"Bootstrap intervals, n_boot={n_boot}: cpu_ratio = peer CPU s / reelrec 1-thread CPU s, "
        f"wall_ratio = peer wall s / reelrec {threads}-thread wall s",
        timing_rows,
    )
    print(
        "\n'table' rows: OBP OffPolicyEvaluation.summarize_off_policy_estimates vs reelrec"
        " ope.OffPolicyEvaluator.evaluate(n_boot=...), point estimates and intervals of every estimator."
    )
    for info in infos:
        print(" ", json.dumps(info))

    if args.quick:
        print("\n--quick: results not written")
        return
    RESULTS.mkdir(exist_ok=True)
    payload = {
        "machine": {
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "cpu_count": os.cpu_count(),
            "threads": threads,
            "load_average": os.getloadavg(),
            "reelrec": reelrec.__version__,
            "numpy": np.__version__,
            "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        },
        "peer": peer,
        "command": " ".join(sys.argv),
        "settings": infos,
        "values": value_rows,
        "bootstrap": timing_rows,
        "max_rel_diff": max(r["rel_diff"] for r in value_rows),
    }
    path = RESULTS / "ope.json"
    path.write_text(json.dumps(payload, indent=2, default=float))
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
