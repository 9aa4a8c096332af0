#include "bandits/hybrid.hpp"

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "bandits/contextual.hpp"
#include "bandits/quadform.hpp"
#include "common/parallel.hpp"

namespace reelrec::bandits {

namespace {
using RowMat = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using CMap = Eigen::Map<const RowMat>;
using VMap = Eigen::Map<const Eigen::VectorXd>;
}  // namespace

HybridBandit::HybridBandit(int64_t n_arms, int64_t n_context, int64_t n_arm_features, double l2,
                           uint64_t seed)
    : d_(n_context), m_(n_arm_features), k_(n_context * n_arm_features), l2_(l2) {
    if (n_context < 1) throw std::invalid_argument("n_shared_features: expected >= 1");
    if (n_arm_features < 1) throw std::invalid_argument("n_arm_features: expected >= 1");
    if (!(l2 > 0)) throw std::invalid_argument("l2: expected > 0");
    if (n_arms < 0) throw std::invalid_argument("n_arms: expected >= 0");
    core.arms.reset(n_arms);
    const std::size_t S = static_cast<std::size_t>(n_arms);
    P_.assign(S * d_ * d_, 0.0);
    B_.assign(S * d_ * k_, 0.0);
    b_.assign(S * d_, 0.0);
    prior_.assign(S * d_, 0.0);
    feat_.assign(S * m_, 0.0);
    has_feat_.assign(S, 0);
    reset(seed);
}

void HybridBandit::init_slot(int64_t a) {
    double* P = P_.data() + a * d_ * d_;
    std::fill(P, P + d_ * d_, 0.0);
    for (int64_t i = 0; i < d_; ++i) P[i * d_ + i] = 1.0 / l2_;
    std::fill(B_.begin() + a * d_ * k_, B_.begin() + (a + 1) * d_ * k_, 0.0);
    for (int64_t i = 0; i < d_; ++i) b_[a * d_ + i] = l2_ * prior_[a * d_ + i];
}

void HybridBandit::reset(uint64_t seed) {
    C_.assign(static_cast<std::size_t>(k_ * k_), 0.0);
    for (int64_t i = 0; i < k_; ++i) C_[i * k_ + i] = 1.0 / l2_;
    beta_.assign(static_cast<std::size_t>(k_), 0.0);
    b0_.assign(static_cast<std::size_t>(k_), 0.0);
    for (int64_t a = 0; a < core.arms.n_slots(); ++a) init_slot(a);
    core.arms.clear_pulls();
    core.seed = seed;
    core.next_request = 0;
    core.n_updates = 0;
}

int64_t HybridBandit::add_arm(const double* prior_mean, const double* features) {
    bool appended = false;
    const int64_t slot = core.arms.add(appended);
    if (appended) {
        P_.resize(P_.size() + d_ * d_);
        B_.resize(B_.size() + d_ * k_);
        b_.resize(b_.size() + d_);
        prior_.resize(prior_.size() + d_);
        feat_.resize(feat_.size() + m_);
        has_feat_.push_back(0);
    }
    for (int64_t i = 0; i < d_; ++i) prior_[slot * d_ + i] = prior_mean ? prior_mean[i] : 0.0;
    for (int64_t i = 0; i < m_; ++i) feat_[slot * m_ + i] = features ? features[i] : 0.0;
    has_feat_[slot] = features ? 1 : 0;
    init_slot(slot);
    return slot;
}

void HybridBandit::remove_arm(int64_t arm) { core.arms.remove(arm); }

void HybridBandit::set_features(const int64_t* arms, int64_t n, const double* features) {
    core.arms.check_arms(arms, n, "arm_ids");
    for (int64_t i = 0; i < n; ++i) {
        std::copy(features + i * m_, features + (i + 1) * m_, feat_.begin() + arms[i] * m_);
        has_feat_[arms[i]] = 1;
    }
}

void HybridBandit::observe(int64_t a, const double* x, double r) {
    const int64_t d = d_, k = k_;
    double* P = P_.data() + a * d * d;
    double* B = B_.data() + a * d * k;
    double* b = b_.data() + a * d;
    const double* f = feat_.data() + a * m_;
    thread_local std::vector<double> buf;
    buf.resize(static_cast<std::size_t>(d + 3 * k));
    double* u = buf.data();
    double* w = u + d;
    double* z = w + k;
    double* cw = z + k;

    symmetric_matvec(P, x, d, u);
    double xu = 0.0, ub = 0.0;
    for (int64_t i = 0; i < d; ++i) {
        xu += x[i] * u[i];
        ub += u[i] * b[i];
    }
    const double gamma = 1.0 + xu;
    // x^T P x >= 0 exactly; far below that, P has lost positive definiteness
    // to rounding and the update would spread NaN (checked before any write).
    if (!(gamma >= 0.5) || !std::isfinite(gamma)) throw std::domain_error(kIllConditioned);
    const double inv_sqrt = 1.0 / std::sqrt(gamma);
    for (int64_t i = 0; i < m_; ++i) {
        for (int64_t j = 0; j < d; ++j) z[i * d + j] = f[i] * x[j];
    }
    // w = (z - B^T u) / sqrt(gamma)
    std::copy(z, z + k, w);
    for (int64_t l = 0; l < d; ++l) {
        const double ul = u[l];
        const double* row = B + l * k;
        for (int64_t c = 0; c < k; ++c) w[c] -= row[c] * ul;
    }
    for (int64_t c = 0; c < k; ++c) w[c] *= inv_sqrt;
    const double target = (r - ub) * inv_sqrt;

    // Shared part: A0 += w w^T, b0 += w target.
    symmetric_matvec(C_.data(), w, k, cw);
    double wcw = 0.0, wbeta = 0.0;
    for (int64_t i = 0; i < k; ++i) {
        wcw += w[i] * cw[i];
        wbeta += w[i] * beta_[i];
    }
    const double delta = 1.0 + wcw;
    if (!(delta >= 0.5) || !std::isfinite(delta) || !std::isfinite(target - wbeta))
        throw std::domain_error(kIllConditioned);
    const double step = (target - wbeta) / delta;
    for (int64_t i = 0; i < k; ++i) {
        beta_[i] += cw[i] * step;
        b0_[i] += w[i] * target;
    }
    symmetric_rank1_sub(C_.data(), cw, 1.0 / delta, k);

    // Arm part.
    symmetric_rank1_sub(P, u, 1.0 / gamma, d);
    for (int64_t l = 0; l < d; ++l) {
        double* row = B + l * k;
        const double xl = x[l];
        for (int64_t c = 0; c < k; ++c) row[c] += xl * z[c];
        b[l] += r * xl;
    }
}

void HybridBandit::update(const int64_t* arms, const double* rewards, const double* X, int64_t n) {
    core.arms.check_arms(arms, n, "actions");
    for (int64_t i = 0; i < n; ++i) {
        observe(arms[i], X + i * d_, rewards[i]);
        core.arms.add_pull(arms[i]);
    }
    core.n_updates += n;
}

void HybridBandit::fit(const int64_t* arms, const double* rewards, const double* X, int64_t n,
                       uint64_t seed) {
    core.arms.check_arms(arms, n, "decisions");
    reset(seed);
    update(arms, rewards, X, n);
}

void HybridBandit::select(const double* X, int64_t n, const Availability& avail, const SelectConfig& cfg,
                          double alpha, int direct, int64_t* out_arms, double* out_p) {
    const int64_t S = core.arms.n_slots(), d = d_, k = k_, m = m_;
    const bool use_direct = direct < 0 ? n < d : direct == 1;
    std::vector<int64_t> live;
    for (int64_t a = 0; a < S; ++a) {
        if (core.arms.is_active(a)) live.push_back(a);
    }
    std::vector<double> mean(static_cast<std::size_t>(S * d), 0.0);
    std::vector<double> Q;
    if (!use_direct) Q.assign(static_cast<std::size_t>(S * d * d), 0.0);
    CMap C(C_.data(), k, k);
    VMap beta(beta_.data(), k);
    const double per_arm = static_cast<double>(d) * k + static_cast<double>(d) * d +
                           (use_direct ? 0.0 : static_cast<double>(k) * k * d);
    const int threads =
        threads_for_work(per_arm * static_cast<double>(live.size()) / kFmaPerNs, cfg.num_threads);
    const int64_t n_live = static_cast<int64_t>(live.size());
    ExceptionCollector errors;
#pragma omp parallel num_threads(threads)
    {
        RowMat H, CH;
        Eigen::VectorXd resid;
#pragma omp for schedule(dynamic, 1)
        for (int64_t t = 0; t < n_live; ++t) {
            errors.run([&] {
                const int64_t a = live[t];
                CMap P(P_.data() + a * d * d, d, d);
                CMap B(B_.data() + a * d * k, d, k);
                const double* f = feat_.data() + a * m;
                resid = VMap(b_.data() + a * d, d) - B * beta;
                Eigen::Map<Eigen::VectorXd> mu(mean.data() + a * d, d);
                mu.noalias() = P * resid;
                for (int64_t i = 0; i < m; ++i) {
                    for (int64_t j = 0; j < d; ++j) mu[j] += f[i] * beta_[i * d + j];
                }
                if (use_direct) return;
                H.noalias() = -(B.transpose() * P);
                for (int64_t i = 0; i < m; ++i) {
                    for (int64_t j = 0; j < d; ++j) H(i * d + j, j) += f[i];
                }
                CH.noalias() = C * H;
                Eigen::Map<RowMat> Qa(Q.data() + a * d * d, d, d);
                Qa = P;
                Qa.noalias() += H.transpose() * CH;
                Qa = (0.5 * (Qa + Qa.transpose())).eval();
            });
        }
    }
    errors.rethrow();

    if (!use_direct) {
        const double* qp = Q.data();
        WidthScreen screen;
        const bool screened = n >= kScreenMinRequests && d >= kScreenMinFeatures;
        if (screened) screen.build(qp, S, d, live);
        contextual_select(
            core, cfg, X, n, d, mean.data(), alpha, 0.5 * d * d, avail,
            [&](const double* xb, int64_t nb, int64_t a, double* q) {
                quadform_rows(xb, nb, d, d, qp + a * d * d, q);
            },
            out_arms, out_p, screened ? &screen : nullptr);
        return;
    }
    contextual_select(
        core, cfg, X, n, d, mean.data(), alpha, static_cast<double>(k) * k + 2.0 * d * k + d * d, avail,
        [&](const double* xb, int64_t nb, int64_t a, double* q) {
            thread_local std::vector<double> buf;
            buf.resize(static_cast<std::size_t>(d + k));
            double* y = buf.data();
            double* h = y + d;
            const double* P = P_.data() + a * d * d;
            const double* B = B_.data() + a * d * k;
            const double* f = feat_.data() + a * m;
            for (int64_t r = 0; r < nb; ++r) {
                const double* x = xb + r * d;
                double xpx = 0.0;
                for (int64_t i = 0; i < d; ++i) {
                    double s = 0.0;
                    for (int64_t j = 0; j < d; ++j) s += P[i * d + j] * x[j];
                    y[i] = s;
                    xpx += x[i] * s;
                }
                for (int64_t i = 0; i < m; ++i) {
                    for (int64_t j = 0; j < d; ++j) h[i * d + j] = f[i] * x[j];
                }
                for (int64_t l = 0; l < d; ++l) {
                    const double yl = y[l];
                    const double* row = B + l * k;
                    for (int64_t c = 0; c < k; ++c) h[c] -= row[c] * yl;
                }
                double hch = 0.0;
                for (int64_t i = 0; i < k; ++i) {
                    const double* row = C_.data() + i * k;
                    double s = 0.0;
                    for (int64_t j = 0; j < k; ++j) s += row[j] * h[j];
                    hch += h[i] * s;
                }
                q[r] = hch + xpx;
            }
        },
        out_arms, out_p);
}

StateDict HybridBandit::export_state() const {
    StateDict out;
    core.export_state(out);
    out.i64["hyb.dims"] = {d_, m_};
    out.f64["hyb.l2"] = {l2_};
    out.f64["hyb.C"] = C_;
    out.f64["hyb.beta"] = beta_;
    out.f64["hyb.b0"] = b0_;
    out.f64["hyb.P"] = P_;
    out.f64["hyb.B"] = B_;
    out.f64["hyb.b"] = b_;
    out.f64["hyb.prior"] = prior_;
    out.f64["hyb.features"] = feat_;
    out.i64["hyb.has_features"] = std::vector<int64_t>(has_feat_.begin(), has_feat_.end());
    return out;
}

void HybridBandit::import_state(const StateDict& in) {
    const auto& dims = in.get_i64("hyb.dims", 2);
    if (dims[0] != d_ || dims[1] != m_) throw std::invalid_argument("state: saved with other feature sizes");
    if (in.get_f64("hyb.l2", 1)[0] != l2_) throw std::invalid_argument("state: saved with another l2");
    PolicyCore c;
    c.import_state(in);
    const std::size_t S = static_cast<std::size_t>(c.arms.n_slots());
    C_ = in.get_f64("hyb.C", k_ * k_);
    beta_ = in.get_f64("hyb.beta", k_);
    b0_ = in.get_f64("hyb.b0", k_);
    P_ = in.get_f64("hyb.P", S * d_ * d_);
    B_ = in.get_f64("hyb.B", S * d_ * k_);
    b_ = in.get_f64("hyb.b", S * d_);
    prior_ = in.get_f64("hyb.prior", S * d_);
    feat_ = in.get_f64("hyb.features", S * m_);
    const auto& hf = in.get_i64("hyb.has_features", S);
    has_feat_.assign(hf.begin(), hf.end());
    core = std::move(c);
}

}  // namespace reelrec::bandits
