// Turning per-arm values into a slate of k arms with honest propensities.
//
// Every policy reduces one request to per-arm values (m, w) and a rule:
//   Greedy  : argmax of m (UCB scores, LinUCB, greedy means), with probability
//             epsilon a uniform arm instead (epsilon-greedy). Ties: uniform.
//   Softmax : P(a) proportional to exp(m_a / temperature).
//   Normal  : Thompson sampling with a Gaussian score m_a + w_a * N(0, 1).
//   Beta    : Thompson sampling with a Beta(m_a, w_a) score.
//
// A slate is built slot by slot; slot j picks among the request's available
// arms not already in slots < j, with fresh random draws. The propensity of
// slot j is P(policy puts this arm in slot j | slots < j hold the chosen arms).
// Exact for Greedy and Softmax (ties share the mass equally). For Thompson
// rules it is a Monte Carlo estimate: n_mc extra posterior draws plus the draw
// that made the decision, p = (1 + wins) / (1 + n_mc) where wins counts the
// extra draws whose argmax is the chosen arm. It is never 0, its bias is at
// most 1 / (1 + n_mc) and its standard error about sqrt(p (1 - p) / n_mc).
// With n_mc = 0 a Normal rule reports the exact probability instead, a
// one-dimensional integral per decision (bandits/normal_argmax.hpp), and
// draws no pool.
// The extra draws form one pool per select() call (n_slots x n_mc floats),
// shared read-only by all requests: its stream is named by the batch's first
// request index, so results do not depend on the thread count.
//
// Guaranteed exploration of new arms: with probability new_arm_share a slot is
// filled uniformly among its candidate arms with fewer than new_arm_pulls
// observed rewards (when there is any); the reported propensity is the exact
// mixture share * [new] / n_new + (1 - share) * p_policy.
//
// Slots with no candidate left hold arm -1 and propensity NaN.
//
// Complexity per request: O(k * n_arms) for Greedy/Softmax, O(k * n_arms *
// n_mc) for Thompson rules (one gamma or normal draw per arm and slot plus the
// pool scan), O(n_arms) scratch memory per thread. Non-contextual batches with
// one mask share slot 0's candidates, best arms, softmax weights and pool wins:
// slot 0 then costs O(1) (Greedy), O(log n_arms) (Softmax) or the draws alone
// (Thompson).
//
// The one-slot Normal scan (normal_wins) scores the pool in single precision
// and recounts in double only the draws too close to call (a rigorous error
// bound; the note above exact_lane_win in slate.cpp), so its counts are those
// of the double definition bit for bit.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "bandits/arms.hpp"
#include "bandits/rng.hpp"

namespace reelrec::bandits {

// Rough double-precision fused multiply-adds per nanosecond of one core, to turn
// flop counts into the nanoseconds of threads_for_work (common/parallel.hpp).
constexpr double kFmaPerNs = 8.0;

enum class Rule : int { Greedy = 0, Softmax = 1, Normal = 2, Beta = 3 };

struct SelectConfig {
    Rule rule = Rule::Greedy;
    double epsilon = 0.0;      // Greedy: probability of a uniform pick
    double temperature = 1.0;  // Softmax
    int64_t n_mc = 0;          // Normal/Beta: Monte Carlo draws for propensities; 0: exact (Normal only)
    double new_arm_share = 0.0;
    int64_t new_arm_pulls = 0;
    int64_t k = 1;
    int num_threads = 0;
};

// Availability: null = every live arm; otherwise 0/1 flags per slot, either one
// row shared by all requests or one row per request.
struct Availability {
    const uint8_t* flags = nullptr;
    bool per_request = false;
    const uint8_t* row(int64_t r, int64_t n_slots) const {
        if (!flags) return nullptr;
        return per_request ? flags + r * n_slots : flags;
    }
};

// What a slot's rule needs from its candidate list: the best value and its
// ties (Greedy, ascending ids) or the cumulative weights (Softmax).
struct SlotSummary {
    double best = 0.0;          // Greedy: max value; Softmax: max logit
    std::vector<int64_t> ties;  // Greedy
    std::vector<double> cum;    // Softmax: running sums of exp((m - best) / T)
};

struct SlateScratch {
    std::vector<int64_t> cand;
    std::vector<int64_t> fresh;
    SlotSummary summary;
    std::vector<double> before, after;  // Thompson rules: best pooled score per draw
};

class SlateSelector {
public:
    SlateSelector(const SelectConfig& cfg, const PolicyCore& core, int64_t first_request);

    // Thompson rules: draws the shared Monte Carlo pool. Beta needs the
    // posterior (m = alpha, w = beta); Normal pools are standard normals.
    void make_pool(const double* m, const double* w, int num_threads);

    // Non-contextual policies with one candidate set for every request: slot
    // 0's candidates, best arms / softmax weights and Monte Carlo wins are the
    // same for all requests, so they are computed once per call.
    void cache_first_slot(const double* m, const double* w, const uint8_t* avail);

    // Fills k arms and propensities for request r (0-based within the batch).
    // `state`, when given, is request r's decision stream from open_streams().
    void choose(int64_t r, const double* m, const double* w, const uint8_t* avail, int64_t* out_arm,
                double* out_p, SlateScratch& s, const uint64_t* state = nullptr) const;

    // The common case in one pass: one slot, every live arm a candidate, no
    // guaranteed exploration, and a UCB rule without epsilon or a Normal
    // Thompson rule. fast_path() says whether the configuration allows it;
    // choose_fast() then fills request r from the candidates `live`
    // (ascending ids) and returns false, leaving the request to choose(),
    // for what it does not handle (tied UCB maxima, no candidate). Decisions
    // and propensities are bit for bit those of choose().
    bool fast_path() const;
    // The Monte Carlo half of choose_fast for a Normal rule whose request
    // already drew (pos = the winning candidate's position in `live`, e.g.
    // from thompson_draws on this selector's streams); false when choose_fast
    // would not handle the request.
    bool normal_wins(const double* m, const double* w, const std::vector<int64_t>& live, int64_t pos,
                     int64_t* out_arm, double* out_p) const;
    // Normal rule with n_mc = 0: exact propensities instead of the pool.
    bool exact_normal() const { return cfg_.rule == Rule::Normal && cfg_.n_mc == 0; }
    // P(the policy's own draw picks `arm` among `cand`), exactly (exact_normal()).
    double exact_propensity(int64_t arm, const std::vector<int64_t>& cand, const double* m,
                            const double* w) const;
    // Most candidates choose_fast / normal_wins handle for a Normal rule.
    static constexpr int64_t kMaxFusedCandidates = 512;
    uint64_t seed() const { return seed_; }
    int64_t first_request() const { return first_request_; }
    // `state`, when given, is request r's decision stream from open_streams().
    bool choose_fast(int64_t r, const double* m, const double* w, const std::vector<int64_t>& live,
                     int64_t* out_arm, double* out_p, const uint64_t* state = nullptr) const;

    // The decision streams of requests [r0, r0 + n) (0-based within the
    // batch), 4 words each, opened 8 at a time; states needs room for n
    // rounded up to a multiple of 8 streams. Rules that draw for every
    // request use them; the others (UCB, epsilon = 0) open streams lazily,
    // only to break ties.
    void open_streams(int64_t r0, int64_t n, uint64_t* states) const;

    // Thompson rules, after make_pool(): arm a's n_mc pooled draws (standard
    // normals, or Beta logits / log-ratios), and whether Beta draws compare
    // Ga / Gb (every live arm's shapes >= 1).
    const float* pool_row(int64_t arm) const { return pool_.data() + arm * cfg_.n_mc; }
    bool beta_ratio() const { return beta_ratio_; }
    // Per arm slot: the pooled draws in which it is the first maximum among
    // `cand` (ascending ids), zero for arms outside it.
    void pool_wins_all(const std::vector<int64_t>& cand, const double* m, const double* w,
                       std::vector<int64_t>& wins) const;

    // Threads worth using for `n_requests` requests of about `ns_per_request`
    // nanoseconds each (threads_for_work: about kGrainNs of work per thread).
    int threads_for(int64_t n_requests, double ns_per_request) const;

private:
    void candidates(const uint8_t* avail, std::vector<int64_t>& cand) const;
    void fresh_arms(const std::vector<int64_t>& cand, std::vector<int64_t>& fresh) const;
    void summarise(const std::vector<int64_t>& cand, const double* m, SlotSummary& out) const;
    int64_t pool_wins(int64_t arm, const std::vector<int64_t>& cand, const double* m, const double* w,
                      SlateScratch& s) const;

    SelectConfig cfg_;
    const ArmTable& arms_;
    uint64_t seed_;
    int64_t first_request_;
    int64_t n_slots_;
    std::vector<float> pool_;  // n_slots x n_mc, arm-major (one draw scan is contiguous)
    static constexpr int64_t kPoolPad = 8;
    // Normal rule, k = 1: pool_ in double, rows padded to pool_pad_, for the scan of requests
    // whose scores could overflow a float (normal_wins; the float filter serves the rest)
    std::vector<double> pool_d_;
    int64_t pool_pad_ = 0;
    static constexpr int64_t kPoolPadF = 16;
    std::vector<float> pool_f_;      // Normal rule, k = 1: pool_ with rows padded to pool_pad_f_
    std::vector<double> pool_zmax_;  // per slot: max |z| of its pooled draws
    int64_t pool_pad_f_ = 0;
    struct FirstSlot {
        bool valid = false;
        std::vector<int64_t> cand, fresh;
        SlotSummary summary;
    } first_;
    std::vector<int64_t> first_wins_;  // Thompson rules: slot-0 pool wins per arm
    std::vector<GammaShape> shapes_;   // Beta rule: (alpha, beta) constants per slot
    bool beta_ratio_ = false;          // Beta rule: compare Ga / Gb (all shapes >= 1)
};

// Test hook: the Monte Carlo wins of candidate pos over n draws per candidate
// (z: nc x n, row-major) with the kernels of one ISA (generic, avx2, avx512):
// the double scan, or (filtered) the float filter the one-slot Normal path
// uses. False when the CPU cannot run that ISA.
bool mc_wins_isa(const std::string& isa, bool filtered, const double* m, const double* w, const float* z,
                 int64_t nc, int64_t n, int64_t pos, int64_t* wins);

}  // namespace reelrec::bandits
