// Per-user ranking metrics of top-k lists against a sparse relevance matrix.
//
// Definitions follow the usual IR formulations (Jarvelin & Kekalainen 2002 for
// NDCG with linear gains; Manning, Raghavan & Schutze 2008, ch. 8 for P/R/MAP/MRR);
// the exact formulas are written in python/reelrec/metrics/ranking.py.
//
// Choices:
// * An item is relevant to a user when it is stored in the user's row with a
//   value > 0; the value is its gain. Explicit zeros are not relevant.
// * -1 is padding (a miss). An item repeated in a list counts only at its first
//   position; later copies are misses, so no metric can exceed its maximum.
// * Users without relevant items get NaN (the caller leaves them out of means).
// * AUC ranks the listed items first, in list order, and ties every unlisted
//   item after them; its negatives are all catalogue items that are not relevant.
//
// Complexity: per user, one pass over its relevance row to mark its relevant
// items in a per-thread marker array (item -> position in the row), one pass
// over its k recommendations with an O(1) lookup each (which also detects
// repeats), and one pass to clear the marks: O(n_users * k + nnz) time. Memory:
// one int32 marker of n_items entries per thread plus the longest row's gains;
// the thread count is capped so that clearing markers never dominates. Each
// user is independent, so results do not depend on the thread count.
#pragma once

#include <cstdint>

#include "common/csr.hpp"

namespace reelrec {

// Output vectors (one double per user); a null pointer means "not requested".
struct RankingOutputs {
    double* precision = nullptr;
    double* recall = nullptr;
    double* f1 = nullptr;
    double* average_precision = nullptr;
    double* ndcg = nullptr;
    double* reciprocal_rank = nullptr;
    double* hit = nullptr;
    double* auc = nullptr;
};

// recommended: n_users rows of row_stride int32 item ids (row-major); only the
// first k columns are read. relevant: n_users x n_items CSR with float gains and
// sorted column indices. Throws std::out_of_range for an id < -1 or >= n_items.
void ranking_metrics(const int32_t* recommended, int64_t n_users, int64_t row_stride, int64_t k,
                     const CsrView& relevant, const RankingOutputs& out, int num_threads);

}  // namespace reelrec
