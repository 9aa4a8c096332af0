// Implicit-feedback ALS (Hu, Koren & Volinsky, "Collaborative Filtering for
// Implicit Feedback Datasets", ICDM 2008), with the iALS++ weight w0 on
// unobserved cells and frequency-scaled regularisation (Rendle, Krichene,
// Zhang & Koren, "Revisiting the Performance of iALS on Item Recommendation
// Benchmarks", RecSys 2021).
//
// Objective, with confidences c_ui > 0 on the stored cells (the Python layer
// turns raw weights into confidences):
//   sum_(u,i) stored c_ui (1 - x_u.y_i)^2 + w0 sum_(u,i) not stored (x_u.y_i)^2
//   + sum_u lambda_u |x_u|^2 + sum_i lambda_i |y_i|^2,
// lambda_u = reg (plain) or reg (n_u + w0 n_items) (frequency scaling, nu = 1).
//
// Choices: w0 Y^T Y is formed once per half-step (n d^2 flops, deterministic
// fixed-chunk reduction in double) so the unobserved cells cost nothing per
// row; each row is then solved independently (conjugate gradient with warm
// start, or exact Cholesky), so results do not depend on the thread count.
// When the fixed side outgrows the caches, CG copies a short row's y_k into
// scratch on its first pass, and rows too long for that are solved in
// lockstep batches whose sparse passes walk the fixed side tile by tile, so
// that the rows of a tile are read from DRAM once per batch, not once per row
// and pass (on power-law data the long rows hold a third or more of nnz).
// Time per half-step: O(n_other d^2 + nnz d (steps + 1) + n_rows d^2 (steps + 1))
// for CG, O(n_other d^2 + nnz d^2 + n_rows d^3) for Cholesky; memory
// O(d^2) per thread (plus a 2 MiB gather buffer and 3 d floats per batched
// row, at most 512 rows, once the fixed side outgrows the caches) plus the
// factor tables.
#pragma once

#include <cstdint>

#include "common/csr.hpp"
#include "factorization/kernels.hpp"

namespace reelrec::factorization {

struct AlsConfig {
    float unobserved_weight = 1.0f;
    float regularization = 0.01f;
    bool frequency_scaling = false;
    AlsSolver solver = AlsSolver::kConjugateGradient;
    int cg_steps = 3;
};

// out (d x d, full, row-major) = weight * Y^T Y for Y (n x d, row-major).
void als_gram(const float* Y, int64_t n, int d, float weight, float* out, int num_threads, int isa);

// `isa` selects the kernels as in kernels.hpp (0 = best available).

// One half-step: solves every row of `rows` (data = confidences) in place in
// `factors` (n_rows x d) against `other` (rows.n_cols x d); `gram` is
// als_gram(other, w0).
void als_solve(const CsrView& rows, const float* other, const float* gram, float* factors, int d,
               const AlsConfig& config, int num_threads, int isa);

// The objective above divided by the total weight
// (sum of confidences + w0 * number of unstored cells). item_counts[i] is the
// number of stored cells of item i (used by frequency scaling).
double als_loss(const CsrView& user_items, const float* items, const int64_t* item_counts, const float* gram,
                const float* users, int d, const AlsConfig& config, int num_threads);

// Row r of out (n x d) drawn N(0, scale^2) from a stream keyed by (seed, stream, r).
void init_factors(float* out, int64_t n, int d, uint64_t seed, uint64_t stream, float scale, int num_threads);

}  // namespace reelrec::factorization
