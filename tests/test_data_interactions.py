"""Interactions: builders, aggregation, id maps, metadata, subsets, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from reelrec import Popularity
from reelrec.data import Interactions
from reelrec.data._ids import factorize


def reference_aggregate(users, items, weights, timestamps, how):
    """Pure-Python reference: {(u, i): (weight, latest timestamp)}."""
    out = {}
    for row, key in enumerate(zip(users, items)):
        w = 1.0 if weights is None else float(weights[row])
        t = None if timestamps is None else float(timestamps[row])
        if key not in out:
            out[key] = (w, t)
            continue
        old_w, old_t = out[key]
        if how == "sum":
            new_w = old_w + w
        elif how == "max":
            new_w = max(old_w, w)
        else:  # last: latest timestamp, ties and no timestamps -> later row
            new_w = w if (t is None or t >= old_t) else old_w
        out[key] = (new_w, None if t is None else max(old_t, t))
    return out


def as_dict(data: Interactions):
    rows, cols, w, ts = data.entries()
    return {
        (data.user_ids[r].item(), data.item_ids[c].item()): (
            float(w[k]),
            None if ts is None else float(ts[k]),
        )
        for k, (r, c) in enumerate(zip(rows, cols))
    }


# ------------------------------------------------------------------- builders
def test_from_arrays_string_ids_sorted_and_canonical():
    data = Interactions.from_arrays(["bob", "ann", "bob"], ["v2", "v1", "v1"], [1.0, 2.0, 3.0])
    assert data.user_ids.tolist() == ["ann", "bob"]
    assert data.item_ids.tolist() == ["v1", "v2"]
    np.testing.assert_array_equal(data.matrix.toarray(), [[2, 0], [3, 1]])
    assert data.matrix.dtype == np.float32 and data.matrix.format == "csr"
    assert data.matrix.has_canonical_format
    assert data.timestamps is None
    assert (data.n_users, data.n_items, data.nnz, data.shape) == (2, 2, 3, (2, 2))
    assert "n_users=2" in repr(data) and "nnz=3" in repr(data)


@pytest.mark.parametrize("how", ["sum", "max", "last"])
@pytest.mark.parametrize("with_time", [False, True])
def test_aggregation_matches_reference(how, with_time):
    rng = np.random.default_rng(7)
    n = 3000
    users = rng.integers(0, 40, n)
    items = rng.integers(0, 30, n)
    weights = rng.integers(1, 6, n).astype(float)
    timestamps = rng.integers(0, 20, n).astype(float) if with_time else None  # many ties
    data = Interactions.from_arrays(users, items, weights, timestamps, aggregate=how)
    expected = reference_aggregate(users.tolist(), items.tolist(), weights, timestamps, how)
    got = as_dict(data)
    assert got.keys() == expected.keys()
    for key, (w, t) in expected.items():
        assert got[key][0] == pytest.approx(w, rel=1e-6)
        assert got[key][1] == t
    assert data.matrix.has_canonical_format


def test_sum_matches_scipy_reference_on_wide_keys():
    # random order over > 2**32 possible pairs: the two-pass counting sort path
    rng = np.random.default_rng(1)
    n = 200_000
    users = rng.integers(0, 300_000, n)
    items = rng.integers(0, 70_000, n)
    weights = rng.random(n)
    data = Interactions.from_arrays(users, items, weights)
    u_codes = np.searchsorted(data.user_ids, users)
    i_codes = np.searchsorted(data.item_ids, items)
    ref = sp.coo_matrix((weights, (u_codes, i_codes)), shape=data.shape).tocsr()
    ref.sum_duplicates()
    np.testing.assert_array_equal(data.matrix.indptr, ref.indptr)
    np.testing.assert_array_equal(data.matrix.indices, ref.indices)
    np.testing.assert_allclose(data.matrix.data, ref.data.astype(np.float32), rtol=1e-6)


def test_factorize_paths():
    codes, uniques = factorize(np.array([30, 10, 30, 20]), "x")  # dense integer range
    assert uniques.tolist() == [10, 20, 30] and codes.tolist() == [2, 0, 2, 1]
    codes, uniques = factorize(np.array([2**40, 5, 2**40]), "x")  # sparse range: sort path
    assert uniques.tolist() == [5, 2**40] and codes.tolist() == [1, 0, 1]
    mixed = np.array([1, "a", 1, ("t", 2)], dtype=object)
    codes, uniques = factorize(mixed, "x")
    assert [uniques[c] for c in codes] == list(mixed)


def test_from_arrays_timestamps_keep_latest_and_datetimes():
    ts = np.array(
        ["2024-01-01T00:00:00", "2024-01-02T00:00:00", "2024-01-01T00:00:10"], dtype="datetime64[s]"
    )
    data = Interactions.from_arrays([1, 1, 2], [5, 5, 5], timestamps=ts)
    np.testing.assert_array_equal(data.matrix.toarray(), [[2], [1]])
    assert data.timestamps.dtype == np.float64
    np.testing.assert_allclose(data.timestamps, [1704153600.0, 1704067210.0])


def test_from_arrays_fixed_universe_keeps_empty_rows_and_rejects_unknown():
    data = Interactions.from_arrays(["b"], ["x"], user_ids=["a", "b", "c"], item_ids=["x", "y"])
    assert data.shape == (3, 2)
    assert data.user_ids.tolist() == ["a", "b", "c"]
    np.testing.assert_array_equal(data.user_counts(), [0, 1, 0])
    with pytest.raises(KeyError, match="unknown user ids: 'zz'"):
        Interactions.from_arrays(["zz"], ["x"], user_ids=["a"], item_ids=["x"])
    with pytest.raises(ValueError, match="user_ids: ids must be unique"):
        Interactions.from_arrays(["a"], ["x"], user_ids=["a", "a"], item_ids=["x"])
    empty = Interactions.from_arrays([], [], user_ids=[1, 2], item_ids=[3])
    assert empty.shape == (2, 1) and empty.nnz == 0


def test_from_frame_columns_events_and_datetimes():
    df = pd.DataFrame(
        {
            "uid": ["u1", "u2", "u1", "u1"],
            "vid": [10, 10, 11, 10],
            "w": [1.0, 2.0, 3.0, 4.0],
            "kind": ["view", "like", "view", "like"],
            "when": pd.to_datetime(
                ["2024-01-01", "2024-01-03", "2024-01-02", "2024-01-04"], utc=True
            ),
        }
    )
    data = Interactions.from_frame(
        df,
        "uid",
        "vid",
        weight_col="w",
        timestamp_col="when",
        event_col="kind",
        event_weights={"view": 1, "like": 3},
    )
    assert data.user_ids.tolist() == ["u1", "u2"] and data.item_ids.tolist() == [10, 11]
    # u1/10: view 1*1 + like 4*3 = 13; u2/10: like 2*3 = 6; u1/11: 3
    np.testing.assert_array_equal(data.matrix.toarray(), [[13, 3], [6, 0]])
    assert data.timestamps[0] == pd.Timestamp("2024-01-04", tz="UTC").timestamp()
    with pytest.raises(ValueError, match=r"no weight for event types \['like'\]"):
        Interactions.from_frame(df, "uid", "vid", event_col="kind", event_weights={"view": 1})
    with pytest.raises(ValueError, match="event_weights: event_col='kind' needs a mapping"):
        Interactions.from_frame(df, "uid", "vid", event_col="kind")
    with pytest.raises(KeyError, match="no column 'user'"):
        Interactions.from_frame(df)


@pytest.mark.parametrize(
    "column",
    [
        pd.array([1, None, 3], dtype="Int64"),
        pd.array(["a", None, "c"], dtype="string"),
        pd.Categorical(["a", None, "c"]),
        np.array(["a", np.nan, "c"], dtype=object),
    ],
)
def test_from_frame_missing_ids_of_any_pandas_dtype(column):
    df = pd.DataFrame({"user": column, "item": [1, 2, 3]})
    with pytest.raises(
        ValueError,
        match=r"df\['user'\]: ids must not be missing \(None/NaN\); found 1 at positions \[1\]",
    ):
        Interactions.from_frame(df)


def test_from_frame_accepts_mapping_and_categorical():
    data = Interactions.from_frame({"user": [3, 1], "item": ["a", "b"]})
    assert data.user_ids.tolist() == [1, 3]
    df = pd.DataFrame({"user": pd.Categorical(["x", "y", "x"]), "item": [1, 2, 2]})
    assert Interactions.from_frame(df).shape == (2, 2)


def test_to_frame_round_trip():
    rng = np.random.default_rng(0)
    df = pd.DataFrame(
        {
            "user": rng.integers(0, 20, 300),
            "item": rng.integers(0, 15, 300),
            "weight": rng.random(300),
            "timestamp": rng.random(300),
        }
    )
    data = Interactions.from_frame(
        df, weight_col="weight", timestamp_col="timestamp", aggregate="max"
    )
    again = Interactions.from_frame(data.to_frame(), weight_col="weight", timestamp_col="timestamp")
    np.testing.assert_array_equal(again.matrix.toarray(), data.matrix.toarray())
    np.testing.assert_array_equal(again.timestamps, data.timestamps)


# --------------------------------------------------------------- constructor
def test_constructor_keeps_canonical_matrix_and_legacy_signature():
    X = sp.csr_matrix(np.array([[1, 0], [0, 2]], np.float32))
    ts = np.array([5.0, 6.0])
    data = Interactions(X, timestamps=ts)
    assert data.matrix is X
    np.testing.assert_array_equal(data.user_ids, [0, 1])
    np.testing.assert_array_equal(data.timestamps, ts)


def test_constructor_canonicalises_duplicates_with_aligned_timestamps():
    coo = sp.coo_matrix(
        (np.array([1.0, 2.0, 5.0]), (np.array([0, 0, 1]), np.array([1, 1, 0]))), shape=(2, 2)
    )
    data = Interactions(coo, timestamps=[10, 30, 20])
    np.testing.assert_array_equal(data.matrix.toarray(), [[0, 3], [5, 0]])
    np.testing.assert_array_equal(data.timestamps, [30.0, 20.0])
    assert Interactions.from_sparse(coo.tocsc(), ["a", "b"], ["x", "y"]).user_index("b") == 1


def test_constructor_bad_input():
    X = sp.csr_matrix(np.eye(2, dtype=np.float32))
    with pytest.raises(TypeError, match="matrix: expected a users x items scipy.sparse matrix"):
        Interactions(np.eye(2))
    with pytest.raises(ValueError, match="user_ids: expected 2 values"):
        Interactions(X, user_ids=[1, 2, 3])
    with pytest.raises(ValueError, match="item_ids: ids must be unique"):
        Interactions(X, item_ids=["a", "a"])
    with pytest.raises(ValueError, match="timestamps: expected 2 values"):
        Interactions(X, timestamps=[1.0])
    with pytest.raises(ValueError, match="timestamps: timestamps must be finite"):
        Interactions(X, timestamps=[1.0, np.nan])
    bad = X.copy()
    bad.data[0] = np.nan
    with pytest.raises(ValueError, match="matrix: contains NaN"):
        Interactions(bad)
    with pytest.raises(ValueError, match="timestamps need a CSR or COO matrix"):
        Interactions(X.tocsc(), timestamps=[1.0, 2.0])
    with pytest.raises(TypeError, match="matrix: expected real numeric values"):
        Interactions(sp.csr_matrix(np.eye(2, dtype=np.complex64)))


# ----------------------------------------------------------------- bad input
def test_from_arrays_bad_input():
    with pytest.raises(ValueError, match="items: expected 2 values"):
        Interactions.from_arrays([1, 2], [1])
    with pytest.raises(ValueError, match="weights: expected 2 values"):
        Interactions.from_arrays([1, 2], [1, 2], [1.0])
    with pytest.raises(
        ValueError, match="weights: weights must be finite; 1 NaN/inf values, first at row 1"
    ):
        Interactions.from_arrays([1, 2], [1, 2], [1.0, np.nan])
    with pytest.raises(TypeError, match="weights: expected numeric weights"):
        Interactions.from_arrays([1, 2], [1, 2], ["a", "b"])
    with pytest.raises(ValueError, match="timestamps: timestamps must be finite"):
        Interactions.from_arrays([1, 2], [1, 2], timestamps=[0.0, np.inf])
    with pytest.raises(TypeError, match="timestamps: expected numeric timestamps"):
        Interactions.from_arrays([1, 2], [1, 2], timestamps=["x", "y"])
    with pytest.raises(ValueError, match="users: expected at least one interaction"):
        Interactions.from_arrays([], [])
    with pytest.raises(ValueError, match="aggregate: expected one of"):
        Interactions.from_arrays([1], [1], aggregate="mean")
    with pytest.raises(
        ValueError, match=r"users: ids must not be missing \(None/NaN\); found 1 at positions \[1\]"
    ):
        Interactions.from_arrays(np.array(["a", None], dtype=object), [1, 2])
    with pytest.raises(ValueError, match="items: ids must not be missing"):
        Interactions.from_arrays([1, 2], [1.0, np.nan])
    with pytest.raises(ValueError, match="users: expected a 1-d array"):
        Interactions.from_arrays([[1, 2]], [[1, 2]])
    with pytest.raises(TypeError, match="users: ids must be hashable"):
        Interactions.from_arrays(np.array([[1], [2]] + [None], dtype=object)[:2], [1, 2])
    with pytest.raises(TypeError, match="df: expected a pandas DataFrame"):
        Interactions.from_frame([1, 2, 3])


# -------------------------------------------------------------------- id maps
def test_id_maps_vectorised_and_unknown_ids():
    data = Interactions.from_arrays(["c", "a", "b"], [30, 10, 20])
    np.testing.assert_array_equal(data.user_index(["b", "c", "a"]), [1, 2, 0])
    assert data.user_index("c") == 2 and isinstance(data.user_index("c"), int)
    np.testing.assert_array_equal(data.item_index(np.array([20, 30])), [1, 2])
    np.testing.assert_array_equal(data.user_ids[data.user_index(["a", "b"])], ["a", "b"])
    with pytest.raises(
        KeyError, match=r"item_index: unknown item ids: 99, 'x'; 2 of 3 not in the index"
    ):
        data.item_index([99, 10, "x"])
    with pytest.raises(KeyError, match="unknown user ids: 'zz'"):
        data.user_index("zz")
    with pytest.raises(ValueError, match="expected a scalar id or a 1-d array"):
        data.user_index([["a"]])
    assert data.user_index([]).size == 0


def test_id_maps_unsorted_object_and_contiguous_ids():
    X = sp.csr_matrix(np.eye(3, dtype=np.float32))
    data = Interactions(X, user_ids=np.array(["z", 4, ("t", 1)], dtype=object), item_ids=[9, 2, 5])
    np.testing.assert_array_equal(data.user_index(np.array([("t", 1), "z"], dtype=object)), [2, 0])
    np.testing.assert_array_equal(data.item_index([5, 9, 2]), [2, 0, 1])
    shifted = Interactions(X, user_ids=[100, 101, 102])
    np.testing.assert_array_equal(shifted.user_index([102, 100]), [2, 0])
    with pytest.raises(KeyError, match="99"):
        shifted.user_index([99])
    strings = Interactions.from_frame(pd.DataFrame({"user": ["b", "a"], "item": ["x", "y"]}))
    assert strings.user_index(pd.Series(["a"])).tolist() == [0]


# ------------------------------------------------------------------- metadata
def test_metadata_from_frame_dict_and_rows_aligned():
    data = Interactions.from_arrays(["u1", "u2"], ["m2", "m1"])
    data.add_item_metadata(
        pd.DataFrame({"title": ["One", "Two", "Extra"]}, index=["m1", "m2", "m9"])
    )
    assert data.item_metadata["title"].tolist() == ["One", "Two"]
    data.add_item_metadata({"id": ["m2"], "year": [1999]}, on="id")  # m1 missing -> NaN
    assert np.isnan(data.item_metadata["year"][0]) and data.item_metadata["year"][1] == 1999
    data.add_user_metadata({"u2": {"device": "tv"}, "u1": {"device": "mobile", "age": 30}})
    assert data.user_metadata["device"].tolist() == ["mobile", "tv"]
    assert data.user_metadata["age"].tolist() == [30, None]
    frame = data.item_frame()
    assert list(frame.columns) == ["item_id", "title", "year"]
    assert frame.loc[data.item_index("m2"), "title"] == "Two"
    assert list(data.user_frame().columns) == ["user_id", "device", "age"]
    with pytest.raises(ValueError, match="item_metadata: ids must be unique"):
        data.add_item_metadata({"id": ["m1", "m1"], "x": [1, 2]}, on="id")
    with pytest.raises(TypeError, match="a mapping without on= must map each id to a dict"):
        data.add_item_metadata({"title": ["a", "b"]})
    with pytest.raises(KeyError, match="no column 'nope'"):
        data.add_item_metadata({"id": ["m1"]}, on="nope")
    with pytest.raises(ValueError, match=r"item_metadata\['x'\]: expected 1 values"):
        data.add_item_metadata({"id": ["m1"], "x": [1, 2]}, on="id")
    with pytest.raises(ValueError, match=r"item_metadata\['t'\]: expected 2 values"):
        Interactions(data.matrix, item_metadata={"t": [1, 2, 3]})


def test_metadata_follows_select_and_subset():
    data = Interactions.from_arrays([1, 2, 3], [7, 8, 9])
    data.add_item_metadata({"id": [7, 8, 9], "name": ["a", "b", "c"]}, on="id")
    sub = data.select(items=[2, 0])
    assert sub.item_ids.tolist() == [9, 7] and sub.item_metadata["name"].tolist() == ["c", "a"]
    np.testing.assert_array_equal(sub.matrix.toarray(), [[0, 1], [0, 0], [1, 0]])
    kept = data.subset(np.array([True, False, True]))
    assert kept.shape == data.shape and kept.item_metadata["name"].tolist() == ["a", "b", "c"]


# --------------------------------------------------------------------- subsets
def test_subset_filter_compact_kcore():
    rng = np.random.default_rng(5)
    users, items = rng.integers(0, 30, 400), rng.integers(0, 40, 400)
    data = Interactions.from_arrays(users, items, rng.random(400), rng.random(400) * 100)
    by_pos = data.subset(np.arange(0, data.nnz, 2))
    assert by_pos.nnz == (data.nnz + 1) // 2 and by_pos.shape == data.shape
    np.testing.assert_array_equal(by_pos.timestamps, data.timestamps[::2])
    recent = data.filter(start=50.0)
    assert recent.shape == data.shape and (recent.timestamps >= 50).all()
    assert recent.nnz == int((data.timestamps >= 50).sum())
    heavy = data.filter(min_weight=0.5, users=np.arange(10))
    rows, _, w, _ = heavy.entries()
    assert (w >= 0.5).all() and (rows < 10).all()
    sparse_users = data.filter(users=[0])
    compact = sparse_users.compact()
    assert compact.n_users == 1 and compact.user_ids.tolist() == [data.user_ids[0]]
    core = data.k_core(5, 5)
    assert (core.user_counts() >= 5).all() and (core.item_counts() >= 5).all()
    with pytest.raises(ValueError, match="entries: a boolean mask needs shape"):
        data.subset(np.ones(3, bool))
    with pytest.raises(IndexError, match="entries: positions must lie in"):
        data.subset([data.nnz])
    with pytest.raises(TypeError, match="entries: expected a boolean mask or integer positions"):
        data.subset([0.5])
    with pytest.raises(ValueError, match="start/end: filtering by time needs timestamps"):
        Interactions.from_arrays([1], [1]).filter(end=3.0)
    with pytest.raises(TypeError, match="min_weight: expected a finite number"):
        data.filter(min_weight="x")


def test_with_weights_and_copy():
    data = Interactions.from_arrays([1, 2], [1, 1], [1.0, 2.0])
    doubled = data.with_weights(data.weights * 2)
    np.testing.assert_array_equal(doubled.matrix.data, [2, 4])
    np.testing.assert_array_equal(data.matrix.data, [1, 2])
    clone = data.copy()
    clone.matrix.data[0] = 9
    assert data.matrix.data[0] == 1
    with pytest.raises(ValueError, match="weights: expected 2 values"):
        data.with_weights([1.0])


def test_models_fit_on_built_interactions():
    df = pd.DataFrame(
        {"user": ["a", "a", "b", "c"], "item": ["x", "y", "x", "x"], "t": [1.0, 2.0, 3.0, 4.0]}
    )
    data = Interactions.from_frame(df, timestamp_col="t")
    model = Popularity(half_life=10.0).fit(data)
    ids, _ = model.recommend(data.user_index("b"), k=1, exclude_seen=False)
    assert data.item_ids[ids[0]] == "x"
    frame = model.recommend_frame(["b"], k=1, exclude_seen=False)
    assert frame["item"].tolist() == ["x"]


def test_tuple_ids_and_list_valued_metadata():
    data = Interactions.from_arrays([("a", 1), ("b", 2), ("a", 1)], [1, 2, 2])
    assert data.user_index(("b", 2)) == 1
    np.testing.assert_array_equal(data.user_index([("b", 2), ("a", 1)]), [1, 0])
    data.add_user_metadata(
        {("a", 1): {"tags": ["x", "y"], "n": 3}, ("b", 2): {"tags": ["z"], "n": 4}}
    )
    assert data.user_metadata["tags"][0] == ["x", "y"] and data.user_metadata["n"].tolist() == [
        3,
        4,
    ]


def test_row_sorted_input_with_duplicates_keeps_input_order():
    # rows already grouped (a log sorted by user), columns not: the per-row sort path,
    # whose duplicate groups must still resolve "last" by input order
    users = np.repeat(np.arange(50), 40)
    rng = np.random.default_rng(4)
    items = rng.integers(0, 10, users.size)
    weights = rng.random(users.size)
    for how in ("sum", "max", "last"):
        data = Interactions.from_arrays(users, items, weights, aggregate=how)
        expected = reference_aggregate(users.tolist(), items.tolist(), weights, None, how)
        got = as_dict(data)
        assert got.keys() == expected.keys()
        assert all(got[k][0] == pytest.approx(v[0], rel=1e-6) for k, v in expected.items())


def test_builders_never_modify_caller_arrays():
    rng = np.random.default_rng(9)
    users = np.sort(rng.integers(0, 30, 500))
    items = rng.integers(0, 40, 500)
    weights = rng.random(500)
    stamps = rng.random(500)
    copies = [a.copy() for a in (users, items, weights, stamps)]
    Interactions._from_codes(users, items, np.arange(30), np.arange(40), weights, stamps)
    Interactions.from_arrays(items, users, weights, stamps, aggregate="last")
    for before, after in zip(copies, (users, items, weights, stamps)):
        np.testing.assert_array_equal(before, after)
