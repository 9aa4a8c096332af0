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
// - Parallel SGD without races and without Hogwild: every epoch users and items
//   are hashed into S blocks (a fresh hash per epoch) and the epoch runs as S
//   rounds; in round t, stratum (b, (b + t) mod S) takes the samples of user
//   block b whose positive is in item block (b + t) mod S and draws its
//   negatives from that item block too. Strata of a round touch disjoint
//   users and items, so they run in parallel without locks, and each has its
//   own counter-based RNG: results are identical for any thread count
//   (stratified SGD, Gemulla et al., KDD 2011). Over an epoch every pair of
//   blocks is visited once and the hash changes between epochs, so negatives
//   are uniform over the catalogue on average.
// Time per epoch: O(nnz (d + log n_u)) plus an O(nnz + n_items) bucketing pass;
// memory: 8 bytes per stored cell for the buckets, O(S^2) counters.
#pragma once

#include <cstdint>

#include "common/csr.hpp"

namespace reelrec::factorization {

constexpr int kMaxNegativeDraws = 32;

struct BprConfig {
    float learning_rate = 0.05f;
    float regularization = 0.01f;
    bool verify_negatives = true;
};

struct BprEpochStats {
    double loss = 0.0;     // mean -log sigmoid over the samples used
    int64_t samples = 0;   // samples used
    int64_t skipped = 0;   // samples dropped: no unseen negative after kMaxNegativeDraws
};

// Number of blocks per side for a matrix (depends on the data only).
int bpr_strata(int64_t n_users, int64_t n_items, int64_t nnz);

// One epoch over X (pattern only; sorted rows). `buckets` holds 2 * nnz int32.
BprEpochStats bpr_epoch(const CsrView& X, float* users, float* items, float* item_bias, int d,
                        const BprConfig& config, uint64_t seed, int64_t epoch, int32_t* buckets,
                        int num_threads);

// Applies the update of each triple (users[t], positives[t], negatives[t]) in
// order, on one thread; returns the summed loss. The reference of the tests.
double bpr_replay(float* users, float* items, float* item_bias, int d, const int32_t* u,
                  const int32_t* pos, const int32_t* neg, int64_t n, const BprConfig& config);

// Factors of new users from their rows with the items fixed: `epochs` passes
// of len(row) SGD steps from zero, row r seeded by (seed, keys[r]).
void bpr_fold_in(const CsrView& rows, const float* items, const float* item_bias, int d,
                 const BprConfig& config, uint64_t seed, const int64_t* keys, int epochs, float* out,
                 int num_threads);

}  // namespace reelrec::factorization
