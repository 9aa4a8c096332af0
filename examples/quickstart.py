"""Quickstart: fit, evaluate and query models on the synthetic video platform.

    python examples/quickstart.py --users 3000 --videos 1500
"""

from __future__ import annotations

import argparse

import reelrec
from reelrec.data import random_split
from reelrec.datasets import synthetic_video_platform


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=3000)
    parser.add_argument("--videos", type=int, default=1500)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    platform = synthetic_video_platform(n_users=args.users, n_videos=args.videos, seed=args.seed)
    split = random_split(platform.interactions, test_fraction=0.2, random_state=args.seed)
    print(split)

    models = {
        "Popularity": reelrec.Popularity(),
        "EASE": reelrec.EASE(l2=200.0),
        "ImplicitALS": reelrec.ImplicitALS(factors=32, iterations=10, random_state=args.seed),
    }
    for model in models.values():
        model.fit(split.train)
    print(reelrec.compare(models, split.train, split.test, k=10))

    als = models["ImplicitALS"]
    frame = als.recommend_frame(users=platform.interactions.user_ids[:3], k=5)
    print(frame.to_string(index=False))


if __name__ == "__main__":
    main()
