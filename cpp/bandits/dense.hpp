// Dense kernels of the ridge bandits that Eigen would otherwise run in the
// x86-64 baseline (SSE2, two doubles per instruction, no FMA): the Gram
// matrix and inverse of each arm's normal equations in LinearBandit::fit,
// and the means x . mu_a of a block of requests in contextual_select.
//
// Inverse of a symmetric positive-definite A (Golub & Van Loan, "Matrix
// Computations", 4th ed., 4.2 and 3.1): Cholesky A = U^T U (U upper, in the
// left-looking block form), M = U^-T by forward substitution, and A^-1 =
// M^T M. The three stages share one register-tiled kernel (a strip of R rows
// of one matrix times V vectors of columns of another, summed over a range of
// rows; the shape of the quadratic forms' kernel in quadform.cpp), and the
// triangular zeros bound each sum, so each stage costs d^3 / 6 multiply-adds:
// d^3 / 2 in all (an LU-based inverse needs d^3). Pivots are divided, not
// multiplied by a reciprocal, as Eigen's LLT does.
//
// Gram of [x, r] rows: the same tile over rows packed into column panels
// (the packing is also the gather of an arm's rows), n (d + 1)^2 / 2
// multiply-adds plus the diagonal tiles' upper halves.
//
// Block means: out[r][a] = x_r . mu_a with the arm means transposed once per
// call, then R rows x (V * W) arms of accumulators, each summing its
// products in ascending feature order from zero: a row's results depend only
// on that row, not on the block nor on the thread count.
//
// All are compiled for AVX-512, AVX2+FMA and the baseline and picked at run
// time, as in quadform.cpp. Memory: the inverse works in place plus d^2
// scratch, the Gram 128 (d + 16) + (d + 16)^2 and the means d * n_arms
// scratch (per thread, reused).
#pragma once

#include <cstdint>
#include <string>

namespace reelrec::bandits {

// A (d x d, row-major, symmetric; only its upper triangle is read) becomes
// A^-1 with both triangles exactly equal. work needs d * d doubles. Returns
// false, with A overwritten, when a pivot is not positive and finite (A is
// not numerically positive definite) or the inverse is not finite.
bool spd_inverse(double* A, int64_t d, double* work);
// A = U^T U in place for the same A: U (upper triangular) replaces A, zeros
// below the diagonal. False when a pivot is not positive and finite.
bool spd_cholesky(double* A, int64_t d);
bool spd_cholesky_isa(const std::string& isa, double* A, int64_t d, bool& ok);
// The same with a named kernel ("generic", "avx2", "avx512"), for tests of
// every code path: false when this CPU cannot run it, else ok = the result.
bool spd_inverse_isa(const std::string& isa, double* A, int64_t d, double* work, bool& ok);

// out[r * ld_out + a] = X_r . Mu_a for r < n_rows, a < n_arms; X is n_rows x d
// and Mu n_arms x d, both row-major with row stride d.
void block_means(const double* X, int64_t n_rows, int64_t d, const double* Mu, int64_t n_arms, double* out,
                 int64_t ld_out);
// block_means with a named kernel, as spd_inverse_isa.
bool block_means_isa(const std::string& isa, const double* X, int64_t n_rows, int64_t d, const double* Mu,
                     int64_t n_arms, double* out, int64_t ld_out);

// G = Z^T Z for the rows z_t = [X_i, r_i], i = rows[t], t < n: the ridge
// fit's normal equations and right-hand side in one (d + 1) x (d + 1)
// row-major matrix, exactly symmetric (G[d][j] = b_j = sum r x_j). X is
// row-major with row stride d. Rows are gathered 128 at a time straight into
// contiguous column panels, so each register tile streams two sequential
// panels.
void ridge_gram(const double* X, const double* r, const int64_t* rows, int64_t n, int64_t d, double* G);
bool ridge_gram_isa(const std::string& isa, const double* X, const double* r, const int64_t* rows, int64_t n,
                    int64_t d, double* G);

// The instruction set the dispatcher picked ("avx512", "avx2", "generic").
const char* dense_isa();

}  // namespace reelrec::bandits
