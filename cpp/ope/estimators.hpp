// Per-round terms of the off-policy estimators.
//
// Every estimator is V = mean_i plain_i + sum_i num_i / sum_i den_i (the ratio
// term only for replay, SNIPS and SNDR). With w_i = pi(a_i|x_i,p_i) / pscore_i,
// qpi_i = sum_a pi(a|x_i,p_i) qhat(x_i,a,p_i) and qa_i = qhat(x_i,a_i,p_i):
//   replay   num = pi(a_i|x_i,p_i) r_i, den = pi(a_i|x_i,p_i)    Li et al. 2011
//   ips      plain = min(w_i, clip) r_i                           Horvitz-Thompson
//   snips    num = w_i r_i, den = w_i                             Swaminathan & Joachims 2015
//   dm       plain = qpi_i                                        Beygelzimer & Langford 2009
//   dr       plain = qpi_i + min(w_i, clip) (r_i - qa_i)          Dudik et al. 2014
//   sndr     plain = qpi_i, num = w_i (r_i - qa_i), den = w_i
//   switch   plain = qpi_i + 1{w_i <= tau} w_i (r_i - qa_i)       Wang et al. 2017
//   dr_os    plain = qpi_i + lambda w_i / (w_i^2 + lambda) (r_i - qa_i)   Su et al. 2020
// These match Open Bandit Pipeline's documented estimators (positions select
// the slice of the n x actions x positions policy and reward arrays).
//
// A policy or reward array with one position slice applies to every position.
// Time O(n * n_actions) for the model-based estimators (the qpi sum), O(n)
// otherwise; no memory beyond the outputs.
#pragma once

#include <cstdint>

namespace reelrec::ope {

enum class EstimatorKind : int { Replay = 0, IPS, SNIPS, DM, DR, SNDR, SwitchDR, DROS };

struct RoundInputs {
    int64_t n_rounds = 0;
    int64_t n_actions = 0;
    const double* rewards = nullptr;       // n; null only for DM
    const int64_t* actions = nullptr;      // n; null only for DM
    const double* propensities = nullptr;  // n; null for DM and replay
    const int64_t* positions = nullptr;    // n, or null (every round at position 0)
    const double* target = nullptr;        // n x n_actions x target_positions
    int64_t target_positions = 1;
    const double* qhat = nullptr;  // n x n_actions x qhat_positions, model-based kinds only
    int64_t qhat_positions = 1;
    const double* qpi = nullptr;  // n precomputed qpi_i (the DM terms), or null
};

struct RoundOutputs {
    double* plain = nullptr;    // n
    double* num = nullptr;      // n, written only for ratio kinds
    double* den = nullptr;      // n, written only for ratio kinds
    double* weights = nullptr;  // n raw importance weights (replay: pi(a_i)); may be null
};

bool has_ratio_term(EstimatorKind kind);

// param is clip (ips, dr; +inf = none), tau (switch) or lambda (dr_os).
void round_terms(EstimatorKind kind, const RoundInputs& in, double param, const RoundOutputs& out,
                 int num_threads);

}  // namespace reelrec::ope
