#include "similarity/scoring.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "common/parallel.hpp"
#include "similarity/sparse.hpp"

namespace reelrec::similarity {

namespace {

constexpr int64_t kDenseDivisor = 8;

// Small batches (a few milliseconds of work) run on the calling thread.
int threads_for(double work, int num_threads) { return work < 2e6 ? 1 : resolve_threads(num_threads); }

struct QueryScratch {
    std::vector<float> acc, weight;
    std::vector<uint8_t> touched_mark, blocked;
    std::vector<int32_t> touched;

    QueryScratch(int64_t n_items, bool normalize)
        : acc(static_cast<std::size_t>(n_items), 0.0f),
          weight(normalize ? static_cast<std::size_t>(n_items) : 0, 0.0f),
          touched_mark(static_cast<std::size_t>(n_items), 0),
          blocked(static_cast<std::size_t>(n_items), 0),
          touched(static_cast<std::size_t>(n_items)) {}
};

inline bool allowed(const ItemFilter& f, const uint8_t* blocked, int64_t item) {
    if (blocked[item]) return false;
    if (f.allow && !f.allow[item]) return false;
    if (f.deny && f.deny[item]) return false;
    return true;
}

inline float final_score(const QueryScratch& s, int64_t item, bool normalize) {
    if (!normalize) return s.acc[item];
    const float w = s.weight[item];
    return w > 0.0f ? s.acc[item] / w : 0.0f;
}

}  // namespace

void score_topk(const CsrView& H, const int64_t* rows, int64_t n_q, const CsrView& S, bool normalize,
                int64_t k, const ItemFilter& filter, int32_t* out_ids, float* out_scores, int num_threads) {
    const int64_t n_items = S.n_cols;
    double work = 0.0;
    for (int64_t q = 0; q < n_q; ++q) {
        const int64_t r = rows ? rows[q] : q;
        for (int64_t p = H.indptr[r]; p < H.indptr[r + 1]; ++p)
            work += static_cast<double>(row_length(S, H.indices[p]));
        work += static_cast<double>(k);
    }
    const int threads = threads_for(work, num_threads);
    ExceptionCollector errors;
#pragma omp parallel num_threads(threads)
    {
        QueryScratch s(n_items, normalize);
        TopKHeap heap(k);
#pragma omp for schedule(dynamic, 4)
        for (int64_t q = 0; q < n_q; ++q) {
            errors.run([&] {
                heap.reset(k);
                const int64_t r = rows ? rows[q] : q;
                const int64_t hb = H.indptr[r], he = H.indptr[r + 1];
                int64_t row_work = 0;
                for (int64_t p = hb; p < he; ++p) row_work += row_length(S, H.indices[p]);
                const int32_t *seen_b = nullptr, *seen_e = nullptr;
                if (!filter.seen.empty()) {
                    seen_b = filter.seen.indices + filter.seen.indptr[q];
                    seen_e = filter.seen.indices + filter.seen.indptr[q + 1];
                }
                for (const int32_t* it = seen_b; it != seen_e; ++it) s.blocked[*it] = 1;
                float* acc = s.acc.data();
                float* wsum = normalize ? s.weight.data() : nullptr;
                const bool dense = row_work * kDenseDivisor >= n_items;
                int64_t n_touched = 0;
                for (int64_t p = hb; p < he; ++p) {
                    const int32_t j = H.indices[p];
                    const float h = H.data[p];
                    for (int64_t t = S.indptr[j]; t < S.indptr[j + 1]; ++t) {
                        const int32_t item = S.indices[t];
                        if (!dense && !s.touched_mark[item]) {
                            s.touched_mark[item] = 1;
                            s.touched[n_touched++] = item;
                        }
                        acc[item] += h * S.data[t];
                        if (wsum) wsum[item] += std::fabs(S.data[t]);
                    }
                }
                if (dense) {
                    for (int64_t item = 0; item < n_items; ++item) {
                        if (allowed(filter, s.blocked.data(), item))
                            heap.push(final_score(s, item, normalize), static_cast<int32_t>(item));
                        acc[item] = 0.0f;
                        if (wsum) wsum[item] = 0.0f;
                    }
                } else {
                    for (int64_t i = 0; i < n_touched; ++i) {
                        const int32_t item = s.touched[i];
                        if (allowed(filter, s.blocked.data(), item))
                            heap.push(final_score(s, item, normalize), item);
                    }
                    // Untouched items score 0 and rank by index among themselves:
                    // after k of them entered, no later one can.
                    int64_t zeros = 0;
                    for (int64_t item = 0; item < n_items && zeros < k; ++item) {
                        if (heap.threshold() > 0.0f) break;
                        if (s.touched_mark[item] || !allowed(filter, s.blocked.data(), item)) continue;
                        heap.push(0.0f, static_cast<int32_t>(item));
                        ++zeros;
                    }
                    for (int64_t i = 0; i < n_touched; ++i) {
                        const int32_t item = s.touched[i];
                        acc[item] = 0.0f;
                        if (wsum) wsum[item] = 0.0f;
                        s.touched_mark[item] = 0;
                    }
                }
                for (const int32_t* it = seen_b; it != seen_e; ++it) s.blocked[*it] = 0;
                heap.write_sorted(out_ids + q * k, out_scores + q * k);
            });
        }
    }
    errors.rethrow();
}

void csr_rows_topk(const CsrView& m, const int64_t* rows, int64_t n_q, const int64_t* exclude, int64_t k,
                   int32_t* out_ids, float* out_scores, int num_threads) {
    double work = 0.0;
    for (int64_t q = 0; q < n_q; ++q) work += static_cast<double>(row_length(m, rows ? rows[q] : q) + 1);
    const int threads = threads_for(work, num_threads);
    ExceptionCollector errors;
#pragma omp parallel num_threads(threads)
    {
        TopKHeap heap(k);
#pragma omp for schedule(dynamic, 16)
        for (int64_t q = 0; q < n_q; ++q) {
            errors.run([&] {
                heap.reset(k);
                const int64_t r = rows ? rows[q] : q;
                const int64_t self = exclude ? exclude[q] : -1;
                for (int64_t p = m.indptr[r]; p < m.indptr[r + 1]; ++p) {
                    const float v = m.data[p];
                    if (m.indices[p] != self && std::isfinite(v)) heap.push(v, m.indices[p]);
                }
                heap.write_sorted(out_ids + q * k, out_scores + q * k);
            });
        }
    }
    errors.rethrow();
}

void predict_ratings(const CsrView& sim, const CsrView& ratings, const int64_t* targets,
                     const int64_t* others, int64_t n_pairs, const RatingBaseline& base, float* out,
                     int num_threads) {
    const int threads = threads_for(static_cast<double>(n_pairs) * 64.0, num_threads);
    auto bias = [&](int64_t target, int64_t other) {
        float b = base.global;
        if (base.target_bias) b += base.target_bias[target];
        if (base.other_bias) b += base.other_bias[other];
        return b;
    };
#pragma omp parallel for num_threads(threads) schedule(dynamic, 256)
    for (int64_t i = 0; i < n_pairs; ++i) {
        const int64_t t = targets[i], c = others[i];
        // Both rows are sorted by neighbour index: a merge finds the neighbours of t that c rated.
        int64_t p = sim.indptr[t];
        const int64_t pe = sim.indptr[t + 1];
        int64_t q = ratings.indptr[c];
        const int64_t qe = ratings.indptr[c + 1];
        double num = 0.0, den = 0.0;
        while (p < pe && q < qe) {
            const int32_t a = sim.indices[p], b = ratings.indices[q];
            if (a < b) {
                ++p;
            } else if (b < a) {
                ++q;
            } else {
                const double s = sim.data[p];
                if (s > 0.0) {
                    const double r = ratings.data[q];
                    num += s * (base.centred ? r - bias(a, c) : r);
                    den += s;
                }
                ++p;
                ++q;
            }
        }
        double pred;
        if (den > 0.0) {
            pred = base.centred ? bias(t, c) + num / den : num / den;
        } else {
            pred = base.centred ? bias(t, c) : base.global;
        }
        out[i] = static_cast<float>(std::min<double>(base.clip_high, std::max<double>(base.clip_low, pred)));
    }
}

}  // namespace reelrec::similarity
