// Quadratic forms x^T S x for a block of contexts against one symmetric matrix:
// the confidence width of LinUCB / LinTS / LogisticTS, and the single hottest
// loop of contextual selection (O(d^2) per request and arm).
//
// Choices: symmetry halves the work (each off-diagonal column tile is visited
// once with weight 2), and a register-blocked kernel (R contexts x TW columns
// of accumulators) reuses every loaded matrix element R times. The kernel is
// compiled for AVX-512, AVX2+FMA and the baseline ISA and picked at run time,
// because wheels are built for the baseline (no -march=native) while the
// machines that serve them usually have wide vectors.
//
// Complexity: d^2 / 2 + O(d) fused multiply-adds per context, no allocation.
#pragma once

#include <cstdint>
#include <string>

namespace reelrec::bandits {

// q[r] = x_r^T S x_r for r < n_rows; X is row-major with row stride ld; S is a
// symmetric d x d row-major matrix (both triangles stored).
void quadform_rows(const double* X, int64_t n_rows, int64_t ld, int64_t d, const double* S, double* q);

// Name of the instruction set the dispatcher picked ("avx512", "avx2", "generic").
const char* quadform_isa();

// The same with a named kernel ("generic", "avx2", "avx512"), for tests of every
// code path; returns false when this CPU cannot run it.
bool quadform_rows_isa(const std::string& isa, const double* X, int64_t n_rows, int64_t ld, int64_t d,
                       const double* S, double* q);

}  // namespace reelrec::bandits
