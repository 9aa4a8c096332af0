"""Shared fixtures."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("REELREC_SHARED_DATA", REPO.parent / "shared" / "data"))


def random_user_items(
    n_users=40, n_items=60, density=0.15, seed=0, empty_users=(3,), empty_items=(5,)
):
    """Small users x items float32 CSR with some empty rows and columns."""
    rng = np.random.default_rng(seed)
    dense = (rng.random((n_users, n_items)) < density) * rng.integers(1, 5, (n_users, n_items))
    dense[list(empty_users), :] = 0
    dense[:, list(empty_items)] = 0
    return sp.csr_matrix(dense.astype(np.float32))


def block_user_items(n_blocks=3, users_per_block=6, items_per_block=5, holdout=True):
    """A block-diagonal (checkerboard-like) matrix: users only like their block's items.

    Returns ``(train, test)`` where test holds one unseen in-block item per user,
    so any reasonable personalised model reaches precision@1 = 1.
    """
    n_users = n_blocks * users_per_block
    n_items = n_blocks * items_per_block
    train = np.zeros((n_users, n_items), np.float32)
    test = np.zeros_like(train)
    for u in range(n_users):
        b = u // users_per_block
        items = np.arange(b * items_per_block, (b + 1) * items_per_block)
        held = items[u % items_per_block]
        train[u, items] = 1
        if holdout:
            train[u, held] = 0
            test[u, held] = 1
    return sp.csr_matrix(train), sp.csr_matrix(test)


@pytest.fixture
def user_items():
    return random_user_items()


@pytest.fixture
def ml100k_path():
    path = SHARED_DATA / "ml-100k"
    if not (path / "u.data").exists():
        pytest.skip(f"MovieLens 100K not found at {path} (set REELREC_SHARED_DATA)")
    return path


@pytest.fixture
def obd_path():
    path = SHARED_DATA / "open-bandit-dataset"
    if not path.exists():
        pytest.skip(f"Open Bandit Dataset sample not found at {path} (set REELREC_SHARED_DATA)")
    return path
