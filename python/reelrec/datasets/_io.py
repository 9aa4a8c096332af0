"""Small readers for the public datasets' text formats (pandas when present)."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import numpy as np

__all__ = ["read_numeric", "read_rows", "title_years"]

_YEAR = re.compile(r"\((\d{4})(?:[-–]\d{0,4})?\)\s*$")


def _pandas():
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - pandas is a test dependency
        return None
    return pd


def read_numeric(path: Path, sep: str, n_cols: int, *, header: bool) -> list[np.ndarray]:
    """The first ``n_cols`` numeric columns of a delimited file, as float64 arrays.

    Multi-character separators (MovieLens 1M's ``::``) are rewritten to a tab
    first so the fast C parsers apply.
    """
    source: Path | io.BytesIO = path
    if len(sep) > 1:
        source = io.BytesIO(path.read_bytes().replace(sep.encode(), b"\t"))
        sep = "\t"
    pd = _pandas()
    if pd is not None:
        frame = pd.read_csv(
            source,
            sep=sep,
            header=0 if header else None,
            usecols=list(range(n_cols)),
            dtype=np.float64,
            engine="c",
        )
        return [frame.iloc[:, j].to_numpy() for j in range(n_cols)]
    table = np.loadtxt(
        source,
        delimiter=sep,
        skiprows=1 if header else 0,
        usecols=range(n_cols),
        dtype=np.float64,
        ndmin=2,
    )
    return [table[:, j].copy() for j in range(n_cols)]


def read_rows(
    path: Path, sep: str, *, header: bool, encoding: str, quoted: bool = False
) -> list[list[str]]:
    """Rows of a small text table (metadata files) as lists of strings."""
    text = path.read_text(encoding=encoding, errors="replace")
    if quoted:
        rows = list(csv.reader(io.StringIO(text)))
    else:
        rows = [line.split(sep) for line in text.splitlines()]
    rows = [r for r in rows if r and any(cell.strip() for cell in r)]
    return rows[1:] if header else rows


def title_years(titles: list[str]) -> np.ndarray:
    """Release year at the end of a MovieLens title ("Heat (1995)"), NaN if absent."""
    out = np.full(len(titles), np.nan)
    for i, title in enumerate(titles):
        m = _YEAR.search(title)
        if m:
            out[i] = float(m.group(1))
    return out
