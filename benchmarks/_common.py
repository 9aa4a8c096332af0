"""Helpers shared by the benchmark scripts: data, timing, tables, JSON output.

Benchmarks run reelrec and a peer library side by side in one process on the
same data and thread count, print a table and write ``results/<name>.json``.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Callable

import numpy as np
import scipy.sparse as sp

REPO = Path(__file__).resolve().parents[1]
# Every script imports this module before reelrec: a development build in
# python/ (tools/dev_build.sh) wins, otherwise the installed package is used --
# the source tree without its compiled _core would shadow it.
if any(p.suffix in (".so", ".pyd") for p in (REPO / "python" / "reelrec").glob("_core*")):
    sys.path.insert(0, str(REPO / "python"))

from reelrec._table import format_table  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
DEFAULT_ML100K = REPO.parent / "shared" / "data" / "ml-100k"

__all__ = [
    "DEFAULT_ML100K",
    "best_of",
    "best_wall_cpu",
    "format_table",
    "load_ml100k",
    "machine_info",
    "power_law_matrix",
    "print_table",
    "split_per_user",
    "write_results",
]


def machine_info() -> dict[str, Any]:
    import reelrec

    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "reelrec": reelrec.__version__,
        "numpy": np.__version__,
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
    }


def load_ml100k(path: str | os.PathLike = DEFAULT_ML100K) -> tuple[np.ndarray, ...]:
    """``(users, items, ratings, timestamps)`` of MovieLens 100K, 0-based ids."""
    file = Path(path) / "u.data"
    if not file.exists():
        raise SystemExit(f"MovieLens 100K not found: expected {file} (pass --data)")
    raw = np.loadtxt(file, dtype=np.int64)
    return raw[:, 0] - 1, raw[:, 1] - 1, raw[:, 2].astype(np.float32), raw[:, 3]


def power_law_matrix(
    n_users: int, n_items: int, nnz: int, seed: int = 0, exponent: float = 1.1
) -> sp.csr_matrix:
    """Users x items CSR with Zipf-like item popularity and user activity (values 1..5)."""
    rng = np.random.default_rng(seed)
    item_p = 1.0 / np.arange(1, n_items + 1) ** exponent
    item_p /= item_p.sum()
    user_p = 1.0 / np.arange(1, n_users + 1) ** 0.7
    user_p /= user_p.sum()
    users = rng.choice(n_users, size=int(nnz * 1.1), p=user_p)
    items = rng.permutation(n_items)[rng.choice(n_items, size=users.size, p=item_p)]
    X = sp.csr_matrix(
        (rng.integers(1, 6, users.size).astype(np.float32), (users, items)),
        shape=(n_users, n_items),
    )
    X.data[:] = np.minimum(X.data, 5)
    X.sum_duplicates()
    return X


def split_per_user(
    X: sp.csr_matrix, test_fraction: float = 0.2, seed: int = 0
) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """Seeded random per-user holdout of the nonzeros (vectorised)."""
    rng = np.random.default_rng(seed)
    coo = X.tocoo()
    test = rng.random(coo.nnz) < test_fraction
    make = lambda m: sp.csr_matrix((coo.data[m], (coo.row[m], coo.col[m])), shape=X.shape)  # noqa: E731
    return make(~test), make(test)


def best_of(fn: Callable[[], Any], repeat: int = 3) -> tuple[float, Any]:
    """Best wall-clock seconds of ``repeat`` calls, and the last result."""
    best, result = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def best_wall_cpu(fn: Callable[[], Any], repeat: int = 3) -> tuple[float, float, Any]:
    """Best wall-clock and best process-CPU seconds of ``repeat`` calls, and the last result."""
    wall, cpu, result = float("inf"), float("inf"), None
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        result = fn()
        wall = min(wall, time.perf_counter() - start)
        cpu = min(cpu, time.process_time() - start_cpu)
    return wall, cpu, result


def print_table(
    title: str, rows: Sequence[dict[str, Any]], columns: Sequence[str] | None = None
) -> None:
    print(f"\n{title}")
    print(format_table(rows, columns))


def write_results(name: str, payload: dict[str, Any]) -> Path:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    payload = {"machine": machine_info(), **payload}
    path.write_text(json.dumps(payload, indent=2, default=float))
    print(f"\nwrote {path}")
    return path


def brief_machine_info(**extra: Any) -> dict[str, Any]:
    """Platform and core count, plus ``extra``, for the "machine" entry of a result file."""
    return {"platform": platform.platform(), "cpu_count": os.cpu_count(), **extra}


def write_json(path: str | os.PathLike, payload: dict[str, Any]) -> Path:
    """Write ``payload`` as indented JSON to ``path`` (creating its folder) and say so."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(payload, indent=2) + "\n")
    print(f"wrote {out}")
    return out
