// Hybrid LinUCB: arm-specific coefficients plus coefficients shared by all
// arms, so a new arm with features is scored from what other arms taught.
//
// Paper: Li, Chu, Langford & Schapire, "A contextual-bandit approach to
// personalized news article recommendation" (WWW 2010), Algorithm 2.
//
// Model: E[r | x, a] = z_{x,a} . beta + x . theta_a, with x the request
// context (d), f_a the arm's features (m) and z_{x,a} = vec(f_a x^T) (k = m d,
// index i * d + j holds f_i x_j), the outer product used in the paper.
//
// Choices:
//  * Algorithm 2's two-step update of the shared matrix A0 (add B^T A^-1 B, then
//    update the arm, then subtract the new B^T A^-1 B and add z z^T) collapses to
//    one rank-1 update: A0 += w w^T, b0 += w r~, with w = (z - B^T u) / sqrt(g),
//    r~ = (r - u . b) / sqrt(g), u = A_a^-1 x, g = 1 + x . u (all before the
//    arm's update). So A0^-1 and beta are kept by Sherman-Morrison, like each
//    arm's A_a^-1: O(k^2 + d k + d^2) per reward, never an inverse.
//  * The score's variance term of Algorithm 2 equals
//    h^T A0^-1 h + x^T A_a^-1 x with h = z - B_a^T A_a^-1 x. It is quadratic in
//    x: Q_a = A_a^-1 + H^T A0^-1 H with H = Phi_a - B_a^T A_a^-1 and z = Phi_a x.
//    For batches of at least d requests Q_a is built once per arm
//    (O(k^2 d)) and every request costs O(d^2) per arm; smaller batches evaluate
//    the variance directly (O(k^2 + d k + d^2) per request and arm).
//  * theta_a = A_a^-1 (b_a - B_a beta) depends on beta, which every reward
//    moves, so it is derived at select time (O(d k + d^2) per arm).
//  * Updates are sequential in log order (the shared part couples all arms).
//
// Memory: O(k^2) shared + O(d^2 + d k) per arm.
#pragma once

#include <cstdint>
#include <mutex>
#include <vector>

#include "bandits/arms.hpp"
#include "bandits/slate.hpp"

namespace reelrec::bandits {

class HybridBandit {
public:
    HybridBandit(int64_t n_arms, int64_t n_context, int64_t n_arm_features, double l2, uint64_t seed);

    void reset(uint64_t seed);
    int64_t add_arm(const double* prior_mean, const double* features);
    void remove_arm(int64_t arm);
    void set_features(const int64_t* arms, int64_t n, const double* features);
    void update(const int64_t* arms, const double* rewards, const double* X, int64_t n);
    void fit(const int64_t* arms, const double* rewards, const double* X, int64_t n, uint64_t seed);
    // direct: -1 picks by batch size, 0 forces the per-arm Q_a path, 1 the direct path.
    void select(const double* X, int64_t n, const Availability& avail, const SelectConfig& cfg, double alpha,
                int direct, int64_t* out_arms, double* out_p);

    StateDict export_state() const;
    void import_state(const StateDict& in);
    int64_t n_context() const { return d_; }
    int64_t n_arm_features() const { return m_; }

    PolicyCore core;
    // Serialises calls from several Python threads: a select must own its
    // range of request indices, and updates mutate shared state.
    mutable std::mutex guard;

private:
    void init_slot(int64_t slot);
    void observe(int64_t arm, const double* x, double r);

    int64_t d_, m_, k_;
    double l2_;
    std::vector<double> C_;      // A0^-1 (k x k)
    std::vector<double> beta_;   // k
    std::vector<double> b0_;     // k
    std::vector<double> P_;      // S x d x d: A_a^-1
    std::vector<double> B_;      // S x d x k
    std::vector<double> b_;      // S x d
    std::vector<double> prior_;  // S x d
    std::vector<double> feat_;   // S x m
    std::vector<uint8_t> has_feat_;
};

}  // namespace reelrec::bandits
