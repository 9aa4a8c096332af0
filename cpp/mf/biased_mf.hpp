// Biased matrix factorisation for explicit ratings ("SVD" / "SVD++").
//
// Model (Koren, Bell & Volinsky 2009; Koren 2008 for the implicit term):
//   r_ui ~ mu + b_u + b_i + q_i . (p_u + |N(u)|^-1/2 sum_{j in N(u)} y_j)
// where the y_j term (SVD++) is optional. Both solvers minimise
//   sum_{(u,i) rated} (r_ui - r^_ui)^2 + reg * (b_u^2 + b_i^2 + |p_u|^2 + |q_i|^2 [+ |y_j|^2])
// with the penalty counted once per rating, as stochastic gradient descent does.
//
// Solvers:
// * SGD (Funk 2006; Koren 2008): one update per rating in a seeded random order.
//   Parallel scheme: DSGD strata (Gemulla et al. 2011). Users and items are
//   hashed into B blocks each; a stratum is B cells that share no user and no
//   item, so they run in parallel without races. B = floor(sqrt(nnz / 4096)) in
//   [1, 64] depends on nnz only (B = 1, plain serial SGD, below 16384 ratings).
//   Every cell is shuffled once per fit with its own (seed, cell) stream; each
//   epoch visits the strata in a seeded random order and every cell from a
//   seeded random offset, so the model is bit-identical for any thread count.
//   The cells double as cache blocking: a cell touches 1/B of each table.
//   Factor rows are copied into 8-float-padded, 64-byte-aligned tables for the
//   fit. O(nnz * d) per epoch, O(nnz + (n_users + n_items) * d) extra memory.
// * SVD++ SGD: serial (the y_j of one user span every item block, so DSGD strata
//   do not apply). Users are visited in a seeded random order and each user's
//   ratings in a seeded random order. The per-rating update of every y_j,
//   j in N(u), that Surprise performs in O(|N(u)| d) is applied lazily: between
//   two ratings all those y_j undergo the same affine map y <- a*y + v, so we
//   track a, v and the implicit sum z exactly in O(d) and apply the map once per
//   run of the user's ratings. Per epoch O(nnz * d), not O(sum_u |N(u)|^2 d).
// * ALS with biases (Zhou et al. 2008, weighted-lambda): with one side fixed, each
//   row solves a (d+1) x (d+1) ridge system for (p_u, b_u) in closed form,
//   penalty reg * n_u (the same objective as SGD). Rows are independent, so the
//   OpenMP loop is deterministic. O(nnz * d^2 + (n_users + n_items) * d^3) per
//   iteration, O(threads * d^2) scratch.
#pragma once

#include <cstdint>

#include "common/csr.hpp"

namespace reelrec::mf {

// Non-owning views of the learned arrays; all row-major float32.
struct BiasedMFModel {
    float global_mean = 0.f;
    float* user_factors = nullptr;      // n_users x d
    float* item_factors = nullptr;      // n_items x d
    float* user_bias = nullptr;         // n_users
    float* item_bias = nullptr;         // n_items
    float* implicit_factors = nullptr;  // n_items x d (y_j), null without SVD++
    int64_t n_users = 0;
    int64_t n_items = 0;
    int64_t d = 0;
};

struct SgdParams {
    float learning_rate = 0.005f;
    float regularization = 0.02f;
};

struct Rating {
    int32_t user;
    int32_t item;
    float value;
};

// Number of DSGD blocks per side used for nnz ratings (1 = serial SGD).
int64_t dsgd_blocks(int64_t nnz);

// One serial SGD pass over ratings[0..n) in that order (the fit's kernel). With
// model.implicit_factors set it is the SVD++ update, whose implicit sets N(u)
// are the rows of `implicit_sets` (users x items pattern).
void sgd_pass(const Rating* ratings, int64_t n, const CsrView& implicit_sets, const SgdParams& params,
              BiasedMFModel& model);

// `iterations` epochs of SGD over the ratings X (users x items, values = ratings).
// Reads and updates model in place. SVD++ when model.implicit_factors is set.
void fit_sgd(const CsrView& X, BiasedMFModel& model, const SgdParams& params, int iterations, uint64_t seed,
             int num_threads);

// Closed-form ridge solve for every row of `rows` (rows x others, values =
// ratings) given the other side's factors and biases:
//   (out_factors[r], out_bias[r]) = argmin sum_j (v_rj - mu - other_bias[j]
//        - offsets[r] . other[j] - x . other[j] - b)^2 + reg * n_r * (|x|^2 + b^2)
// offsets (rows x d) may be null. Rows without entries get zeros.
void solve_bias_rows(const CsrView& rows, const float* other, const float* other_bias, int64_t d,
                     float global_mean, const float* offsets, float regularization, float* out_factors,
                     float* out_bias, int num_threads);

// `iterations` ALS sweeps (users, then items). Plain biased MF only.
void fit_als(const CsrView& X, BiasedMFModel& model, float regularization, int iterations, int num_threads);

// out[r] = |N(r)|^-1/2 * sum_{j in row r} implicit_factors[j] (zeros for empty rows).
void implicit_sums(const CsrView& rows, const float* implicit_factors, int64_t d, float* out,
                   int num_threads);

// out[k] = mu + user_bias[user_rows[k]] + item_bias[items[k]]
//          + user_vectors[user_rows[k]] . item_factors[items[k]]
void predict_pairs(const float* user_vectors, const float* user_bias, const int64_t* user_rows,
                   const float* item_factors, const float* item_bias, const int64_t* items, int64_t n_pairs,
                   int64_t d, float global_mean, float* out, int num_threads);

}  // namespace reelrec::mf
