"""Type stubs for the private native module reelrec._core.

Sections are kept per area (one binding file each) so they can grow independently.
"""

from typing import Optional

import numpy as np
import numpy.typing as npt

__version__: str

def openmp_enabled() -> bool: ...
def max_threads() -> int: ...

# ---------------------------------------------------------------- topk
def topk_dot(
    queries: npt.NDArray[np.float32],
    items: npt.NDArray[np.float32],
    item_bias: Optional[npt.NDArray[np.float32]],
    k: int,
    allow: Optional[npt.NDArray[np.uint8]],
    deny: Optional[npt.NDArray[np.uint8]],
    seen_indptr: Optional[npt.NDArray[np.int64]],
    seen_indices: Optional[npt.NDArray[np.int32]],
    num_threads: int,
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.float32]]: ...
def topk_dense(
    scores: npt.NDArray[np.float32],
    k: int,
    allow: Optional[npt.NDArray[np.uint8]],
    deny: Optional[npt.NDArray[np.uint8]],
    seen_indptr: Optional[npt.NDArray[np.int64]],
    seen_indices: Optional[npt.NDArray[np.int32]],
    num_threads: int,
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.float32]]: ...

# ---------------------------------------------------------------- metrics

# ---------------------------------------------------------------- factorization

# ---------------------------------------------------------------- mf (BiasedMF, EASE, PureSVD)

# ---------------------------------------------------------------- similarity
_I64 = npt.NDArray[np.int64]
_I32 = npt.NDArray[np.int32]
_F32 = npt.NDArray[np.float32]
_Csr = tuple[_I64, _I32, _F32]

def csr_transpose(indptr: _I64, indices: _I32, data: _F32, n_cols: int) -> _Csr: ...
def knn_prepare(
    indptr: _I64,
    indices: _I32,
    data: _F32,
    n_cols: int,
    vectors_are_rows: bool,
    weighting: str,
    bm25_k1: float,
    bm25_b: float,
    centering: str,
    binary: bool,
    num_threads: int,
) -> dict: ...
def knn_prepare_rows(
    indptr: _I64,
    indices: _I32,
    data: _F32,
    n_features: int,
    weighting: str,
    bm25_k1: float,
    bm25_b: float,
    centering: str,
    binary: bool,
    idf: _F32,
    avg_length: float,
    feature_mean: _F32,
    n_vectors: int,
    num_threads: int,
) -> tuple[_F32, _F32]: ...
def knn_neighbours(
    q_indptr: _I64,
    q_indices: _I32,
    q_data: _F32,
    b_indptr: _I64,
    b_indices: _I32,
    b_data: _F32,
    n_base: int,
    denominator: str,
    query_factor: _F32 | None,
    base_factor: _F32 | None,
    shrinkage: float,
    exclude: _I64 | None,
    k: int,
    num_threads: int,
) -> tuple[_I32, _F32]: ...
def topk_to_csr(ids: _I32, scores: _F32, num_threads: int) -> _Csr: ...
def knn_score_topk(
    h_indptr: _I64,
    h_indices: _I32,
    h_data: _F32,
    rows: _I64 | None,
    s_indptr: _I64,
    s_indices: _I32,
    s_data: _F32,
    n_items: int,
    normalize: bool,
    k: int,
    allow: npt.NDArray[np.uint8] | None,
    deny: npt.NDArray[np.uint8] | None,
    seen_indptr: _I64 | None,
    seen_indices: _I32 | None,
    num_threads: int,
) -> tuple[_I32, _F32]: ...
def csr_rows_topk(
    indptr: _I64,
    indices: _I32,
    data: _F32,
    n_cols: int,
    rows: _I64 | None,
    exclude: _I64 | None,
    k: int,
    num_threads: int,
) -> tuple[_I32, _F32]: ...
def knn_predict(
    s_indptr: _I64,
    s_indices: _I32,
    s_data: _F32,
    r_indptr: _I64,
    r_indices: _I32,
    r_data: _F32,
    targets: _I64,
    others: _I64,
    centred: bool,
    global_mean: float,
    target_bias: _F32 | None,
    other_bias: _F32 | None,
    clip_low: float,
    clip_high: float,
    num_threads: int,
) -> _F32: ...

class TermVocabulary:
    def __len__(self) -> int: ...
    def terms(self) -> list[str]: ...
    def subset(self, keep: npt.NDArray[np.uint8]) -> TermVocabulary: ...
    def index(self, term: str) -> int: ...

def text_count_fit(
    docs: list[str] | tuple[str, ...],
    lowercase: bool,
    min_token_chars: int,
    ngram_min: int,
    ngram_max: int,
    word_table: npt.NDArray[np.uint8] | None,
    min_df: int,
    max_df: float,
    max_features: int,
    num_threads: int,
) -> tuple[_Csr, TermVocabulary, _I64, int]: ...
def tfidf_values(
    indptr: _I64,
    indices: _I32,
    counts: _F32,
    n_terms: int,
    idf: npt.NDArray[np.float64] | None,
    sublinear: bool,
    norm: int,
    num_threads: int,
) -> _F32: ...
def text_count_transform(
    docs: list[str] | tuple[str, ...],
    vocabulary: TermVocabulary,
    lowercase: bool,
    min_token_chars: int,
    ngram_min: int,
    ngram_max: int,
    word_table: npt.NDArray[np.uint8] | None,
    num_threads: int,
) -> _Csr: ...

# ---------------------------------------------------------------- search

# ---------------------------------------------------------------- bandits

# ---------------------------------------------------------------- ope
