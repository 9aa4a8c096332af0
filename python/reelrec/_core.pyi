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
def bpr_layout(
    indptr: npt.NDArray[np.int64],
    indices: npt.NDArray[np.int32],
    n_items: int,
    seed: int,
    num_threads: int,
) -> tuple: ...
def bpr_epoch(
    indptr: npt.NDArray[np.int64],
    indices: npt.NDArray[np.int32],
    users: npt.NDArray[np.float32],
    items: npt.NDArray[np.float32],
    item_bias: npt.NDArray[np.float32],
    learning_rate: float,
    regularization: float,
    verify_negatives: bool,
    seed: int,
    epoch: int,
    layout: tuple,
    seen_filter: npt.NDArray[np.uint64] | None,
    num_threads: int,
    isa: int = 0,
) -> tuple[float, int, int]: ...
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

# ---------------------------------------------------------------- search

# ---------------------------------------------------------------- bandits

# ---------------------------------------------------------------- ope
