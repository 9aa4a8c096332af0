import warnings

import numpy as np
import pytest
import scipy.sparse as sp

from conftest import block_user_items, random_user_items
from contract import RecommenderContract
from factorization_isas import ISAS
from reelrec import CopyWarning, ImplicitALS, _core
from reelrec.metrics import ndcg_at_k
from reelrec.models._factorization import replace_rows


class TestImplicitALS(RecommenderContract):
    def make_model(self, **params):
        return ImplicitALS(factors=4, iterations=8, **params)


class TestImplicitALSCholeskyLog(RecommenderContract):
    def make_model(self, **params):
        return ImplicitALS(
            factors=4,
            iterations=8,
            solver="cholesky",
            confidence="log",
            alpha=3.0,
            unobserved_weight=0.5,
            **params,
        )


# ------------------------------------------------------------ NumPy references
def _confidence_matrix(seed=0, n_rows=30, n_cols=25, density=0.2):
    X = sp.random(
        n_rows, n_cols, density=density, format="csr", dtype=np.float32, random_state=seed
    )
    X.data = (1 + 4 * X.data).astype(np.float32)
    X.sort_indices()
    return X


def _ref_system(C, Y, r, w0, reg, freq):
    """(A, b) of row r, in float64."""
    Y = Y.astype(np.float64)
    lo, hi = C.indptr[r], C.indptr[r + 1]
    idx, c = C.indices[lo:hi], C.data[lo:hi].astype(np.float64)
    Yr = Y[idx]
    lam = reg * (hi - lo + w0 * Y.shape[0]) if freq else reg
    A = w0 * Y.T @ Y + lam * np.eye(Y.shape[1]) + Yr.T @ ((c - w0)[:, None] * Yr)
    return A, Yr.T @ c


def _ref_exact(C, Y, w0, reg, freq):
    out = np.zeros((C.shape[0], Y.shape[1]))
    for r in range(C.shape[0]):
        if C.indptr[r + 1] > C.indptr[r]:
            A, b = _ref_system(C, Y, r, w0, reg, freq)
            out[r] = np.linalg.solve(A, b)
    return out


def _ref_cg(C, Y, X0, w0, reg, freq, steps):
    out = X0.astype(np.float64).copy()
    for r in range(C.shape[0]):
        if C.indptr[r + 1] == C.indptr[r]:
            out[r] = 0
            continue
        A, b = _ref_system(C, Y, r, w0, reg, freq)
        x = out[r]
        res = b - A @ x
        p = res.copy()
        rs = res @ res
        for _ in range(steps):
            if rs <= 1e-20:
                break
            ap = A @ p
            step = rs / (p @ ap)
            x += step * p
            res -= step * ap
            rs_new = res @ res
            p = res + rs_new / rs * p
            rs = rs_new
        out[r] = x
    return out


def _factors_for(C, d, seed, scale):
    """A fixed side Y (n_cols x d, N(0, scale^2)) and a warm start X0 (n_rows x d, N(0, 0.01))."""
    rng = np.random.default_rng(seed)
    Y = (scale * rng.standard_normal((C.shape[1], d))).astype(np.float32)
    return Y, (0.1 * rng.standard_normal((C.shape[0], d))).astype(np.float32)


def _solve(C, Y, X, w0, reg, freq, solver, steps=3, isa=0, threads=1):
    gram = _core.als_gram(Y, w0, threads, isa)
    _core.als_solve(
        C.indptr.astype(np.int64),
        C.indices,
        C.data,
        Y,
        gram,
        X,
        w0,
        reg,
        freq,
        solver,
        steps,
        threads,
        isa,
    )
    return X


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("d", [5, 8, 16, 64])
def test_gram_matches_numpy(isa, d):
    Y = np.random.default_rng(d).standard_normal((700, d)).astype(np.float32)
    got = _core.als_gram(Y, 0.5, 2, isa)
    np.testing.assert_allclose(got, 0.5 * Y.T.astype(np.float64) @ Y, rtol=1e-5, atol=1e-4)
    assert np.array_equal(got, got.T)


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("d", [5, 16, 24, 64])
@pytest.mark.parametrize("freq", [False, True])
def test_cholesky_half_step_is_the_exact_solve(isa, d, freq):
    C = _confidence_matrix(seed=d)
    Y = (0.3 * np.random.default_rng(1).standard_normal((C.shape[1], d))).astype(np.float32)
    reg = 0.002 if freq else 0.1
    X = _solve(C, Y, np.full((C.shape[0], d), 7, np.float32), 0.7, reg, freq, solver=1, isa=isa)
    ref = _ref_exact(C, Y, 0.7, reg, freq)
    np.testing.assert_allclose(X, ref, rtol=1e-4, atol=2e-5)
    assert np.all(X[np.diff(C.indptr) == 0] == 0)


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("d", [6, 32, 64, 100, 128])
def test_cg_half_step_matches_numpy_cg(isa, d):
    C = _confidence_matrix(seed=3)
    Y, X0 = _factors_for(C, d, seed=2, scale=0.3)
    X = _solve(C, Y, X0.copy(), 1.0, 0.05, False, solver=0, steps=2, isa=isa)
    ref = _ref_cg(C, Y, X0, 1.0, 0.05, False, steps=2)
    np.testing.assert_allclose(X, ref, rtol=2e-3, atol=2e-4)


@pytest.mark.parametrize("isa", ISAS)
def test_cg_on_a_table_larger_than_cache_matches_numpy_cg(isa):
    # a fixed side of > 1 MiB switches the kernels to gathering each row's
    # y_k into scratch on the first pass and reading them from there
    C = _confidence_matrix(seed=9, n_rows=40, n_cols=6000, density=0.02)
    Y, X0 = _factors_for(C, 64, seed=3, scale=0.1)
    X = _solve(C, Y, X0.copy(), 1.0, 0.5, False, solver=0, steps=3, isa=isa)
    ref = _ref_cg(C, Y, X0, 1.0, 0.5, False, steps=3)
    np.testing.assert_allclose(X, ref, rtol=2e-3, atol=2e-4)


def _long_rows_matrix(seed):
    # a fixed side of 9000 x 128 floats (> 1 MiB, more than one 2 MiB tile)
    # and rows longer than the gather buffer (1024 entries at d = 128): those
    # are solved in a batch that walks the table tile by tile
    C = _confidence_matrix(seed=seed, n_rows=12, n_cols=9000, density=0.01)
    heavy = _confidence_matrix(seed=seed + 1, n_rows=5, n_cols=9000, density=0.2)
    return sp.vstack([C[:6], heavy, C[6:]], format="csr")


@pytest.mark.parametrize("isa", ISAS)
def test_cg_batch_of_long_rows_matches_numpy_cg(isa):
    C = _long_rows_matrix(seed=12)
    Y, X0 = _factors_for(C, 128, seed=4, scale=0.1)
    X = _solve(C, Y, X0.copy(), 1.0, 0.5, False, solver=0, steps=3, isa=isa)
    ref = _ref_cg(C, Y, X0, 1.0, 0.5, False, steps=3)
    np.testing.assert_allclose(X, ref, rtol=2e-3, atol=2e-4)
    # unsorted rows are solved too (entries are then taken in stored order)
    U = C.copy()
    for r in range(U.shape[0]):
        lo, hi = U.indptr[r], U.indptr[r + 1]
        order = np.random.default_rng(r).permutation(hi - lo)
        U.indices[lo:hi], U.data[lo:hi] = U.indices[lo:hi][order], U.data[lo:hi][order]
    X = _solve(U, Y, X0.copy(), 1.0, 0.5, False, solver=0, steps=3, isa=isa)
    np.testing.assert_allclose(X, ref, rtol=2e-3, atol=2e-4)


def test_cg_batch_of_long_rows_is_identical_for_any_thread_count():
    C = _long_rows_matrix(seed=14)
    Y, X0 = _factors_for(C, 128, seed=5, scale=0.1)
    ref = _solve(C, Y, X0.copy(), 1.0, 0.5, False, solver=0, threads=1)
    for threads in (2, 3):
        np.testing.assert_array_equal(
            _solve(C, Y, X0.copy(), 1.0, 0.5, False, solver=0, threads=threads), ref
        )


def test_cg_approaches_the_exact_solve():
    C = _confidence_matrix(seed=4)
    Y = (0.3 * np.random.default_rng(5).standard_normal((C.shape[1], 16))).astype(np.float32)
    exact = _ref_exact(C, Y, 1.0, 1.0, False)
    X = np.zeros((C.shape[0], 16), np.float32)
    errors = []
    for _ in range(8):
        _solve(C, Y, X, 1.0, 1.0, False, solver=0, steps=3)
        errors.append(np.abs(X - exact).max())
    assert errors[-1] < 1e-4 < errors[0]
    assert all(b <= a * 1.01 + 1e-6 for a, b in zip(errors, errors[1:]))


@pytest.mark.skipif(len(ISAS) < 2, reason="AVX2+FMA kernels are not available on this CPU")
@pytest.mark.parametrize("solver", [0, 1])
def test_instruction_sets_agree(solver):
    C = _confidence_matrix(seed=6, n_rows=60)
    Y = (0.3 * np.random.default_rng(7).standard_normal((C.shape[1], 32))).astype(np.float32)
    a = _solve(C, Y, np.zeros((60, 32), np.float32), 1.0, 0.1, False, solver, isa=1)
    b = _solve(C, Y, np.zeros((60, 32), np.float32), 1.0, 0.1, False, solver, isa=2)
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_unknown_isa_is_rejected():
    with pytest.raises(ValueError, match="isa"):
        _core.factorization_isa(7)


@pytest.mark.parametrize("freq", [False, True])
def test_loss_matches_dense_objective(freq):
    C = _confidence_matrix(seed=8)
    rng = np.random.default_rng(9)
    U = rng.standard_normal((C.shape[0], 6)).astype(np.float32)
    V = rng.standard_normal((C.shape[1], 6)).astype(np.float32)
    w0, reg = 0.6, 0.03
    gram = _core.als_gram(V, w0, 1)
    counts = np.bincount(C.indices, minlength=C.shape[1]).astype(np.int64)
    got = _core.als_loss(
        C.indptr.astype(np.int64), C.indices, C.data, V, counts, gram, U, w0, reg, freq, 1
    )
    P = C.toarray() > 0
    W = np.where(P, C.toarray(), w0)
    S = U.astype(np.float64) @ V.T
    lam_u = reg * (P.sum(1) + w0 * C.shape[1]) if freq else np.full(C.shape[0], reg)
    lam_i = reg * (P.sum(0) + w0 * C.shape[0]) if freq else np.full(C.shape[1], reg)
    total = (W * (P - S) ** 2).sum() + (lam_u * (U.astype(np.float64) ** 2).sum(1)).sum()
    total += (lam_i * (V.astype(np.float64) ** 2).sum(1)).sum()
    assert got == pytest.approx(total / W.sum(), rel=1e-5)


@pytest.mark.parametrize("solver", ["cg", "cholesky"])
def test_thread_count_does_not_change_results_when_parallel(solver):
    # large enough that the kernels actually run on several threads
    X = random_user_items(n_users=400, n_items=300, density=0.1, seed=3)
    fits = [
        ImplicitALS(factors=32, iterations=3, solver=solver, num_threads=t, random_state=0).fit(X)
        for t in (1, 2, 3)
    ]
    for other in fits[1:]:
        np.testing.assert_array_equal(other.user_factors_, fits[0].user_factors_)
        np.testing.assert_array_equal(other.item_factors_, fits[0].item_factors_)


def test_gram_is_identical_for_any_thread_count():
    Y = np.random.default_rng(0).standard_normal((20000, 16)).astype(np.float32)
    ref = _core.als_gram(Y, 1.0, 1)
    for threads in (2, 3):
        np.testing.assert_array_equal(_core.als_gram(Y, 1.0, threads), ref)


def test_initialisation_is_per_row():
    a = _core.init_factors(100, 7, 123, 0, 0.1, 2)
    b = _core.init_factors(10, 7, 123, 0, 0.1, 1)
    np.testing.assert_array_equal(a[:10], b)
    assert not np.array_equal(a, _core.init_factors(100, 7, 123, 1, 0.1, 1))
    assert abs(a.std() - 0.1) < 0.01


# ------------------------------------------------------------------- the model
@pytest.fixture
def train():
    return random_user_items(n_users=60, n_items=50, density=0.2, seed=11)


@pytest.mark.parametrize("solver", ["cg", "cholesky"])
@pytest.mark.parametrize("scaling", ["none", "frequency"])
def test_training_loss_decreases_monotonically(train, solver, scaling):
    reg = 0.001 if scaling == "frequency" else 0.05
    model = ImplicitALS(
        factors=8,
        iterations=12,
        solver=solver,
        regularization=reg,
        reg_scaling=scaling,
        alpha=2.0,
        calculate_training_loss=True,
        random_state=0,
    ).fit(train)
    loss = np.array(model.history_["loss"])
    assert loss.size == 12 and np.all(np.isfinite(loss))
    assert np.all(np.diff(loss) <= 1e-6 * loss[:-1]), loss


def test_loss_is_none_unless_requested(train):
    model = ImplicitALS(factors=4, iterations=2, random_state=0).fit(train)
    assert model.history_["loss"] == [None, None]
    assert len(model.history_["seconds"]) == 2


def test_fold_in_equals_fitted_factors_for_cholesky(train):
    model = ImplicitALS(factors=8, iterations=5, solver="cholesky", random_state=1).fit(train)
    users = np.arange(train.shape[0])
    folded = model._user_vectors(users, model.user_items_[users])
    np.testing.assert_allclose(folded, model.user_factors_, rtol=1e-4, atol=1e-5)
    a = model.recommend(users, k=5)
    b = model.recommend(users, k=5, user_items=train)
    np.testing.assert_allclose(a[1], b[1], rtol=1e-4, atol=1e-5)


def test_fold_in_is_close_to_fitted_factors_for_cg(train):
    model = ImplicitALS(factors=8, iterations=15, random_state=1).fit(train)
    folded = model._user_vectors(np.arange(train.shape[0]), train)
    np.testing.assert_allclose(folded, model.user_factors_, atol=1e-3)


def test_partial_fit_users_refreshes_and_grows(train):
    model = ImplicitALS(factors=6, iterations=5, solver="cholesky", random_state=2).fit(train)
    n_users, n_items = train.shape
    rows = sp.csr_matrix(np.eye(2, n_items, k=3, dtype=np.float32) * 2)
    model.partial_fit_users([4, n_users + 2], rows)
    assert model.n_users_ == n_users + 3 and model.user_factors_.shape == (n_users + 3, 6)
    assert model.user_items_.shape == (n_users + 3, n_items)
    np.testing.assert_array_equal(model.user_factors_[n_users : n_users + 2], 0)
    expected = model._user_vectors(np.array([0, 1]), rows)
    np.testing.assert_allclose(model.user_factors_[[4, n_users + 2]], expected, rtol=1e-6)
    assert model.user_items_[4].indices.tolist() == [3]
    assert model.user_items_[n_users + 2].indices.tolist() == [4]
    # untouched users keep their history
    assert (model.user_items_[5] != train[5]).nnz == 0
    ids, _ = model.recommend(n_users + 2, k=5)
    assert 4 not in ids.tolist()


def test_partial_fit_items_refreshes_and_grows(train):
    model = ImplicitALS(factors=6, iterations=5, solver="cholesky", random_state=3).fit(train)
    n_users, n_items = train.shape
    column = sp.csr_matrix(np.ones((1, n_users), np.float32))
    model.partial_fit_items([n_items], column)
    assert model.n_items_ == n_items + 1 and model.item_factors_.shape == (n_items + 1, 6)
    assert model.user_items_.shape == (n_users, n_items + 1)
    assert model.user_items_[:, n_items].nnz == n_users
    gram = _core.als_gram(model.user_factors_, 1.0, 1)
    ref = np.linalg.solve(
        gram.astype(np.float64)
        + 0.01 * np.eye(6)
        + model.user_factors_.T.astype(np.float64) @ model.user_factors_,
        2 * model.user_factors_.sum(0).astype(np.float64),
    )
    np.testing.assert_allclose(model.item_factors_[n_items], ref, rtol=1e-3, atol=1e-5)
    ids, _ = model.recommend(0, k=n_items + 1, exclude_seen=False)
    assert n_items in ids.tolist()
    # the fold-in Gram cache was refreshed for the grown catalogue
    assert model._user_vectors(np.array([0]), model.user_items_[[0]]).shape == (1, 6)


def test_partial_fit_bad_input(train):
    model = ImplicitALS(factors=4, iterations=2, random_state=0).fit(train)
    with pytest.raises(ValueError, match="duplicate"):
        model.partial_fit_users([1, 1], train[[1, 2]])
    with pytest.raises(ValueError, match="one row per entry"):
        model.partial_fit_users([1, 2, 3], train[[1, 2]])
    with pytest.raises(ValueError, match="columns"):
        model.partial_fit_items([1], train[[1]])
    with pytest.raises(IndexError, match="user_ids"):
        model.partial_fit_users([-1], train[[1]])


def test_callback_stops_training_early(train):
    seen = []

    def callback(iteration, seconds, loss):
        seen.append((iteration, seconds, loss))
        return iteration < 2

    model = ImplicitALS(factors=4, iterations=10, calculate_training_loss=True, random_state=0)
    model.fit(train, callback=callback)
    assert [s[0] for s in seen] == [0, 1, 2]
    assert all(s[1] >= 0 and s[2] > 0 for s in seen)
    assert model.history_["iteration"] == [0, 1, 2]
    with pytest.raises(TypeError, match="callback"):
        model.fit(train, callback=3)


def test_eval_set_records_ndcg():
    train, test = block_user_items()
    model = ImplicitALS(factors=3, iterations=4, random_state=0).fit(train, eval_set=test)
    ndcg = model.history_["ndcg@10"]
    assert len(ndcg) == 4 and all(0 <= v <= 1 for v in ndcg)
    assert ndcg[-1] == pytest.approx(1.0)
    users = np.arange(train.shape[0])
    assert ndcg[-1] == ndcg_at_k(model.recommend(users, k=10)[0], test, 10)
    with pytest.raises(ValueError, match="eval_set"):
        model.fit(train, eval_set=test[:3])


def test_similar_users(train):
    model = ImplicitALS(factors=6, iterations=3, random_state=0).fit(train)
    ids, scores = model.similar_users([0, 5], k=4)
    assert ids.shape == (2, 4) and 0 not in ids[0] and 5 not in ids[1]
    norms = np.linalg.norm(model.user_factors_, axis=1, keepdims=True)
    unit = model.user_factors_ / np.where(norms > 0, norms, 1)
    np.testing.assert_allclose(scores[0], unit[ids[0]] @ unit[0], rtol=1e-5)
    one, _ = model.similar_users(5, k=4)
    np.testing.assert_array_equal(one, ids[1])
    with pytest.raises(IndexError, match="users"):
        model.similar_users(train.shape[0])


def test_confidence_transforms(train):
    lin = ImplicitALS(alpha=2.0)._confidence(train)
    np.testing.assert_allclose(lin.data, 1 + 2 * train.data)
    log = ImplicitALS(alpha=2.0, confidence="log", epsilon=0.5)._confidence(train)
    np.testing.assert_allclose(log.data, 1 + 2 * np.log1p(train.data / 0.5), rtol=1e-6)
    zeros = train.copy()
    zeros.data[:5] = 0
    assert ImplicitALS()._confidence(zeros).nnz == train.nnz - 5


def test_float64_and_integer_input_are_converted(train):
    ref = ImplicitALS(factors=4, iterations=3, random_state=0).fit(train).user_factors_
    for dtype in (np.float64, np.int64):
        got = (
            ImplicitALS(factors=4, iterations=3, random_state=0)
            .fit(train.astype(dtype))
            .user_factors_
        )
        np.testing.assert_array_equal(got, ref)
    with pytest.warns(CopyWarning, match="CSR"):
        got = ImplicitALS(factors=4, iterations=3, random_state=0).fit(train.tocoo()).user_factors_
    np.testing.assert_array_equal(got, ref)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ImplicitALS(factors=4, iterations=1, random_state=0).fit(train)


@pytest.mark.parametrize(
    ("params", "error", "match"),
    [
        ({"factors": 0}, ValueError, "factors"),
        ({"factors": -3}, ValueError, "factors"),
        ({"factors": 2.5}, TypeError, "factors"),
        ({"regularization": -1.0}, ValueError, "regularization"),
        ({"alpha": float("nan")}, ValueError, "alpha"),
        ({"iterations": 0}, ValueError, "iterations"),
        ({"cg_steps": 0}, ValueError, "cg_steps"),
        ({"solver": "lu"}, ValueError, "solver"),
        ({"confidence": "sqrt"}, ValueError, "confidence"),
        ({"epsilon": 0.0}, ValueError, "epsilon"),
        ({"unobserved_weight": -0.5}, ValueError, "unobserved_weight"),
        ({"reg_scaling": "users"}, ValueError, "reg_scaling"),
        ({"calculate_training_loss": "yes"}, TypeError, "calculate_training_loss"),
        ({"num_threads": -1}, ValueError, "num_threads"),
    ],
)
def test_bad_parameters(train, params, error, match):
    with pytest.raises(error, match=match):
        ImplicitALS(**params).fit(train)


def test_bad_training_values(train):
    bad = train.copy()
    bad.data[3] = -2
    with pytest.raises(ValueError, match="non-negative"):
        ImplicitALS().fit(bad)
    bad.data[3] = np.inf
    with pytest.raises(ValueError, match="NaN or infinite"):
        ImplicitALS().fit(bad)
    with pytest.raises(TypeError, match="X"):
        ImplicitALS().fit(np.ones((3, 3)))
    with pytest.raises(ValueError, match="overflow"):
        ImplicitALS(alpha=1e38).fit(train * 100)


def test_native_entry_rejects_inconsistent_arrays():
    C = _confidence_matrix()
    Y = np.zeros((C.shape[1], 4), np.float32)
    gram = _core.als_gram(Y, 1.0, 1)
    args = (C.indptr.astype(np.int64), C.indices, C.data, Y, gram)
    with pytest.raises(ValueError, match="factors"):
        _core.als_solve(*args, np.zeros((3, 4), np.float32), 1.0, 0.1, False, 0, 3, 1)
    with pytest.raises(TypeError):  # float64 output cannot be updated in place
        _core.als_solve(*args, np.zeros((C.shape[0], 4)), 1.0, 0.1, False, 0, 3, 1)
    bad = C.indices.copy()
    bad[0] = C.shape[1]
    with pytest.raises(ValueError, match="out of range"):
        _core.als_solve(
            C.indptr.astype(np.int64),
            bad,
            C.data,
            Y,
            gram,
            np.zeros((C.shape[0], 4), np.float32),
            1.0,
            0.1,
            False,
            0,
            3,
            1,
        )


def test_replace_rows_keeps_other_rows():
    X = sp.csr_matrix(np.arange(12, dtype=np.float32).reshape(3, 4))
    new = sp.csr_matrix(np.array([[0, 9, 0, 0], [1, 0, 0, 1]], np.float32))
    out = replace_rows(X, np.array([1, 4]), new, 5)
    expected = np.zeros((5, 4), np.float32)
    expected[:3] = X.toarray()
    expected[1] = new[0].toarray()
    expected[4] = new[1].toarray()
    np.testing.assert_array_equal(out.toarray(), expected)
    assert out.has_canonical_format
