// Non-contextual bandits kept as per-arm counts: epsilon-greedy, UCB1,
// softmax (Boltzmann) exploration and Thompson sampling.
//
// Papers: Auer, Cesa-Bianchi & Fischer, "Finite-time analysis of the
// multiarmed bandit problem" (2002) for UCB1 and decaying epsilon-greedy;
// Thompson (1933) and Chapelle & Li, "An empirical evaluation of Thompson
// sampling" (NIPS 2011) for Beta-Bernoulli Thompson sampling; Sutton & Barto
// for softmax exploration.
//
// Choices:
//  * Per arm we keep prior (a, b), the number of observed rewards and their
//    sum; everything else derives from them, so an update is O(1) and the
//    result of a batch does not depend on its order.
//  * Priors, per arm: greedy/UCB/softmax (mean m0, pseudo-count n0), mean =
//    (n0 m0 + sum) / (n0 + n); Bernoulli TS Beta(alpha0, beta0) with fractional
//    rewards in [0, 1] (alpha += r, beta += 1 - r); Gaussian TS with known noise
//    sd sigma and prior N(mu0, 1 / tau0) on the mean.
//  * UCB1: mean + alpha * sqrt(2 ln T / n_a), T = rewards observed in total;
//    arms never observed score +inf (each is tried first, ties at random).
//  * epsilon_t = epsilon / (1 + decay * T).
//
// Complexity: update O(1) per reward; select O(n_requests * k * n_arms), plus
// O(n_mc * n_arms) draws per call for Thompson propensities. Thompson with
// k = 1 (and no guaranteed exploration in play) draws W requests at a time in
// SIMD lanes (thompson_batch.hpp) and counts its Monte Carlo wins once per call
// (one candidate set) or by short walks of ranked pooled draws (per-request
// masks, ~n_mc / (share of arms available) steps per request); slates and
// very sparse masks scan every candidate's pooled draws, O(k * n_arms * n_mc)
// per request.
#pragma once

#include <cstdint>
#include <mutex>
#include <vector>

#include "bandits/arms.hpp"
#include "bandits/slate.hpp"

namespace reelrec::bandits {

enum class CountKind : int { EpsilonGreedy = 0, UCB1 = 1, Softmax = 2, BernoulliTS = 3, GaussianTS = 4 };

// Hyperparameters read at every select() so that set_params applies at once.
struct CountHyper {
    double epsilon = 0.0;
    double decay = 0.0;
    double alpha = 1.0;
    double temperature = 1.0;
    double noise_std = 1.0;
};

class CountingBandit {
public:
    CountingBandit(int kind, int64_t n_arms, double prior_a, double prior_b, uint64_t seed);

    // Forget what was learned: statistics back to each arm's prior, counters to 0.
    void reset(uint64_t seed);
    int64_t add_arm(double prior_a, double prior_b);
    void remove_arm(int64_t arm);
    // Applies rewards in order. Arms are all checked before anything changes.
    void update(const int64_t* arms, const double* rewards, int64_t n);
    // reset(seed) + update, with the ids checked before anything is reset.
    void fit(const int64_t* arms, const double* rewards, int64_t n, uint64_t seed);
    void select(int64_t n_requests, const Availability& avail, SelectConfig cfg, const CountHyper& hp,
                int64_t* out_arms, double* out_p);
    // Per-arm values the select rule uses (exposed for tests).
    void values(const CountHyper& hp, std::vector<double>& m, std::vector<double>& w) const;

    StateDict export_state() const;
    void import_state(const StateDict& in);

    PolicyCore core;
    // Serialises calls from several Python threads: a select must own its
    // range of request indices, and updates mutate shared state.
    mutable std::mutex guard;
    CountKind kind() const { return kind_; }
    double default_prior_a() const { return default_a_; }
    double default_prior_b() const { return default_b_; }

private:
    // update() without the id check.
    void apply(const int64_t* arms, const double* rewards, int64_t n);

    CountKind kind_;
    double default_a_, default_b_;
    std::vector<double> prior_a_, prior_b_, sum_;
};

}  // namespace reelrec::bandits
