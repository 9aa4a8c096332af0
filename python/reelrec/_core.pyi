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
def bandits_philox4x32(counter: npt.NDArray[np.uint32], key: npt.NDArray[np.uint32]) -> npt.NDArray[np.uint32]: ...
def bandits_quadform_isa() -> str: ...
def bandits_draw(dist: str, n: int, seed: int, a: float = 1.0, b: float = 1.0) -> npt.NDArray[np.float64]: ...
def bandits_quadform(
    X: npt.NDArray[np.float64], S: npt.NDArray[np.float64], isa: str, single: bool = False
) -> npt.NDArray[np.float64] | None: ...
def bandits_quadform_f32_error_factor(d: int) -> float: ...
def bandits_gram(X: npt.NDArray[np.float64], isa: str) -> npt.NDArray[np.float64] | None: ...

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
    def __init__(self, kind: int, n_arms: int, prior_a: float, prior_b: float, seed: int) -> None: ...
    def add_arm(self, prior_a: float, prior_b: float) -> int: ...
    def update(self, arms: npt.NDArray[np.int64], rewards: npt.NDArray[np.float64]) -> None: ...
    def fit(self, arms: npt.NDArray[np.int64], rewards: npt.NDArray[np.float64], seed: int) -> None: ...
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
    def set_features(self, arms: npt.NDArray[np.int64], features: npt.NDArray[np.float64]) -> None: ...
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
    def __init__(self, n_arms: int, n_context: int, n_arm_features: int, l2: float, seed: int) -> None: ...
    def add_arm(
        self,
        prior: npt.NDArray[np.float64] | None,
        features: npt.NDArray[np.float64] | None,
        n_context: int,
        n_arm_features: int,
    ) -> int: ...
    def set_features(
        self, arms: npt.NDArray[np.int64], features: npt.NDArray[np.float64], n_arm_features: int
    ) -> None: ...
    def update(
        self,
        arms: npt.NDArray[np.int64],
        rewards: npt.NDArray[np.float64],
        contexts: npt.NDArray[np.float64],
        n_context: int,
    ) -> None: ...
    def fit(
        self,
        arms: npt.NDArray[np.int64],
        rewards: npt.NDArray[np.float64],
        contexts: npt.NDArray[np.float64],
        n_context: int,
        seed: int,
    ) -> None: ...
    def select(
        self,
        contexts: npt.NDArray[np.float64],
        n_context: int,
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
