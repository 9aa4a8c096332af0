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
    buckets: npt.NDArray[np.int32],
    num_threads: int,
    isa: int = 0,
) -> tuple[float, int, int]: ...
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

# ---------------------------------------------------------------- similarity

# ---------------------------------------------------------------- search

# ---------------------------------------------------------------- bandits

# ---------------------------------------------------------------- ope
