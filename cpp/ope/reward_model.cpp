#include "ope/reward_model.hpp"

#include <Eigen/Cholesky>
#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/parallel.hpp"

namespace reelrec::ope {

namespace {

using Mat = Eigen::MatrixXd;
using Vec = Eigen::VectorXd;
using RowMat = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

constexpr int64_t kBlock = 512;  // rows per feature block: 512 x D doubles stay in L2

// Sufficient statistics of the loss over a set of rounds at one beta.
struct Stats {
    Mat hessian;   // sum of s(1-s) phi phi' (logistic) or phi phi' (ridge)
    Vec gradient;  // sum of phi (s - r) (logistic) or phi r (ridge: the right-hand side)
    double loss = 0.0;
    explicit Stats(int64_t D = 0) : hessian(Mat::Zero(D, D)), gradient(Vec::Zero(D)) {}
    void add(const Stats& o) {
        hessian += o.hessian;
        gradient += o.gradient;
        loss += o.loss;
    }
};

class Features {
public:
    Features(const RewardData& data) : data_(data), D_(reward_feature_dim(data.dim, data.n_positions)) {}
    int64_t dim() const { return D_; }
    // Writes phi of `count` rounds into the first rows of block (kBlock x D).
    void fill(const int64_t* rows, int64_t count, RowMat& block) const {
        block.topRows(count).setZero();
        for (int64_t r = 0; r < count; ++r) {
            const int64_t i = rows[r];
            double* out = block.data() + r * D_;
            out[0] = 1.0;
            std::copy(data_.contexts + i * data_.dim, data_.contexts + (i + 1) * data_.dim, out + 1);
            if (data_.positions && data_.positions[i] > 0) out[data_.dim + data_.positions[i]] = 1.0;
        }
    }

private:
    const RewardData& data_;
    int64_t D_;
};

inline double log1pexp(double f) { return f > 0 ? f + std::log1p(std::exp(-f)) : std::log1p(std::exp(f)); }
inline double sigmoid(double f) {
    if (f >= 0) return 1.0 / (1.0 + std::exp(-f));
    const double e = std::exp(f);
    return e / (1.0 + e);
}

// Adds the statistics of rounds rows[0..count) at beta to stats (serially).
void accumulate(const RewardData& data, const Features& features, const int64_t* rows, int64_t count,
                RewardKind kind, const Vec& beta, RowMat& block, Stats& stats) {
    const int64_t D = features.dim();
    for (int64_t start = 0; start < count; start += kBlock) {
        const int64_t b = std::min(kBlock, count - start);
        features.fill(rows + start, b, block);
        auto phi = block.topRows(b);
        Vec y(b);
        for (int64_t r = 0; r < b; ++r) y[r] = data.rewards[rows[start + r]];
        if (kind == RewardKind::Ridge) {
            stats.hessian.selfadjointView<Eigen::Lower>().rankUpdate(phi.transpose());
            stats.gradient.noalias() += phi.transpose() * y;
            continue;
        }
        const Vec f = phi * beta;
        Vec residual(b);
        RowMat weighted(b, D);
        for (int64_t r = 0; r < b; ++r) {
            const double s = sigmoid(f[r]);
            residual[r] = s - y[r];
            stats.loss += log1pexp(f[r]) - y[r] * f[r];
            weighted.row(r) = phi.row(r) * std::sqrt(s * (1.0 - s));
        }
        stats.hessian.selfadjointView<Eigen::Lower>().rankUpdate(weighted.transpose());
        stats.gradient.noalias() += phi.transpose() * residual;
    }
}

// Statistics over many rounds: a fixed number of chunks (independent of the
// thread count) accumulated in parallel and reduced in chunk order.
Stats accumulate_parallel(const RewardData& data, const Features& features, const int64_t* rows,
                          int64_t count, RewardKind kind, const Vec& beta, int threads) {
    const int64_t D = features.dim();
    const int64_t chunks = std::clamp<int64_t>(count / (8 * kBlock), 1, 64);
    std::vector<Stats> partial(chunks, Stats(D));
    ExceptionCollector errors;
#pragma omp parallel num_threads(chunks > 1 ? threads : 1)
    {
        RowMat block(kBlock, D);
#pragma omp for schedule(dynamic, 1)
        for (int64_t c = 0; c < chunks; ++c) {
            errors.run([&] {
                const int64_t lo = count * c / chunks, hi = count * (c + 1) / chunks;
                accumulate(data, features, rows + lo, hi - lo, kind, beta, block, partial[c]);
            });
        }
    }
    errors.rethrow();
    Stats total(D);
    for (const Stats& s : partial) total.add(s);
    total.hessian.triangularView<Eigen::StrictlyUpper>() = total.hessian.transpose();
    return total;
}

Vec solve_spd(const Mat& H, const Vec& g) {
    Eigen::LLT<Mat> llt(H);
    if (llt.info() != Eigen::Success)
        throw std::runtime_error("reward model: the normal equations are not positive definite");
    return llt.solve(g);
}

// Minimises sum loss + l2/2 |beta - prior|^2 over the given rounds.
// `stats_at` returns the (symmetrised) statistics at a beta.
template <class StatsAt>
int fit_one(RewardKind kind, double l2, const Vec& prior, int max_iter, double tol, StatsAt stats_at,
            Vec& beta) {
    const int64_t D = prior.size();
    const Mat ridge = l2 * Mat::Identity(D, D);
    if (kind == RewardKind::Ridge) {
        Stats s = stats_at(prior);
        beta = solve_spd(s.hessian + ridge, s.gradient + l2 * prior);
        return 0;
    }
    auto objective = [&](const Stats& s, const Vec& b) {
        return s.loss + 0.5 * l2 * (b - prior).squaredNorm();
    };
    beta = prior;
    Stats s = stats_at(beta);
    double value = objective(s, beta);
    for (int it = 1; it <= max_iter; ++it) {
        const Vec grad = s.gradient + l2 * (beta - prior);
        const Vec step = solve_spd(s.hessian + ridge, grad);
        const double decrease = grad.dot(step);  // Newton decrement squared, > 0
        double t = 1.0;
        Vec trial = beta - step;
        Stats st = stats_at(trial);
        double trial_value = objective(st, trial);
        // Backtrack only while the decrease is resolvable in floating point; a
        // tiny decrement means we are in Newton's quadratic region, where the
        // full step is right even if rounding hides its effect on the objective.
        const bool resolvable = decrease > 1e-11 * (1.0 + std::fabs(value));
        for (int halvings = 0; resolvable && halvings < 40; ++halvings) {
            if (trial_value <= value - 1e-4 * t * decrease) break;
            t *= 0.5;
            trial = beta - t * step;
            st = stats_at(trial);
            trial_value = objective(st, trial);
        }
        if (resolvable && !(trial_value <= value)) return it;  // no progress possible
        const double moved = t * step.cwiseAbs().maxCoeff();
        beta = trial;
        s = std::move(st);
        value = trial_value;
        if (moved <= tol * (1.0 + beta.cwiseAbs().maxCoeff())) return it;
    }
    return max_iter;
}

}  // namespace

int fit_reward_model(const RewardData& data, const int64_t* rows, int64_t m, const RewardFitOptions& options,
                     int num_threads, double* coef) {
    if (data.n_actions <= 0 || data.n_positions <= 0 || data.dim < 0)
        throw std::invalid_argument("reward model: bad shapes");
    if (!(options.l2 > 0.0)) throw std::invalid_argument("reward model: l2 must be positive");
    const int64_t D = reward_feature_dim(data.dim, data.n_positions), A = data.n_actions;
    for (int64_t k = 0; k < m; ++k) {
        const int64_t i = rows[k];
        if (i < 0 || i >= data.n) throw std::out_of_range("reward model: row index out of range");
        if (data.actions[i] < 0 || data.actions[i] >= A)
            throw std::out_of_range("reward model: action " + std::to_string(data.actions[i]) +
                                    " out of range");
        if (data.positions && (data.positions[i] < 0 || data.positions[i] >= data.n_positions))
            throw std::out_of_range("reward model: position out of range");
    }
    const Features features(data);
    const int threads = static_cast<double>(m) * D * D < 1e6 ? 1 : resolve_threads(num_threads);

    const Vec zero = Vec::Zero(D);
    Vec pooled;
    int iterations = fit_one(
        options.kind, options.l2, zero, options.max_iter, options.tol,
        [&](const Vec& b) { return accumulate_parallel(data, features, rows, m, options.kind, b, threads); },
        pooled);
    Eigen::Map<RowMat> out(coef, A + 1, D);
    out.row(A) = pooled.transpose();

    // Counting sort of the training rounds by action.
    std::vector<int64_t> start(A + 1, 0), order(m);
    for (int64_t k = 0; k < m; ++k) ++start[data.actions[rows[k]] + 1];
    for (int64_t a = 0; a < A; ++a) start[a + 1] += start[a];
    {
        std::vector<int64_t> next(start.begin(), start.end() - 1);
        for (int64_t k = 0; k < m; ++k) order[next[data.actions[rows[k]]]++] = rows[k];
    }

    ExceptionCollector errors;
    int max_iterations = iterations;
#pragma omp parallel num_threads(A > 1 ? threads : 1) reduction(max : max_iterations)
    {
        RowMat block(kBlock, D);
#pragma omp for schedule(dynamic, 4)
        for (int64_t a = 0; a < A; ++a) {
            errors.run([&] {
                const int64_t* arows = order.data() + start[a];
                const int64_t count = start[a + 1] - start[a];
                Vec beta = pooled;
                if (count > 0) {
                    const int it = fit_one(
                        options.kind, options.l2, pooled, options.max_iter, options.tol,
                        [&](const Vec& b) {
                            Stats s(D);
                            accumulate(data, features, arows, count, options.kind, b, block, s);
                            s.hessian.triangularView<Eigen::StrictlyUpper>() = s.hessian.transpose();
                            return s;
                        },
                        beta);
                    max_iterations = std::max(max_iterations, it);
                }
                out.row(a) = beta.transpose();
            });
        }
    }
    errors.rethrow();
    return max_iterations;
}

void predict_reward_model(const double* contexts, int64_t dim, const int64_t* rows, int64_t m,
                          const double* coef, int64_t n_actions, int64_t n_positions, RewardKind kind,
                          int num_threads, double* out) {
    const int64_t A = n_actions, P = n_positions, D = reward_feature_dim(dim, n_positions);
    constexpr int64_t kRows = 64, kActions = 2048;  // 64 x 2048 score tile: 1 MiB
    const int64_t n_blocks = (m + kRows - 1) / kRows;
    const int threads = static_cast<double>(m) * A * (dim + P) < 1e6 ? 1 : resolve_threads(num_threads);
    Eigen::Map<const RowMat> W(coef, A + 1, D);
    ExceptionCollector errors;
#pragma omp parallel num_threads(threads)
    {
        RowMat x(kRows, dim), scores;
#pragma omp for schedule(dynamic, 1)
        for (int64_t blk = 0; blk < n_blocks; ++blk) {
            errors.run([&] {
                const int64_t r0 = blk * kRows, nb = std::min(kRows, m - r0);
                for (int64_t r = 0; r < nb; ++r)
                    std::copy(contexts + rows[r0 + r] * dim, contexts + (rows[r0 + r] + 1) * dim,
                              x.data() + r * dim);
                for (int64_t a0 = 0; a0 < A; a0 += kActions) {
                    const int64_t na = std::min(kActions, A - a0);
                    if (dim > 0) {
                        scores.noalias() = x.topRows(nb) * W.block(a0, 1, na, dim).transpose();
                    } else {
                        scores.setZero(nb, na);
                    }
                    for (int64_t r = 0; r < nb; ++r) {
                        double* o = out + ((r0 + r) * A + a0) * P;
                        for (int64_t j = 0; j < na; ++j) {
                            const double base = scores(r, j) + W(a0 + j, 0);
                            for (int64_t p = 0; p < P; ++p) {
                                const double f = base + (p > 0 ? W(a0 + j, dim + p) : 0.0);
                                o[j * P + p] = kind == RewardKind::Logistic ? sigmoid(f) : f;
                            }
                        }
                    }
                }
            });
        }
    }
    errors.rethrow();
}

}  // namespace reelrec::ope
