// Randomized truncated SVD of a sparse users x items matrix (PureSVD).
//
// Halko, Martinsson & Tropp (2011), Alg. 4.4 (randomized range finder with
// power iterations, re-orthonormalised after every product), for PureSVD
// (Cremonesi, Koren & Turrin 2010). Choices:
// * Only sparse x dense products touch X: Y = X W row by row and Z = X^T Q row
//   by row of the transpose, OpenMP over rows (each output row is written by
//   one thread in a fixed order).
// * Orthonormalisation: Cholesky-QR2 (Yamamoto et al. 2015; two Cholesky-QR
//   passes, the Gram matrix summed over fixed row chunks) while the sketch is
//   well conditioned (diag(R) within 1e6, second-pass R ~ I); otherwise a
//   two-level TSQR (Demmel et al. 2012): Householder QR (Eigen) of fixed row
//   chunks in parallel, then of the stacked R factors, which stays stable for
//   the ill-conditioned and rank-deficient sketches power iterations can make.
// * The final l x l SVD is Eigen's Jacobi SVD of the R factor of X^T Q.
// * The Gaussian test matrix comes from one SplitMix64 stream per row, and
//   chunk boundaries depend on the shape only: results are bit-identical for
//   any thread count. No BLAS call runs, so nothing competes with our OpenMP
//   threads (no oversubscription with numpy's BLAS pool).
// * Signs: the largest-magnitude entry of every right singular vector is positive.
// Time O((2q + 2) * nnz * l + (n_users + n_items) * l^2), memory
// O((n_users + n_items) * l) doubles, for l = rank + oversampling and q power
// iterations.
#pragma once

#include <cstdint>

#include "common/csr.hpp"

namespace reelrec::mf {

// Top-`rank` singular triplets of X (n_rows x n_cols) with a sketch of
// l = min(rank + oversampling, n_rows, n_cols) columns (rank <= l required).
// Writes U (n_rows x rank), s (rank, descending) and V (n_cols x rank), all
// row-major float64; U may be null when it is not needed.
void randomized_svd(const CsrView& X, int64_t rank, int64_t oversampling, int power_iterations, uint64_t seed,
                    double* U, double* s, double* V, int num_threads);

// In-place orthonormalisation of the columns of Y (m x l row-major, m >= l):
// Y <- Q with Y = Q R. R (l x l row-major, upper triangular) is written when
// not null. Cholesky-QR2 when Y is well conditioned, else (or with
// `householder`) the TSQR.
void orthonormalize(double* Y, int64_t m, int64_t l, double* R, int num_threads, bool householder);

}  // namespace reelrec::mf
