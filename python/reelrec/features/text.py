"""TF-IDF text features with native tokenisation and counting.

Equal, term for term, to scikit-learn's ``TfidfVectorizer(analyzer="word")`` with
the same settings (tested), but tokenisation and n-gram counting run in C++ over
all cores (``cpp/similarity/text.hpp``); pruning and weighting are vectorised
NumPy over the count matrix.
"""

from __future__ import annotations

import functools
import numbers
import re
from typing import Any

import numpy as np
import scipy.sparse as sp

from .. import _core
from .._params import ParamsMixin
from .._validation import check_num_threads
from ..exceptions import NotFittedError

__all__ = ["TfidfFeaturizer"]

#: token patterns handled natively, and the minimum token length (code points) each implies
_PATTERNS = {r"(?u)\b\w\w+\b": 2, r"\b\w\w+\b": 2, r"(?u)\b\w+\b": 1, r"\b\w+\b": 1}


@functools.lru_cache(maxsize=1)
def _word_table() -> np.ndarray:
    """0x110000 flags: which code points Python's ``re`` treats as ``\\w`` (built once)."""
    cps = np.concatenate([np.arange(0x80, 0xD800), np.arange(0xE000, 0x110000)]).astype("<u4")
    text = cps.tobytes().decode("utf-32-le")
    marked = np.frombuffer(re.sub(r"\w", "\x01", text).encode("utf-32-le"), dtype="<u4")
    table = np.zeros(0x110000, np.uint8)
    table[cps[marked == 1]] = 1
    return table


def _documents(raw_documents: Any) -> tuple[list, bool]:
    """The documents as a list, and whether they are all ASCII."""
    if isinstance(raw_documents, (str, bytes)):
        raise ValueError(
            "raw_documents: expected an iterable of str documents, got a single "
            f"{type(raw_documents).__name__}; wrap it in a list"
        )
    try:
        docs = list(raw_documents)
    except TypeError as exc:
        raise TypeError(
            f"raw_documents: expected an iterable of str documents, got {type(raw_documents).__name__}"
        ) from exc
    try:
        ascii_only = "".join(docs).isascii()
    except TypeError as exc:
        bad = next(d for d in docs if not isinstance(d, str))
        raise TypeError(
            f"raw_documents: expected str documents, got {type(bad).__name__} {bad!r:.60}"
        ) from exc
    return docs, ascii_only


class TfidfFeaturizer(ParamsMixin):
    """TF-IDF features of short texts (titles, descriptions, tags).

    Parameters
    ----------
    ngram_range : (int, int)
        Word n-gram lengths ``(min_n, max_n)``.
    min_df, max_df : int or float
        Drop terms in fewer than ``min_df`` / more than ``max_df`` documents
        (floats are proportions of the documents), as scikit-learn.
    max_features : int, optional
        Keep the terms with the largest total counts; ties keep the term that
        sorts first (scikit-learn leaves ties unspecified).
    sublinear_tf : bool
        Use ``1 + log(tf)`` instead of raw counts.
    norm : {"l2", "l1", None}
        Row normalisation.
    lowercase : bool
        Lowercase before tokenising (Python's ``str.lower`` semantics).
    token_pattern : str
        ``r"(?u)\\b\\w\\w+\\b"`` (words of 2+ characters, the default) or
        ``r"(?u)\\b\\w+\\b"`` (all words); ``\\w`` is Python's definition.
    use_idf, smooth_idf : bool
        As scikit-learn: ``idf = ln((1 + n) / (1 + df)) + 1`` when smoothing,
        ``ln(n / df) + 1`` otherwise.
    num_threads : int
        Threads for tokenising and counting (0 = all cores). Output does not
        depend on it.

    Attributes
    ----------
    vocabulary_ : dict
        Term -> column, columns in sorted term order.
    idf_ : ndarray of float64
        Inverse document frequency per column.
    """

    def __init__(
        self,
        ngram_range: tuple[int, int] = (1, 2),
        min_df: float = 1,
        max_df: float = 1.0,
        max_features: int | None = None,
        sublinear_tf: bool = False,
        norm: str | None = "l2",
        lowercase: bool = True,
        token_pattern: str = r"(?u)\b\w\w+\b",
        use_idf: bool = True,
        smooth_idf: bool = True,
        num_threads: int = 0,
    ):
        self.ngram_range = ngram_range
        self.min_df = min_df
        self.max_df = max_df
        self.max_features = max_features
        self.sublinear_tf = sublinear_tf
        self.norm = norm
        self.lowercase = lowercase
        self.token_pattern = token_pattern
        self.use_idf = use_idf
        self.smooth_idf = smooth_idf
        self.num_threads = num_threads

    # ------------------------------------------------------------ validation
    def _analyzer_args(self) -> dict[str, Any]:
        nr = self.ngram_range
        if (
            not isinstance(nr, (tuple, list))
            or len(nr) != 2
            or not all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in nr)
            or not 1 <= nr[0] <= nr[1]
        ):
            raise ValueError(
                f"ngram_range: expected (min_n, max_n) with 1 <= min_n <= max_n, got {nr!r}"
            )
        if self.token_pattern not in _PATTERNS:
            raise ValueError(
                f"token_pattern: only the word patterns {sorted(_PATTERNS)} are implemented natively, "
                f"got {self.token_pattern!r}"
            )
        for name in ("lowercase", "sublinear_tf", "use_idf", "smooth_idf"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise TypeError(f"{name}: expected True or False, got {getattr(self, name)!r}")
        if self.norm not in ("l2", "l1", None):
            raise ValueError(f"norm: expected 'l2', 'l1' or None, got {self.norm!r}")
        return {
            "lowercase": bool(self.lowercase),
            "min_token_chars": _PATTERNS[self.token_pattern],
            "ngram_min": int(nr[0]),
            "ngram_max": int(nr[1]),
            "num_threads": check_num_threads(self.num_threads),
        }

    @staticmethod
    def _check_df(value: Any, name: str) -> float:
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(
                f"{name}: expected an int (documents) or a float in [0, 1], got {value!r}"
            )
        if isinstance(value, numbers.Integral):
            if value < 0:
                raise ValueError(f"{name}: expected a non-negative document count, got {value}")
        elif not 0.0 <= value <= 1.0:
            raise ValueError(f"{name}: expected a proportion in [0, 1], got {value}")
        return value

    def _prepare_documents(self, raw_documents: Any) -> tuple[list, np.ndarray | None]:
        docs, ascii_only = _documents(raw_documents)
        if self.lowercase and not ascii_only:
            docs = [
                d.lower() for d in docs
            ]  # str.lower has context rules (final sigma); keep Python's
        return docs, None if ascii_only else _word_table()

    @staticmethod
    def _csr(parts: Any, shape: tuple[int, int]) -> sp.csr_matrix:
        indptr, indices, data = parts
        counts = sp.csr_matrix((data, indices, indptr), shape=shape)
        counts.has_sorted_indices = True
        return counts

    # ------------------------------------------------------------------ API
    def fit(self, raw_documents: Any, y: Any = None) -> TfidfFeaturizer:
        """Learn the vocabulary and idf of ``raw_documents`` (an iterable of str)."""
        self._fit_counts(raw_documents)
        return self

    def fit_transform(self, raw_documents: Any, y: Any = None) -> sp.csr_matrix:
        """Fit and return the documents' TF-IDF matrix (CSR float32, documents x terms)."""
        return self._weigh(self._fit_counts(raw_documents))

    def transform(self, raw_documents: Any) -> sp.csr_matrix:
        """TF-IDF matrix of new documents; unknown terms are ignored."""
        if not hasattr(self, "_vocabulary"):
            raise NotFittedError(
                "This TfidfFeaturizer is not fitted yet: call fit(raw_documents) first"
            )
        args = self._analyzer_args()
        docs, word_table = self._prepare_documents(raw_documents)
        parts = _core.text_count_transform(docs, self._vocabulary, word_table=word_table, **args)
        return self._weigh(self._csr(parts, (len(docs), len(self._vocabulary))))

    def get_feature_names_out(self) -> np.ndarray:
        """Terms in column order (object array, as scikit-learn)."""
        if not hasattr(self, "_vocabulary"):
            raise NotFittedError(
                "This TfidfFeaturizer is not fitted yet: call fit(raw_documents) first"
            )
        return np.asarray(self._vocabulary.terms(), dtype=object)

    @property
    def vocabulary_(self) -> dict[str, int]:
        if not hasattr(self, "_vocabulary"):
            raise AttributeError("vocabulary_: the featurizer is not fitted")
        if self._vocabulary_dict is None:
            self._vocabulary_dict = {t: i for i, t in enumerate(self._vocabulary.terms())}
        return self._vocabulary_dict

    # ------------------------------------------------------------ internals
    def _fit_counts(self, raw_documents: Any) -> sp.csr_matrix:
        min_df = self._check_df(self.min_df, "min_df")
        max_df = self._check_df(self.max_df, "max_df")
        if self.max_features is not None and (
            isinstance(self.max_features, bool)
            or not isinstance(self.max_features, numbers.Integral)
            or self.max_features <= 0
        ):
            raise ValueError(
                f"max_features: expected a positive int or None, got {self.max_features!r}"
            )
        args = self._analyzer_args()
        docs, word_table = self._prepare_documents(raw_documents)
        n_docs = len(docs)
        max_doc = max_df if isinstance(max_df, numbers.Integral) else max_df * n_docs
        min_doc = min_df if isinstance(min_df, numbers.Integral) else min_df * n_docs
        if max_doc < min_doc:
            raise ValueError(
                f"max_df, min_df: max_df={self.max_df!r} corresponds to fewer documents than min_df={self.min_df!r}"
            )
        parts, vocabulary, df, n_seen = _core.text_count_fit(
            docs,
            word_table=word_table,
            min_df=int(np.ceil(min_doc)),
            max_df=float(max_doc),
            max_features=-1 if self.max_features is None else int(self.max_features),
            **args,
        )
        if n_seen == 0:
            raise ValueError("raw_documents: empty vocabulary; the documents contain no tokens")
        if len(vocabulary) == 0:
            raise ValueError(
                "min_df, max_df: after pruning, no terms remain; lower min_df or raise max_df"
            )
        counts = self._csr(parts, (n_docs, len(vocabulary)))
        df = df.astype(np.float64)
        n = float(n_docs)
        if self.smooth_idf:
            self.idf_ = np.log((1.0 + n) / (1.0 + df)) + 1.0
        else:
            self.idf_ = np.log(n / df) + 1.0
        self._vocabulary = vocabulary
        self._vocabulary_dict = None
        return counts

    def _weigh(self, counts: sp.csr_matrix) -> sp.csr_matrix:
        indptr = counts.indptr.astype(np.int64, copy=False)
        indices = counts.indices.astype(np.int32, copy=False)
        data = _core.tfidf_values(
            indptr,
            indices,
            counts.data.astype(np.float32, copy=False),
            counts.shape[1],
            self.idf_ if self.use_idf else None,
            bool(self.sublinear_tf),
            {None: 0, "l1": 1, "l2": 2}[self.norm],
            check_num_threads(self.num_threads),
        )
        out = sp.csr_matrix((data, indices, indptr), shape=counts.shape)
        out.has_sorted_indices = True
        return out
