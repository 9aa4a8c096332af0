// Scoring with a sparse neighbourhood: histories x similarity, then top-k.
//
// Papers: item-based top-N scoring (Deshpande & Karypis 2004: the score of item
// i is the sum, over the items j in the history, of h_j * S[j, i]); user-based
// scoring is the same product with the neighbour similarities as the history and
// the neighbours' interaction rows as S. Rating prediction with baselines follows
// Herlocker et al. 1999 / Sarwar et al. 2001 / Koren 2010 (k-NN with means or
// baselines).
//
// Choices
// - Every item of the catalogue is rankable: items the product does not touch
//   score exactly 0. They are offered to the top-k heap in index order only
//   until they can no longer enter it, so a sparse row costs O(touched + k).
// - Filters (allow / deny / seen) and tie-breaking match common/topk.hpp: equal
//   scores keep the lower item index, so results do not depend on threads.
// - normalize: divide each score by the sum of |similarity| that contributed to
//   it (weighted average instead of weighted sum).
//
// Complexity: per query O(sum over history entries of their similarity row
// length + touched * log k), scratch O(threads * n_items).
#pragma once

#include <cstdint>

#include "common/csr.hpp"
#include "common/topk.hpp"

namespace reelrec::similarity {

// Query r uses histories row rows[r] (rows nullable: row r). sim is
// n_src x n_items with histories.n_cols == n_src. Writes n_q x k ids/scores.
void score_topk(const CsrView& histories, const int64_t* rows, int64_t n_q, const CsrView& sim,
                bool normalize, int64_t k, const ItemFilter& filter, int32_t* out_ids, float* out_scores,
                int num_threads);

// Top-k of the stored entries of rows[r] of m (n_q rows), best first; exclude[r]
// (nullable) is never returned for query r. Entries that are not finite are skipped.
void csr_rows_topk(const CsrView& m, const int64_t* rows, int64_t n_q, const int64_t* exclude, int64_t k,
                   int32_t* out_ids, float* out_scores, int num_threads);

struct RatingBaseline {
    bool centred = true;                 // predict deviations from the baseline
    float global = 0.0f;                 // mu
    const float* target_bias = nullptr;  // per target/neighbour (same index space as sim)
    const float* other_bias = nullptr;   // per entity on the other side (nullable)
    float clip_low = 0.0f, clip_high = 0.0f;
};

// Rating of (target t, other c) from the neighbours of t (row t of sim, sorted)
// that c rated (row c of ratings: other x target, sorted). Only positive
// similarities count. Without usable neighbours the prediction is the baseline
// (or the global mean when not centred). Results are clipped to [clip_low, clip_high].
void predict_ratings(const CsrView& sim, const CsrView& ratings, const int64_t* targets,
                     const int64_t* others, int64_t n_pairs, const RatingBaseline& base, float* out,
                     int num_threads);

}  // namespace reelrec::similarity
