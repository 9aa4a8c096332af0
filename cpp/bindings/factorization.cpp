// Bindings of the implicit-feedback factorization kernels (ImplicitALS, BPR).
// Translation only: shapes are re-checked here so that a bad call from Python
// raises instead of crashing; the Python layer gives the friendly messages.
#include <vector>

#include "bindings/common.hpp"
#include "factorization/als.hpp"
#include "factorization/bpr.hpp"

namespace reelrec::bind {

namespace fz = reelrec::factorization;

namespace {

fz::AlsConfig als_config(float unobserved_weight, float regularization, bool frequency_scaling, int solver,
                         int cg_steps) {
    require(solver == 0 || solver == 1, "solver: expected 0 (cg) or 1 (cholesky)");
    require(cg_steps >= 1, "cg_steps: expected a positive integer");
    fz::AlsConfig c;
    c.unobserved_weight = unobserved_weight;
    c.regularization = regularization;
    c.frequency_scaling = frequency_scaling;
    c.solver = static_cast<fz::AlsSolver>(solver);
    c.cg_steps = cg_steps;
    return c;
}

fz::BprConfig bpr_config(float learning_rate, float regularization, bool verify) {
    fz::BprConfig c;
    c.learning_rate = learning_rate;
    c.regularization = regularization;
    c.verify_negatives = verify;
    return c;
}

template <class T>
void require_in_range(const Array<T>& a, int64_t upper, const std::string& name) {
    const T* p = a.data();
    bool ok = true;
    for (int64_t k = 0; k < a.size(); ++k) ok &= (p[k] >= 0) & (p[k] < upper);
    require(ok, name + ": index out of range");
}

// A writable C-contiguous float32 matrix with d columns (updated in place).
template <class T>
T* inout_array(Array<T>& a, int ndim, int64_t rows, int64_t cols, const char* name) {
    require(a.ndim() == ndim && (rows < 0 || a.shape(0) == rows) && (ndim == 1 || a.shape(1) == cols),
            std::string(name) + ": shape does not match");
    require((a.flags() & py::array::c_style) != 0 && a.writeable(),
            std::string(name) + ": expected a writable C-contiguous array");
    return a.mutable_data();
}

float* inout_matrix(Array<float>& a, int64_t rows, int64_t d, const char* name) {
    return inout_array(a, 2, rows, d, name);
}

}  // namespace

void bind_factorization(py::module_& m) {
    m.def(
        "factorization_isa", [](int isa) { return std::string(fz::als_select_kernels(isa).name); },
        py::arg("isa") = 0,
        "Name of the ALS/BPR kernels that `isa` (0 auto, 1 generic, 2 avx2) selects on this machine.");

    m.def(
        "init_factors",
        [](int64_t n, int d, uint64_t seed, uint64_t stream, float scale, int num_threads) {
            require(n >= 0 && d > 0, "init_factors: expected n >= 0 and d > 0");
            Array<float> out({n, static_cast<int64_t>(d)});
            {
                py::gil_scoped_release release;
                fz::init_factors(out.mutable_data(), n, d, seed, stream, scale, num_threads);
            }
            return out;
        },
        py::arg("n"), py::arg("d"), py::arg("seed"), py::arg("stream"), py::arg("scale"),
        py::arg("num_threads"));

    m.def(
        "als_gram",
        [](const Array<float>& factors, float weight, int num_threads, int isa) {
            require_ndim(factors, 2, "factors");
            const int64_t n = factors.shape(0), d = factors.shape(1);
            require(d > 0, "factors: expected at least one column");
            Array<float> out({d, d});
            {
                py::gil_scoped_release release;
                fz::als_gram(factors.data(), n, static_cast<int>(d), weight, out.mutable_data(), num_threads,
                             isa);
            }
            return out;
        },
        py::arg("factors"), py::arg("weight"), py::arg("num_threads"), py::arg("isa") = 0);

    m.def(
        "als_solve",
        [](const Array<int64_t>& indptr, const Array<int32_t>& indices, const Array<float>& confidence,
           const Array<float>& other, const Array<float>& gram, Array<float> factors, float unobserved_weight,
           float regularization, bool frequency_scaling, int solver, int cg_steps, int num_threads, int isa) {
            require_ndim(other, 2, "other");
            const int64_t d = other.shape(1), n_other = other.shape(0);
            require(d > 0, "other: expected at least one column");
            CsrView rows = csr_view(indptr, indices, confidence, n_other, "rows");
            require(gram.ndim() == 2 && gram.shape(0) == d && gram.shape(1) == d, "gram: expected d x d");
            float* out = inout_matrix(factors, rows.n_rows, d, "factors");
            const fz::AlsConfig config =
                als_config(unobserved_weight, regularization, frequency_scaling, solver, cg_steps);
            require_in_range(indices, n_other, "rows");
            {
                py::gil_scoped_release release;
                fz::als_solve(rows, other.data(), gram.data(), out, static_cast<int>(d), config, num_threads,
                              isa);
            }
        },
        py::arg("indptr"), py::arg("indices"), py::arg("confidence"), py::arg("other"), py::arg("gram"),
        py::arg("factors").noconvert(), py::arg("unobserved_weight"), py::arg("regularization"),
        py::arg("frequency_scaling"), py::arg("solver"), py::arg("cg_steps"), py::arg("num_threads"),
        py::arg("isa") = 0);

    m.def(
        "als_loss",
        [](const Array<int64_t>& indptr, const Array<int32_t>& indices, const Array<float>& confidence,
           const Array<float>& items, const Array<int64_t>& item_counts, const Array<float>& gram,
           const Array<float>& users, float unobserved_weight, float regularization, bool frequency_scaling,
           int num_threads) {
            require_ndim(items, 2, "items");
            require_ndim(users, 2, "users");
            const int64_t d = items.shape(1), n_items = items.shape(0);
            CsrView rows = csr_view(indptr, indices, confidence, n_items, "user_items");
            require(users.shape(1) == d && users.shape(0) == rows.n_rows, "users: shape does not match");
            require(item_counts.size() == n_items, "item_counts: one count per item");
            require(gram.ndim() == 2 && gram.shape(0) == d && gram.shape(1) == d, "gram: expected d x d");
            require_in_range(indices, n_items, "user_items");
            const fz::AlsConfig config =
                als_config(unobserved_weight, regularization, frequency_scaling, 0, 1);
            py::gil_scoped_release release;
            return fz::als_loss(rows, items.data(), item_counts.data(), gram.data(), users.data(),
                                static_cast<int>(d), config, num_threads);
        },
        py::arg("indptr"), py::arg("indices"), py::arg("confidence"), py::arg("items"),
        py::arg("item_counts"), py::arg("gram"), py::arg("users"), py::arg("unobserved_weight"),
        py::arg("regularization"), py::arg("frequency_scaling"), py::arg("num_threads"));

    m.def("bpr_strata", &fz::bpr_strata, py::arg("n_users"), py::arg("n_items"), py::arg("nnz"),
          "Blocks per side of the stratified BPR schedule for a matrix of this size.");

    m.def(
        "bpr_epochs",
        [](const Array<int64_t>& indptr, const Array<int32_t>& indices, Array<float> users,
           Array<float> items, Array<float> item_bias, float learning_rate, float regularization,
           bool verify_negatives, uint64_t seed, int64_t first_epoch, int64_t n_epochs,
           Array<int32_t> buckets, const OptArray<uint64_t>& seen_filter, int num_threads, int isa) {
            require_ndim(items, 2, "items");
            const int64_t n_items = items.shape(0), d = items.shape(1);
            require(d > 0, "items: expected at least one column");
            require(first_epoch >= 0 && n_epochs >= 0, "epochs: expected non-negative numbers");
            CsrView X = csr_view(indptr, indices, std::nullopt, n_items, "X");
            require_in_range(indices, n_items, "X");
            float* U = inout_matrix(users, X.n_rows, d, "users");
            float* V = inout_matrix(items, n_items, d, "items");
            float* b = inout_array(item_bias, 1, n_items, 0, "item_bias");
            int32_t* buf = inout_array(buckets, 1, 2 * X.nnz(), 0, "buckets");
            if (seen_filter)
                require(seen_filter->ndim() == 1 && seen_filter->size() == fz::bpr_seen_filter_words(X.nnz()),
                        "seen_filter: expected the array built by bpr_seen_filter for this matrix");
            const fz::BprConfig config = bpr_config(learning_rate, regularization, verify_negatives);
            std::vector<fz::BprEpochStats> stats(static_cast<std::size_t>(n_epochs));
            {
                py::gil_scoped_release release;
                fz::bpr_epochs(X, U, V, b, static_cast<int>(d), config, seed, first_epoch, n_epochs, buf,
                               seen_filter ? seen_filter->data() : nullptr, stats.data(), num_threads, isa);
            }
            Array<double> loss(n_epochs), seconds(n_epochs);
            Array<int64_t> skipped(n_epochs);
            for (int64_t e = 0; e < n_epochs; ++e) {
                loss.mutable_data()[e] = stats[e].loss;
                skipped.mutable_data()[e] = stats[e].skipped;
                seconds.mutable_data()[e] = stats[e].seconds;
            }
            return py::make_tuple(loss, skipped, seconds);
        },
        py::arg("indptr"), py::arg("indices"), py::arg("users").noconvert(), py::arg("items").noconvert(),
        py::arg("item_bias").noconvert(), py::arg("learning_rate"), py::arg("regularization"),
        py::arg("verify_negatives"), py::arg("seed"), py::arg("first_epoch"), py::arg("n_epochs"),
        py::arg("buckets").noconvert(), py::arg("seen_filter"), py::arg("num_threads"), py::arg("isa") = 0,
        "Runs epochs first_epoch .. first_epoch + n_epochs - 1; returns (mean loss, skipped, seconds) per "
        "epoch.");

    m.def(
        "bpr_seen_filter",
        [](const Array<int64_t>& indptr, const Array<int32_t>& indices, int64_t n_items, int num_threads) {
            CsrView X = csr_view(indptr, indices, std::nullopt, n_items, "X");
            Array<uint64_t> words(fz::bpr_seen_filter_words(X.nnz()));
            {
                py::gil_scoped_release release;
                fz::bpr_build_seen_filter(X, words.mutable_data(), num_threads);
            }
            return words;
        },
        py::arg("indptr"), py::arg("indices"), py::arg("n_items"), py::arg("num_threads"),
        "Bloom filter of the stored cells, the negative-sampling shortcut of bpr_epochs.");

    m.def(
        "bpr_replay",
        [](Array<float> users, Array<float> items, Array<float> item_bias, const Array<int32_t>& u,
           const Array<int32_t>& pos, const Array<int32_t>& neg, float learning_rate, float regularization,
           int isa) {
            require_ndim(items, 2, "items");
            require_ndim(users, 2, "users");
            const int64_t n_items = items.shape(0), d = items.shape(1);
            float* U = inout_matrix(users, -1, d, "users");
            float* V = inout_matrix(items, n_items, d, "items");
            float* b = inout_array(item_bias, 1, n_items, 0, "item_bias");
            require(u.size() == pos.size() && u.size() == neg.size(), "triples: lengths differ");
            require_in_range(u, users.shape(0), "users");
            require_in_range(pos, n_items, "positives");
            require_in_range(neg, n_items, "negatives");
            py::gil_scoped_release release;
            return fz::bpr_replay(U, V, b, static_cast<int>(d), u.data(), pos.data(), neg.data(), u.size(),
                                  bpr_config(learning_rate, regularization, false), isa);
        },
        py::arg("users").noconvert(), py::arg("items").noconvert(), py::arg("item_bias").noconvert(),
        py::arg("u"), py::arg("pos"), py::arg("neg"), py::arg("learning_rate"), py::arg("regularization"),
        py::arg("isa") = 0);

    m.def(
        "bpr_fold_in",
        [](const Array<int64_t>& indptr, const Array<int32_t>& indices, const Array<float>& items,
           const Array<float>& item_bias, float learning_rate, float regularization, bool verify_negatives,
           uint64_t seed, const Array<int64_t>& keys, int epochs, int num_threads, int isa) {
            require_ndim(items, 2, "items");
            const int64_t n_items = items.shape(0), d = items.shape(1);
            CsrView rows = csr_view(indptr, indices, std::nullopt, n_items, "rows");
            require_in_range(indices, n_items, "rows");
            require(item_bias.size() == n_items, "item_bias: one value per item");
            require(keys.size() == rows.n_rows, "keys: one key per row");
            require(epochs >= 0, "epochs: expected >= 0");
            Array<float> out({rows.n_rows, d});
            {
                py::gil_scoped_release release;
                fz::bpr_fold_in(rows, items.data(), item_bias.data(), static_cast<int>(d),
                                bpr_config(learning_rate, regularization, verify_negatives), seed,
                                keys.data(), epochs, out.mutable_data(), num_threads, isa);
            }
            return out;
        },
        py::arg("indptr"), py::arg("indices"), py::arg("items"), py::arg("item_bias"),
        py::arg("learning_rate"), py::arg("regularization"), py::arg("verify_negatives"), py::arg("seed"),
        py::arg("keys"), py::arg("epochs"), py::arg("num_threads"), py::arg("isa") = 0);
}

}  // namespace reelrec::bind
