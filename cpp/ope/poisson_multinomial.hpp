// Poissonised multinomial resampling for the bootstrap.
//
// A bootstrap resample of m equally likely rows is a count vector
// c ~ Multinomial(c_total; 1/m, ..., 1/m), and its estimate only needs
// sum_i c_i x_i. Drawing c_total indices costs a random number, a bounded
// integer and a random (L2) gather per draw. Instead, following the classical
// Poissonisation identity (iid Poisson(lambda) counts conditioned on their
// total N are Multinomial(N; uniform); e.g. Johnson, Kotz, Balakrishnan,
// "Discrete Multivariate Distributions", 1997, ch. 35):
//  1. draw iid Poisson(lambda) counts row by row with lambda = (c - 2 sqrt c)/m,
//     streaming the rows in order (sequential loads, no gathers); a tuple that
//     stands for mu rows gets one Poisson(lambda mu) draw (PoissonGuide);
//  2. if their total N exceeds c, discard the pass and draw again (the
//     accepted counts are Multinomial(N) given N, whatever N is, so rejecting on
//     N alone keeps that; with this lambda about 2% of passes are redrawn);
//  3. add c - N uniform draws (about 2 sqrt c), as Multinomial(N) plus an
//     independent Multinomial(c - N) is Multinomial(c).
// The result has exactly the resampling distribution (up to the rounding of
// the Poisson CDF in double precision).
//
// A Poisson(lambda) count is the number of CDF values F_0..F_6 below a
// uniform U. The AVX-512 kernel takes 32 16-bit uniforms at a time through a
// three-step binary search of the thresholds floor(F_k 2^16); the few lanes
// whose 16 bits cannot decide (U within 2^-16 of some F_k, or beyond F_6:
// about 2e-4 of lanes) are redone in scalar code with 53-bit uniforms. Random
// bits come from eight interleaved xoshiro256++ streams (Blackman and Vigna
// 2021), one set per resample. The counts, still 16-bit lanes, then meet the
// values either as doubles (a table lookup and word permutes give the double
// of each count, then FMAs) or, where the CPU has AVX-512 VNNI, as 60-bit
// fixed-point digits: one 16-bit integer dot product (vpdpwssd) per digit
// adds 32 count-digit products with no conversion at all, and the integer
// sums are exact (the only rounding is that of each value to 60 bits, at most
// 2^-59 of the column's largest magnitude, and of the final conversion).
//
// Time O(m W) per resample with small constants (about 0.9 vector operations
// per row plus 0.13 per row and column, ~0.15 ns per row on one Zen 4 core);
// memory O(1) beyond the values (twice them with the fixed-point digits). The
// orchestration (which rows, the redraw, the top-up) is in bootstrap.cpp.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "ope/rng.hpp"

namespace reelrec::ope {

constexpr int64_t kUniformRowBlock = 32;

// The values as 60-bit fixed point for the integer kernel: column j's value
// x = v 2^-scale_exp[j] with the integer v = sum_p d_p 2^(15 p), four signed
// digits d_p in [-2^14, 2^14) (|v| < 2^58, scaled to the column's largest
// magnitude, so a value is off by at most 2^-59 of that). Digits are stored
// block by block: digits[((b W + j) 4 + p) 32 + e] for row 32 b + e.
struct FixedColumns {
    std::vector<int16_t> digits;
    std::vector<int> scale_exp;
};

// Values of m rows in W columns, column-major with leading dimension ld
// (ld >= m rounded up to kUniformRowBlock; the entries between m and ld must
// be finite, e.g. zero: they are multiplied by a zero count). fixed, when set,
// holds the same values for the integer kernel.
struct UniformRows {
    const double* values = nullptr;
    int64_t m = 0;
    int64_t ld = 0;
    int64_t W = 0;
    const FixedColumns* fixed = nullptr;
};

// Whether the pass in use sums with integer dot products and wants fixed.
bool poisson_pass_uses_fixed(int64_t W);
// The fixed-point digits of rows (false, and nothing written, when a value is
// not finite: the pass then sums in floating point).
bool make_fixed_columns(const UniformRows& rows, FixedColumns& out);

// Poisson(lambda) CDF F_0..F_6 and its 16-bit thresholds floor(F_k 2^16).
struct PoissonThresholds {
    static constexpr int kThresholds = 7;  // counts 0..6 decided by 16 bits; 7 or more by the scalar path
    double lambda = 0.0;
    double p0 = 0.0;
    uint16_t t[kThresholds] = {};
    uint16_t undecided[32] = {};  // t_c for c < 7, then 0: "u16 >= undecided[c]" = the 16 bits do not decide
    uint16_t next[32] = {};       // t_{c+1} (t_7 = 65535), for the binary search

    explicit PoissonThresholds(double lambda);
    // Number of k with u >= F_k, for a 53-bit uniform u (the same recursion as t).
    int64_t invert(double u) const;
    int count16(uint32_t u16) const {
        int c = 0;
        for (int k = 0; k < kThresholds; ++k) c += u16 > t[k];
        return c;
    }
    bool decided(uint32_t u16, int c) const { return c < kThresholds && u16 < t[c]; }
    // The exact count for a lane whose 16 bits did not decide it: 37 more bits.
    int64_t resolve(uint32_t u16, WyRand& rng) const {
        const uint64_t bits = (static_cast<uint64_t>(u16) << 37) | (rng.next() >> 27);
        return invert(static_cast<double>(bits) * 0x1.0p-53);
    }
};

// Eight xoshiro256++ streams, word w of lane l at s[w][l] (four 512-bit registers).
struct PoissonLanes {
    alignas(64) uint64_t s[4][8];
    explicit PoissonLanes(uint64_t seed);
};

// Draws iid Poisson(lambda) counts c_i for the m rows, adds sum_i c_i x_ij to
// sums[j] and returns sum_i c_i. Consumes lanes (one step per 32 rows) and, for
// the rare undecided lanes, rng -- in the same order in every kernel, so the
// counts do not depend on the kernel (the sums only up to rounding).
int64_t poisson_pass(const UniformRows& rows, const PoissonThresholds& thresholds, PoissonLanes& lanes,
                     WyRand& rng, double* sums);

// Name of the pass kernel in use ("avx512-vnni", "avx512" or "generic");
// REELREC_OPE_GENERIC=1 in the environment forces the portable one and
// REELREC_OPE_GENERIC=fma the floating-point AVX-512 one (tests compare them).
const char* multinomial_kernel_name();

// Poisson(mean) variates for one fixed mean of any size: inversion of a
// precomputed CDF with a guide table (Chen and Asau 1974), O(1) expected time
// per draw, O(sqrt(mean)) memory.
class PoissonGuide {
public:
    explicit PoissonGuide(double mean);
    int64_t draw(WyRand& rng) const {
        const double u = rng.uniform();
        const size_t len = cdf_.size();
        size_t k =
            static_cast<size_t>(guide_[std::min(len - 1, static_cast<size_t>(u * static_cast<double>(len)))]);
        while (u >= cdf_[k]) ++k;
        return lo_ + static_cast<int64_t>(k);
    }

private:
    int64_t lo_ = 0;
    std::vector<double> cdf_;
    std::vector<int32_t> guide_;
};

}  // namespace reelrec::ope
