#include "metrics/ranking.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/parallel.hpp"

namespace reelrec {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Per-thread scratch, reused across users so the loop does not allocate.
struct Scratch {
    std::vector<int64_t> hit_stamp;  // per position of the relevance row: last user that hit it
    std::vector<float> gains;        // the user's positive gains, for the ideal DCG
    std::vector<uint64_t> keyed;     // (item, position) pairs, for de-duplicating a list
    std::vector<uint8_t> first;      // 1 where a list position holds its item's first copy
};

void write_nan(const RankingOutputs& out, int64_t u) {
    for (double* p : {out.precision, out.recall, out.f1, out.average_precision, out.ndcg,
                      out.reciprocal_rank, out.hit, out.auc}) {
        if (p) p[u] = kNaN;
    }
}

[[noreturn]] void bad_id(int64_t user, int64_t rank, int32_t id, int64_t n_items) {
    throw std::out_of_range("recommended: item id " + std::to_string(id) + " (user row " +
                            std::to_string(user) + ", column " + std::to_string(rank) +
                            ") is out of range for " + std::to_string(n_items) +
                            " items; use -1 for padding");
}

// Marks first occurrences in row[0..k); pads are marked 0. O(k log k).
void first_occurrences(const int32_t* row, int64_t k, Scratch& s) {
    s.keyed.clear();
    s.first.assign(static_cast<std::size_t>(k), 0);
    for (int64_t r = 0; r < k; ++r) {
        if (row[r] >= 0) {
            s.keyed.push_back((static_cast<uint64_t>(static_cast<uint32_t>(row[r])) << 32) |
                              static_cast<uint64_t>(r));
        }
    }
    std::sort(s.keyed.begin(), s.keyed.end());
    for (std::size_t i = 0; i < s.keyed.size(); ++i) {
        if (i == 0 || (s.keyed[i] >> 32) != (s.keyed[i - 1] >> 32)) {
            s.first[s.keyed[i] & 0xffffffffu] = 1;
        }
    }
}

void score_user(const int32_t* row, int64_t u, int64_t k, const CsrView& rel,
                const std::vector<double>& discount, const RankingOutputs& out, Scratch& s) {
    const int64_t b = rel.row_begin(u), e = rel.row_end(u);
    const int32_t* idx_begin = rel.indices + b;
    const int32_t* idx_end = rel.indices + e;
    const float* gain = rel.data + b;
    const int64_t n_items = rel.n_cols;

    for (int64_t r = 0; r < k; ++r) {
        if (row[r] < -1 || row[r] >= n_items) bad_id(u, r, row[r], n_items);
    }

    int64_t n_relevant = 0;
    s.gains.clear();
    for (int64_t j = 0; j < e - b; ++j) {
        if (gain[j] > 0) {
            ++n_relevant;
            if (out.ndcg) s.gains.push_back(gain[j]);
        }
    }
    if (n_relevant == 0) {
        write_nan(out, u);
        return;
    }
    if (static_cast<int64_t>(s.hit_stamp.size()) < e - b) {
        s.hit_stamp.resize(static_cast<std::size_t>(e - b), -1);
    }
    // Only AUC needs to know which *non-relevant* items repeat; the hit stamps
    // already make repeated relevant items count once for every metric.
    if (out.auc) first_occurrences(row, k, s);

    int64_t hits = 0, first_hit_rank = 0, listed_negatives = 0;
    double precision_sum = 0.0, dcg = 0.0, auc_correct = 0.0;
    const double n_negative = static_cast<double>(n_items - n_relevant);
    for (int64_t r = 0; r < k; ++r) {
        const int32_t id = row[r];
        if (id < 0) continue;
        if (out.auc && !s.first[r]) continue;
        const int32_t* pos = std::lower_bound(idx_begin, idx_end, id);
        const bool relevant = pos != idx_end && *pos == id && gain[pos - idx_begin] > 0;
        if (!relevant) {
            ++listed_negatives;
            continue;
        }
        const int64_t j = pos - idx_begin;
        if (s.hit_stamp[j] == u) continue;  // a repeated relevant item: a miss
        s.hit_stamp[j] = u;
        ++hits;
        if (first_hit_rank == 0) first_hit_rank = r + 1;
        precision_sum += static_cast<double>(hits) / static_cast<double>(r + 1);
        dcg += static_cast<double>(gain[j]) * discount[r];
        auc_correct += n_negative - static_cast<double>(listed_negatives);
    }

    const double p = static_cast<double>(hits) / static_cast<double>(k);
    const double rc = static_cast<double>(hits) / static_cast<double>(n_relevant);
    if (out.precision) out.precision[u] = p;
    if (out.recall) out.recall[u] = rc;
    if (out.f1) out.f1[u] = (p + rc > 0) ? 2.0 * p * rc / (p + rc) : 0.0;
    if (out.average_precision) {
        out.average_precision[u] = precision_sum / static_cast<double>(std::min(k, n_relevant));
    }
    if (out.reciprocal_rank) {
        out.reciprocal_rank[u] = first_hit_rank ? 1.0 / static_cast<double>(first_hit_rank) : 0.0;
    }
    if (out.hit) out.hit[u] = hits > 0 ? 1.0 : 0.0;
    if (out.ndcg) {
        const std::size_t m = static_cast<std::size_t>(std::min<int64_t>(k, n_relevant));
        std::partial_sort(s.gains.begin(), s.gains.begin() + m, s.gains.end(), std::greater<float>());
        double ideal = 0.0;
        for (std::size_t i = 0; i < m; ++i) ideal += static_cast<double>(s.gains[i]) * discount[i];
        out.ndcg[u] = dcg / ideal;
    }
    if (out.auc) {
        if (n_negative == 0) {
            out.auc[u] = kNaN;
        } else {
            // Unlisted relevant items lose to every listed negative and tie with
            // every unlisted one (half a pair each).
            const double unlisted_relevant = static_cast<double>(n_relevant - hits);
            const double unlisted_negative = n_negative - static_cast<double>(listed_negatives);
            out.auc[u] = (auc_correct + 0.5 * unlisted_relevant * unlisted_negative) /
                         (static_cast<double>(n_relevant) * n_negative);
        }
    }
}

}  // namespace

void ranking_metrics(const int32_t* recommended, int64_t n_users, int64_t row_stride, int64_t k,
                     const CsrView& relevant, const RankingOutputs& out, int num_threads) {
    if (k <= 0 || row_stride < k) throw std::invalid_argument("ranking_metrics: need 0 < k <= row_stride");
    if (relevant.n_rows != n_users) throw std::invalid_argument("ranking_metrics: user counts differ");
    if (!relevant.data) throw std::invalid_argument("ranking_metrics: relevance values are required");
    std::vector<double> discount(static_cast<std::size_t>(k));
    for (int64_t r = 0; r < k; ++r) discount[r] = 1.0 / std::log2(static_cast<double>(r) + 2.0);

    const double work = static_cast<double>(n_users) * static_cast<double>(k) +
                        static_cast<double>(relevant.nnz());
    const int threads = work < 50000.0 ? 1 : resolve_threads(num_threads);
    ExceptionCollector errors;
#pragma omp parallel num_threads(threads)
    {
        Scratch scratch;
#pragma omp for schedule(dynamic, 256)
        for (int64_t u = 0; u < n_users; ++u) {
            errors.run([&] {
                score_user(recommended + u * row_stride, u, k, relevant, discount, out, scratch);
            });
        }
    }
    errors.rethrow();
}

}  // namespace reelrec
