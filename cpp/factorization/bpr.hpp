// Bayesian Personalised Ranking (Rendle, Freudenthaler, Gantner &
// Schmidt-Thieme, "BPR: Bayesian Personalized Ranking from Implicit Feedback",
// UAI 2009): SGD on -log sigmoid(x_u.(y_i - y_j) + b_i - b_j) over sampled
// (user, positive, negative) triples, with L2 regularisation and item biases.
//
// Choices:
// - Positives are drawn uniformly from the stored cells (with replacement,
//   nnz draws per epoch, as in the paper's bootstrap sampling); negatives
//   uniformly from the catalogue, re-drawn (up to kMaxNegativeDraws times, by
//   binary search in the sorted row) while the user has seen them.
// - Parallel SGD without races and without Hogwild (stratified SGD, Gemulla,
//   Nijkamp, Haas & Sismanis, KDD 2011). Once per fit, users and items are
//   hashed into F = S * K micro-blocks and the cells bucketed by micro-stratum
//   (BprLayout). Every epoch a fresh random permutation groups the
//   micro-blocks of each side into S blocks; stratum (b, c) takes the cells of
//   user block b whose item lies in item block c, and draws its negatives
//   from item block c. Round t runs the strata (b, (b + t) mod S), which share
//   no user and no item, so they run in parallel without locks; each stratum
//   has its own counter-based RNG, so results are identical for any thread
//   count. A stratum waits only for the two strata of the previous round that
//   last touched its blocks (no barrier per round), and an epoch has a single
//   parallel region. Over an epoch every pair of blocks is visited once and
//   the grouping changes between epochs, so negatives are uniform over the
//   catalogue on average.
// Time per epoch: O(nnz (d + log n_u)) plus O(F^2); once per fit an
// O(nnz + n_items) bucketing. Memory: 8 bytes per stored cell, O(F^2).
#pragma once

#include <cstdint>

#include "common/csr.hpp"
#include "factorization/kernels.hpp"

namespace reelrec::factorization {

struct BprEpochStats {
    double loss = 0.0;     // mean -log sigmoid over the samples used
    int64_t samples = 0;   // samples used
    int64_t skipped = 0;   // samples dropped: no unseen negative after kMaxNegativeDraws
};

// Number of blocks per side for a matrix (depends on the data only).
int bpr_strata(int64_t n_users, int64_t n_items, int64_t nnz);
// Micro-blocks per block for a matrix with S blocks per side.
int bpr_micro_blocks(int64_t n_users, int64_t n_items, int S);

// Cells bucketed by micro-stratum, built once per fit (see the note above).
struct BprLayout {
    int S = 1, K = 1;                     // F = S * K micro-blocks per side
    int32_t* cells = nullptr;             // 2 * nnz: (user, item) records
    int64_t* cell_start = nullptr;        // F * F + 1: micro-stratum (fu, fi) at fu * F + fi
    int32_t* item_list = nullptr;         // n_items, grouped by micro item block
    int64_t* item_start = nullptr;        // F + 1
};

// Fills a layout whose arrays the caller allocated with the sizes above.
void bpr_build_layout(const CsrView& X, uint64_t seed, BprLayout& layout, int num_threads);

// Words (uint64) of the SeenFilter for a matrix with nnz stored cells.
int64_t bpr_seen_filter_words(int64_t nnz);

// Builds the SeenFilter of X into words[0..bpr_seen_filter_words(nnz)).
void bpr_build_seen_filter(const CsrView& X, uint64_t* words, int num_threads);

// One epoch over X (pattern only; sorted rows) with its layout; `seen_words`
// (nullable) is the SeenFilter of X.
BprEpochStats bpr_epoch(const CsrView& X, const BprLayout& layout, float* users, float* items,
                        float* item_bias, int d, const BprConfig& config, uint64_t seed, int64_t epoch,
                        const uint64_t* seen_words, int num_threads, int isa = 0);

// Applies the update of each triple (users[t], positives[t], negatives[t]) in
// order, on one thread; returns the summed loss. The reference of the tests.
double bpr_replay(float* users, float* items, float* item_bias, int d, const int32_t* u,
                  const int32_t* pos, const int32_t* neg, int64_t n, const BprConfig& config, int isa = 0);

// Factors of new users from their rows with the items fixed: `epochs` passes
// of len(row) SGD steps from zero, row r seeded by (seed, keys[r]).
void bpr_fold_in(const CsrView& rows, const float* items, const float* item_bias, int d,
                 const BprConfig& config, uint64_t seed, const int64_t* keys, int epochs, float* out,
                 int num_threads, int isa = 0);

}  // namespace reelrec::factorization
