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

# ---------------------------------------------------------------- mf (BiasedMF, EASE, PureSVD)

# ---------------------------------------------------------------- similarity

# ---------------------------------------------------------------- search

# ---------------------------------------------------------------- bandits

# ---------------------------------------------------------------- ope
