// EASE: Embarrassingly Shallow Autoencoders (Steck 2019).
//
// Closed form: G = X^T X + l2 * I, P = G^-1, B = -P / diag(P) column-wise,
// diag(B) = 0; a user's scores are x_u B.
//
// Choices:
// * G is accumulated in float64 from the CSR directly: item i's row of G is
//   sum over the users u of column i of x_ui * x_u, computed by one thread, so
//   the result is bit-identical for any thread count. O(sum_u n_u^2) time.
// * P comes from our own tiled right-looking Cholesky (tiles of 128, Eigen for
//   each tile, OpenMP over independent tiles) followed by two triangular solves
//   per block of 64 columns. Only P's lower triangle is solved for (rows >= the
//   block start, which only needs the trailing part of L) and mirrored, so the
//   inverse costs n^3 / 3 + 2 n^3 / 3 flops in total. Every tile and block is
//   computed by a fixed sequence of Eigen calls whatever thread runs it:
//   deterministic.
// * Memory: G is factored in place (8 n^2 bytes) and P is written straight into
//   the float32 output (4 n^2 bytes), i.e. 12 n^2 bytes peak plus
//   O(threads * n * 64) scratch. The Python layer refuses catalogues whose
//   estimate exceeds max_memory_gb before calling in.
#pragma once

#include <cstdint>

#include "common/csr.hpp"

namespace reelrec::mf {

// gram (n_cols x n_cols, row-major) = X^T X + l2 * I, in float64.
void gram_matrix(const CsrView& X, double l2, double* gram, int num_threads);

// In-place lower Cholesky factor of the row-major SPD matrix a (n x n); only
// the lower triangle is read and written. Throws if a is not positive definite.
void cholesky_lower(double* a, int64_t n, int num_threads);

// EASE weights (n_cols x n_cols, row-major float32) from X and l2 > 0.
void ease_weights(const CsrView& X, double l2, float* weights, int num_threads);

}  // namespace reelrec::mf
