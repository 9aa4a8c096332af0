"""One-hot / multi-hot encoding of item metadata columns (genre, tags, language)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import scipy.sparse as sp

__all__ = ["encode_categorical"]


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    try:  # pandas.NA / NaT without importing pandas
        return bool(value != value)
    except (TypeError, ValueError):
        return False


def _tokens(value: Any, multi: bool, sep: str) -> list[str]:
    if _is_missing(value):
        return []
    if multi and isinstance(value, (list, tuple, set, frozenset, np.ndarray)):
        parts = [str(v).strip() for v in value if not _is_missing(v)]
    elif multi:
        parts = [p.strip() for p in str(value).split(sep)]
    else:
        if isinstance(value, (list, tuple, set, frozenset, np.ndarray)):
            raise ValueError(
                f"values: got a collection {value!r:.60} with multi=False; pass multi=True"
            )
        parts = [str(value).strip()]
    return [p for p in parts if p]


def encode_categorical(
    values: Any, multi: bool = False, sep: str = "|", vocabulary: Any = None
) -> tuple[sp.csr_matrix, np.ndarray]:
    """One-hot (or multi-hot) encoding of one metadata column.

    Parameters
    ----------
    values : sequence
        One entry per item. Entries are converted with ``str`` and stripped of
        surrounding whitespace; ``None``, NaN and empty strings encode as an
        all-zero row.
    multi : bool
        Each entry holds several categories: a string separated by ``sep`` or a
        list/tuple/set of values (multi-hot).
    sep : str
        Separator of multi-valued strings.
    vocabulary : sequence of str, optional
        Fixed categories (columns, in this order), e.g. from an earlier call;
        categories outside it are ignored. By default the sorted distinct values.

    Returns
    -------
    matrix : scipy.sparse.csr_matrix of float32, shape (len(values), n_categories)
        1.0 where an entry has the category (repeats count once).
    vocabulary : ndarray of str
        The category of each column.
    """
    if isinstance(values, (str, bytes)):
        raise TypeError("values: expected a sequence with one entry per item, got a single string")
    if not isinstance(multi, (bool, np.bool_)):
        raise TypeError(f"multi: expected True or False, got {multi!r}")
    if multi and (not isinstance(sep, str) or not sep):
        raise ValueError(f"sep: expected a non-empty string, got {sep!r}")
    try:
        entries = list(values)
    except TypeError as exc:
        raise TypeError(f"values: expected a sequence, got {type(values).__name__}") from exc
    rows = [_tokens(v, bool(multi), sep) for v in entries]
    lengths = np.fromiter((len(r) for r in rows), dtype=np.int64, count=len(rows))
    flat = np.asarray([t for r in rows for t in r], dtype=str)
    if vocabulary is None:
        vocab = np.unique(flat)
    else:
        if isinstance(vocabulary, (str, bytes)):
            raise TypeError(
                "vocabulary: expected a sequence of category strings, got a single string"
            )
        vocab = np.asarray([str(v) for v in vocabulary], dtype=str)
        if np.unique(vocab).size != vocab.size:
            raise ValueError("vocabulary: categories must be distinct")
    if vocab.size == 0:
        vocab = np.asarray([], dtype=str)
    order = np.argsort(vocab, kind="stable")
    sorted_vocab = vocab[order]
    pos = np.searchsorted(sorted_vocab, flat) if flat.size else np.zeros(0, np.int64)
    pos = np.minimum(pos, max(sorted_vocab.size - 1, 0))
    known = sorted_vocab[pos] == flat if sorted_vocab.size else np.zeros(flat.size, bool)
    cols = order[pos[known]] if sorted_vocab.size else pos[known]
    row_ids = np.repeat(np.arange(len(rows)), lengths)[known]
    m = sp.csr_matrix(
        (np.ones(cols.size, np.float32), (row_ids, cols)),
        shape=(len(rows), vocab.size),
        dtype=np.float32,
    )
    m.sum_duplicates()
    m.data[:] = 1.0
    return m, vocab
