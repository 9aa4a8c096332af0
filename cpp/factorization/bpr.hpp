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
//   Nijkamp, Haas & Sismanis, KDD 2011): every epoch users and items are
//   hashed into S blocks (a fresh hash per epoch) and stratum (b, c) takes the
//   samples of user block b whose positive lies in item block c, drawing its
//   negatives from item block c too. Round t runs the strata (b, (b + t) mod S),
//   which share no user and no item, so they run in parallel without locks;
//   each stratum has its own counter-based RNG, so results are identical for
//   any thread count. A stratum waits only for the two strata of the previous
//   round that last touched its blocks. Over an epoch every pair of blocks is
//   visited once and every item changes block mates between epochs, so
//   negatives are uniform over the catalogue in expectation.
// - One parallel region for a run of epochs, whose phases (bucketing, then
//   SGD) meet at sleeping barriers: spinning waiters would steal time from the
//   threads they wait for on a machine with fewer free cores than threads.
// Time per epoch: O(nnz (d + log n_u)) plus an O(nnz + n_items) bucketing
// pass; memory: 8 bytes per stored cell for the buckets, O(S^2) counters.
#pragma once

#include <cstdint>

#include "common/csr.hpp"
#include "factorization/kernels.hpp"

namespace reelrec::factorization {

struct BprEpochStats {
    double loss = 0.0;     // mean -log sigmoid over the samples used
    int64_t samples = 0;   // samples used
    int64_t skipped = 0;   // samples dropped: no unseen negative after kMaxNegativeDraws
    double seconds = 0.0;  // wall time of the epoch
};

// Number of blocks per side for a matrix (depends on the data only).
int bpr_strata(int64_t n_users, int64_t n_items, int64_t nnz);
// Words (uint64) of the SeenFilter for a matrix with nnz stored cells.
int64_t bpr_seen_filter_words(int64_t nnz);

// Builds the SeenFilter of X into words[0..bpr_seen_filter_words(nnz)).
void bpr_build_seen_filter(const CsrView& X, uint64_t* words, int num_threads);

// Epochs first_epoch .. first_epoch + n_epochs - 1 over X (pattern only;
// sorted rows), in one parallel region; stats_out receives one entry per
// epoch. `buckets` holds 2 * nnz int32 of scratch; `seen_words` (nullable) is
// the SeenFilter of X.
void bpr_epochs(const CsrView& X, float* users, float* items, float* item_bias, int d,
                const BprConfig& config, uint64_t seed, int64_t first_epoch, int64_t n_epochs,
                int32_t* buckets, const uint64_t* seen_words, BprEpochStats* stats_out, int num_threads,
                int isa = 0);

// Applies the update of each triple (users[t], positives[t], negatives[t]) in
// order, on one thread; returns the summed loss. The reference of the tests.
double bpr_replay(float* users, float* items, float* item_bias, int d, const int32_t* u, const int32_t* pos,
                  const int32_t* neg, int64_t n, const BprConfig& config, int isa = 0);

// Factors of new users from their rows with the items fixed: `epochs` passes
// of len(row) SGD steps from zero, row r seeded by (seed, keys[r]).
void bpr_fold_in(const CsrView& rows, const float* items, const float* item_bias, int d,
                 const BprConfig& config, uint64_t seed, const int64_t* keys, int epochs, float* out,
                 int num_threads, int isa = 0);

}  // namespace reelrec::factorization
