#include "similarity/neighbours.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

#include "common/parallel.hpp"
#include "common/topk.hpp"
#include "similarity/sparse.hpp"

namespace reelrec::similarity {

namespace {

// One place computes the weighted value of an entry so that the two
// orientations of the training matrix and folded-in rows agree bit for bit.
struct Weigher {
    Weighting weighting;
    double k1, b;
    const float* idf;  // per feature

    // length_norm: BM25 document length normalisation of the entry's vector.
    inline float operator()(float x, int32_t feature, double length_norm) const {
        switch (weighting) {
            case Weighting::kTfidf:
                return static_cast<float>(std::sqrt(static_cast<double>(x)) * idf[feature]);
            case Weighting::kBm25: {
                const double xd = x;
                return static_cast<float>(xd * (k1 + 1.0) / (k1 * length_norm + xd) * idf[feature]);
            }
            default:
                return x;
        }
    }
};

inline double bm25_length_norm(double length, double avg_length, double b) {
    // an all-zero training matrix has no meaningful average: treat every vector as average
    const double ratio = avg_length > 0.0 ? length / avg_length : 1.0;
    return (1.0 - b) + b * ratio;
}

inline double raw_row_sum(const CsrView& m, int64_t r) {
    double s = 0.0;
    for (int64_t p = m.indptr[r]; p < m.indptr[r + 1]; ++p) s += m.data[p];
    return s;
}

inline float row_mean(const float* values, int64_t begin, int64_t end) {
    if (end == begin) return 0.0f;
    double s = 0.0;
    for (int64_t p = begin; p < end; ++p) s += values[p];
    return static_cast<float>(s / static_cast<double>(end - begin));
}

inline float sum_of_squares(const float* values, int64_t begin, int64_t end) {
    double s = 0.0;
    for (int64_t p = begin; p < end; ++p) s += static_cast<double>(values[p]) * values[p];
    return static_cast<float>(s);
}

int threads_for(double work, int num_threads) { return work < 2e5 ? 1 : resolve_threads(num_threads); }

}  // namespace

VectorStats prepare_training(const CsrView& vectors, const CsrView& features,
                             const PrepareOptions& opt, float* vector_values,
                             float* feature_values, float* sq_norm, int num_threads) {
    const int64_t n_vec = vectors.n_rows;
    const int64_t n_feat = features.n_rows;
    const int threads = threads_for(static_cast<double>(vectors.nnz()), num_threads);
    VectorStats stats;
    stats.n_vectors = n_vec;

    if (opt.weighting != Weighting::kNone) {
        // idf as in implicit: log(N) - log1p(df), N = number of vectors (documents)
        stats.feature_idf.resize(static_cast<std::size_t>(n_feat));
        const double log_n = std::log(static_cast<double>(n_vec));
        for (int64_t f = 0; f < n_feat; ++f)
            stats.feature_idf[f] = static_cast<float>(log_n - std::log1p(static_cast<double>(row_length(features, f))));
    }
    std::vector<double> length_norm;
    if (opt.weighting == Weighting::kBm25) {
        std::vector<double> length(static_cast<std::size_t>(n_vec));
        double total = 0.0;
        for (int64_t v = 0; v < n_vec; ++v) {
            length[v] = raw_row_sum(vectors, v);
            total += length[v];
        }
        stats.avg_length = n_vec > 0 ? total / static_cast<double>(n_vec) : 0.0;
        length_norm.resize(length.size());
        for (int64_t v = 0; v < n_vec; ++v)
            length_norm[v] = bm25_length_norm(length[v], stats.avg_length, opt.bm25_b);
    }
    const Weigher weigh{opt.weighting, opt.bm25_k1, opt.bm25_b, stats.feature_idf.data()};
    auto norm_of = [&](int64_t v) { return length_norm.empty() ? 1.0 : length_norm[v]; };

    std::vector<float> vector_mean;
    if (opt.centering == Centering::kVectorMean) vector_mean.resize(static_cast<std::size_t>(n_vec));
    if (opt.centering == Centering::kFeatureMean) stats.feature_mean.resize(static_cast<std::size_t>(n_feat));

    // Vector orientation: weights, and the vector means when centring on them.
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int64_t v = 0; v < n_vec; ++v) {
        const int64_t b = vectors.indptr[v], e = vectors.indptr[v + 1];
        const double ln = norm_of(v);
        for (int64_t p = b; p < e; ++p) vector_values[p] = weigh(vectors.data[p], vectors.indices[p], ln);
        if (!vector_mean.empty()) {
            vector_mean[v] = row_mean(vector_values, b, e);
            for (int64_t p = b; p < e; ++p) vector_values[p] -= vector_mean[v];
        }
    }
    // Feature orientation: the same values, and the feature means when centring on them.
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int64_t f = 0; f < n_feat; ++f) {
        const int64_t b = features.indptr[f], e = features.indptr[f + 1];
        for (int64_t p = b; p < e; ++p) {
            const int32_t v = features.indices[p];
            feature_values[p] = weigh(features.data[p], static_cast<int32_t>(f), norm_of(v));
            if (!vector_mean.empty()) feature_values[p] -= vector_mean[v];
        }
        if (!stats.feature_mean.empty()) {
            stats.feature_mean[f] = row_mean(feature_values, b, e);
            for (int64_t p = b; p < e; ++p) feature_values[p] -= stats.feature_mean[f];
        }
    }
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int64_t v = 0; v < n_vec; ++v) {
        const int64_t b = vectors.indptr[v], e = vectors.indptr[v + 1];
        if (!stats.feature_mean.empty()) {
            for (int64_t p = b; p < e; ++p) vector_values[p] -= stats.feature_mean[vectors.indices[p]];
        }
        if (opt.binary) std::fill(vector_values + b, vector_values + e, 1.0f);
        sq_norm[v] = sum_of_squares(vector_values, b, e);
    }
    if (opt.binary) std::fill(feature_values, feature_values + features.nnz(), 1.0f);
    return stats;
}

void prepare_rows(const CsrView& rows, const VectorStats& stats, const PrepareOptions& opt,
                  float* values, float* sq_norm, int num_threads) {
    const Weigher weigh{opt.weighting, opt.bm25_k1, opt.bm25_b, stats.feature_idf.data()};
    const int threads = threads_for(static_cast<double>(rows.nnz()), num_threads);
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int64_t r = 0; r < rows.n_rows; ++r) {
        const int64_t b = rows.indptr[r], e = rows.indptr[r + 1];
        const double ln = opt.weighting == Weighting::kBm25
                              ? bm25_length_norm(raw_row_sum(rows, r), stats.avg_length, opt.bm25_b)
                              : 1.0;
        for (int64_t p = b; p < e; ++p) values[p] = weigh(rows.data[p], rows.indices[p], ln);
        if (opt.centering == Centering::kVectorMean) {
            const float mean = row_mean(values, b, e);
            for (int64_t p = b; p < e; ++p) values[p] -= mean;
        } else if (opt.centering == Centering::kFeatureMean) {
            for (int64_t p = b; p < e; ++p) values[p] -= stats.feature_mean[rows.indices[p]];
        }
        if (opt.binary) std::fill(values + b, values + e, 1.0f);
        sq_norm[r] = sum_of_squares(values, b, e);
    }
}

namespace {

// A row whose accumulation work reaches n_base / kDenseDivisor scans the whole
// accumulator instead of tracking touched entries.
constexpr int64_t kDenseDivisor = 8;

template <Denominator D>
inline void offer(TopKHeap& heap, int32_t b, float acc, float qf, const NeighbourOptions& opt) {
    float s;
    if (D == Denominator::kNone) {
        s = acc;
    } else if (D == Denominator::kProduct) {
        const float d = qf * opt.base_factor[b] + opt.shrinkage;
        if (!(d > 0.0f)) return;
        s = acc / d;
    } else {
        const float d = qf + opt.base_factor[b] - acc + opt.shrinkage;
        if (!(d > 0.0f)) return;
        s = acc / d;
    }
    if (s != 0.0f) heap.push(s, b);
}

template <Denominator D>
void neighbours_impl(const CsrView& Q, const CsrView& B, const NeighbourOptions& opt,
                     const int64_t* exclude, int64_t k, int32_t* out_ids, float* out_scores,
                     int threads) {
    const int64_t n_q = Q.n_rows, n_base = B.n_cols;
    const int64_t* bptr = B.indptr;
    const int32_t* bidx = B.indices;
    const float* bval = B.data;
    ExceptionCollector errors;
#pragma omp parallel num_threads(threads)
    {
        std::vector<float> acc(static_cast<std::size_t>(n_base), 0.0f);
        std::vector<uint8_t> mark(static_cast<std::size_t>(n_base), 0);
        std::vector<int32_t> touched(static_cast<std::size_t>(n_base));
        TopKHeap heap(k);
#pragma omp for schedule(dynamic, 8)
        for (int64_t q = 0; q < n_q; ++q) {
            errors.run([&] {
                heap.reset(k);
                const int64_t qb = Q.indptr[q], qe = Q.indptr[q + 1];
                int64_t work = 0;
                for (int64_t p = qb; p < qe; ++p) work += bptr[Q.indices[p] + 1] - bptr[Q.indices[p]];
                const float qf = opt.query_factor ? opt.query_factor[q] : 1.0f;
                const int64_t self = exclude ? exclude[q] : -1;
                float* a = acc.data();
                if (work * kDenseDivisor >= n_base) {
                    for (int64_t p = qb; p < qe; ++p) {
                        const int32_t f = Q.indices[p];
                        const float w = Q.data[p];
                        const int64_t e = bptr[f + 1];
                        for (int64_t r = bptr[f]; r < e; ++r) a[bidx[r]] += w * bval[r];
                    }
                    for (int64_t b = 0; b < n_base; ++b) {
                        const float v = a[b];
                        if (v == 0.0f) continue;
                        a[b] = 0.0f;
                        if (b != self) offer<D>(heap, static_cast<int32_t>(b), v, qf, opt);
                    }
                } else {
                    uint8_t* m = mark.data();
                    int32_t* t = touched.data();
                    int64_t n_touched = 0;
                    for (int64_t p = qb; p < qe; ++p) {
                        const int32_t f = Q.indices[p];
                        const float w = Q.data[p];
                        const int64_t e = bptr[f + 1];
                        for (int64_t r = bptr[f]; r < e; ++r) {
                            const int32_t b = bidx[r];
                            if (!m[b]) {
                                m[b] = 1;
                                t[n_touched++] = b;
                            }
                            a[b] += w * bval[r];
                        }
                    }
                    for (int64_t i = 0; i < n_touched; ++i) {
                        const int32_t b = t[i];
                        const float v = a[b];
                        a[b] = 0.0f;
                        m[b] = 0;
                        if (v != 0.0f && b != self) offer<D>(heap, b, v, qf, opt);
                    }
                }
                heap.write_sorted(out_ids + q * k, out_scores + q * k);
            });
        }
    }
    errors.rethrow();
}

}  // namespace

void neighbours_topk(const CsrView& queries, const CsrView& base_by_feature,
                     const NeighbourOptions& opt, const int64_t* exclude, int64_t k,
                     int32_t* out_ids, float* out_scores, int num_threads) {
    double work = 0.0;
    const int64_t nnz = queries.nnz();
    for (int64_t p = 0; p < nnz; ++p)
        work += static_cast<double>(row_length(base_by_feature, queries.indices[p]));
    const int threads = threads_for(work + static_cast<double>(queries.n_rows), num_threads);
    switch (opt.denominator) {
        case Denominator::kNone:
            neighbours_impl<Denominator::kNone>(queries, base_by_feature, opt, exclude, k, out_ids,
                                                out_scores, threads);
            break;
        case Denominator::kProduct:
            neighbours_impl<Denominator::kProduct>(queries, base_by_feature, opt, exclude, k,
                                                   out_ids, out_scores, threads);
            break;
        case Denominator::kJaccard:
            neighbours_impl<Denominator::kJaccard>(queries, base_by_feature, opt, exclude, k,
                                                   out_ids, out_scores, threads);
            break;
    }
}

void topk_row_counts(const int32_t* ids, int64_t n_rows, int64_t k, int64_t* indptr) {
    indptr[0] = 0;
    for (int64_t r = 0; r < n_rows; ++r) {
        int64_t c = 0;
        while (c < k && ids[r * k + c] >= 0) ++c;  // padding only at the end
        indptr[r + 1] = indptr[r] + c;
    }
}

void topk_to_csr(const int32_t* ids, const float* scores, int64_t n_rows, int64_t k,
                 const int64_t* indptr, int32_t* out_indices, float* out_data, int num_threads) {
    const int threads = threads_for(static_cast<double>(indptr[n_rows]) * 4.0, num_threads);
#pragma omp parallel num_threads(threads)
    {
        std::vector<std::pair<int32_t, float>> row;
#pragma omp for schedule(static)
        for (int64_t r = 0; r < n_rows; ++r) {
            const int64_t n = indptr[r + 1] - indptr[r];
            row.clear();
            for (int64_t j = 0; j < n; ++j) row.emplace_back(ids[r * k + j], scores[r * k + j]);
            std::sort(row.begin(), row.end(),
                      [](const auto& x, const auto& y) { return x.first < y.first; });
            for (int64_t j = 0; j < n; ++j) {
                out_indices[indptr[r] + j] = row[j].first;
                out_data[indptr[r] + j] = row[j].second;
            }
        }
    }
}

}  // namespace reelrec::similarity
