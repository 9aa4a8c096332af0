#include "bandits/linear.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <string>
#include <utility>

#include "bandits/contextual.hpp"
#include "bandits/dense.hpp"
#include "bandits/quadform.hpp"
#include "common/parallel.hpp"

namespace reelrec::bandits {

namespace {

inline double sigmoid(double z) {
    if (z >= 0) return 1.0 / (1.0 + std::exp(-z));
    const double e = std::exp(z);
    return e / (1.0 + e);
}

// Root of g(eta) = eta - r + sigmoid(z0 + eta * s), increasing in eta with the
// root inside [r - 1, r]: Newton steps, falling back to bisection when a step
// leaves the bracket.
double laplace_step(double z0, double s, double r) {
    double lo = r - 1.0, hi = r;
    double eta = r - sigmoid(z0);
    for (int it = 0; it < 100; ++it) {
        const double p = sigmoid(z0 + eta * s);
        const double g = eta - r + p;
        if (g > 0) {
            hi = eta;
        } else {
            lo = eta;
        }
        const double step = g / (1.0 + s * p * (1.0 - p));
        double next = eta - step;
        if (!(next > lo && next < hi)) next = 0.5 * (lo + hi);
        if (std::abs(next - eta) <= 1e-14 * (1.0 + std::abs(eta))) return next;
        eta = next;
    }
    return eta;
}

// dst[0, d) = src[0, d) in fixed 8-element moves (std::copy_n of a short
// row calls memmove, which cost more than the Gram kernel's reads).
inline void copy_row(const double* src, int64_t d, double* dst) {
    int64_t i = 0;
    for (; i + 8 <= d; i += 8) __builtin_memcpy(dst + i, src + i, 8 * sizeof(double));
    for (; i < d; ++i) dst[i] = src[i];
}

// Observation indices grouped by arm, in log order within each arm.
void group_by_arm(const int64_t* arms, int64_t n, int64_t n_slots, std::vector<int64_t>& start,
                  std::vector<int64_t>& order) {
    start.assign(static_cast<std::size_t>(n_slots + 1), 0);
    for (int64_t i = 0; i < n; ++i) ++start[arms[i] + 1];
    std::partial_sum(start.begin(), start.end(), start.begin());
    order.resize(static_cast<std::size_t>(n));
    std::vector<int64_t> fill(start.begin(), start.end() - 1);
    for (int64_t i = 0; i < n; ++i) order[fill[arms[i]]++] = i;
}

}  // namespace

LinearBandit::LinearBandit(int kind, int64_t n_arms, int64_t n_features, double l2, uint64_t seed)
    : kind_(static_cast<LinearKind>(kind)), d_(n_features), l2_(l2) {
    if (kind < 0 || kind > 2) throw std::invalid_argument("kind: unknown linear bandit");
    if (n_features < 1) throw std::invalid_argument("n_features: expected >= 1");
    if (!(l2 > 0)) throw std::invalid_argument("l2: expected > 0");
    if (n_arms < 0) throw std::invalid_argument("n_arms: expected >= 0");
    core.arms.reset(n_arms);
    const std::size_t S = static_cast<std::size_t>(n_arms);
    cov_.assign(S * cov_size(), 0.0);
    theta_.assign(S * d_, 0.0);
    b_.assign(S * d_, 0.0);
    prior_.assign(S * d_, 0.0);
    has_feat_.assign(S, 0);
    for (int64_t a = 0; a < n_arms; ++a) init_slot(a);
    core.seed = seed;
}

void LinearBandit::init_slot(int64_t a) {
    double* c = cov_.data() + a * cov_size();
    if (full()) {
        std::fill(c, c + d_ * d_, 0.0);
        for (int64_t i = 0; i < d_; ++i) c[i * d_ + i] = 1.0 / l2_;
    } else {
        std::fill(c, c + d_, l2_);  // precision
    }
    const double* p = prior_.data() + a * d_;
    std::copy(p, p + d_, theta_.data() + a * d_);
    for (int64_t i = 0; i < d_; ++i) b_[a * d_ + i] = l2_ * p[i];
}

void LinearBandit::reset(uint64_t seed) {
    screen_valid_ = false;
    for (int64_t a = 0; a < core.arms.n_slots(); ++a) init_slot(a);
    core.arms.clear_pulls();
    core.seed = seed;
    core.next_request = 0;
    core.n_updates = 0;
}

void LinearBandit::knn_prior(const double* features, int64_t k, double* out) const {
    std::fill(out, out + d_, 0.0);
    double norm = 0.0;
    for (int64_t i = 0; i < f_; ++i) norm += features[i] * features[i];
    if (norm <= 0.0) return;
    norm = std::sqrt(norm);
    std::vector<std::pair<double, int64_t>> sims;
    const int64_t* pulls = core.arms.pulls();
    for (int64_t a = 0; a < core.arms.n_slots(); ++a) {
        if (!core.arms.is_active(a) || !has_feat_[a] || pulls[a] == 0) continue;
        const double* g = feat_.data() + a * f_;
        double dot = 0.0, gn = 0.0;
        for (int64_t i = 0; i < f_; ++i) {
            dot += features[i] * g[i];
            gn += g[i] * g[i];
        }
        if (gn <= 0.0) continue;
        sims.emplace_back(dot / (norm * std::sqrt(gn)), a);
    }
    const std::size_t keep = std::min<std::size_t>(sims.size(), static_cast<std::size_t>(k));
    std::partial_sort(sims.begin(), sims.begin() + static_cast<std::ptrdiff_t>(keep), sims.end(),
                      [](const auto& x, const auto& y) {
                          return x.first > y.first || (x.first == y.first && x.second < y.second);
                      });
    double total = 0.0;
    for (std::size_t i = 0; i < keep; ++i) {
        const double wgt = std::max(sims[i].first, 0.0);
        if (wgt <= 0.0) continue;
        total += wgt;
        const double* th = theta_.data() + sims[i].second * d_;
        for (int64_t j = 0; j < d_; ++j) out[j] += wgt * th[j];
    }
    if (total > 0.0) {
        for (int64_t j = 0; j < d_; ++j) out[j] /= total;
    }
}

// The first arm features fix their length; later ones must match it.
void LinearBandit::fix_feature_length(int64_t n_arm_features) {
    if (f_ == 0) {
        f_ = n_arm_features;
        feat_.assign(static_cast<std::size_t>(core.arms.n_slots() * f_), 0.0);
    } else if (n_arm_features != f_) {
        throw std::invalid_argument("features: expected " + std::to_string(f_) + " arm features, got " +
                                    std::to_string(n_arm_features));
    }
}

int64_t LinearBandit::add_arm(const double* prior_mean, const double* features, int64_t n_arm_features,
                              int64_t n_neighbors) {
    screen_valid_ = false;
    if (features) {
        fix_feature_length(n_arm_features);
    }
    std::vector<double> prior(static_cast<std::size_t>(d_), 0.0);
    if (prior_mean) {
        std::copy(prior_mean, prior_mean + d_, prior.begin());
    } else if (features && n_neighbors > 0) {
        knn_prior(features, n_neighbors, prior.data());
    }
    bool appended = false;
    const int64_t slot = core.arms.add(appended);
    if (appended) {
        cov_.resize(cov_.size() + cov_size());
        theta_.resize(theta_.size() + d_);
        b_.resize(b_.size() + d_);
        prior_.resize(prior_.size() + d_);
        feat_.resize(feat_.size() + f_);
        has_feat_.push_back(0);
    }
    std::copy(prior.begin(), prior.end(), prior_.begin() + slot * d_);
    if (f_ > 0) {
        double* g = feat_.data() + slot * f_;
        if (features) {
            std::copy(features, features + f_, g);
        } else {
            std::fill(g, g + f_, 0.0);
        }
    }
    has_feat_[slot] = features ? 1 : 0;
    init_slot(slot);
    return slot;
}

void LinearBandit::remove_arm(int64_t arm) {
    screen_valid_ = false;
    core.arms.remove(arm);
}

void LinearBandit::set_features(const int64_t* arms, int64_t n, const double* features,
                                int64_t n_arm_features) {
    core.arms.check_arms(arms, n, "arm_ids");
    fix_feature_length(n_arm_features);
    for (int64_t i = 0; i < n; ++i) {
        std::copy(features + i * f_, features + (i + 1) * f_, feat_.begin() + arms[i] * f_);
        has_feat_[arms[i]] = 1;
    }
}

void LinearBandit::observe(int64_t a, const double* x, double r) {
    const int64_t d = d_;
    double* th = theta_.data() + a * d;
    double* c = cov_.data() + a * cov_size();
    thread_local std::vector<double> ubuf;
    ubuf.resize(static_cast<std::size_t>(d));
    double* u = ubuf.data();
    if (full()) {
        symmetric_matvec(c, x, d, u);
    } else {
        for (int64_t i = 0; i < d; ++i) u[i] = x[i] / c[i];
    }
    double xu = 0.0, xt = 0.0;
    for (int64_t i = 0; i < d; ++i) {
        xu += x[i] * u[i];
        xt += x[i] * th[i];
    }
    double rank1 = 0.0;  // coefficient of the symmetric u u^T downdate of a full matrix
    if (kind_ == LinearKind::Ridge) {
        const double gamma = 1.0 + xu;
        // x^T A^-1 x >= 0 exactly; far below that, A^-1 has lost positive
        // definiteness to rounding and the update would spread NaN.
        if (!(gamma >= 0.5) || !std::isfinite(gamma)) throw std::domain_error(kIllConditioned);
        const double step = (r - xt) / gamma;
        for (int64_t i = 0; i < d; ++i) th[i] += u[i] * step;
        double* bb = b_.data() + a * d;
        for (int64_t i = 0; i < d; ++i) bb[i] += r * x[i];
        rank1 = 1.0 / gamma;
    } else {
        const double eta = laplace_step(xt, xu, r);
        for (int64_t i = 0; i < d; ++i) th[i] += eta * u[i];
        const double p = sigmoid(xt + eta * xu);
        const double curv = p * (1.0 - p);
        if (full()) {
            rank1 = curv / (1.0 + curv * xu);
        } else {
            for (int64_t i = 0; i < d; ++i) c[i] += curv * x[i] * x[i];
        }
    }
    if (full() && rank1 != 0.0) symmetric_rank1_sub(c, u, rank1, d);
}

void LinearBandit::update(const int64_t* arms, const double* rewards, const double* X, int64_t n,
                          int num_threads) {
    screen_valid_ = false;
    core.arms.check_arms(arms, n, "actions");
    std::vector<int64_t> start, order;
    const int64_t S = core.arms.n_slots();
    group_by_arm(arms, n, S, start, order);
    const double work = static_cast<double>(n) * static_cast<double>(full() ? 3 * d_ * d_ : 8 * d_);
    const int threads = threads_for_work(work / kFmaPerNs, num_threads);
    ExceptionCollector errors;
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1)
    for (int64_t a = 0; a < S; ++a) {
        errors.run([&] {
            for (int64_t t = start[a]; t < start[a + 1]; ++t) {
                const int64_t i = order[t];
                observe(a, X + i * d_, rewards[i]);
                core.arms.add_pull(a);
            }
        });
    }
    errors.rethrow();
    core.n_updates += n;
}

void LinearBandit::fit(const int64_t* arms, const double* rewards, const double* X, int64_t n, uint64_t seed,
                       int num_threads) {
    screen_valid_ = false;
    core.arms.check_arms(arms, n, "decisions");
    reset(seed);
    if (kind_ != LinearKind::Ridge) {
        update(arms, rewards, X, n, num_threads);
        return;
    }
    std::vector<int64_t> start, order;
    const int64_t S = core.arms.n_slots(), d = d_;
    group_by_arm(arms, n, S, start, order);
    const double work = static_cast<double>(n) * d * d + static_cast<double>(S) * d * d * d;
    const int threads = threads_for_work(work / kFmaPerNs, num_threads);
    ExceptionCollector errors;
#pragma omp parallel num_threads(threads)
    {
        // G = [X_a, r_a]^T [X_a, r_a] (leading dimension ldg): its row d is
        // b = sum r x. Small d (d + 1 <= 24): rows [x, r, 0...] padded to
        // whole vectors are gathered in the Gram kernel's own 128-row chunks
        // for gram_accumulate, whose upper-triangle tiles for 8, 16 and 24
        // columns beat the general ridge_gram's panels there (measured
        // 14 vs 53 us per 1000 rows at d = 20); otherwise ridge_gram.
        const bool small = d + 1 <= 24;
        const int64_t ldg = small ? (d + 8) / 8 * 8 : d + 1;
        std::vector<double> G(static_cast<std::size_t>(ldg * ldg));
        std::vector<double> chunk(small ? static_cast<std::size_t>(kGramChunk * ldg) : 0);
        std::vector<double> scratch(static_cast<std::size_t>(d * d));
#pragma omp for schedule(dynamic, 1)
        for (int64_t a = 0; a < S; ++a) {
            errors.run([&] {
                const int64_t na = start[a + 1] - start[a];
                if (na == 0) return;
                const int64_t* rows = order.data() + start[a];
                if (small) {
                    std::fill(G.begin(), G.end(), 0.0);
                    for (int64_t t0 = 0; t0 < na; t0 += kGramChunk) {
                        const int64_t nt = std::min(kGramChunk, na - t0);
                        for (int64_t t = 0; t < nt; ++t) {
                            const int64_t i = rows[t0 + t];
                            double* row = chunk.data() + t * ldg;
                            copy_row(X + i * d, d, row);
                            row[d] = rewards[i];
                        }
                        gram_accumulate(chunk.data(), nt, ldg, ldg, G.data());
                    }
                } else {
                    ridge_gram(X, rewards, rows, na, d, G.data());
                }
                double* b = b_.data() + a * d;
                for (int64_t i = 0; i < d; ++i) b[i] += G[d * ldg + i];
                // P = (l2 I + G)^-1 in place, exactly symmetric (the width
                // kernels read one triangle only).
                double* P = cov_.data() + a * d * d;
                for (int64_t i = 0; i < d; ++i) {
                    copy_row(G.data() + i * ldg, d, P + i * d);
                    P[i * d + i] += l2_;
                }
                if (!spd_inverse(P, d, scratch.data()))
                    throw std::domain_error(
                        "fit: the normal equations of arm " + std::to_string(a) +
                        " are not positive definite in floating point (collinear or "
                        "badly scaled contexts); rescale the features or use a larger l2");
                // theta = P b as a sum of P's rows (P is symmetric): independent
                // lanes, where a dot product per row is one dependent chain.
                double* __restrict th = theta_.data() + a * d;
                std::fill(th, th + d, 0.0);
                for (int64_t j = 0; j < d; ++j) {
                    const double bj = b[j];
                    const double* __restrict pj = P + j * d;
                    for (int64_t i = 0; i < d; ++i) th[i] += bj * pj[i];
                }
                for (int64_t t = 0; t < na; ++t) core.arms.add_pull(a);
            });
        }
    }
    if (errors.failed()) {
        // Some arms were fitted and others not: leave a consistent policy
        // (every arm at its prior, as after fit on an empty log), then report.
        reset(seed);
        errors.rethrow();
    }
    core.n_updates = n;
}

void LinearBandit::select(const double* X, int64_t n, const Availability& avail, const SelectConfig& cfg,
                          double scale, int64_t* out_arms, double* out_p) {
    const int64_t d = d_;
    if (full()) {
        const double* cov = cov_.data();
        // UCB screens batches (exact either way); Thompson takes float widths
        // whatever the batch size, so that a request's draw never depends on
        // the requests batched with it.
        // Small d: UCB screens in float lanes with float means as well.
        const bool ucb_lanes = cfg.rule == Rule::Greedy && quadform_lanes_apply(d);
        const bool screened = cfg.rule == Rule::Greedy
                                  ? (d >= kScreenMinFeatures || ucb_lanes) && n >= kScreenMinRequests
                                  : d >= kFloatWidthMinFeatures;
        // Float factors: the small-d UCB screen, and every screen of large d.
        // Large d reads nothing else once they exist, so its float copies of
        // S are made only if the factorisation fails; small d (tiny copies)
        // keeps them for the screens a mask or a Thompson rule takes.
        const bool factors = ucb_lanes || !quadform_lanes_apply(d);
        if (screened && (!screen_valid_ || (factors && !screen_.factors_tried))) {
            std::vector<int64_t> live;
            for (int64_t a = 0; a < core.arms.n_slots(); ++a) {
                if (core.arms.is_active(a)) live.push_back(a);
            }
            const int64_t slots = core.arms.n_slots();
            if (!screen_valid_) screen_.build(cov, slots, d, live, /*copies=*/quadform_lanes_apply(d));
            if (factors && !screen_.factors_tried) screen_.build_factors(theta_.data(), slots, d, live);
            if (screen_.factors.empty() && screen_.matrices.empty()) screen_.copy_matrices(slots, d, live);
            screen_valid_ = true;
        }
        contextual_select(
            core, cfg, X, n, d, theta_.data(), scale, 0.5 * d * d, avail,
            [&](const double* xb, int64_t nb, int64_t a, double* q) {
                quadform_rows(xb, nb, d, d, cov + a * d * d, q);
            },
            out_arms, out_p, screened ? &screen_ : nullptr, cov);
    } else {
        std::vector<double> var(cov_.size());
        for (std::size_t i = 0; i < var.size(); ++i) var[i] = 1.0 / cov_[i];
        contextual_select(
            core, cfg, X, n, d, theta_.data(), scale, 2.0 * d, avail,
            [&](const double* xb, int64_t nb, int64_t a, double* q) {
                const double* v = var.data() + a * d;
                for (int64_t r = 0; r < nb; ++r) {
                    const double* x = xb + r * d;
                    double s = 0.0;
                    for (int64_t i = 0; i < d; ++i) s += x[i] * x[i] * v[i];
                    q[r] = s;
                }
            },
            out_arms, out_p);
    }
}

StateDict LinearBandit::export_state() const {
    StateDict out;
    core.export_state(out);
    out.i64["lin.dims"] = {static_cast<int64_t>(kind_), d_, f_};
    out.f64["lin.l2"] = {l2_};
    out.f64["lin.cov"] = cov_;
    out.f64["lin.theta"] = theta_;
    out.f64["lin.b"] = b_;
    out.f64["lin.prior"] = prior_;
    out.f64["lin.features"] = feat_;
    out.i64["lin.has_features"] = std::vector<int64_t>(has_feat_.begin(), has_feat_.end());
    return out;
}

void LinearBandit::import_state(const StateDict& in) {
    screen_valid_ = false;
    const auto& dims = in.get_i64("lin.dims", 3);
    if (dims[0] != static_cast<int64_t>(kind_) || dims[1] != d_) {
        throw std::invalid_argument("state: saved by a policy of another kind or number of features");
    }
    if (in.get_f64("lin.l2", 1)[0] != l2_) throw std::invalid_argument("state: saved with another l2");
    PolicyCore c;
    c.import_state(in);
    const std::size_t S = static_cast<std::size_t>(c.arms.n_slots());
    const int64_t f = dims[2];
    if (f < 0) throw std::invalid_argument("state: negative arm feature length");
    cov_ = in.get_f64("lin.cov", S * cov_size());
    theta_ = in.get_f64("lin.theta", S * d_);
    b_ = in.get_f64("lin.b", S * d_);
    prior_ = in.get_f64("lin.prior", S * d_);
    feat_ = in.get_f64("lin.features", S * f);
    const auto& hf = in.get_i64("lin.has_features", S);
    has_feat_.assign(hf.begin(), hf.end());
    f_ = f;
    core = std::move(c);
}

}  // namespace reelrec::bandits
