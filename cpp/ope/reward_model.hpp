// Reward regression q(x, a, p) ~ E[r | x, a, p] for the direct method and the
// doubly robust estimators.
//
// Model: one generalised linear model per action on the features
//     phi(x, p) = [1, x_1..x_d, onehot(p)_1..onehot(p)_{P-1}]    (D = d + P)
// shrunk towards one pooled model fitted on every round:
//     beta_0 = argmin sum_i loss(r_i, phi_i' beta) + l2/2 |beta|^2
//     beta_a = argmin sum_{i: a_i = a} loss(r_i, phi_i' beta) + l2/2 |beta - beta_0|^2
// This is ridge on "one-hot action crossed with phi" plus a shared phi block,
// solved in two stages so that it stays O(n D^2 + A D^3): actions with few or
// no rounds fall back to the pooled model instead of to zero (a logistic model
// shrunk to zero would predict a 50% click rate for unseen items).
// loss: squared error / 2 (ridge, closed form by Cholesky) or the logistic
// log-loss with r in [0, 1] (Newton's method with Cholesky solves and
// backtracking on the penalised objective, which is strictly convex).
//
// Determinism: the pooled sums run over a fixed number of row chunks reduced
// in order; each action is fitted by one thread. Results do not depend on the
// thread count. Memory: O(threads * block * D + A * D) besides the inputs.
#pragma once

#include <cstdint>

namespace reelrec::ope {

enum class RewardKind : int { Ridge = 0, Logistic = 1 };

struct RewardData {
    const double* contexts = nullptr;  // n x d row-major
    int64_t n = 0;
    int64_t dim = 0;
    const double* rewards = nullptr;     // n
    const int64_t* actions = nullptr;    // n
    const int64_t* positions = nullptr;  // n or null
    int64_t n_actions = 0;
    int64_t n_positions = 1;
};

struct RewardFitOptions {
    RewardKind kind = RewardKind::Ridge;
    double l2 = 1.0;
    int max_iter = 100;
    double tol = 1e-10;
};

inline int64_t reward_feature_dim(int64_t dim, int64_t n_positions) { return dim + n_positions; }

// Fits on the rounds rows[0..m). coef is (n_actions + 1) x D row-major: one row
// per action, then the pooled model. Returns the largest number of Newton
// iterations any model needed (0 for ridge).
int fit_reward_model(const RewardData& data, const int64_t* rows, int64_t m, const RewardFitOptions& options,
                     int num_threads, double* coef);

// q for the rounds rows[0..m) at every action and position: out is
// m x n_actions x n_positions row-major (the inverse link applied).
void predict_reward_model(const double* contexts, int64_t dim, const int64_t* rows, int64_t m,
                          const double* coef, int64_t n_actions, int64_t n_positions, RewardKind kind,
                          int num_threads, double* out);

}  // namespace reelrec::ope
