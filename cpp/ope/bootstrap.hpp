// Nonparametric bootstrap of off-policy estimates (Efron 1979), many
// estimators at once.
//
// Every estimator in reelrec.ope has the form
//     V = mean_i plain_i + (sum_i num_i) / (sum_i den_i)
// (the ratio term only for self-normalised estimators and replay), so a
// resample only needs how often each logged round was drawn. Resampling the
// rounds and recomputing V -- ratio included -- is the textbook bootstrap; all
// columns share the same resamples, so an evaluator's table is consistent.
//
// Three exact samplers of the same resampling distribution:
//  * indices: n uniform indices per resample (Lemire's multiply-shift with
//    rejection, so no modulo bias); O(n) time per resample, random gathers.
//  * counts: rows with identical (plain, num, den) values are interchangeable,
//    so the resample is a Multinomial(n; m_k / n) over the K distinct rows,
//    drawn as K conditional binomials; O(K) per resample after one O(n)
//    hashing pass.
//  * hybrid (what auto uses): Poissonisation (poisson_multinomial.hpp). Every
//    round gets a Poisson(lambda) count, lambda = (n - 2 sqrt n) / n; a resample
//    with more than n draws is redrawn (~2%) and ~2 sqrt n uniform draws top it
//    up to n, which is exactly Multinomial(n; uniform). Tuples shared by many
//    rounds (zero IPS terms on non-click rounds) get one Poisson(lambda mass)
//    draw from a guide table; the other rounds stream through an AVX-512 pass
//    at about 0.15 ns per round on one core (fixed-point VNNI sums; 0.2 ns
//    with floating-point FMAs). O(K_heavy + n_other + sqrt n) per resample.
//
// Resample b always uses random stream (seed, b), and every sum runs in a fixed
// order, so replicates are bit-identical for any thread count.
// Memory: one packed copy of the per-round values, O(n * (columns + 2 *
// ratio columns)) for the indices and hybrid samplers (plus O(n) for the
// hybrid's hashing), O(K * ...) for the counts sampler.
#pragma once

#include <cstdint>

namespace reelrec::ope {

enum class BootstrapMethod : int { Auto = 0, Indices = 1, Counts = 2, Hybrid = 3 };

struct BootstrapColumns {
    const double* plain = nullptr;       // n x n_cols row-major
    const double* num = nullptr;         // n x n_cols or null (no column has a ratio term)
    const double* den = nullptr;         // n x n_cols or null
    const uint8_t* has_ratio = nullptr;  // n_cols flags; null when num/den are null
    int64_t n = 0;
    int64_t n_cols = 0;
};

// Writes n_boot x n_cols replicate estimates to out (NaN where a ratio term has
// a zero denominator in that resample). Returns the sampler actually used.
BootstrapMethod bootstrap_replicates(const BootstrapColumns& cols, int64_t n_boot, uint64_t seed,
                                     BootstrapMethod method, int num_threads, double* out);

}  // namespace reelrec::ope
