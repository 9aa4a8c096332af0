"""Thompson sampling propensities: Monte Carlo (``n_mc`` draws) against exact.

Two questions, on one machine in one run:

* Cost. ``LinTS.select`` on the same fitted policy and requests with
  ``n_mc`` = 100, 1000, 10000 and ``"exact"`` (decisions are identical; only
  the propensities differ), one thread, best of ``--repeats``: microseconds
  per request, and the mean absolute and mean relative error of each Monte
  Carlo estimate against the exact value.
* What the error does to off-policy evaluation. A LinTS policy, fitted on a
  uniformly logged warm-up of ``SyntheticBanditEnvironment`` (logistic
  rewards), logs ``--rounds`` rounds; IPS then estimates the value of two
  target policies (uniform, and epsilon-greedy on the true rewards) from that
  log with the Monte Carlo and with the exact propensities. Over ``--seeds``
  logs the table gives the mean error against the environment's true value,
  its standard error and the root mean square error: IPS is unbiased with the
  true propensities, so the exact column's mean error must be within noise
  of 0; ``1 / p_hat`` of a Monte Carlo estimate is biased (Jensen) for small
  p, and its noise adds variance.

Usage::

    python benchmarks/bench_propensities.py            # writes results/propensities.json
    python benchmarks/bench_propensities.py --seeds 10 --rounds 5000   # quick
"""

from __future__ import annotations

import argparse

import numpy as np
from _common import best_wall_cpu, print_table, write_results  # first: picks the reelrec under test

from reelrec import ope
from reelrec.bandits import LinTS

METHODS = [100, 1000, 10000, "exact"]


def fitted_policy(env: ope.SyntheticBanditEnvironment, n_mc, seed: int, v: float = 1.0) -> LinTS:
    warm = env.sample(2000, random_state=seed)
    pol = LinTS(env.n_actions, env.dim, v=v, n_mc=n_mc, random_state=seed, num_threads=1)
    return pol.fit(warm.actions, warm.rewards, warm.contexts)


def cost_rows(n_actions: int, dim: int, n_requests: int, repeats: int) -> list[dict]:
    env = ope.SyntheticBanditEnvironment(n_actions=n_actions, dim=dim, random_state=0)
    X = np.random.default_rng(1).normal(size=(n_requests, dim))
    out, p_exact, arms_exact = {}, None, None
    for n_mc in METHODS:
        pol = fitted_policy(env, n_mc, seed=3)

        def run(pol=pol):
            pol.set_params(random_state=3)  # same streams every repeat
            return pol.select(X)

        wall, cpu, (arms, p) = best_wall_cpu(run, repeat=repeats)
        out[n_mc] = (cpu, arms[:, 0], p[:, 0])
    arms_exact, p_exact = out["exact"][1], out["exact"][2]
    rows = []
    for n_mc in METHODS:
        cpu, arms, p = out[n_mc]
        assert np.array_equal(arms, arms_exact), "decisions must not depend on n_mc"
        rows.append(
            {
                "arms": n_actions,
                "d": dim,
                "n_mc": str(n_mc),
                "us/request": 1e6 * cpu / n_requests,
                "mean |p - p_exact|": float(np.abs(p - p_exact).mean()),
                "mean rel. err": float(np.mean(np.abs(p - p_exact) / p_exact)),
                "mean p": float(p.mean()),
            }
        )
    return rows


def ope_rows(n_actions: int, rounds: int, seeds: int, v: float) -> list[dict]:
    env = ope.SyntheticBanditEnvironment(n_actions=n_actions, dim=5, random_state=11)
    targets = {
        "uniform": dict(kind="uniform"),
        "eps-greedy(0.1)": dict(kind="epsilon_greedy", epsilon=0.1),
    }
    errors = {(t, m): [] for t in targets for m in ("mc100", "exact")}
    truths = {t: [] for t in targets}
    for seed in range(seeds):
        rng = np.random.default_rng(1000 + seed)
        X = rng.normal(size=(rounds, env.dim))
        logged = {}
        for key, n_mc in (("mc100", 100), ("exact", "exact")):
            pol = fitted_policy(env, n_mc, seed=seed, v=v)
            arms, p = pol.select(X)
            logged[key] = (arms[:, 0], p[:, 0])
        actions = logged["exact"][0]
        q = env.expected_rewards(X)[np.arange(rounds), actions]
        rewards = (rng.random(rounds) < q).astype(float)
        for t, kw in targets.items():
            pi = env.policy(X, **kw)
            truth = env.policy_value(pi, X)
            truths[t].append(truth)
            for key, (_, p) in logged.items():
                est = float(ope.ips(rewards, actions, p, pi))
                errors[(t, key)].append(est - truth)
    rows = []
    for t in targets:
        row = {"arms": n_actions, "v": v, "target": t, "rounds": rounds, "seeds": seeds}
        row["true value"] = float(np.mean(truths[t]))
        for key in ("mc100", "exact"):
            e = np.array(errors[(t, key)])
            row[f"IPS error {key}"] = float(e.mean())
            row[f"s.e. {key}"] = float(e.std(ddof=1) / np.sqrt(len(e)))
            row[f"RMSE {key}"] = float(np.sqrt(np.mean(e**2)))
        rows.append(row)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--requests", type=int, default=5000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=20000)
    ap.add_argument("--seeds", type=int, default=40)
    ap.add_argument(
        "--v", type=float, default=4.0, help="LinTS exploration scale of the logging policy"
    )
    args = ap.parse_args()

    cost = cost_rows(10, 20, args.requests, args.repeats) + cost_rows(
        100, 20, args.requests, args.repeats
    )
    print_table("select cost and propensity error (1 thread, CPU time)", cost)
    ope_res = [row for k in (10, 50) for row in ope_rows(k, args.rounds, args.seeds, args.v)]
    print_table(
        "IPS from LinTS logs: mean error against the true value (+- standard error)", ope_res
    )
    write_results(
        "propensities",
        {
            "benchmark": "propensities",
            "command": "python benchmarks/bench_propensities.py",
            "args": vars(args),
            "cost": cost,
            "ope": ope_res,
        },
    )


if __name__ == "__main__":
    main()
