// Bindings of the neighbourhood kernels (cpp/similarity/). Python validates the
// arguments; here we only re-check what would otherwise crash the process
// (shapes and index bounds) and translate names of options to enums.
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "bindings/common.hpp"
#include "common/topk.hpp"
#include "similarity/neighbours.hpp"
#include "similarity/scoring.hpp"
#include "similarity/sparse.hpp"
#include "similarity/text.hpp"

namespace reelrec::bind {

namespace sim = reelrec::similarity;

namespace {

// Hands a vector to NumPy without copying it.
template <class T>
py::array_t<T> to_numpy(std::vector<T>&& v) {
    if (v.empty()) return py::array_t<T>(0);
    auto* holder = new std::vector<T>(std::move(v));
    py::capsule owner(holder, [](void* p) { delete reinterpret_cast<std::vector<T>*>(p); });
    return py::array_t<T>(static_cast<py::ssize_t>(holder->size()), holder->data(), owner);
}

CsrView checked_csr(const Array<int64_t>& indptr, const Array<int32_t>& indices, const Array<float>& data,
                    int64_t n_cols, const char* name) {
    CsrView v = csr_view(indptr, indices, data, n_cols, name);
    require_below(v.indices, v.nnz(), n_cols, name);
    return v;
}

sim::Weighting weighting_from(const std::string& s) {
    if (s == "none") return sim::Weighting::kNone;
    if (s == "tfidf") return sim::Weighting::kTfidf;
    if (s == "bm25") return sim::Weighting::kBm25;
    throw py::value_error("weighting: expected 'none', 'tfidf' or 'bm25', got '" + s + "'");
}

sim::Centering centering_from(const std::string& s) {
    if (s == "none") return sim::Centering::kNone;
    if (s == "vector") return sim::Centering::kVectorMean;
    if (s == "feature") return sim::Centering::kFeatureMean;
    throw py::value_error("centering: expected 'none', 'vector' or 'feature', got '" + s + "'");
}

sim::Denominator denominator_from(const std::string& s) {
    if (s == "none") return sim::Denominator::kNone;
    if (s == "product") return sim::Denominator::kProduct;
    if (s == "jaccard") return sim::Denominator::kJaccard;
    throw py::value_error("denominator: expected 'none', 'product' or 'jaccard', got '" + s + "'");
}

sim::PrepareOptions prepare_options(const std::string& weighting, double bm25_k1, double bm25_b,
                                    const std::string& centering, bool binary) {
    sim::PrepareOptions opt;
    opt.weighting = weighting_from(weighting);
    opt.bm25_k1 = bm25_k1;
    opt.bm25_b = bm25_b;
    opt.centering = centering_from(centering);
    opt.binary = binary;
    return opt;
}

py::tuple csr_tuple(CsrMatrix&& m) {
    return py::make_tuple(to_numpy(std::move(m.indptr)), to_numpy(std::move(m.indices)),
                          to_numpy(std::move(m.data)));
}

// Borrowed UTF-8 views of a sequence of str; `keep` holds the references.
std::vector<std::string_view> utf8_views(const py::sequence& docs, py::tuple& keep) {
    keep = py::tuple(docs);
    std::vector<std::string_view> views(keep.size());
    for (std::size_t i = 0; i < keep.size(); ++i) {
        PyObject* obj = keep[i].ptr();
        if (!PyUnicode_Check(obj)) {
            throw py::type_error("raw_documents: expected str documents, got " +
                                 std::string(Py_TYPE(obj)->tp_name) + " at position " + std::to_string(i));
        }
        Py_ssize_t size = 0;
        const char* data = PyUnicode_AsUTF8AndSize(obj, &size);
        if (!data) {
            PyErr_Clear();
            throw py::value_error("raw_documents: document " + std::to_string(i) +
                                  " cannot be encoded as UTF-8 (lone surrogate?)");
        }
        views[i] = std::string_view(data, static_cast<std::size_t>(size));
    }
    return views;
}

sim::TextOptions text_options(bool lowercase, int min_token_chars, int ngram_min, int ngram_max,
                              const OptArray<uint8_t>& word_table) {
    require(ngram_min >= 1 && ngram_max >= ngram_min, "ngram_range: expected 1 <= min_n <= max_n");
    require(min_token_chars >= 1, "min_token_chars must be positive");
    sim::TextOptions opt;
    opt.lowercase = lowercase;
    opt.min_token_chars = min_token_chars;
    opt.ngram_min = ngram_min;
    opt.ngram_max = ngram_max;
    if (word_table) {
        require(word_table->size() == 0x110000, "word_table: expected 0x110000 flags");
        opt.word_table = word_table->data();
    }
    return opt;
}

}  // namespace

void bind_similarity(py::module_& m) {
    m.def(
        "csr_transpose",
        [](const Array<int64_t>& indptr, const Array<int32_t>& indices, const Array<float>& data,
           int64_t n_cols) {
            CsrView a = checked_csr(indptr, indices, data, n_cols, "matrix");
            CsrMatrix t;
            {
                py::gil_scoped_release release;
                t = transpose(a);
            }
            return csr_tuple(std::move(t));
        },
        py::arg("indptr"), py::arg("indices"), py::arg("data"), py::arg("n_cols"));

    m.def(
        "knn_prepare",
        [](const Array<int64_t>& indptr, const Array<int32_t>& indices, const Array<float>& data,
           int64_t n_cols, bool vectors_are_rows, const std::string& weighting, double bm25_k1, double bm25_b,
           const std::string& centering, bool binary, int num_threads) {
            CsrView x = checked_csr(indptr, indices, data, n_cols, "X");
            const sim::PrepareOptions opt = prepare_options(weighting, bm25_k1, bm25_b, centering, binary);
            CsrMatrix other;
            std::vector<float> x_values(static_cast<std::size_t>(x.nnz()));
            std::vector<float> other_values(static_cast<std::size_t>(x.nnz()));
            const int64_t n_vectors = vectors_are_rows ? x.n_rows : x.n_cols;
            std::vector<float> sq_norm(static_cast<std::size_t>(n_vectors));
            sim::VectorStats stats;
            {
                py::gil_scoped_release release;
                other = transpose(x);
                CsrView t = other.view();
                if (vectors_are_rows) {
                    stats = sim::prepare_training(x, t, opt, x_values.data(), other_values.data(),
                                                  sq_norm.data(), num_threads);
                } else {
                    stats = sim::prepare_training(t, x, opt, other_values.data(), x_values.data(),
                                                  sq_norm.data(), num_threads);
                }
            }
            other.data = std::move(other_values);
            py::dict out;
            out["x_values"] = to_numpy(std::move(x_values));
            out["transpose"] = csr_tuple(std::move(other));
            out["sq_norm"] = to_numpy(std::move(sq_norm));
            out["idf"] = to_numpy(std::move(stats.feature_idf));
            out["feature_mean"] = to_numpy(std::move(stats.feature_mean));
            out["avg_length"] = stats.avg_length;
            out["n_vectors"] = stats.n_vectors;
            return out;
        },
        py::arg("indptr"), py::arg("indices"), py::arg("data"), py::arg("n_cols"),
        py::arg("vectors_are_rows"), py::arg("weighting"), py::arg("bm25_k1"), py::arg("bm25_b"),
        py::arg("centering"), py::arg("binary"), py::arg("num_threads"));

    m.def(
        "knn_prepare_rows",
        [](const Array<int64_t>& indptr, const Array<int32_t>& indices, const Array<float>& data,
           int64_t n_features, const std::string& weighting, double bm25_k1, double bm25_b,
           const std::string& centering, bool binary, const Array<float>& idf, double avg_length,
           const Array<float>& feature_mean, int64_t n_vectors, int num_threads) {
            CsrView rows = checked_csr(indptr, indices, data, n_features, "user_items");
            const sim::PrepareOptions opt = prepare_options(weighting, bm25_k1, bm25_b, centering, binary);
            sim::VectorStats stats;
            stats.n_vectors = n_vectors;
            stats.avg_length = avg_length;
            if (opt.weighting != sim::Weighting::kNone) {
                require(idf.size() == n_features, "idf: expected one value per feature");
                stats.feature_idf.assign(idf.data(), idf.data() + idf.size());
            }
            if (opt.centering == sim::Centering::kFeatureMean) {
                require(feature_mean.size() == n_features, "feature_mean: expected one value per feature");
                stats.feature_mean.assign(feature_mean.data(), feature_mean.data() + feature_mean.size());
            }
            Array<float> values(rows.nnz());
            Array<float> sq_norm(rows.n_rows);
            {
                py::gil_scoped_release release;
                sim::prepare_rows(rows, stats, opt, values.mutable_data(), sq_norm.mutable_data(),
                                  num_threads);
            }
            return py::make_tuple(values, sq_norm);
        },
        py::arg("indptr"), py::arg("indices"), py::arg("data"), py::arg("n_features"), py::arg("weighting"),
        py::arg("bm25_k1"), py::arg("bm25_b"), py::arg("centering"), py::arg("binary"), py::arg("idf"),
        py::arg("avg_length"), py::arg("feature_mean"), py::arg("n_vectors"), py::arg("num_threads"));

    m.def(
        "knn_neighbours",
        [](const Array<int64_t>& q_indptr, const Array<int32_t>& q_indices, const Array<float>& q_data,
           const Array<int64_t>& b_indptr, const Array<int32_t>& b_indices, const Array<float>& b_data,
           int64_t n_base, const std::string& denominator, const OptArray<float>& query_factor,
           const OptArray<float>& base_factor, float shrinkage, const OptArray<int64_t>& exclude, int64_t k,
           int num_threads) {
            require(k > 0, "k must be positive");
            CsrView base = checked_csr(b_indptr, b_indices, b_data, n_base, "base");
            CsrView q = checked_csr(q_indptr, q_indices, q_data, base.n_rows, "queries");
            sim::NeighbourOptions opt;
            opt.denominator = denominator_from(denominator);
            opt.shrinkage = shrinkage;
            if (opt.denominator != sim::Denominator::kNone) {
                require(query_factor && query_factor->size() == q.n_rows,
                        "query_factor: expected one value per query");
                require(base_factor && base_factor->size() == n_base,
                        "base_factor: expected one value per base vector");
                opt.query_factor = query_factor->data();
                opt.base_factor = base_factor->data();
            }
            if (exclude) require(exclude->size() == q.n_rows, "exclude: expected one value per query");
            Array<int32_t> ids({q.n_rows, k});
            Array<float> scores({q.n_rows, k});
            {
                py::gil_scoped_release release;
                sim::neighbours_topk(q, base, opt, exclude ? exclude->data() : nullptr, k, ids.mutable_data(),
                                     scores.mutable_data(), num_threads);
            }
            return py::make_tuple(ids, scores);
        },
        py::arg("q_indptr"), py::arg("q_indices"), py::arg("q_data"), py::arg("b_indptr"),
        py::arg("b_indices"), py::arg("b_data"), py::arg("n_base"), py::arg("denominator"),
        py::arg("query_factor"), py::arg("base_factor"), py::arg("shrinkage"), py::arg("exclude"),
        py::arg("k"), py::arg("num_threads"));

    m.def(
        "topk_to_csr",
        [](const Array<int32_t>& ids, const Array<float>& scores, int num_threads) {
            require_ndim(ids, 2, "ids");
            require_ndim(scores, 2, "scores");
            require(ids.shape(0) == scores.shape(0) && ids.shape(1) == scores.shape(1),
                    "ids and scores differ in shape");
            const int64_t n = ids.shape(0), k = ids.shape(1);
            Array<int64_t> indptr(n + 1);
            sim::topk_row_counts(ids.data(), n, k, indptr.mutable_data());
            const int64_t nnz = indptr.data()[n];
            Array<int32_t> indices(nnz);
            Array<float> data(nnz);
            {
                py::gil_scoped_release release;
                sim::topk_to_csr(ids.data(), scores.data(), n, k, indptr.data(), indices.mutable_data(),
                                 data.mutable_data(), num_threads);
            }
            return py::make_tuple(indptr, indices, data);
        },
        py::arg("ids"), py::arg("scores"), py::arg("num_threads"));

    m.def(
        "knn_score_topk",
        [](const Array<int64_t>& h_indptr, const Array<int32_t>& h_indices, const Array<float>& h_data,
           const OptArray<int64_t>& rows, const Array<int64_t>& s_indptr, const Array<int32_t>& s_indices,
           const Array<float>& s_data, int64_t n_items, bool normalize, int64_t k,
           const OptArray<uint8_t>& allow, const OptArray<uint8_t>& deny,
           const OptArray<int64_t>& seen_indptr, const OptArray<int32_t>& seen_indices, int num_threads) {
            require(k > 0, "k must be positive");
            CsrView S = checked_csr(s_indptr, s_indices, s_data, n_items, "similarity");
            CsrView H = checked_csr(h_indptr, h_indices, h_data, S.n_rows, "histories");
            int64_t n_q = H.n_rows;
            if (rows) {
                n_q = rows->size();
                require_below(rows->data(), n_q, H.n_rows, "rows");
            }
            ItemFilter f = make_filter(allow, deny, seen_indptr, seen_indices, n_q, n_items);
            Array<int32_t> ids({n_q, k});
            Array<float> scores({n_q, k});
            {
                py::gil_scoped_release release;
                sim::score_topk(H, rows ? rows->data() : nullptr, n_q, S, normalize, k, f, ids.mutable_data(),
                                scores.mutable_data(), num_threads);
            }
            return py::make_tuple(ids, scores);
        },
        py::arg("h_indptr"), py::arg("h_indices"), py::arg("h_data"), py::arg("rows"), py::arg("s_indptr"),
        py::arg("s_indices"), py::arg("s_data"), py::arg("n_items"), py::arg("normalize"), py::arg("k"),
        py::arg("allow"), py::arg("deny"), py::arg("seen_indptr"), py::arg("seen_indices"),
        py::arg("num_threads"));

    m.def(
        "csr_rows_topk",
        [](const Array<int64_t>& indptr, const Array<int32_t>& indices, const Array<float>& data,
           int64_t n_cols, const OptArray<int64_t>& rows, const OptArray<int64_t>& exclude, int64_t k,
           int num_threads) {
            require(k > 0, "k must be positive");
            CsrView mat = checked_csr(indptr, indices, data, n_cols, "matrix");
            int64_t n_q = mat.n_rows;
            if (rows) {
                n_q = rows->size();
                require_below(rows->data(), n_q, mat.n_rows, "rows");
            }
            if (exclude) require(exclude->size() == n_q, "exclude: expected one value per query");
            Array<int32_t> ids({n_q, k});
            Array<float> scores({n_q, k});
            {
                py::gil_scoped_release release;
                sim::csr_rows_topk(mat, rows ? rows->data() : nullptr, n_q,
                                   exclude ? exclude->data() : nullptr, k, ids.mutable_data(),
                                   scores.mutable_data(), num_threads);
            }
            return py::make_tuple(ids, scores);
        },
        py::arg("indptr"), py::arg("indices"), py::arg("data"), py::arg("n_cols"), py::arg("rows"),
        py::arg("exclude"), py::arg("k"), py::arg("num_threads"));

    m.def(
        "knn_predict",
        [](const Array<int64_t>& s_indptr, const Array<int32_t>& s_indices, const Array<float>& s_data,
           const Array<int64_t>& r_indptr, const Array<int32_t>& r_indices, const Array<float>& r_data,
           const Array<int64_t>& targets, const Array<int64_t>& others, bool centred, float global,
           const OptArray<float>& target_bias, const OptArray<float>& other_bias, float clip_low,
           float clip_high, int num_threads) {
            const int64_t n_targets = s_indptr.size() - 1;
            CsrView S = checked_csr(s_indptr, s_indices, s_data, n_targets, "similarity");
            CsrView R = checked_csr(r_indptr, r_indices, r_data, n_targets, "ratings");
            require(targets.size() == others.size(), "targets and others differ in length");
            const int64_t n = targets.size();
            require_below(targets.data(), n, n_targets, "targets");
            require_below(others.data(), n, R.n_rows, "others");
            sim::RatingBaseline base;
            base.centred = centred;
            base.global = global;
            if (target_bias) {
                require(target_bias->size() == n_targets, "target_bias: one value per target");
                base.target_bias = target_bias->data();
            }
            if (other_bias) {
                require(other_bias->size() == R.n_rows, "other_bias: one value per row of ratings");
                base.other_bias = other_bias->data();
            }
            base.clip_low = clip_low;
            base.clip_high = clip_high;
            Array<float> out(n);
            {
                py::gil_scoped_release release;
                sim::predict_ratings(S, R, targets.data(), others.data(), n, base, out.mutable_data(),
                                     num_threads);
            }
            return out;
        },
        py::arg("s_indptr"), py::arg("s_indices"), py::arg("s_data"), py::arg("r_indptr"),
        py::arg("r_indices"), py::arg("r_data"), py::arg("targets"), py::arg("others"), py::arg("centred"),
        py::arg("global_mean"), py::arg("target_bias"), py::arg("other_bias"), py::arg("clip_low"),
        py::arg("clip_high"), py::arg("num_threads"));

    // ------------------------------------------------------------ text features
    py::class_<sim::TermTable, std::shared_ptr<sim::TermTable>>(
        m, "TermVocabulary", "Sorted n-gram vocabulary of a fitted TfidfFeaturizer (opaque).")
        .def("__len__", [](const sim::TermTable& t) { return t.size(); })
        .def("terms",
             [](const sim::TermTable& t) {
                 py::list out(static_cast<std::size_t>(t.size()));
                 for (int64_t i = 0; i < t.size(); ++i) {
                     const std::string_view s = t.term(i);
                     out[static_cast<std::size_t>(i)] = py::str(s.data(), s.size());
                 }
                 return out;
             })
        .def(
            "subset",
            [](const sim::TermTable& t, const Array<uint8_t>& keep) {
                require(keep.size() == t.size(), "keep: expected one flag per term");
                return std::make_shared<sim::TermTable>(sim::subset_vocabulary(t, keep.data()));
            },
            py::arg("keep"))
        .def(
            "index", [](const sim::TermTable& t, const std::string& term) { return t.find(term); },
            py::arg("term"));

    m.def(
        "text_count_fit",
        [](const py::sequence& docs, bool lowercase, int min_token_chars, int ngram_min, int ngram_max,
           const OptArray<uint8_t>& word_table, int64_t min_df, double max_df, int64_t max_features,
           int num_threads) {
            py::tuple keep;
            std::vector<std::string_view> views = utf8_views(docs, keep);
            sim::TextOptions opt = text_options(lowercase, min_token_chars, ngram_min, ngram_max, word_table);
            sim::VocabularyLimits limits;
            limits.min_df = min_df;
            limits.max_df = max_df;
            limits.max_features = max_features;
            auto vocabulary = std::make_shared<sim::TermTable>();
            std::vector<int64_t> df;
            int64_t n_seen = 0;
            CsrMatrix counts;
            {
                py::gil_scoped_release release;
                counts = sim::count_fit(views, opt, limits, *vocabulary, df, n_seen, num_threads);
            }
            return py::make_tuple(csr_tuple(std::move(counts)), vocabulary, to_numpy(std::move(df)), n_seen);
        },
        py::arg("docs"), py::arg("lowercase"), py::arg("min_token_chars"), py::arg("ngram_min"),
        py::arg("ngram_max"), py::arg("word_table"), py::arg("min_df"), py::arg("max_df"),
        py::arg("max_features"), py::arg("num_threads"));

    m.def(
        "tfidf_values",
        [](const Array<int64_t>& indptr, const Array<int32_t>& indices, const Array<float>& counts,
           int64_t n_terms, const OptArray<double>& idf, bool sublinear, int norm, int num_threads) {
            CsrView c = checked_csr(indptr, indices, counts, n_terms, "counts");
            if (idf) require(idf->size() == n_terms, "idf: expected one value per term");
            require(norm >= 0 && norm <= 2, "norm: expected 0 (none), 1 (l1) or 2 (l2)");
            Array<float> out(c.nnz());
            {
                py::gil_scoped_release release;
                sim::tfidf_values(c, idf ? idf->data() : nullptr, sublinear, norm, out.mutable_data(),
                                  num_threads);
            }
            return out;
        },
        py::arg("indptr"), py::arg("indices"), py::arg("counts"), py::arg("n_terms"), py::arg("idf"),
        py::arg("sublinear"), py::arg("norm"), py::arg("num_threads"));

    m.def(
        "text_count_transform",
        [](const py::sequence& docs, const std::shared_ptr<sim::TermTable>& vocabulary, bool lowercase,
           int min_token_chars, int ngram_min, int ngram_max, const OptArray<uint8_t>& word_table,
           int num_threads) {
            py::tuple keep;
            std::vector<std::string_view> views = utf8_views(docs, keep);
            sim::TextOptions opt = text_options(lowercase, min_token_chars, ngram_min, ngram_max, word_table);
            CsrMatrix counts;
            {
                py::gil_scoped_release release;
                counts = sim::count_transform(views, opt, *vocabulary, num_threads);
            }
            return csr_tuple(std::move(counts));
        },
        py::arg("docs"), py::arg("vocabulary"), py::arg("lowercase"), py::arg("min_token_chars"),
        py::arg("ngram_min"), py::arg("ngram_max"), py::arg("word_table"), py::arg("num_threads"));
}

}  // namespace reelrec::bind
