"""TfidfFeaturizer vs scikit-learn's TfidfVectorizer on synthetic video metadata.

Documents are a title (2-8 words) and a description (15-60 words) drawn from a
seeded Zipf vocabulary with some capitalised words, digits and punctuation.
Both libraries fit_transform the same documents with the same settings in this
process; the matrices and vocabularies are checked to be equal, and reelrec's
time includes building its ``vocabulary_`` dict (scikit-learn builds it during
fit). scikit-learn is single-threaded, so reelrec is timed both on one thread
and on ``--threads``; process CPU seconds are reported too (steadier than wall
time on a shared machine).

    python benchmarks/bench_tfidf.py [--docs 100000] [--threads 0]
"""

from __future__ import annotations

import argparse
import platform
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]

from _common import best_wall_cpu, brief_machine_info, write_json  # noqa: E402

from reelrec import _core  # noqa: E402
from reelrec.features import TfidfFeaturizer  # noqa: E402


def synthetic_documents(n_docs: int, seed: int = 0, vocab_size: int = 30_000) -> list[str]:
    rng = np.random.default_rng(seed)
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    lengths = rng.integers(2, 11, vocab_size)
    words = np.array(["".join(rng.choice(letters, n)) for n in lengths], dtype=object)
    caps = rng.random(vocab_size) < 0.1
    words[caps] = [w.capitalize() for w in words[caps]]
    words[:50] = [f"{w}{i}" for i, w in enumerate(words[:50])]  # some alphanumerics
    probs = 1.0 / np.arange(1, vocab_size + 1) ** 1.05
    probs /= probs.sum()
    n_title = rng.integers(2, 9, n_docs)
    n_desc = rng.integers(15, 61, n_docs)
    draws = words[rng.choice(vocab_size, size=int(n_title.sum() + n_desc.sum()), p=probs)]
    punct = np.array(["", "", "", ",", ".", " -", "!", ":"])
    marks = punct[rng.integers(0, punct.size, draws.size)]
    tokens = (draws + marks).tolist()
    docs, pos = [], 0
    for t, d in zip(n_title.tolist(), n_desc.tolist()):
        title = " ".join(tokens[pos : pos + t])
        desc = " ".join(tokens[pos + t : pos + t + d])
        docs.append(f"{title} | {desc}")
        pos += t + d
    return docs


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument(
        "--threads", type=int, default=0, help="reelrec threads for the second row (0 = all cores)"
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "tfidf.json")
    args = parser.parse_args()
    from sklearn import __version__ as sklearn_version
    from sklearn.feature_extraction.text import TfidfVectorizer

    docs = synthetic_documents(args.docs)
    n_bytes = sum(len(d) for d in docs)
    threads = args.threads or _core.max_threads()
    print(
        f"TF-IDF fit_transform on {len(docs):,} synthetic titles+descriptions ({n_bytes / 1e6:.1f} MB), "
        f"best of {args.repeats}"
    )
    print(
        f"{'ngram_range':<12} {'terms':>10} {'nnz':>11} {'sklearn s':>10} {'reelrec 1t s':>13} "
        f"{'speedup':>8} {f'reelrec {threads}t s':>13} {'speedup':>8} {'cpu ratio 1t':>13}"
    )
    results = []
    for ngram_range in [(1, 1), (1, 2)]:
        settings = {"ngram_range": ngram_range, "min_df": 2, "sublinear_tf": True}

        def sklearn_run(settings=settings):
            vec = TfidfVectorizer(**settings)
            return vec, vec.fit_transform(docs)

        def ours_run(n_threads, settings=settings):
            feat = TfidfFeaturizer(num_threads=n_threads, **settings)
            X = feat.fit_transform(docs)
            len(feat.vocabulary_)
            return feat, X

        ref_s, ref_cpu, (ref, expected) = best_wall_cpu(sklearn_run, args.repeats)
        one_s, one_cpu, (ours, got) = best_wall_cpu(lambda: ours_run(1), args.repeats)  # noqa: B023
        all_s, all_cpu, (ours_mt, got_mt) = best_wall_cpu(lambda: ours_run(threads), args.repeats)  # noqa: B023
        assert ours.vocabulary_ == ref.vocabulary_, "vocabularies differ"
        assert got.shape == expected.shape and (got != got_mt).nnz == 0
        diff = abs(got - expected.astype(np.float32))
        max_diff = float(diff.max()) if diff.nnz else 0.0
        assert max_diff < 1e-5, f"matrices differ by {max_diff}"
        row = {
            "ngram_range": list(ngram_range),
            "docs": len(docs),
            "terms": got.shape[1],
            "nnz": int(got.nnz),
            "sklearn_s": round(ref_s, 3),
            "reelrec_1thread_s": round(one_s, 3),
            "speedup_1thread": round(ref_s / one_s, 2),
            "reelrec_threads": threads,
            "reelrec_threads_s": round(all_s, 3),
            "speedup_threads": round(ref_s / all_s, 2),
            "sklearn_cpu_s": round(ref_cpu, 3),
            "reelrec_1thread_cpu_s": round(one_cpu, 3),
            "cpu_ratio_1thread": round(ref_cpu / one_cpu, 2),
            "max_abs_diff": max_diff,
        }
        results.append(row)
        print(
            f"{str(ngram_range):<12} {row['terms']:>10,} {row['nnz']:>11,} {ref_s:>10.2f} {one_s:>13.2f} "
            f"{row['speedup_1thread']:>7.2f}x {all_s:>13.2f} {row['speedup_threads']:>7.2f}x "
            f"{row['cpu_ratio_1thread']:>12.2f}x",
            flush=True,
        )
    report = {
        "benchmark": "TfidfFeaturizer vs sklearn TfidfVectorizer fit_transform",
        "settings": {"min_df": 2, "sublinear_tf": True, "norm": "l2"},
        "sklearn_version": sklearn_version,
        "machine": brief_machine_info(python=platform.python_version()),
        "results": results,
    }
    write_json(args.out, report)


if __name__ == "__main__":
    main()
