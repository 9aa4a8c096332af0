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
//
// slot[item] describes the item for the user being scored: 0 = not relevant
// and not yet listed, j + 1 = relevant with gain at row position j, -1 =
// already listed (a later copy is ignored). Every entry written for a user is
// reset before the next one, so the array is zeroed only once per call.
struct Scratch {
    explicit Scratch(int64_t n_items) : slot(static_cast<std::size_t>(n_items), 0) {}
    std::vector<int32_t> slot;
    std::vector<float> gains;  // the user's positive gains, for the ideal DCG
};

void write_nan(const RankingOutputs& out, int64_t u) {
    for (double* p : {out.precision, out.recall, out.f1, out.average_precision, out.ndcg, out.reciprocal_rank,
                      out.hit, out.auc}) {
        if (p) p[u] = kNaN;
    }
}

// Messages match the Python-side checks of reelrec.metrics.
[[noreturn]] void bad_id(int64_t user, int64_t rank, int32_t id, int64_t n_items) {
    const std::string where = " (user row " + std::to_string(user) + ", column " + std::to_string(rank) + ")";
    if (id < -1) {
        throw std::out_of_range("recommended: item ids must be >= 0, or -1 for padding; got " +
                                std::to_string(id) + where);
    }
    throw std::out_of_range("recommended: item id " + std::to_string(id) + " is out of range for " +
                            std::to_string(n_items) + " items" + where);
}

void score_user(const int32_t* row, int64_t u, int64_t k, const CsrView& rel,
                const std::vector<double>& discount, const RankingOutputs& out, Scratch& s) {
    const int64_t b = rel.row_begin(u), len = rel.row_end(u) - b;
    const int32_t* items = rel.indices + b;
    const float* gain = rel.data + b;
    const int64_t n_items = rel.n_cols;
    int32_t* slot = s.slot.data();

    for (int64_t r = 0; r < k; ++r) {
        if (row[r] < -1 || row[r] >= n_items) bad_id(u, r, row[r], n_items);
    }

    int64_t n_relevant = 0;
    s.gains.clear();
    for (int64_t j = 0; j < len; ++j) {
        if (gain[j] > 0) {
            ++n_relevant;
            slot[items[j]] = static_cast<int32_t>(j + 1);
            if (out.ndcg) s.gains.push_back(gain[j]);
        }
    }
    if (n_relevant == 0) {
        write_nan(out, u);
        return;
    }

    int64_t hits = 0, first_hit_rank = 0, listed_negatives = 0;
    double precision_sum = 0.0, dcg = 0.0, auc_correct = 0.0;
    const double n_negative = static_cast<double>(n_items - n_relevant);
    for (int64_t r = 0; r < k; ++r) {
        const int32_t id = row[r];
        if (id < 0) continue;
        const int32_t state = slot[id];
        if (state < 0) continue;  // a repeat: counts as a pad
        slot[id] = -1;
        if (state == 0) {
            ++listed_negatives;
            continue;
        }
        ++hits;
        if (first_hit_rank == 0) first_hit_rank = r + 1;
        precision_sum += static_cast<double>(hits) / static_cast<double>(r + 1);
        dcg += static_cast<double>(gain[state - 1]) * discount[r];
        auc_correct += n_negative - static_cast<double>(listed_negatives);
    }
    for (int64_t r = 0; r < k; ++r) {
        if (row[r] >= 0) slot[row[r]] = 0;
    }
    for (int64_t j = 0; j < len; ++j) slot[items[j]] = 0;

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
        const auto m = static_cast<std::ptrdiff_t>(std::min<int64_t>(k, n_relevant));
        auto first = s.gains.begin(), mid = first + m, last = s.gains.end();
        const auto [lo, hi] = std::minmax_element(first, last);
        if (*lo != *hi) {  // equal gains (binary relevance) need no ordering
            if (mid != last) std::nth_element(first, mid, last, std::greater<float>());
            std::sort(first, mid, std::greater<float>());
        }
        double ideal = 0.0;
        for (std::ptrdiff_t i = 0; i < m; ++i) ideal += static_cast<double>(first[i]) * discount[i];
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
    if (relevant.n_cols >= std::numeric_limits<int32_t>::max()) {
        throw std::invalid_argument("ranking_metrics: at most 2**31 - 2 items");
    }
    std::vector<double> discount(static_cast<std::size_t>(k));
    for (int64_t r = 0; r < k; ++r) discount[r] = 1.0 / std::log2(static_cast<double>(r) + 2.0);

    // Each thread zeroes an n_items marker once; more threads than
    // work / n_items would spend longer clearing markers than scoring.
    const double work =
        static_cast<double>(n_users) * static_cast<double>(k) + static_cast<double>(relevant.nnz());
    const double useful = 1.0 + work / static_cast<double>(std::max<int64_t>(relevant.n_cols, 1));
    int threads = work < 50000.0 ? 1 : resolve_threads(num_threads);
    if (static_cast<double>(threads) > useful) threads = static_cast<int>(useful);
    ExceptionCollector errors;
#pragma omp parallel num_threads(threads)
    {
        Scratch scratch(relevant.n_cols);
#pragma omp for schedule(dynamic, 256)
        for (int64_t u = 0; u < n_users; ++u) {
            errors.run(
                [&] { score_user(recommended + u * row_stride, u, k, relevant, discount, out, scratch); });
        }
    }
    errors.rethrow();
}

}  // namespace reelrec
