#include "bandits/slate.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "bandits/rng.hpp"
#include "common/parallel.hpp"

namespace reelrec::bandits {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kNegInf = -std::numeric_limits<double>::infinity();


inline void erase_value(std::vector<int64_t>& v, int64_t value) {
    for (std::size_t i = 0; i < v.size(); ++i) {
        if (v[i] == value) {
            v[i] = v.back();
            v.pop_back();
            return;
        }
    }
}

}  // namespace

SlateSelector::SlateSelector(const SelectConfig& cfg, const PolicyCore& core, int64_t first_request)
    : cfg_(cfg), arms_(core.arms), seed_(core.seed), first_request_(first_request), n_slots_(core.arms.n_slots()) {}

int SlateSelector::threads_for(int64_t n_requests, double ns_per_request) const {
    if (n_requests < 2 || static_cast<double>(n_requests) * ns_per_request < kParallelNs) return 1;
    return resolve_threads(cfg_.num_threads);
}

void SlateSelector::make_pool(const double* m, const double* w, int num_threads) {
    if (cfg_.rule != Rule::Normal && cfg_.rule != Rule::Beta) return;
    const int64_t n_mc = cfg_.n_mc, S = n_slots_;
    pool_.assign(static_cast<std::size_t>(n_mc * S), 0.0f);
    const uint8_t* active = arms_.active();
    const int threads = (cfg_.rule == Rule::Beta ? 60.0 : 15.0) * n_mc * S < kParallelNs ? 1 : resolve_threads(num_threads);
    const uint64_t stream = kPoolStream | static_cast<uint64_t>(first_request_);
    if (cfg_.rule == Rule::Beta) {
        shapes_.assign(static_cast<std::size_t>(2 * S), GammaShape());
        beta_ratio_ = true;
        for (int64_t a = 0; a < S; ++a) {
            if (!active[a]) continue;
            shapes_[2 * a] = GammaShape(m[a]);
            shapes_[2 * a + 1] = GammaShape(w[a]);
            beta_ratio_ = beta_ratio_ && !shapes_[2 * a].boosted && !shapes_[2 * a + 1].boosted;
        }
    }
    ExceptionCollector errors;
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int64_t a = 0; a < S; ++a) {
        errors.run([&] {
            if (!active[a]) return;
            RandomStream rng(seed_, stream, static_cast<uint32_t>(a));
            for (int64_t j = 0; j < n_mc; ++j) {
                const double v =
                    cfg_.rule == Rule::Normal ? rng.normal() : rng.beta_logit(shapes_[2 * a], shapes_[2 * a + 1]);
                pool_[j * S + a] = static_cast<float>(v);
            }
        });
    }
    errors.rethrow();
}

int64_t SlateSelector::pool_wins(int64_t arm, const std::vector<int64_t>& cand, const double* m,
                                 const double* w) const {
    const int64_t S = n_slots_;
    int64_t wins = 0;
    const bool normal = cfg_.rule == Rule::Normal;
    for (int64_t j = 0; j < cfg_.n_mc; ++j) {
        const float* row = pool_.data() + j * S;
        double best = kNegInf;
        int64_t arg = -1;
        for (int64_t a : cand) {
            const double v = normal ? m[a] + w[a] * static_cast<double>(row[a]) : static_cast<double>(row[a]);
            if (arg < 0 || v > best) {
                best = v;
                arg = a;
            }
        }
        wins += (arg == arm);
    }
    return wins;
}

void SlateSelector::candidates(const uint8_t* avail, std::vector<int64_t>& cand) const {
    const uint8_t* active = arms_.active();
    cand.clear();
    for (int64_t a = 0; a < n_slots_; ++a) {
        if (active[a] && (!avail || avail[a])) cand.push_back(a);
    }
}

void SlateSelector::fresh_arms(const std::vector<int64_t>& cand, std::vector<int64_t>& fresh) const {
    fresh.clear();
    if (cfg_.new_arm_share <= 0.0) return;
    const int64_t* pulls = arms_.pulls();
    for (int64_t a : cand) {
        if (pulls[a] < cfg_.new_arm_pulls) fresh.push_back(a);
    }
}

void SlateSelector::summarise(const std::vector<int64_t>& cand, const double* m, SlotSummary& out) const {
    out.ties.clear();
    out.cum.clear();
    if (cfg_.rule == Rule::Greedy) {
        double best = kNegInf;
        for (int64_t a : cand) best = std::max(best, m[a]);
        for (int64_t a : cand) {
            if (m[a] == best) out.ties.push_back(a);
        }
        out.best = best;
    } else if (cfg_.rule == Rule::Softmax) {
        double mx = kNegInf;
        for (int64_t a : cand) mx = std::max(mx, m[a]);
        const double inv_t = 1.0 / cfg_.temperature;
        double z = 0.0;
        for (int64_t a : cand) {
            z += std::exp((m[a] - mx) * inv_t);
            out.cum.push_back(z);
        }
        out.best = mx;
    }
}

void SlateSelector::cache_first_slot(const double* m, const double* w, const uint8_t* avail) {
    first_.valid = true;
    candidates(avail, first_.cand);
    fresh_arms(first_.cand, first_.fresh);
    summarise(first_.cand, m, first_.summary);
    if (cfg_.rule != Rule::Normal && cfg_.rule != Rule::Beta) return;
    const int64_t S = n_slots_;
    first_wins_.assign(static_cast<std::size_t>(S), 0);
    if (first_.cand.empty()) return;
    const bool normal = cfg_.rule == Rule::Normal;
    for (int64_t j = 0; j < cfg_.n_mc; ++j) {
        const float* row = pool_.data() + j * S;
        double best = kNegInf;
        int64_t arg = -1;
        for (int64_t a : first_.cand) {
            const double v = normal ? m[a] + w[a] * static_cast<double>(row[a]) : static_cast<double>(row[a]);
            if (arg < 0 || v > best) {
                best = v;
                arg = a;
            }
        }
        ++first_wins_[arg];
    }
}

void SlateSelector::choose(int64_t r, const double* m, const double* w, const uint8_t* avail, int64_t* out_arm,
                           double* out_p, SlateScratch& s) const {
    RandomStream rng(seed_, kDecisionStream | static_cast<uint64_t>(first_request_ + r));
    const int64_t* pulls = arms_.pulls();
    const double share = cfg_.new_arm_share;
    // Slot 0 of a non-contextual batch with one mask reads the shared summary
    // (O(1) for greedy rules); later slots, and every slot otherwise, work on
    // this request's own candidate list. Both follow the same arithmetic and
    // candidate order, so the choices do not depend on which path ran.
    bool own = false;
    for (int64_t j = 0; j < cfg_.k; ++j) {
        const bool shared = first_.valid && j == 0;
        if (!shared && !own) {
            if (first_.valid) {
                s.cand = first_.cand;
                if (out_arm[0] >= 0) erase_value(s.cand, out_arm[0]);
            } else {
                candidates(avail, s.cand);
            }
            own = true;
        }
        const std::vector<int64_t>& cand = shared ? first_.cand : s.cand;
        if (cand.empty()) {
            out_arm[j] = -1;
            out_p[j] = kNaN;
            continue;
        }
        const int64_t nc = static_cast<int64_t>(cand.size());
        if (!shared) fresh_arms(cand, s.fresh);
        const std::vector<int64_t>& fresh = shared ? first_.fresh : s.fresh;
        if (!shared && (cfg_.rule == Rule::Greedy || cfg_.rule == Rule::Softmax)) summarise(cand, m, s.summary);
        const SlotSummary& sum = shared ? first_.summary : s.summary;

        // Guaranteed exploration among arms that have not been observed enough.
        int64_t fresh_pick = -1;
        if (!fresh.empty() && rng.uniform() < share) {
            fresh_pick = fresh[rng.below(static_cast<int64_t>(fresh.size()))];
        }

        // The policy's own draw always happens, so a slot consumes the same
        // randomness whichever branch fills it, and Thompson rules can count
        // this draw as one Monte Carlo sample.
        int64_t base = -1;
        double p_base = 0.0;
        int64_t chosen = -1;
        switch (cfg_.rule) {
            case Rule::Greedy: {
                const int64_t n_ties = static_cast<int64_t>(sum.ties.size());
                const double eps = cfg_.epsilon;
                if (eps > 0.0 && rng.uniform() < eps) {
                    base = cand[rng.below(nc)];
                } else {
                    base = sum.ties[n_ties > 1 ? rng.below(n_ties) : 0];
                }
                chosen = fresh_pick >= 0 ? fresh_pick : base;
                p_base = eps / static_cast<double>(nc) +
                         (m[chosen] == sum.best ? (1.0 - eps) / static_cast<double>(n_ties) : 0.0);
                break;
            }
            case Rule::Softmax: {
                // First candidate whose cumulative weight exceeds u * z.
                const double z = sum.cum.back();
                const double u = rng.uniform() * z;
                const auto it = std::upper_bound(sum.cum.begin(), sum.cum.end(), u);
                base = cand[it == sum.cum.end() ? nc - 1 : it - sum.cum.begin()];
                chosen = fresh_pick >= 0 ? fresh_pick : base;
                p_base = std::exp((m[chosen] - sum.best) * (1.0 / cfg_.temperature)) / z;
                break;
            }
            case Rule::Normal:
            case Rule::Beta: {
                double best = kNegInf;
                const bool normal = cfg_.rule == Rule::Normal;
                for (int64_t a : cand) {
                    double v;
                    if (normal) {
                        v = m[a] + w[a] * rng.normal();
                    } else if (beta_ratio_) {
                        // Ga / Gb ranks like the Beta draw; no logarithm needed when no
                        // shape is below 1 (then neither gamma under- nor overflows).
                        const double ga = rng.gamma_core(shapes_[2 * a]);
                        v = ga / rng.gamma_core(shapes_[2 * a + 1]);
                    } else {
                        v = rng.beta_logit(shapes_[2 * a], shapes_[2 * a + 1]);
                    }
                    if (base < 0 || v > best) {
                        best = v;
                        base = a;
                    }
                }
                chosen = fresh_pick >= 0 ? fresh_pick : base;
                const int64_t wins = shared ? first_wins_[chosen] : pool_wins(chosen, cand, m, w);
                p_base = static_cast<double>(wins + (base == chosen)) / static_cast<double>(cfg_.n_mc + 1);
                break;
            }
        }
        double p = p_base;
        if (!fresh.empty()) {
            const double p_fresh = pulls[chosen] < cfg_.new_arm_pulls ? 1.0 / static_cast<double>(fresh.size()) : 0.0;
            p = share * p_fresh + (1.0 - share) * p_base;
        }
        out_arm[j] = chosen;
        out_p[j] = p;
        if (!shared) erase_value(s.cand, chosen);
    }
}

}  // namespace reelrec::bandits
