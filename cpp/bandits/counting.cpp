#include "bandits/counting.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "bandits/thompson_batch.hpp"
#include "common/parallel.hpp"

namespace reelrec::bandits {

namespace {

// Thompson sampling with one slot and no guaranteed exploration in play (the
// common serving case), for one candidate set shared by all requests or one
// availability row per request. The decisions run W requests at a time in
// SIMD lanes (bandits/thompson_batch.hpp). Propensities come from the Monte
// Carlo pool: p = (1 + wins) / (1 + n_mc), wins = the pooled draws in which
// the chosen arm is the first maximum among the request's candidates. With
// shared candidates the wins per arm are shared too (one scan per call); with
// per-request rows each pooled draw keeps its arms ranked by score, and a
// request walks each ranking to its first available arm (about 1 / (share of
// arms available) steps per draw instead of a scan of every candidate); rows
// with few available arms (n_avail^2 <= n_cand) scan just those.
// Arms and propensities are bit for bit those of SlateSelector (the same
// streams, pool and comparisons), which serves every other configuration.
//
// Cost: n_requests * n_cand draws (a Beta draw is two gamma variates);
// n_mc * n_live pool draws per call; per-request rows add a sort of each
// draw's top kRanked arms and n_mc short walks per request. Memory:
// n_mc * n_slots pool floats (plus n_mc * min(n_cand, kRanked) positions).
void thompson_one_slot(const PolicyCore& core, const SelectConfig& cfg, const double* m, const double* w,
                       const std::vector<int64_t>& cand, const uint8_t* rows, int64_t n_requests,
                       int64_t* out_arms, double* out_p) {
    const int64_t nc = static_cast<int64_t>(cand.size());
    const int64_t S = core.arms.n_slots();
    const int64_t n_mc = cfg.n_mc;
    const int num_threads = cfg.num_threads;
    const bool normal = cfg.rule == Rule::Normal;
    const int64_t first = core.next_request;
    // The Monte Carlo pool and the Beta comparison (Ga / Gb unless some live
    // arm has a shape below 1) are the general selector's own.
    SlateSelector sel(cfg, core, first);
    sel.make_pool(m, w, num_threads);
    const bool ratio = sel.beta_ratio();
    std::vector<GammaShape> shapes;
    if (!normal) {
        shapes.resize(static_cast<std::size_t>(2 * nc));
        for (int64_t c = 0; c < nc; ++c) {
            shapes[2 * c] = GammaShape(m[cand[c]]);
            shapes[2 * c + 1] = GammaShape(w[cand[c]]);
        }
    }
    // score() is what the selector's scan compares.
    auto score = [&](int64_t c, int64_t j) {
        const double z = static_cast<double>(sel.pool_row(cand[c])[j]);
        return normal ? m[cand[c]] + w[cand[c]] * z : z;
    };
    const int pool_threads = threads_for_work((normal ? 15.0 : 60.0) * n_mc * nc, num_threads);
    ExceptionCollector errors;

    // Shared candidates: wins per candidate, one scan.
    std::vector<double> prop;
    // Per-request rows: each draw's kRanked best candidates, best first (ties:
    // lower position first, as the scan's first maximum).
    constexpr int64_t kRanked = 32;
    const int64_t n_ranked = std::min(nc, kRanked);
    std::vector<int32_t> ranked;
    // Exact propensities need neither: they are integrated per request
    // (rows) or, after the decisions, once per chosen candidate.
    const bool exact = sel.exact_normal();
    if (!exact && !rows) {
        std::vector<int64_t> wins;
        sel.pool_wins_all(cand, m, w, wins);
        prop.resize(static_cast<std::size_t>(nc));
        for (int64_t c = 0; c < nc; ++c) {
            prop[c] = static_cast<double>(wins[cand[c]] + 1) / static_cast<double>(n_mc + 1);
        }
    } else if (!exact) {
        ranked.resize(static_cast<std::size_t>(n_mc * n_ranked));
#pragma omp parallel num_threads(pool_threads)
        {
            std::vector<int32_t> order(static_cast<std::size_t>(nc));
#pragma omp for schedule(static)
            for (int64_t j = 0; j < n_mc; ++j) {
                errors.run([&] {
                    for (int64_t c = 0; c < nc; ++c) order[c] = static_cast<int32_t>(c);
                    auto better = [&](int32_t x, int32_t y) {
                        const double sx = score(x, j), sy = score(y, j);
                        return sx > sy || (sx == sy && x < y);
                    };
                    std::partial_sort(order.begin(), order.begin() + n_ranked, order.end(), better);
                    std::copy(order.begin(), order.begin() + n_ranked, ranked.begin() + j * n_ranked);
                });
            }
        }
        errors.rethrow();
    }

    // The decisions.
    std::vector<double> mc, wc;
    ThompsonBatch job;
    job.model = normal ? ThompsonModel::Normal : ratio ? ThompsonModel::BetaRatio : ThompsonModel::BetaLogit;
    job.seed = core.seed;
    job.first_request = static_cast<uint64_t>(first);
    job.n_cand = nc;
    if (normal) {
        mc.resize(static_cast<std::size_t>(nc));
        wc.resize(static_cast<std::size_t>(nc));
        for (int64_t c = 0; c < nc; ++c) {
            mc[c] = m[cand[c]];
            wc[c] = w[cand[c]];
        }
        job.m = mc.data();
        job.w = wc.data();
    } else {
        job.shapes = shapes.data();
    }
    job.avail_stride = S;
    job.cols = cand.data();
    // Nanoseconds per request: ~3 per normal, ~8 per Beta draw (two gammas),
    // ~40 for a log-space Beta draw, plus opening the stream and, with
    // per-request rows, the propensity walks.
    const double per_draw = normal ? 3.0 : ratio ? 8.0 : 40.0;
    const double work = 30.0 + per_draw * static_cast<double>(nc) + (rows ? 3.0 * n_mc : 0.0) +
                        (exact && rows ? 500.0 * static_cast<double>(nc) : 0.0);
    const int threads = sel.threads_for(n_requests, work);
    constexpr int64_t kBlock = 256;
    const int64_t n_blocks = (n_requests + kBlock - 1) / kBlock;
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1)
    for (int64_t b = 0; b < n_blocks; ++b) {
        errors.run([&] {
            const int64_t r0 = b * kBlock;
            const int64_t len = std::min(kBlock, n_requests - r0);
            std::vector<int32_t> avail_pos;
            std::vector<int64_t> avail_cand;
            ThompsonBatch part = job;
            if (rows) part.avail = rows + r0 * S;
            thompson_draws(part, r0, len, out_arms + r0, nullptr);
            for (int64_t r = r0; r < r0 + len; ++r) {
                const int64_t c = out_arms[r];
                if (c < 0) {
                    out_p[r] = std::numeric_limits<double>::quiet_NaN();
                    continue;
                }
                out_arms[r] = cand[c];
                if (!rows) {
                    if (!exact) out_p[r] = prop[c];
                    continue;
                }
                const uint8_t* row = rows + r * S;
                if (exact) {
                    avail_cand.clear();
                    for (const int64_t a : cand) {
                        if (row[a]) avail_cand.push_back(a);
                    }
                    out_p[r] = sel.exact_propensity(cand[c], avail_cand, m, w);
                    continue;
                }
                avail_pos.clear();
                for (int64_t cc = 0; cc < nc; ++cc) {
                    if (row[cand[cc]]) avail_pos.push_back(static_cast<int32_t>(cc));
                }
                const int64_t n_avail = static_cast<int64_t>(avail_pos.size());
                // Walks take about nc / n_avail steps per draw, a scan of the
                // available arms n_avail: sparse rows scan.
                const bool walk = n_avail * n_avail > nc;
                int64_t wins = 0;
                for (int64_t j = 0; j < n_mc; ++j) {
                    int64_t top = -1;
                    if (walk) {
                        const int32_t* rank = ranked.data() + j * n_ranked;
                        for (int64_t t = 0; t < n_ranked && top < 0; ++t) {
                            if (row[cand[rank[t]]]) top = rank[t];
                        }
                    }
                    if (top < 0) {
                        // The scan's first maximum over the available arms.
                        double best = 0.0;
                        for (const int32_t cc : avail_pos) {
                            const double v = score(cc, j);
                            if (top < 0 || v > best) {
                                best = v;
                                top = cc;
                            }
                        }
                    }
                    wins += top == c;
                }
                out_p[r] = static_cast<double>(wins + 1) / static_cast<double>(n_mc + 1);
            }
        });
    }
    errors.rethrow();
    if (exact && !rows) {
        // One integral per candidate that some request chose.
        std::vector<uint8_t> chosen(static_cast<std::size_t>(nc), 0);
        std::vector<int64_t> slot_pos(static_cast<std::size_t>(S), -1);
        for (int64_t c = 0; c < nc; ++c) slot_pos[cand[c]] = c;
        for (int64_t r = 0; r < n_requests; ++r) {
            if (out_arms[r] >= 0) chosen[slot_pos[out_arms[r]]] = 1;
        }
        std::vector<int64_t> todo;
        for (int64_t c = 0; c < nc; ++c) {
            if (chosen[c]) todo.push_back(c);
        }
        prop.assign(static_cast<std::size_t>(nc), 0.0);
        const int64_t n_todo = static_cast<int64_t>(todo.size());
        const int exact_threads = threads_for_work(200.0 * static_cast<double>(n_todo) * nc, num_threads);
#pragma omp parallel for num_threads(exact_threads) schedule(dynamic, 1)
        for (int64_t i = 0; i < n_todo; ++i) {
            errors.run([&] { prop[todo[i]] = sel.exact_propensity(cand[todo[i]], cand, m, w); });
        }
        errors.rethrow();
        for (int64_t r = 0; r < n_requests; ++r) {
            if (out_arms[r] >= 0) out_p[r] = prop[slot_pos[out_arms[r]]];
        }
    }
}

}  // namespace

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
    apply(arms, rewards, n);
}

void CountingBandit::apply(const int64_t* arms, const double* rewards, int64_t n) {
    for (int64_t i = 0; i < n; ++i) {
        sum_[arms[i]] += rewards[i];
        core.arms.add_pull(arms[i]);
    }
    core.n_updates += n;
}

void CountingBandit::fit(const int64_t* arms, const double* rewards, int64_t n, uint64_t seed) {
    core.arms.check_arms(arms, n, "decisions");
    reset(seed);
    apply(arms, rewards, n);  // checked above: one pass over the ids, not two
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

void CountingBandit::select(int64_t n_requests, const Availability& avail, SelectConfig cfg,
                            const CountHyper& hp, int64_t* out_arms, double* out_p) {
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
    if ((cfg.rule == Rule::Normal || cfg.rule == Rule::Beta) && cfg.k == 1) {
        // Candidates: live arms (and the shared mask's); per-request rows are
        // read by the lanes. Guaranteed exploration draws before the policy
        // does, so any arm it could pick sends the call to the general path.
        std::vector<int64_t> cand;
        const uint8_t* active = core.arms.active();
        const int64_t* pulls = core.arms.pulls();
        const uint8_t* shared = avail.per_request ? nullptr : avail.flags;
        bool fresh = false;
        for (int64_t a = 0; a < S; ++a) {
            if (!active[a] || (shared && !shared[a])) continue;
            cand.push_back(a);
            fresh = fresh || (cfg.new_arm_share > 0.0 && pulls[a] < cfg.new_arm_pulls);
        }
        // Lanes pay for every live arm of every request: sparse per-request
        // rows (under 1 in 16 arms available) are cheaper as the general
        // path's candidate lists.
        bool dense = true;
        if (avail.per_request && n_requests > 0 && !cand.empty()) {
            int64_t n_on = 0;
            for (int64_t r = 0; r < n_requests; ++r) {
                const uint8_t* row = avail.flags + r * S;
                for (int64_t a : cand) n_on += row[a] != 0;
            }
            dense = 16 * n_on >= n_requests * static_cast<int64_t>(cand.size());
        }
        if (!cand.empty() && !fresh && dense) {
            thompson_one_slot(core, cfg, m.data(), w.data(), cand, avail.per_request ? avail.flags : nullptr,
                              n_requests, out_arms, out_p);
            core.next_request += n_requests;
            return;
        }
    }
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
    // Rules that draw for every request open their streams 8 at a time (the
    // same states as opening them one by one); UCB rules draw only on ties.
    const bool batch_streams = !(cfg.rule == Rule::Greedy && !(cfg.epsilon > 0.0));
    constexpr int64_t kBlock = 64;
    const int64_t n_blocks = (n_requests + kBlock - 1) / kBlock;
    ExceptionCollector errors;
#pragma omp parallel num_threads(threads)
    {
        SlateScratch scratch;
        uint64_t states[4 * kBlock];
#pragma omp for schedule(dynamic, 1)
        for (int64_t b = 0; b < n_blocks; ++b) {
            errors.run([&] {
                const int64_t r0 = b * kBlock, nb = std::min(kBlock, n_requests - r0);
                if (batch_streams) sel.open_streams(r0, nb, states);
                for (int64_t r = r0; r < r0 + nb; ++r) {
                    sel.choose(r, m.data(), w.data(), avail.row(r, S), out_arms + r * cfg.k,
                               out_p + r * cfg.k, scratch, batch_streams ? states + 4 * (r - r0) : nullptr);
                }
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
