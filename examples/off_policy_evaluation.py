"""Judge a new policy on logged bandit feedback before any A/B test.

    python examples/off_policy_evaluation.py --rounds 20000
"""

from __future__ import annotations

import argparse

from reelrec.ope import OffPolicyEvaluator, RewardModel, SyntheticBanditEnvironment


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    env = SyntheticBanditEnvironment(n_actions=10, dim=5, behavior_policy="softmax", beta=0.5, random_state=args.seed)
    log = env.sample(args.rounds)
    target = env.policy(log.contexts, kind="epsilon_greedy", epsilon=0.1)
    truth = env.policy_value(target, log.contexts)

    evaluator = OffPolicyEvaluator(log, reward_model=RewardModel(kind="logistic", random_state=args.seed), random_state=args.seed)
    table = evaluator.evaluate(target, n_boot=200)
    print(table)
    print(f"true value of the target policy: {truth:.4f}")


if __name__ == "__main__":
    main()
