// Bindings for cpp/mf/: BiasedMF (SGD, SVD++, ALS with biases), EASE and PureSVD.
//
// Learned arrays come in as initial values and go back as fresh arrays: the
// kernels update copies, so a caller's arrays are never mutated behind its back.
#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "bindings/common.hpp"
#include "mf/biased_mf.hpp"
#include "mf/ease.hpp"
#include "mf/puresvd.hpp"

namespace reelrec::bind {

namespace {

template <class T>
Array<T> copy_of(const Array<T>& a) {
    std::vector<py::ssize_t> shape(a.shape(), a.shape() + a.ndim());
    Array<T> out(shape);
    if (a.size()) std::memcpy(out.mutable_data(), a.data(), sizeof(T) * static_cast<std::size_t>(a.size()));
    return out;
}

void require_matrix(const Array<float>& a, int64_t rows, int64_t cols, const char* name) {
    require_ndim(a, 2, name);
    require(a.shape(0) == rows && a.shape(1) == cols,
            std::string(name) + ": expected shape (" + std::to_string(rows) + ", " + std::to_string(cols) +
                "), got (" + std::to_string(a.shape(0)) + ", " + std::to_string(a.shape(1)) + ")");
}

void require_vector(const Array<float>& a, int64_t n, const char* name) {
    require(a.ndim() == 1 && a.shape(0) == n,
            std::string(name) + ": expected a 1-d array of length " + std::to_string(n));
}

void require_indices_below(const int32_t* idx, int64_t n, int64_t bound, const char* name) {
    const bool ok = std::all_of(idx, idx + n, [bound](int32_t v) { return v >= 0 && v < bound; });
    require(ok, std::string(name) + ": column index out of range");
}

CsrView ratings_view(const Array<int64_t>& indptr, const Array<int32_t>& indices, const Array<float>& data,
                     int64_t n_cols, const char* name) {
    CsrView X = csr_view(indptr, indices, data, n_cols, name);
    require(static_cast<int64_t>(indices.size()) == X.nnz(),
            std::string(name) + ": indices length differs from indptr[-1]");
    require_indices_below(X.indices, X.nnz(), n_cols, name);
    return X;
}

// Fresh copies of the learned arrays plus a model view over them.
struct ModelCopy {
    Array<float> P, Q, bu, bi;
    std::optional<Array<float>> Y;
    mf::BiasedMFModel view;

    ModelCopy(float mu, const Array<float>& P0, const Array<float>& Q0, const Array<float>& bu0,
              const Array<float>& bi0, const OptArray<float>& Y0, int64_t n_users, int64_t n_items)
        : P(copy_of(P0)), Q(copy_of(Q0)), bu(copy_of(bu0)), bi(copy_of(bi0)) {
        require_ndim(Q0, 2, "item_factors");
        const int64_t d = Q0.shape(1);
        require_matrix(P0, n_users, d, "user_factors");
        require_matrix(Q0, n_items, d, "item_factors");
        require_vector(bu0, n_users, "user_bias");
        require_vector(bi0, n_items, "item_bias");
        if (Y0) {
            require_matrix(*Y0, n_items, d, "implicit_factors");
            Y = copy_of(*Y0);
        }
        view.global_mean = mu;
        view.user_factors = P.mutable_data();
        view.item_factors = Q.mutable_data();
        view.user_bias = bu.mutable_data();
        view.item_bias = bi.mutable_data();
        view.implicit_factors = Y ? Y->mutable_data() : nullptr;
        view.n_users = n_users;
        view.n_items = n_items;
        view.d = d;
    }

    py::tuple result() const {
        return py::make_tuple(P, Q, bu, bi, Y ? py::object(*Y) : py::object(py::none()));
    }
};

}  // namespace

void bind_mf(py::module_& m) {
    m.def("mf_dsgd_blocks", &mf::dsgd_blocks, py::arg("nnz"),
          "DSGD blocks per side that mf_fit_sgd uses for nnz ratings (1 = serial SGD).");

    m.def(
        "mf_fit_sgd",
        [](const Array<int64_t>& indptr, const Array<int32_t>& indices, const Array<float>& data,
           int64_t n_items, float global_mean, const Array<float>& user_factors,
           const Array<float>& item_factors, const Array<float>& user_bias, const Array<float>& item_bias,
           const OptArray<float>& implicit_factors, float learning_rate, float regularization, int iterations,
           uint64_t seed, int num_threads) {
            const CsrView X = ratings_view(indptr, indices, data, n_items, "X");
            ModelCopy model(global_mean, user_factors, item_factors, user_bias, item_bias, implicit_factors,
                            X.n_rows, n_items);
            require(iterations >= 0, "iterations must be >= 0");
            {
                py::gil_scoped_release release;
                mf::fit_sgd(X, model.view, {learning_rate, regularization}, iterations, seed, num_threads);
            }
            return model.result();
        },
        py::arg("indptr"), py::arg("indices"), py::arg("data"), py::arg("n_items"), py::arg("global_mean"),
        py::arg("user_factors"), py::arg("item_factors"), py::arg("user_bias"), py::arg("item_bias"),
        py::arg("implicit_factors"), py::arg("learning_rate"), py::arg("regularization"),
        py::arg("iterations"), py::arg("seed"), py::arg("num_threads"),
        "SGD epochs for biased MF (SVD++ when implicit_factors is given). Returns updated copies "
        "(user_factors, item_factors, user_bias, item_bias, implicit_factors).");

    m.def(
        "mf_sgd_epoch",
        [](const Array<int64_t>& indptr, const Array<int32_t>& indices, const Array<float>& data,
           int64_t n_items, const Array<int64_t>& order, float global_mean, const Array<float>& user_factors,
           const Array<float>& item_factors, const Array<float>& user_bias, const Array<float>& item_bias,
           const OptArray<float>& implicit_factors, float learning_rate, float regularization) {
            const CsrView X = ratings_view(indptr, indices, data, n_items, "X");
            ModelCopy model(global_mean, user_factors, item_factors, user_bias, item_bias, implicit_factors,
                            X.n_rows, n_items);
            require_ndim(order, 1, "order");
            const int64_t n = order.shape(0), nnz = X.nnz();
            std::vector<int32_t> row_of(static_cast<std::size_t>(nnz));
            for (int64_t r = 0; r < X.n_rows; ++r)
                for (int64_t k = X.row_begin(r); k < X.row_end(r); ++k) row_of[k] = static_cast<int32_t>(r);
            std::vector<mf::Rating> ratings(static_cast<std::size_t>(n));
            for (int64_t t = 0; t < n; ++t) {
                const int64_t k = order.data()[t];
                require(k >= 0 && k < nnz, "order: rating index out of range");
                ratings[t] = {row_of[k], X.indices[k], X.data[k]};
            }
            {
                py::gil_scoped_release release;
                mf::sgd_pass(ratings.data(), n, X, {learning_rate, regularization}, model.view);
            }
            return model.result();
        },
        py::arg("indptr"), py::arg("indices"), py::arg("data"), py::arg("n_items"), py::arg("order"),
        py::arg("global_mean"), py::arg("user_factors"), py::arg("item_factors"), py::arg("user_bias"),
        py::arg("item_bias"), py::arg("implicit_factors"), py::arg("learning_rate"),
        py::arg("regularization"),
        "One serial SGD pass over the stored ratings in the given order (entry positions in the CSR). "
        "Private: the tests compare it with a NumPy reference.");

    m.def(
        "mf_fit_als",
        [](const Array<int64_t>& indptr, const Array<int32_t>& indices, const Array<float>& data,
           int64_t n_items, float global_mean, const Array<float>& user_factors,
           const Array<float>& item_factors, const Array<float>& user_bias, const Array<float>& item_bias,
           float regularization, int iterations, int num_threads) {
            const CsrView X = ratings_view(indptr, indices, data, n_items, "X");
            ModelCopy model(global_mean, user_factors, item_factors, user_bias, item_bias, std::nullopt,
                            X.n_rows, n_items);
            require(iterations >= 0, "iterations must be >= 0");
            require(regularization > 0, "regularization must be positive for ALS");
            {
                py::gil_scoped_release release;
                mf::fit_als(X, model.view, regularization, iterations, num_threads);
            }
            return model.result();
        },
        py::arg("indptr"), py::arg("indices"), py::arg("data"), py::arg("n_items"), py::arg("global_mean"),
        py::arg("user_factors"), py::arg("item_factors"), py::arg("user_bias"), py::arg("item_bias"),
        py::arg("regularization"), py::arg("iterations"), py::arg("num_threads"),
        "ALS sweeps for biased MF. Returns updated copies like mf_fit_sgd.");

    m.def(
        "mf_solve_rows",
        [](const Array<int64_t>& indptr, const Array<int32_t>& indices, const Array<float>& data,
           const Array<float>& other, const Array<float>& other_bias, float global_mean,
           const OptArray<float>& offsets, float regularization, int num_threads) {
            require_ndim(other, 2, "other");
            const int64_t n_cols = other.shape(0), d = other.shape(1);
            const CsrView rows = ratings_view(indptr, indices, data, n_cols, "rows");
            require_vector(other_bias, n_cols, "other_bias");
            if (offsets) require_matrix(*offsets, rows.n_rows, d, "offsets");
            require(regularization > 0, "regularization must be positive");
            Array<float> factors({rows.n_rows, d});
            Array<float> bias({rows.n_rows});
            {
                py::gil_scoped_release release;
                mf::solve_bias_rows(rows, other.data(), other_bias.data(), d, global_mean,
                                    offsets ? offsets->data() : nullptr, regularization,
                                    factors.mutable_data(), bias.mutable_data(), num_threads);
            }
            return py::make_tuple(factors, bias);
        },
        py::arg("indptr"), py::arg("indices"), py::arg("data"), py::arg("other"), py::arg("other_bias"),
        py::arg("global_mean"), py::arg("offsets"), py::arg("regularization"), py::arg("num_threads"),
        "Closed-form (factors, bias) of every row given the other side: one ALS half-step / fold-in.");

    m.def(
        "mf_implicit_sums",
        [](const Array<int64_t>& indptr, const Array<int32_t>& indices, const Array<float>& implicit_factors,
           int num_threads) {
            require_ndim(implicit_factors, 2, "implicit_factors");
            const int64_t n_cols = implicit_factors.shape(0), d = implicit_factors.shape(1);
            const CsrView rows = csr_view(indptr, indices, std::nullopt, n_cols, "rows");
            require_indices_below(rows.indices, rows.nnz(), n_cols, "rows");
            Array<float> out({rows.n_rows, d});
            {
                py::gil_scoped_release release;
                mf::implicit_sums(rows, implicit_factors.data(), d, out.mutable_data(), num_threads);
            }
            return out;
        },
        py::arg("indptr"), py::arg("indices"), py::arg("implicit_factors"), py::arg("num_threads"),
        "|N(r)|^-1/2 * sum of implicit_factors over each row's items (SVD++ user term).");

    m.def(
        "mf_predict",
        [](const Array<float>& user_vectors, const Array<float>& user_bias, const Array<int64_t>& user_rows,
           const Array<float>& item_factors, const Array<float>& item_bias, const Array<int64_t>& items,
           float global_mean, int num_threads) {
            require_ndim(user_vectors, 2, "user_vectors");
            require_ndim(item_factors, 2, "item_factors");
            const int64_t n_u = user_vectors.shape(0), n_i = item_factors.shape(0), d = item_factors.shape(1);
            require(user_vectors.shape(1) == d, "user_vectors and item_factors differ in dimension");
            require_vector(user_bias, n_u, "user_bias");
            require_vector(item_bias, n_i, "item_bias");
            require(user_rows.ndim() == 1 && items.ndim() == 1 && user_rows.shape(0) == items.shape(0),
                    "user_rows and items must be 1-d arrays of the same length");
            const int64_t n = items.shape(0);
            const int64_t* ur = user_rows.data();
            const int64_t* it = items.data();
            require(std::all_of(ur, ur + n, [n_u](int64_t v) { return v >= 0 && v < n_u; }),
                    "user_rows: index out of range");
            require(std::all_of(it, it + n, [n_i](int64_t v) { return v >= 0 && v < n_i; }),
                    "items: index out of range");
            Array<float> out({n});
            {
                py::gil_scoped_release release;
                mf::predict_pairs(user_vectors.data(), user_bias.data(), ur, item_factors.data(),
                                  item_bias.data(), it, n, d, global_mean, out.mutable_data(), num_threads);
            }
            return out;
        },
        py::arg("user_vectors"), py::arg("user_bias"), py::arg("user_rows"), py::arg("item_factors"),
        py::arg("item_bias"), py::arg("items"), py::arg("global_mean"), py::arg("num_threads"),
        "mu + b_u + b_i + <user vector, item factors> for each (user row, item) pair.");

    m.def(
        "mf_randomized_svd",
        [](const Array<int64_t>& indptr, const Array<int32_t>& indices, const Array<float>& data,
           int64_t n_cols, int64_t rank, int64_t oversampling, int power_iterations, uint64_t seed,
           bool compute_u, int num_threads) {
            const CsrView X = ratings_view(indptr, indices, data, n_cols, "X");
            require(rank >= 1 && rank <= std::min(X.n_rows, n_cols),
                    "rank: expected 1 <= rank <= min(n_rows, n_cols), got " + std::to_string(rank));
            require(oversampling >= 0, "oversampling must be >= 0");
            require(power_iterations >= 0, "power_iterations must be >= 0");
            py::array_t<double, py::array::c_style> s({rank}), V({n_cols, rank});
            std::optional<py::array_t<double, py::array::c_style>> U;
            if (compute_u) U.emplace(std::vector<py::ssize_t>{X.n_rows, rank});
            double* u_ptr = U ? U->mutable_data() : nullptr;
            double* s_ptr = s.mutable_data();
            double* v_ptr = V.mutable_data();
            {
                py::gil_scoped_release release;
                mf::randomized_svd(X, rank, oversampling, power_iterations, seed, u_ptr, s_ptr, v_ptr,
                                   num_threads);
            }
            return py::make_tuple(U ? py::object(*U) : py::object(py::none()), s, V);
        },
        py::arg("indptr"), py::arg("indices"), py::arg("data"), py::arg("n_cols"), py::arg("rank"),
        py::arg("oversampling"), py::arg("power_iterations"), py::arg("seed"), py::arg("compute_u"),
        py::arg("num_threads"),
        "Randomized truncated SVD (Halko et al. 2011) of a CSR matrix: (U or None, s, V), float64, "
        "V of shape (n_cols, rank).");

    m.def(
        "mf_orthonormalize",
        [](const py::array_t<double, py::array::c_style | py::array::forcecast>& Y, bool householder,
           int num_threads) {
            require(Y.ndim() == 2 && Y.shape(0) >= Y.shape(1) && Y.shape(1) >= 1,
                    "Y: expected a 2-d array with at least as many rows as columns (and >= 1 column)");
            const int64_t m = Y.shape(0), l = Y.shape(1);
            py::array_t<double, py::array::c_style> Q({m, l}), R({l, l});
            std::memcpy(Q.mutable_data(), Y.data(), sizeof(double) * static_cast<std::size_t>(m * l));
            double* q_ptr = Q.mutable_data();
            double* r_ptr = R.mutable_data();
            {
                py::gil_scoped_release release;
                mf::orthonormalize(q_ptr, m, l, r_ptr, num_threads, householder);
            }
            return py::make_tuple(Q, R);
        },
        py::arg("Y"), py::arg("householder"), py::arg("num_threads"),
        "Thin QR of a tall float64 matrix: (Q, R), by Cholesky-QR2 with a TSQR fallback (always the TSQR "
        "with householder=True). Private: tested against NumPy.");

    m.def(
        "ease_gram",
        [](const Array<int64_t>& indptr, const Array<int32_t>& indices, const Array<float>& data,
           int64_t n_items, double l2, int num_threads) {
            const CsrView X = ratings_view(indptr, indices, data, n_items, "X");
            py::array_t<double, py::array::c_style> out({n_items, n_items});
            {
                py::gil_scoped_release release;
                mf::gram_matrix(X, l2, out.mutable_data(), num_threads);
            }
            return out;
        },
        py::arg("indptr"), py::arg("indices"), py::arg("data"), py::arg("n_items"), py::arg("l2"),
        py::arg("num_threads"), "X^T X + l2 * I in float64 (dense n_items x n_items).");

    m.def(
        "ease_weights",
        [](const Array<int64_t>& indptr, const Array<int32_t>& indices, const Array<float>& data,
           int64_t n_items, double l2, int num_threads) {
            const CsrView X = ratings_view(indptr, indices, data, n_items, "X");
            require(l2 > 0, "l2 must be positive");
            Array<float> out({n_items, n_items});
            {
                py::gil_scoped_release release;
                mf::ease_weights(X, l2, out.mutable_data(), num_threads);
            }
            return out;
        },
        py::arg("indptr"), py::arg("indices"), py::arg("data"), py::arg("n_items"), py::arg("l2"),
        py::arg("num_threads"), "EASE item-item weights B (float32, n_items x n_items, zero diagonal).");
}

}  // namespace reelrec::bind
