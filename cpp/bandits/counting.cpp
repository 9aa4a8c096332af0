#include "bandits/counting.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "common/parallel.hpp"

namespace reelrec::bandits {

CountingBandit::CountingBandit(int kind, int64_t n_arms, double prior_a, double prior_b, uint64_t seed)
    : kind_(static_cast<CountKind>(kind)), default_a_(prior_a), default_b_(prior_b) {
    if (kind < 0 || kind > 4) throw std::invalid_argument("kind: unknown counting bandit");
    if (n_arms < 0) throw std::invalid_argument("n_arms: expected >= 0");
    core.arms.reset(n_arms);
    prior_a_.assign(static_cast<std::size_t>(n_arms), prior_a);
    prior_b_.assign(static_cast<std::size_t>(n_arms), prior_b);
    sum_.assign(static_cast<std::size_t>(n_arms), 0.0);
    core.seed = seed;
}

void CountingBandit::reset(uint64_t seed) {
    std::fill(sum_.begin(), sum_.end(), 0.0);
    core.arms.clear_pulls();
    core.seed = seed;
    core.next_request = 0;
    core.n_updates = 0;
}

int64_t CountingBandit::add_arm(double prior_a, double prior_b) {
    bool appended = false;
    const int64_t slot = core.arms.add(appended);
    if (appended) {
        prior_a_.push_back(prior_a);
        prior_b_.push_back(prior_b);
        sum_.push_back(0.0);
    } else {
        prior_a_[slot] = prior_a;
        prior_b_[slot] = prior_b;
        sum_[slot] = 0.0;
    }
    return slot;
}

void CountingBandit::remove_arm(int64_t arm) { core.arms.remove(arm); }

void CountingBandit::update(const int64_t* arms, const double* rewards, int64_t n) {
    core.arms.check_arms(arms, n, "actions");
    for (int64_t i = 0; i < n; ++i) {
        sum_[arms[i]] += rewards[i];
        core.arms.add_pull(arms[i]);
    }
    core.n_updates += n;
}

void CountingBandit::fit(const int64_t* arms, const double* rewards, int64_t n, uint64_t seed) {
    core.arms.check_arms(arms, n, "decisions");
    reset(seed);
    update(arms, rewards, n);
}

void CountingBandit::values(const CountHyper& hp, std::vector<double>& m, std::vector<double>& w) const {
    const int64_t S = core.arms.n_slots();
    const int64_t* pulls = core.arms.pulls();
    m.assign(static_cast<std::size_t>(S), 0.0);
    w.assign(static_cast<std::size_t>(S), 0.0);
    const double log_t = std::log(std::max<double>(1.0, static_cast<double>(core.n_updates)));
    for (int64_t a = 0; a < S; ++a) {
        const double n = static_cast<double>(pulls[a]);
        const double pa = prior_a_[a], pb = prior_b_[a];
        switch (kind_) {
            case CountKind::EpsilonGreedy:
            case CountKind::Softmax:
                m[a] = (pb + n) > 0.0 ? (pb * pa + sum_[a]) / (pb + n) : pa;
                break;
            case CountKind::UCB1: {
                const double n_eff = pb + n;
                if (n_eff > 0.0) {
                    m[a] = (pb * pa + sum_[a]) / n_eff + hp.alpha * std::sqrt(2.0 * log_t / n_eff);
                } else {
                    m[a] = std::numeric_limits<double>::infinity();
                }
                break;
            }
            case CountKind::BernoulliTS:
                m[a] = pa + sum_[a];
                w[a] = pb + n - sum_[a];
                break;
            case CountKind::GaussianTS: {
                const double inv_var = 1.0 / (hp.noise_std * hp.noise_std);
                const double precision = pb + n * inv_var;
                m[a] = (pb * pa + sum_[a] * inv_var) / precision;
                w[a] = 1.0 / std::sqrt(precision);
                break;
            }
        }
    }
}

void CountingBandit::select(int64_t n_requests, const Availability& avail, SelectConfig cfg, const CountHyper& hp,
                            int64_t* out_arms, double* out_p) {
    switch (kind_) {
        case CountKind::EpsilonGreedy:
            cfg.rule = Rule::Greedy;
            cfg.epsilon = hp.epsilon / (1.0 + hp.decay * static_cast<double>(core.n_updates));
            break;
        case CountKind::UCB1:
            cfg.rule = Rule::Greedy;
            cfg.epsilon = 0.0;
            break;
        case CountKind::Softmax:
            cfg.rule = Rule::Softmax;
            cfg.temperature = hp.temperature;
            break;
        case CountKind::BernoulliTS:
            cfg.rule = Rule::Beta;
            break;
        case CountKind::GaussianTS:
            cfg.rule = Rule::Normal;
            break;
    }
    std::vector<double> m, w;
    values(hp, m, w);
    const int64_t S = core.arms.n_slots();
    const int64_t first = core.next_request;
    SlateSelector sel(cfg, core, first);
    sel.make_pool(m.data(), w.data(), cfg.num_threads);
    if (!avail.per_request) sel.cache_first_slot(m.data(), w.data(), avail.flags);
    const bool thompson = cfg.rule == Rule::Normal || cfg.rule == Rule::Beta;
    // Nanoseconds per request: slot 0 reads the shared summary when the mask is
    // shared (Thompson rules still draw every arm); later slots scan all arms.
    const double later = static_cast<double>(cfg.k - 1) * S * (4.0 + (thompson ? 30.0 + cfg.n_mc : 0.0));
    const double slot0 = avail.per_request ? S * (4.0 + (thompson ? cfg.n_mc : 0.0)) : 0.0;
    const double work = 50.0 + (thompson ? 30.0 * S : 0.0) + slot0 + later;
    const int threads = sel.threads_for(n_requests, work);
    ExceptionCollector errors;
#pragma omp parallel num_threads(threads)
    {
        SlateScratch scratch;
#pragma omp for schedule(dynamic, 64)
        for (int64_t r = 0; r < n_requests; ++r) {
            errors.run([&] {
                sel.choose(r, m.data(), w.data(), avail.row(r, S), out_arms + r * cfg.k, out_p + r * cfg.k, scratch);
            });
        }
    }
    errors.rethrow();
    core.next_request += n_requests;
}

StateDict CountingBandit::export_state() const {
    StateDict out;
    core.export_state(out);
    out.f64["count.prior_a"] = prior_a_;
    out.f64["count.prior_b"] = prior_b_;
    out.f64["count.sum"] = sum_;
    out.i64["count.kind"] = {static_cast<int64_t>(kind_)};
    return out;
}

void CountingBandit::import_state(const StateDict& in) {
    if (in.get_i64("count.kind", 1)[0] != static_cast<int64_t>(kind_)) {
        throw std::invalid_argument("state: saved by a different policy kind");
    }
    PolicyCore c;
    c.import_state(in);
    const std::size_t S = static_cast<std::size_t>(c.arms.n_slots());
    prior_a_ = in.get_f64("count.prior_a", S);
    prior_b_ = in.get_f64("count.prior_b", S);
    sum_ = in.get_f64("count.sum", S);
    core = std::move(c);
}

}  // namespace reelrec::bandits
