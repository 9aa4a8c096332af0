// Sums of a uniform multinomial resample by Poissonisation, for the bootstrap.
//
// A bootstrap resample of m equally likely rows is a count vector
// c ~ Multinomial(c_total; 1/m, ..., 1/m), and its estimate only needs
// sum_i c_i x_i. Drawing c_total indices costs a random number, a bounded
// integer and a random (L2) gather per draw. Instead, following the classical
// Poissonisation identity (iid Poisson(lambda) counts conditioned on their
// total N are Multinomial(N; uniform); e.g. Johnson, Kotz, Balakrishnan,
// "Discrete Multivariate Distributions", 1997, ch. 35):
//  1. draw iid Poisson(lambda) counts row by row with lambda = (c - 2 sqrt c)/m,
//     streaming the rows in order (sequential loads, no gathers);
//  2. if their total N exceeds c, discard the pass and draw again (the
//     accepted counts are Multinomial(N) given N, whatever N is, so rejecting on
//     N alone keeps that; with this lambda about 2% of passes are redrawn);
//  3. add c - N uniform draws (about 2 sqrt c), as Multinomial(N) plus an
//     independent Multinomial(c - N) is Multinomial(c).
// The result has exactly the resampling distribution (up to the rounding of
// the Poisson CDF in double precision).
//
// A Poisson(lambda) count is the number of CDF values F_0..F_6 below a
// uniform U. The AVX-512 kernel compares 32 16-bit uniforms at a time with
// thresholds floor(F_k 2^16); the few lanes whose 16 bits cannot decide (U
// within 2^-16 of some F_k, or beyond F_6: about 2e-4 of lanes) are redone in
// scalar code with 53-bit uniforms. Random bits come from eight interleaved
// xoshiro256++ streams (Blackman and Vigna 2021), one set per resample.
//
// Time O(m W) per resample with small constants (about 1.5 vector operations
// per row plus 2 per row and column); memory O(1) beyond the values.
#pragma once

#include <cstdint>

#include "ope/rng.hpp"

namespace reelrec::ope {

// Values of m rows in W columns, column-major with leading dimension ld
// (ld >= m rounded up to 32; entries between m and ld are ignored).
struct UniformRows {
    const double* values = nullptr;
    int64_t m = 0;
    int64_t ld = 0;
    int64_t W = 0;
};

// sums[j] = sum_i c_i values[j * ld + i] for c ~ Multinomial(c_total; uniform
// over the m rows). stream_seed seeds the vector generator; rng supplies the
// scalar draws. Both are deterministic, so the result only depends on them.
void multinomial_uniform_sums(const UniformRows& rows, int64_t c_total, uint64_t stream_seed, WyRand& rng,
                              double* sums);

// Rows are padded to a multiple of this in UniformRows::ld.
constexpr int64_t kUniformRowBlock = 32;

// Name of the kernel in use ("avx512" or "generic"), for tests and benchmarks.
const char* multinomial_kernel_name();

}  // namespace reelrec::ope
