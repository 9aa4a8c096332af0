"""Splits: leak-free, same shape and ids, sized as documented, seeded, cold users/items reported."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from reelrec.data import (
    Interactions,
    Split,
    leave_last_n_out,
    random_split,
    temporal_split,
    user_split,
)


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    n = 6000
    users = rng.integers(0, 150, n)
    items = rng.zipf(1.6, n) % 400  # long tail: some items are rare, so cold items exist
    ts = rng.integers(0, 500, n).astype(float)  # ties on purpose
    return Interactions.from_arrays(
        [f"u{u}" for u in users],
        items,
        rng.random(n) + 0.1,
        ts,
        user_ids=[f"u{u}" for u in range(160)],
    )


def pairs(inter: Interactions) -> set[tuple[int, int]]:
    rows, cols, _, _ = inter.entries()
    return set(zip(rows.tolist(), cols.tolist()))


def check_partition(split: Split, data: Interactions, parts=("train", "test")):
    for name in ("train", "test", "fold_in"):
        part = getattr(split, name)
        if part is None:
            continue
        assert part.shape == data.shape
        assert part.user_ids is data.user_ids and part.item_ids is data.item_ids
        assert part.matrix.has_canonical_format
    sets = [pairs(getattr(split, p)) for p in parts]
    for i in range(len(sets)):
        for j in range(i + 1, len(sets)):
            assert not sets[i] & sets[j], f"{parts[i]} and {parts[j]} share pairs"
    if split.n_dropped == 0:
        assert set().union(*sets) == pairs(data)
        assert sum(len(s) for s in sets) == data.nnz


def reference_cold(split: Split, data: Interactions):
    """Cold users/items by explicit loops over the (undropped) test part."""
    history = split.fold_in if split.fold_in is not None else split.train
    test_users = np.flatnonzero(split.test.user_counts())
    cold_users = [u for u in test_users if history.user_counts()[u] == 0]
    cold_items = [
        i for i in np.flatnonzero(split.test.item_counts()) if split.train.item_counts()[i] == 0
    ]
    return cold_users, cold_items


def test_random_split_sizes_partition_and_determinism(data):
    split = random_split(data, 0.25, random_state=3)
    check_partition(split, data)
    counts = data.user_counts()
    expected = np.minimum(np.floor(0.25 * counts + 0.5), np.maximum(counts - 1, 0))
    np.testing.assert_array_equal(split.test.user_counts(), expected)
    assert split.n_cold_users == 0  # min_train_interactions=1 keeps every user warm
    again = random_split(data, 0.25, random_state=3)
    assert pairs(again.test) == pairs(split.test)
    other = random_split(data, 0.25, random_state=4)
    assert pairs(other.test) != pairs(split.test)
    train, test = split  # unpacking
    assert train is split.train and test is split.test
    assert split.summary()["test_nnz"] == split.test.nnz
    assert "random_split" in repr(split)


def test_random_split_keeps_weights_and_timestamps(data):
    split = random_split(data, 0.3, random_state=0)
    merged = split.train.matrix + split.test.matrix
    np.testing.assert_allclose(merged.toarray(), data.matrix.toarray())
    lookup = dict(zip(zip(*data.entries()[:2]), data.timestamps))
    rows, cols, _, ts = split.test.entries()
    assert all(lookup[(r, c)] == t for r, c, t in zip(rows, cols, ts))


def test_leave_last_n_out_time_order(data):
    split = leave_last_n_out(data, n=2, random_state=0)
    check_partition(split, data)
    counts = data.user_counts()
    np.testing.assert_array_equal(
        split.test.user_counts(), np.minimum(2, np.maximum(counts - 1, 0))
    )
    train_rows, _, _, train_ts = split.train.entries()
    test_rows, _, _, test_ts = split.test.entries()
    for user in np.flatnonzero(split.test.user_counts()):
        assert test_ts[test_rows == user].min() >= train_ts[train_rows == user].max()
    assert pairs(leave_last_n_out(data, n=2, random_state=0).test) == pairs(split.test)


def test_leave_last_n_out_reference_without_ties():
    rng = np.random.default_rng(2)
    users, items = rng.integers(0, 20, 300), rng.integers(0, 50, 300)
    data = Interactions.from_arrays(users, items, timestamps=rng.permutation(300).astype(float))
    split = leave_last_n_out(data, n=3, min_train_interactions=0)
    rows, cols, _, ts = data.entries()
    expected = set()
    for user in range(data.n_users):
        mine = np.flatnonzero(rows == user)
        expected |= {(user, int(cols[k])) for k in mine[np.argsort(ts[mine])][-3:]}
    assert pairs(split.test) == expected


def test_temporal_split_cut(data):
    split = temporal_split(data, quantile=0.8)
    check_partition(split, data)
    cut = split.params["cut"]
    assert cut == np.quantile(data.timestamps, 0.8)
    assert (split.test.timestamps >= cut).all() and (split.train.timestamps < cut).all()
    at = temporal_split(data, at=250)
    assert (at.test.timestamps >= 250).all() and (at.train.timestamps < 250).all()
    dated = Interactions.from_arrays(
        [1, 2], [1, 2], timestamps=np.array(["2024-01-01", "2024-02-01"], "datetime64[D]")
    )
    by_date = temporal_split(dated, at=np.datetime64("2024-01-15"))
    assert by_date.test.nnz == 1 and by_date.train.nnz == 1


def test_user_split_strong_generalisation(data):
    split = user_split(data, test_users=0.2, test_fraction=0.25, random_state=1)
    check_partition(split, data, parts=("train", "fold_in", "test"))
    held = split.test_users
    counts = data.user_counts()
    assert held.size == int(np.floor(0.2 * np.count_nonzero(counts >= 2) + 0.5))
    assert (split.train.user_counts()[held] == 0).all()
    others = np.setdiff1d(np.arange(data.n_users), held)
    assert (split.fold_in.user_counts()[others] == 0).all() and (
        split.test.user_counts()[others] == 0
    ).all()
    assert (split.test.user_counts()[held] >= 1).all() and (
        split.fold_in.user_counts()[held] >= 1
    ).all()
    np.testing.assert_array_equal(
        split.fold_in.user_counts()[held] + split.test.user_counts()[held], counts[held]
    )
    assert split.n_cold_users == 0
    exact = user_split(data, test_users=10, random_state=1, by_time=True)
    assert exact.test_users.size == 10
    rows_f, _, _, ts_f = exact.fold_in.entries()
    rows_t, _, _, ts_t = exact.test.entries()
    for user in exact.test_users:
        assert ts_t[rows_t == user].min() >= ts_f[rows_f == user].max()
    assert "fold_in_nnz" in repr(split) and split.summary()["n_test_users"] == held.size


def test_cold_reporting_matches_brute_force(data):
    for split in (
        random_split(data, 0.5, min_train_interactions=0, random_state=0),
        temporal_split(data, quantile=0.5),
        user_split(data, 0.3, random_state=0),
    ):
        ref = reference_cold(split, data)
        assert split.cold_users.tolist() == list(ref[0])
        assert split.cold_items.tolist() == list(ref[1])
        np.testing.assert_array_equal(split.cold_item_ids, data.item_ids[split.cold_items])
        np.testing.assert_array_equal(split.cold_user_ids, data.user_ids[split.cold_users])
    assert temporal_split(data, quantile=0.5).n_cold_items > 0


def test_drop_cold_removes_exactly_the_cold_pairs(data):
    kept = temporal_split(data, quantile=0.5)
    dropped = temporal_split(data, quantile=0.5, drop_cold=True)
    assert dropped.cold_items.tolist() == kept.cold_items.tolist()  # still reported
    assert dropped.n_dropped > 0
    assert dropped.test.nnz == kept.test.nnz - dropped.n_dropped
    rows, cols, _, _ = dropped.test.entries()
    assert not np.isin(cols, kept.cold_items).any() and not np.isin(rows, kept.cold_users).any()
    assert pairs(dropped.test) <= pairs(kept.test)
    assert f"dropped={dropped.n_dropped}" in repr(dropped)


def test_sparse_input_and_split_of_ml100k(ml100k_path):
    from reelrec.datasets import load_movielens

    ml = load_movielens(path=ml100k_path)
    split = leave_last_n_out(ml, n=1, random_state=0)
    check_partition(split, ml)
    assert split.test.nnz == ml.n_users
    matrix_split = random_split(ml.matrix, 0.2, random_state=0)
    assert matrix_split.train.shape == ml.shape


def test_bad_split_input(data):
    untimed = Interactions(sp.csr_matrix(np.eye(3, dtype=np.float32)))
    with pytest.raises(ValueError, match=r"test_fraction: expected a value in \(0, 1\), got 1.5"):
        random_split(data, 1.5)
    with pytest.raises(TypeError, match="test_fraction: expected a number"):
        random_split(data, "0.2")
    with pytest.raises(ValueError, match="min_train_interactions: expected an integer >= 0"):
        random_split(data, 0.2, min_train_interactions=-1)
    with pytest.raises(ValueError, match="n: expected an integer >= 1, got 0"):
        leave_last_n_out(data, n=0)
    with pytest.raises(ValueError, match="leave_last_n_out needs timestamps"):
        leave_last_n_out(untimed)
    with pytest.raises(ValueError, match="temporal_split needs timestamps"):
        temporal_split(untimed, at=1.0)
    with pytest.raises(ValueError, match="give exactly one of at="):
        temporal_split(data, at=1.0, quantile=0.5)
    with pytest.raises(ValueError, match="give exactly one of at="):
        temporal_split(data)
    with pytest.raises(TypeError, match="at: expected a number or a datetime64"):
        temporal_split(data, at="tomorrow")
    with pytest.raises(ValueError, match="quantile: expected a value in"):
        temporal_split(data, quantile=0.0)
    with pytest.raises(ValueError, match="test_users: asked for 1000 held-out users"):
        user_split(data, test_users=1000)
    with pytest.raises(ValueError, match=r"test_users: expected a value in \(0, 1\)"):
        user_split(data, test_users=1.5)
    with pytest.raises(
        ValueError, match="by_time: splitting held-out users by time needs timestamps"
    ):
        user_split(untimed, by_time=True)
    with pytest.raises(ValueError, match="no user has at least 2 interactions"):
        user_split(untimed)
    with pytest.raises(TypeError, match="data: expected reelrec.data.Interactions"):
        random_split(np.eye(3))
    with pytest.raises(ValueError, match="data: expected at least one interaction"):
        random_split(sp.csr_matrix((3, 3), dtype=np.float32))
    with pytest.raises(TypeError, match="drop_cold: expected a bool"):
        random_split(data, drop_cold="yes")
    with pytest.raises(TypeError, match="random_state: expected None, an int seed"):
        random_split(data, random_state="seed")
