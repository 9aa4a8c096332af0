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

# ---------------------------------------------------------------- search

# ---------------------------------------------------------------- bandits

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
