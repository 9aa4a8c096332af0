"""Compare models on MovieLens 100K read from a local folder (no download).

    python examples/movielens.py --data ../shared/data/ml-100k

MovieLens is for research use only and may not be redistributed: point
``--data`` at your own copy, or pass ``--download`` to fetch the official
archive into reelrec's cache (checked against its SHA-256).
"""

from __future__ import annotations

import argparse

import reelrec
from reelrec.data import random_split
from reelrec.datasets import load_movielens


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None, help="folder with u.data (MovieLens 100K)")
    parser.add_argument("--download", action="store_true")
    args = parser.parse_args(argv)

    data = load_movielens("100k", path=args.data, download=args.download)
    print(data)
    # implicit view: a rating of 4 or 5 is a positive interaction
    split = random_split(data, test_fraction=0.2, random_state=0)
    models = {
        "Popularity": reelrec.Popularity(),
        "PureSVD": reelrec.PureSVD(factors=50, random_state=0),
        "EASE": reelrec.EASE(l2=500.0),
        "ImplicitALS": reelrec.ImplicitALS(factors=64, iterations=15, random_state=0),
        "ItemKNN": reelrec.ItemKNN(k=100),
    }
    for model in models.values():
        model.fit(split.train)
    print(reelrec.compare(models, split.train, split.test, k=10))

    rmse_split = random_split(data, test_fraction=0.2, random_state=1)
    mf = reelrec.BiasedMF(random_state=0).fit(rmse_split.train)
    rows, cols = rmse_split.test.matrix.nonzero()
    truth = rmse_split.test.matrix.data
    print("BiasedMF RMSE:", reelrec.metrics.rmse(truth, mf.predict(rows, cols)))


if __name__ == "__main__":
    main()
