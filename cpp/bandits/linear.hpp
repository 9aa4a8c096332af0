// Disjoint linear bandits: LinUCB, linear Thompson sampling and logistic
// Thompson sampling, one model per arm over the request's context x (d).
//
// Papers: Li, Chu, Langford & Schapire, "A contextual-bandit approach to
// personalized news article recommendation" (WWW 2010), Algorithm 1;
// Agrawal & Goyal, "Thompson sampling for contextual bandits with linear
// payoffs" (ICML 2013); Chapelle & Li, "An empirical evaluation of Thompson
// sampling" (NIPS 2011), Algorithm 3 (Laplace approximation).
//
// Choices:
//  * Ridge arms (LinUCB, LinTS) keep P = A^-1 = (l2 I + sum x x^T)^-1, b and
//    theta = P b. One reward is a Sherman-Morrison rank-1 update, O(d^2), and
//    theta moves by u (r - x.theta) / (1 + x.u) with u = P x, so no inverse is
//    ever formed per update. fit() builds A = l2 I + X^T X per arm and inverts
//    it once through a Cholesky factorisation: the same posterior as sequential
//    updates, up to rounding, for a fraction of the cost.
//  * Logistic arms keep a Gaussian N(m, Sigma) on the weights. One reward r in
//    [0, 1] is absorbed by the Laplace step: the new mode lies on m + eta Sigma x
//    (the log-likelihood gradient is parallel to x), eta solves the scalar
//    equation eta = r - sigmoid(x.m + eta x^T Sigma x) by safeguarded Newton,
//    and the precision gains sigmoid' * x x^T at the new mode: Sherman-Morrison
//    on Sigma ("full") or only its diagonal ("diagonal", Chapelle & Li's
//    variant, O(d) per update and per score). Sequential and order dependent.
//  * A prior mean per arm (given, or from the k arms with the most similar arm
//    features, cosine, weighted by positive similarity) centres the ridge
//    penalty: A = l2 I, b = l2 theta0 for a new arm.
//
// Complexity per arm: O(d^2) memory (O(d) for diagonal logistic), O(d^2) per
// update and per (request, arm) score; fit O(n d^2 + n_arms d^3).
#pragma once

#include <cstdint>
#include <mutex>
#include <vector>

#include "bandits/arms.hpp"
#include "bandits/contextual.hpp"
#include "bandits/slate.hpp"

namespace reelrec::bandits {

enum class LinearKind : int { Ridge = 0, LogisticFull = 1, LogisticDiag = 2 };

class LinearBandit {
public:
    LinearBandit(int kind, int64_t n_arms, int64_t n_features, double l2, uint64_t seed);

    void reset(uint64_t seed);
    // prior_mean (d) and features (n_arm_features) may be null. With features
    // and n_neighbors > 0 and no prior_mean, the prior comes from similar arms.
    int64_t add_arm(const double* prior_mean, const double* features, int64_t n_arm_features,
                    int64_t n_neighbors);
    void remove_arm(int64_t arm);
    void set_features(const int64_t* arms, int64_t n, const double* features, int64_t n_arm_features);
    // Sequential in log order (arms are independent, so arms run in parallel).
    void update(const int64_t* arms, const double* rewards, const double* X, int64_t n, int num_threads);
    // reset() + the log; ridge arms solve the normal equations once per arm.
    void fit(const int64_t* arms, const double* rewards, const double* X, int64_t n, uint64_t seed,
             int num_threads);
    // rule Greedy: UCB with alpha = scale; rule Normal: Thompson with v = scale.
    void select(const double* X, int64_t n, const Availability& avail, const SelectConfig& cfg, double scale,
                int64_t* out_arms, double* out_p);

    StateDict export_state() const;
    void import_state(const StateDict& in);

    PolicyCore core;
    // Serialises calls from several Python threads: a select must own its
    // range of request indices, and updates mutate shared state.
    mutable std::mutex guard;
    int64_t n_features() const { return d_; }
    int64_t n_arm_features() const { return f_; }

private:
    bool full() const { return kind_ != LinearKind::LogisticDiag; }
    int64_t cov_size() const { return full() ? d_ * d_ : d_; }
    void init_slot(int64_t slot);
    void fix_feature_length(int64_t n_arm_features);
    void knn_prior(const double* features, int64_t n_neighbors, double* out) const;
    void observe(int64_t arm, const double* x, double r);

    LinearKind kind_;
    int64_t d_;
    int64_t f_ = 0;  // arm feature length, fixed by the first features seen
    double l2_;
    std::vector<double> cov_;    // P = A^-1 / Sigma (S x d x d), or precision diagonal (S x d)
    std::vector<double> theta_;  // S x d: ridge estimate / posterior mode
    std::vector<double> b_;      // S x d: ridge only (X^T r + l2 theta0)
    std::vector<double> prior_;  // S x d: prior mean theta0
    std::vector<double> feat_;   // S x f
    std::vector<uint8_t> has_feat_;
    // Float copies of the full matrices for selection, rebuilt after any change.
    WidthScreen screen_;
    bool screen_valid_ = false;
};

}  // namespace reelrec::bandits
