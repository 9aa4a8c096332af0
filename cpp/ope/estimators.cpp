#include "ope/estimators.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "common/parallel.hpp"

namespace reelrec::ope {

bool has_ratio_term(EstimatorKind kind) {
    return kind == EstimatorKind::Replay || kind == EstimatorKind::SNIPS || kind == EstimatorKind::SNDR;
}

namespace {

bool needs_propensities(EstimatorKind kind) {
    return kind != EstimatorKind::DM && kind != EstimatorKind::Replay;
}

bool needs_model(EstimatorKind kind) {
    return kind == EstimatorKind::DM || kind == EstimatorKind::DR || kind == EstimatorKind::SNDR ||
           kind == EstimatorKind::SwitchDR || kind == EstimatorKind::DROS;
}

}  // namespace

void round_terms(EstimatorKind kind, const RoundInputs& in, double param, const RoundOutputs& out,
                 int num_threads) {
    const int64_t n = in.n_rounds, A = in.n_actions;
    const int64_t Pt = in.target_positions, Pq = in.qhat_positions;
    if (n < 0 || A <= 0 || Pt <= 0 || Pq <= 0 || !in.target || !out.plain)
        throw std::invalid_argument("round_terms: bad shapes");
    if (kind != EstimatorKind::DM && (!in.actions || !in.rewards))
        throw std::invalid_argument("round_terms: actions and rewards are required");
    if (needs_propensities(kind) && !in.propensities)
        throw std::invalid_argument("round_terms: propensities are required");
    if (needs_model(kind) && !in.qhat)
        throw std::invalid_argument("round_terms: estimated rewards are required");
    if (has_ratio_term(kind) && (!out.num || !out.den))
        throw std::invalid_argument("round_terms: ratio outputs are required");

    const double work = static_cast<double>(n) * (needs_model(kind) && !in.qpi ? A : 1);
    const int threads = work < 1e6 ? 1 : resolve_threads(num_threads);
    ExceptionCollector errors;
#pragma omp parallel for num_threads(threads) schedule(dynamic, 4096)
    for (int64_t i = 0; i < n; ++i) {
        errors.run([&] {
            const int64_t p = in.positions ? in.positions[i] : 0;
            if (p < 0 || (Pt > 1 && p >= Pt) || (in.qhat && Pq > 1 && p >= Pq))
                throw std::out_of_range("position " + std::to_string(p) + " at round " + std::to_string(i) +
                                        " has no slice in the policy or reward arrays");
            const double* pi = in.target + i * A * Pt + (Pt > 1 ? p : 0);  // stride Pt over actions
            const double* q = in.qhat ? in.qhat + i * A * Pq + (Pq > 1 ? p : 0) : nullptr;

            double qpi = 0.0;
            if (needs_model(kind)) {
                if (in.qpi) {
                    qpi = in.qpi[i];  // shared by every model-based estimator of a table
                } else {
                    for (int64_t a = 0; a < A; ++a) qpi += pi[a * Pt] * q[a * Pq];
                }
            }
            if (kind == EstimatorKind::DM) {
                out.plain[i] = qpi;
                return;
            }
            const int64_t a = in.actions[i];
            if (a < 0 || a >= A)
                throw std::out_of_range("action " + std::to_string(a) + " at round " + std::to_string(i) +
                                        " is out of range for " + std::to_string(A) + " actions");
            const double r = in.rewards[i];
            const double pi_a = pi[a * Pt];
            if (kind == EstimatorKind::Replay) {
                out.plain[i] = 0.0;
                out.num[i] = pi_a * r;
                out.den[i] = pi_a;
                if (out.weights) out.weights[i] = pi_a;
                return;
            }
            const double w = pi_a / in.propensities[i];
            if (out.weights) out.weights[i] = w;
            const double residual = q ? r - q[a * Pq] : 0.0;
            switch (kind) {
                case EstimatorKind::IPS:
                    out.plain[i] = std::min(w, param) * r;
                    break;
                case EstimatorKind::SNIPS:
                    out.plain[i] = 0.0;
                    out.num[i] = w * r;
                    out.den[i] = w;
                    break;
                case EstimatorKind::DR:
                    out.plain[i] = qpi + std::min(w, param) * residual;
                    break;
                case EstimatorKind::SNDR:
                    out.plain[i] = qpi;
                    out.num[i] = w * residual;
                    out.den[i] = w;
                    break;
                case EstimatorKind::SwitchDR:
                    out.plain[i] = qpi + (w <= param ? w * residual : 0.0);
                    break;
                case EstimatorKind::DROS: {
                    // lambda w / (w^2 + lambda) written as w / (w (w / lambda) + 1):
                    // lambda * w overflows for lambda near the float maximum,
                    // while this form needs no case for lambda = inf (plain DR)
                    // and tends to 0 as lambda does; w = 0 shrinks to 0 for any
                    // lambda (0 / 0 at lambda = 0 otherwise).
                    const double shrunk = w == 0.0 ? 0.0 : w / (w * (w / param) + 1.0);
                    out.plain[i] = qpi + shrunk * residual;
                    break;
                }
                default:
                    throw std::invalid_argument("round_terms: unknown estimator");
            }
        });
    }
    errors.rethrow();
}

}  // namespace reelrec::ope
