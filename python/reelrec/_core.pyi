"""Type stubs for the private native module reelrec._core.

Sections are kept per area (one binding file each) so they can grow independently.
"""

import numpy as np
import numpy.typing as npt

__version__: str

def openmp_enabled() -> bool: ...
def max_threads() -> int: ...

# ---------------------------------------------------------------- topk
def topk_dot(
    queries: npt.NDArray[np.float32],
    items: npt.NDArray[np.float32],
    item_bias: npt.NDArray[np.float32] | None,
    k: int,
    allow: npt.NDArray[np.uint8] | None,
    deny: npt.NDArray[np.uint8] | None,
    seen_indptr: npt.NDArray[np.int64] | None,
    seen_indices: npt.NDArray[np.int32] | None,
    num_threads: int,
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.float32]]: ...
def topk_dense(
    scores: npt.NDArray[np.float32],
    k: int,
    allow: npt.NDArray[np.uint8] | None,
    deny: npt.NDArray[np.uint8] | None,
    seen_indptr: npt.NDArray[np.int64] | None,
    seen_indices: npt.NDArray[np.int32] | None,
    num_threads: int,
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.float32]]: ...

# ---------------------------------------------------------------- metrics
def ranking_metrics(
    recommended: npt.NDArray[np.int32],
    k: int,
    indptr: npt.NDArray[np.int64],
    indices: npt.NDArray[np.int32],
    data: npt.NDArray[np.float32],
    n_items: int,
    metrics: list[str],
    num_threads: int,
) -> dict[str, npt.NDArray[np.float64]]: ...

# ---------------------------------------------------------------- factorization
def factorization_isa(isa: int = 0) -> str: ...
def init_factors(
    n: int, d: int, seed: int, stream: int, scale: float, num_threads: int
) -> npt.NDArray[np.float32]: ...
def als_gram(
    factors: npt.NDArray[np.float32], weight: float, num_threads: int, isa: int = 0
) -> npt.NDArray[np.float32]: ...
def als_solve(
    indptr: npt.NDArray[np.int64],
    indices: npt.NDArray[np.int32],
    confidence: npt.NDArray[np.float32],
    other: npt.NDArray[np.float32],
    gram: npt.NDArray[np.float32],
    factors: npt.NDArray[np.float32],
    unobserved_weight: float,
    regularization: float,
    frequency_scaling: bool,
    solver: int,
    cg_steps: int,
    num_threads: int,
    isa: int = 0,
) -> None: ...
def als_loss(
    indptr: npt.NDArray[np.int64],
    indices: npt.NDArray[np.int32],
    confidence: npt.NDArray[np.float32],
    items: npt.NDArray[np.float32],
    item_counts: npt.NDArray[np.int64],
    gram: npt.NDArray[np.float32],
    users: npt.NDArray[np.float32],
    unobserved_weight: float,
    regularization: float,
    frequency_scaling: bool,
    num_threads: int,
) -> float: ...
def bpr_strata(n_users: int, n_items: int, nnz: int) -> int: ...
def bpr_epochs(
    indptr: npt.NDArray[np.int64],
    indices: npt.NDArray[np.int32],
    users: npt.NDArray[np.float32],
    items: npt.NDArray[np.float32],
    item_bias: npt.NDArray[np.float32],
    learning_rate: float,
    regularization: float,
    verify_negatives: bool,
    seed: int,
    first_epoch: int,
    n_epochs: int,
    buckets: npt.NDArray[np.int32],
    seen_filter: npt.NDArray[np.uint64] | None,
    num_threads: int,
    isa: int = 0,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64], npt.NDArray[np.float64]]: ...
def bpr_seen_filter(
    indptr: npt.NDArray[np.int64], indices: npt.NDArray[np.int32], n_items: int, num_threads: int
) -> npt.NDArray[np.uint64]: ...
def bpr_replay(
    users: npt.NDArray[np.float32],
    items: npt.NDArray[np.float32],
    item_bias: npt.NDArray[np.float32],
    u: npt.NDArray[np.int32],
    pos: npt.NDArray[np.int32],
    neg: npt.NDArray[np.int32],
    learning_rate: float,
    regularization: float,
    isa: int = 0,
) -> float: ...
def bpr_fold_in(
    indptr: npt.NDArray[np.int64],
    indices: npt.NDArray[np.int32],
    items: npt.NDArray[np.float32],
    item_bias: npt.NDArray[np.float32],
    learning_rate: float,
    regularization: float,
    verify_negatives: bool,
    seed: int,
    keys: npt.NDArray[np.int64],
    epochs: int,
    num_threads: int,
    isa: int = 0,
) -> npt.NDArray[np.float32]: ...

# ---------------------------------------------------------------- mf (BiasedMF, EASE, PureSVD)
def mf_dsgd_blocks(nnz: int) -> int: ...
def mf_fit_sgd(
    indptr: npt.NDArray[np.int64],
    indices: npt.NDArray[np.int32],
    data: npt.NDArray[np.float32],
    n_items: int,
    global_mean: float,
    user_factors: npt.NDArray[np.float32],
    item_factors: npt.NDArray[np.float32],
    user_bias: npt.NDArray[np.float32],
    item_bias: npt.NDArray[np.float32],
    implicit_factors: npt.NDArray[np.float32] | None,
    learning_rate: float,
    regularization: float,
    iterations: int,
    seed: int,
    num_threads: int,
) -> tuple[
    npt.NDArray[np.float32],
    npt.NDArray[np.float32],
    npt.NDArray[np.float32],
    npt.NDArray[np.float32],
    npt.NDArray[np.float32] | None,
]: ...
def mf_sgd_epoch(
    indptr: npt.NDArray[np.int64],
    indices: npt.NDArray[np.int32],
    data: npt.NDArray[np.float32],
    n_items: int,
    order: npt.NDArray[np.int64],
    global_mean: float,
    user_factors: npt.NDArray[np.float32],
    item_factors: npt.NDArray[np.float32],
    user_bias: npt.NDArray[np.float32],
    item_bias: npt.NDArray[np.float32],
    implicit_factors: npt.NDArray[np.float32] | None,
    learning_rate: float,
    regularization: float,
) -> tuple[
    npt.NDArray[np.float32],
    npt.NDArray[np.float32],
    npt.NDArray[np.float32],
    npt.NDArray[np.float32],
    npt.NDArray[np.float32] | None,
]: ...
def mf_fit_als(
    indptr: npt.NDArray[np.int64],
    indices: npt.NDArray[np.int32],
    data: npt.NDArray[np.float32],
    n_items: int,
    global_mean: float,
    user_factors: npt.NDArray[np.float32],
    item_factors: npt.NDArray[np.float32],
    user_bias: npt.NDArray[np.float32],
    item_bias: npt.NDArray[np.float32],
    regularization: float,
    iterations: int,
    num_threads: int,
) -> tuple[
    npt.NDArray[np.float32],
    npt.NDArray[np.float32],
    npt.NDArray[np.float32],
    npt.NDArray[np.float32],
    None,
]: ...
def mf_solve_rows(
    indptr: npt.NDArray[np.int64],
    indices: npt.NDArray[np.int32],
    data: npt.NDArray[np.float32],
    other: npt.NDArray[np.float32],
    other_bias: npt.NDArray[np.float32],
    global_mean: float,
    offsets: npt.NDArray[np.float32] | None,
    regularization: float,
    num_threads: int,
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]: ...
def mf_implicit_sums(
    indptr: npt.NDArray[np.int64],
    indices: npt.NDArray[np.int32],
    implicit_factors: npt.NDArray[np.float32],
    num_threads: int,
) -> npt.NDArray[np.float32]: ...
def mf_predict(
    user_vectors: npt.NDArray[np.float32],
    user_bias: npt.NDArray[np.float32],
    user_rows: npt.NDArray[np.int64],
    item_factors: npt.NDArray[np.float32],
    item_bias: npt.NDArray[np.float32],
    items: npt.NDArray[np.int64],
    global_mean: float,
    num_threads: int,
) -> npt.NDArray[np.float32]: ...
def mf_randomized_svd(
    indptr: npt.NDArray[np.int64],
    indices: npt.NDArray[np.int32],
    data: npt.NDArray[np.float32],
    n_cols: int,
    rank: int,
    oversampling: int,
    power_iterations: int,
    seed: int,
    compute_u: bool,
    num_threads: int,
) -> tuple[npt.NDArray[np.float64] | None, npt.NDArray[np.float64], npt.NDArray[np.float64]]: ...
def mf_orthonormalize(
    Y: npt.NDArray[np.float64], householder: bool, num_threads: int
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]: ...
def ease_gram(
    indptr: npt.NDArray[np.int64],
    indices: npt.NDArray[np.int32],
    data: npt.NDArray[np.float32],
    n_items: int,
    l2: float,
    num_threads: int,
) -> npt.NDArray[np.float64]: ...
def ease_weights(
    indptr: npt.NDArray[np.int64],
    indices: npt.NDArray[np.int32],
    data: npt.NDArray[np.float32],
    n_items: int,
    l2: float,
    num_threads: int,
) -> npt.NDArray[np.float32]: ...

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
def search_simd_level() -> str: ...
def search_eigen_gemm_nt(
    a: npt.NDArray[np.float32], b: npt.NDArray[np.float32]
) -> npt.NDArray[np.float32]: ...

class ExactIndex:
    def __init__(self, dim: int, metric: str) -> None: ...
    @property
    def dim(self) -> int: ...
    @property
    def metric(self) -> str: ...
    @property
    def simd(self) -> str: ...
    def size(self) -> int: ...
    def next_id(self) -> int: ...
    def contains(self, id: int) -> bool: ...
    def ids(self) -> npt.NDArray[np.int64]: ...
    def get_vectors(self, ids: npt.NDArray[np.int64]) -> npt.NDArray[np.float32]: ...
    def add(self, vectors: npt.NDArray[np.float32], ids: npt.NDArray[np.int64]) -> None: ...
    def remove(self, ids: npt.NDArray[np.int64]) -> None: ...
    def search(
        self,
        queries: npt.NDArray[np.float32],
        k: int,
        allow: npt.NDArray[np.int64] | None,
        deny: npt.NDArray[np.int64] | None,
        exclude_indptr: npt.NDArray[np.int64] | None,
        exclude_ids: npt.NDArray[np.int64] | None,
        num_threads: int,
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]: ...
    def save(self, path: str, num_threads: int) -> None: ...
    def to_bytes(self, num_threads: int) -> bytes: ...
    @staticmethod
    def load(path: str) -> tuple[ExactIndex, int]: ...
    @staticmethod
    def from_bytes(data: bytes) -> tuple[ExactIndex, int]: ...

class HnswIndex:
    def __init__(
        self,
        dim: int,
        metric: str,
        M: int,
        ef_construction: int,
        ef: int,
        max_elements: int,
        seed: int,
    ) -> None: ...
    @property
    def dim(self) -> int: ...
    @property
    def metric(self) -> str: ...
    @property
    def M(self) -> int: ...
    @property
    def ef_construction(self) -> int: ...
    @property
    def max_elements(self) -> int: ...
    @property
    def seed(self) -> int: ...
    @property
    def simd(self) -> str: ...
    ef: int
    def size(self) -> int: ...
    def n_deleted(self) -> int: ...
    def next_id(self) -> int: ...
    def max_level(self) -> int: ...
    def contains(self, id: int) -> bool: ...
    def ids(self) -> npt.NDArray[np.int64]: ...
    def get_vectors(self, ids: npt.NDArray[np.int64]) -> npt.NDArray[np.float32]: ...
    def add(
        self, vectors: npt.NDArray[np.float32], ids: npt.NDArray[np.int64], num_threads: int
    ) -> None: ...
    def remove(self, ids: npt.NDArray[np.int64]) -> None: ...
    def search(
        self,
        queries: npt.NDArray[np.float32],
        k: int,
        ef: int,
        allow: npt.NDArray[np.int64] | None,
        deny: npt.NDArray[np.int64] | None,
        exclude_indptr: npt.NDArray[np.int64] | None,
        exclude_ids: npt.NDArray[np.int64] | None,
        num_threads: int,
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]: ...
    def uses_exact(
        self,
        allow: npt.NDArray[np.int64] | None,
        deny: npt.NDArray[np.int64] | None,
        k: int,
        ef: int,
    ) -> bool: ...
    def save(self, path: str, random_state: int, num_threads: int) -> None: ...
    def to_bytes(self, random_state: int, num_threads: int) -> bytes: ...
    @staticmethod
    def load(path: str) -> tuple[HnswIndex, int, int]: ...
    @staticmethod
    def from_bytes(data: bytes) -> tuple[HnswIndex, int, int]: ...

# ---------------------------------------------------------------- bandits
def bandits_philox4x32(
    counter: npt.NDArray[np.uint32], key: npt.NDArray[np.uint32]
) -> npt.NDArray[np.uint32]: ...
def bandits_quadform_isa() -> str: ...
def bandits_draw(
    dist: str, n: int, seed: int, a: float = 1.0, b: float = 1.0
) -> npt.NDArray[np.float64]: ...
def bandits_thompson_draws(
    model: str,
    seed: int,
    first_request: int,
    r0: int,
    n: int,
    m: npt.NDArray[np.float64],
    w: npt.NDArray[np.float64],
    isa: str,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]] | None: ...
def bandits_thompson_isa() -> str: ...
def bandits_quadform(
    X: npt.NDArray[np.float64], S: npt.NDArray[np.float64], isa: str, single: bool = False
) -> npt.NDArray[np.float64] | None: ...
def bandits_quadform_factor(
    X: npt.NDArray[np.float64], L: npt.NDArray[np.float64], isa: str
) -> npt.NDArray[np.float64] | None: ...
def bandits_quadform_f32_error_factor(d: int) -> float: ...
def bandits_mc_wins(
    m: npt.NDArray[np.float64],
    w: npt.NDArray[np.float64],
    z: npt.NDArray[np.float32],
    pos: int,
    isa: str,
    filtered: bool,
) -> int | None: ...
def bandits_normal_argmax_probability(
    m: npt.NDArray[np.float64], w: npt.NDArray[np.float64], pos: int
) -> float: ...
def bandits_fma_peak_probe(single: bool, iterations: int) -> tuple[float, int]: ...
def bandits_ridge_gram(
    X: npt.NDArray[np.float64], r: npt.NDArray[np.float64], rows: npt.NDArray[np.int64], isa: str
) -> npt.NDArray[np.float64] | None: ...
def bandits_dense_isa() -> str: ...
def bandits_spd_inverse(
    A: npt.NDArray[np.float64], isa: str
) -> tuple[npt.NDArray[np.float64], bool] | None: ...
def bandits_spd_cholesky(
    A: npt.NDArray[np.float64], isa: str
) -> tuple[npt.NDArray[np.float64], bool] | None: ...
def bandits_block_means(
    X: npt.NDArray[np.float64], Mu: npt.NDArray[np.float64], isa: str
) -> npt.NDArray[np.float64] | None: ...
def bandits_gram(
    X: npt.NDArray[np.float64], isa: str, G: npt.NDArray[np.float64] | None = None
) -> npt.NDArray[np.float64] | None: ...
def bandits_ucb_screen(
    X: npt.NDArray[np.float64],
    N: npt.NDArray[np.float64],
    mu: npt.NDArray[np.float64],
    cw: npt.NDArray[np.float64],
    crel: float,
    emu: npt.NDArray[np.float64],
    scale: float,
    isa: str,
) -> tuple[npt.NDArray[np.float64], ...] | None: ...

class _BanditState:
    @property
    def n_slots(self) -> int: ...
    @property
    def n_active(self) -> int: ...
    @property
    def next_request(self) -> int: ...
    @property
    def n_updates(self) -> int: ...
    @property
    def seed(self) -> int: ...
    def active(self) -> npt.NDArray[np.bool_]: ...
    def pulls(self) -> npt.NDArray[np.int64]: ...
    def remove_arm(self, arm: int) -> None: ...
    def get_state(self) -> dict[str, np.ndarray]: ...
    def set_state(self, state: dict[str, np.ndarray]) -> None: ...
    def reset(self, seed: int) -> None: ...

class CountingBandit(_BanditState):
    def __init__(
        self, kind: int, n_arms: int, prior_a: float, prior_b: float, seed: int
    ) -> None: ...
    def add_arm(self, prior_a: float, prior_b: float) -> int: ...
    def update(self, arms: npt.NDArray[np.int64], rewards: npt.NDArray[np.float64]) -> None: ...
    def fit(
        self, arms: npt.NDArray[np.int64], rewards: npt.NDArray[np.float64], seed: int
    ) -> None: ...
    def values(
        self, alpha: float, noise_std: float
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]: ...
    def select(
        self,
        n_requests: int,
        k: int,
        available: npt.NDArray[np.uint8] | None,
        per_request: bool,
        epsilon: float,
        decay: float,
        alpha: float,
        temperature: float,
        noise_std: float,
        n_mc: int,
        new_arm_share: float,
        new_arm_pulls: int,
        num_threads: int,
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]: ...

class LinearBandit(_BanditState):
    def __init__(self, kind: int, n_arms: int, n_features: int, l2: float, seed: int) -> None: ...
    @property
    def n_features(self) -> int: ...
    @property
    def n_arm_features(self) -> int: ...
    def add_arm(
        self,
        prior: npt.NDArray[np.float64] | None,
        features: npt.NDArray[np.float64] | None,
        n_neighbors: int,
    ) -> int: ...
    def set_features(
        self, arms: npt.NDArray[np.int64], features: npt.NDArray[np.float64]
    ) -> None: ...
    def update(
        self,
        arms: npt.NDArray[np.int64],
        rewards: npt.NDArray[np.float64],
        contexts: npt.NDArray[np.float64],
        num_threads: int,
    ) -> None: ...
    def fit(
        self,
        arms: npt.NDArray[np.int64],
        rewards: npt.NDArray[np.float64],
        contexts: npt.NDArray[np.float64],
        seed: int,
        num_threads: int,
    ) -> None: ...
    def select(
        self,
        contexts: npt.NDArray[np.float64],
        k: int,
        available: npt.NDArray[np.uint8] | None,
        per_request: bool,
        rule: int,
        scale: float,
        n_mc: int,
        new_arm_share: float,
        new_arm_pulls: int,
        num_threads: int,
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]: ...

class HybridBandit(_BanditState):
    def __init__(
        self, n_arms: int, n_context: int, n_arm_features: int, l2: float, seed: int
    ) -> None: ...
    def add_arm(
        self,
        prior: npt.NDArray[np.float64] | None,
        features: npt.NDArray[np.float64] | None,
    ) -> int: ...
    def set_features(
        self, arms: npt.NDArray[np.int64], features: npt.NDArray[np.float64]
    ) -> None: ...
    def update(
        self,
        arms: npt.NDArray[np.int64],
        rewards: npt.NDArray[np.float64],
        contexts: npt.NDArray[np.float64],
    ) -> None: ...
    def fit(
        self,
        arms: npt.NDArray[np.int64],
        rewards: npt.NDArray[np.float64],
        contexts: npt.NDArray[np.float64],
        seed: int,
    ) -> None: ...
    def select(
        self,
        contexts: npt.NDArray[np.float64],
        k: int,
        available: npt.NDArray[np.uint8] | None,
        per_request: bool,
        alpha: float,
        direct: int,
        new_arm_share: float,
        new_arm_pulls: int,
        num_threads: int,
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]: ...

# ---------------------------------------------------------------- ope
def ope_round_terms(
    kind: int,
    target: npt.NDArray[np.float64],
    rewards: npt.NDArray[np.float64] | None,
    actions: npt.NDArray[np.int64] | None,
    propensities: npt.NDArray[np.float64] | None,
    positions: npt.NDArray[np.int64] | None,
    qhat: npt.NDArray[np.float64] | None,
    param: float,
    qpi: npt.NDArray[np.float64] | None,
    num_threads: int,
) -> tuple[
    npt.NDArray[np.float64],
    npt.NDArray[np.float64] | None,
    npt.NDArray[np.float64] | None,
    npt.NDArray[np.float64] | None,
]: ...
def ope_bootstrap(
    plain: npt.NDArray[np.float64],
    num: npt.NDArray[np.float64] | None,
    den: npt.NDArray[np.float64] | None,
    has_ratio: npt.NDArray[np.uint8] | None,
    n_boot: int,
    seed: int,
    method: int,
    num_threads: int,
) -> tuple[npt.NDArray[np.float64], int]: ...
def ope_multinomial_kernel() -> str: ...
def ope_fit_reward_model(
    contexts: npt.NDArray[np.float64],
    rewards: npt.NDArray[np.float64],
    actions: npt.NDArray[np.int64],
    positions: npt.NDArray[np.int64] | None,
    n_actions: int,
    n_positions: int,
    rows: npt.NDArray[np.int64],
    kind: int,
    l2: float,
    max_iter: int,
    tol: float,
    num_threads: int,
) -> tuple[npt.NDArray[np.float64], int]: ...
def ope_predict_reward_model(
    contexts: npt.NDArray[np.float64],
    rows: npt.NDArray[np.int64],
    coef: npt.NDArray[np.float64],
    n_actions: int,
    n_positions: int,
    kind: int,
    num_threads: int,
) -> npt.NDArray[np.float64]: ...
