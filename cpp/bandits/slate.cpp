#include "bandits/slate.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>

#include "bandits/normal_argmax.hpp"
#include "bandits/rng.hpp"
#include "common/cpu.hpp"
#include "common/parallel.hpp"

#ifdef REELREC_X86
#include <immintrin.h>
#endif

namespace reelrec::bandits {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kNegInf = -std::numeric_limits<double>::infinity();
constexpr int64_t kMaxFusedWins = SlateSelector::kMaxFusedCandidates;

inline void erase_value(std::vector<int64_t>& v, int64_t value) {
    for (std::size_t i = 0; i < v.size(); ++i) {
        if (v[i] == value) {
            v[i] = v.back();
            v.pop_back();
            return;
        }
    }
}

// The Monte Carlo propensity scan, the inner loop of Thompson selection:
// best[j] = max(best[j], m + w * z[j]) over a candidate's pooled draws, then
// the chosen arm's wins. Compiled for AVX-512, AVX2 and the baseline and
// picked at run time like the quadratic forms (cpp/bandits/quadform.cpp).
// mul and add stay separate (fp-contract=off) so every ISA computes the
// scores of the scalar definition bit for bit.
#define REELREC_MC_RUNNING_MAX                           \
    for (int64_t j = 0; j < n; ++j) {                    \
        const double wz = w * static_cast<double>(z[j]); \
        const double v = m + wz;                         \
        best[j] = best[j] < v ? v : best[j];             \
    }
// Arm a wins draw j when its score beats every earlier candidate strictly
// and every later one or ties it (the first maximum in candidate order wins).
// Without earlier candidates `before` holds -inf, which a finite score beats.
#define REELREC_MC_COUNT_WINS                                                      \
    int64_t wins = 0;                                                              \
    for (int64_t j = 0; j < n; ++j) {                                              \
        const double wz = w * static_cast<double>(z[j]);                           \
        const double v = m + wz;                                                   \
        wins += static_cast<int>(v > before[j]) & static_cast<int>(v >= after[j]); \
    }                                                                              \
    return wins;

// Wins of candidate `pos` over the pooled draws of all candidates in one
// pass over the draws (lanes of W draws): the best earlier and later scores
// stay in registers instead of two arrays rewritten per candidate. The same
// scores (m + w z, mul then add) and comparisons as REELREC_MC_COUNT_WINS;
// a max is exact, so the order it is taken in does not matter (a -0 / +0
// choice cannot change a comparison).
#define REELREC_MC_FUSED_STEP(J, MASK)                      \
    {                                                       \
        Vec before = ninf, after = ninf;                    \
        for (int64_t c = 0; c < pos; ++c) {                 \
            Vec zc;                                         \
            __builtin_memcpy(&zc, z[c] + (J), sizeof(Vec)); \
            const Vec wz = (w[c] - Vec{}) * zc;             \
            const Vec v = (m[c] - Vec{}) + wz;              \
            before = before < v ? v : before;               \
        }                                                   \
        for (int64_t c = pos + 1; c < nc; ++c) {            \
            Vec zc;                                         \
            __builtin_memcpy(&zc, z[c] + (J), sizeof(Vec)); \
            const Vec wz = (w[c] - Vec{}) * zc;             \
            const Vec v = (m[c] - Vec{}) + wz;              \
            after = after < v ? v : after;                  \
        }                                                   \
        Vec zc;                                             \
        __builtin_memcpy(&zc, z[pos] + (J), sizeof(Vec));   \
        const Vec wz = (w[pos] - Vec{}) * zc;               \
        const Vec v = (m[pos] - Vec{}) + wz;                \
        wins -= (v > before) & (v >= after) MASK;           \
    }
// Four vectors of draws per pass over the candidates: independent max
// chains, and each candidate's pointer, mean and width read once for them.
#define REELREC_MC_FUSED_STEP4(J)                                          \
    {                                                                      \
        Vec before[4], after[4];                                           \
        for (int u = 0; u < 4; ++u) before[u] = after[u] = ninf;           \
        for (int64_t c = 0; c < nc; ++c) {                                 \
            if (c == pos) continue;                                        \
            const Vec wc = w[c] - Vec{}, mc = m[c] - Vec{};                \
            const double* zp = z[c] + (J);                                 \
            Vec* best = c < pos ? before : after;                          \
            for (int u = 0; u < 4; ++u) {                                  \
                Vec zc;                                                    \
                __builtin_memcpy(&zc, zp + u * kLanes, sizeof(Vec));       \
                const Vec wz = wc * zc;                                    \
                const Vec v = mc + wz;                                     \
                best[u] = best[u] < v ? v : best[u];                       \
            }                                                              \
        }                                                                  \
        const Vec wc = w[pos] - Vec{}, mc = m[pos] - Vec{};                \
        for (int u = 0; u < 4; ++u) {                                      \
            Vec zc;                                                        \
            __builtin_memcpy(&zc, z[pos] + (J) + u * kLanes, sizeof(Vec)); \
            const Vec wz = wc * zc;                                        \
            const Vec v = mc + wz;                                         \
            wins -= (v > before[u]) & (v >= after[u]);                     \
        }                                                                  \
    }
#define REELREC_MC_FUSED_WINS(W)                                            \
    typedef double Vec __attribute__((vector_size(W * sizeof(double))));    \
    typedef int64_t VecI __attribute__((vector_size(W * sizeof(int64_t)))); \
    const Vec ninf = Vec{} - __builtin_inf();                               \
    constexpr int64_t kLanes = W;                                           \
    VecI wins = VecI{};                                                     \
    const int64_t full4 = n / (4 * W) * (4 * W), full = n / W * W;          \
    for (int64_t j = 0; j < full4; j += 4 * W) REELREC_MC_FUSED_STEP4(j)    \
    for (int64_t j = full4; j < full; j += W) REELREC_MC_FUSED_STEP(j, )    \
    if (full < n) {                                                         \
        VecI lane;                                                          \
        for (int l = 0; l < W; ++l) lane[l] = l;                            \
        const VecI valid = (lane + full) < n;                               \
        REELREC_MC_FUSED_STEP(full, &valid)                                 \
    }                                                                       \
    int64_t total = 0;                                                      \
    for (int l = 0; l < W; ++l) total += wins[l];                           \
    return total;

// m, w, z: per candidate (in candidate order) its mean, width and pooled draws.
// z rows are padded with zeros to a multiple of kPoolPad draws; lanes past n never count.
using FusedWins = int64_t (*)(const double*, const double*, const double* const*, int64_t, int64_t, int64_t);
__attribute__((optimize("fp-contract=off"))) int64_t fused_wins_generic(const double* m, const double* w,
                                                                        const double* const* z, int64_t nc,
                                                                        int64_t pos, int64_t n) {
    REELREC_MC_FUSED_WINS(2)
}

void running_max_generic(double* best, const float* z, double m, double w, int64_t n) {
    REELREC_MC_RUNNING_MAX
}
int64_t count_wins_generic(const float* z, double m, double w, const double* before, const double* after,
                           int64_t n) {
    REELREC_MC_COUNT_WINS
}
#ifdef REELREC_X86
__attribute__((target("avx512f,avx512vl,avx2,fma"),
               optimize("fp-contract=off"))) void running_max_avx512(double* best, const float* z, double m,
                                                                     double w, int64_t n) {
    REELREC_MC_RUNNING_MAX
}
__attribute__((target("avx512f,avx512vl,avx2,fma"), optimize("fp-contract=off"))) int64_t
count_wins_avx512(const float* z, double m, double w, const double* before, const double* after, int64_t n) {
    REELREC_MC_COUNT_WINS
}
__attribute__((target("avx512f,avx512vl,avx2,fma"), optimize("fp-contract=off"))) int64_t fused_wins_avx512(
    const double* m, const double* w, const double* const* z, int64_t nc, int64_t pos, int64_t n) {
    REELREC_MC_FUSED_WINS(8)
}
__attribute__((target("avx2,fma"), optimize("fp-contract=off"))) int64_t fused_wins_avx2(
    const double* m, const double* w, const double* const* z, int64_t nc, int64_t pos, int64_t n) {
    REELREC_MC_FUSED_WINS(4)
}
__attribute__((target("avx2,fma"), optimize("fp-contract=off"))) void running_max_avx2(double* best,
                                                                                       const float* z,
                                                                                       double m, double w,
                                                                                       int64_t n) {
    REELREC_MC_RUNNING_MAX
}
__attribute__((target("avx2,fma"), optimize("fp-contract=off"))) int64_t
count_wins_avx2(const float* z, double m, double w, const double* before, const double* after, int64_t n) {
    REELREC_MC_COUNT_WINS
}
#endif

// The fused scan in single precision, with a filter that keeps every count
// that of REELREC_MC_FUSED_WINS bit for bit. A float score v_f = m_f + w_f z
// (FMA or not) and the double score s = m + (w z) of the definition differ by
// at most E = 3.001 u M (u = 2^-24, M = max over the request's candidates of
// |m| + |w| max|z|; the conversions of m and w, two float roundings, two
// double ones); maxima of such scores differ by at most E too. A draw is a
// win when v_f > b_f + T and v_f > a_f + T, a loss when v_f < b_f - T or
// v_f < a_f - T (b, a: the best earlier and later scores), with
// T = 16 u M + 2^-100: beyond 2 E plus the rounding of b_f +- T (u M), so a
// decided draw is decided the same way in exact double arithmetic. The
// others (scores within ~1e-6 M of each other, or a NaN) are recounted one
// lane at a time in double (exact_lane_win). Twice the lanes of the double
// kernel and FMAs instead of a multiply and an add.
__attribute__((noinline, optimize("fp-contract=off"))) int64_t
exact_lane_win(const double* m, const double* w, const float* const* z, int64_t nc, int64_t pos, int64_t j) {
    double before = kNegInf, after = kNegInf;
    for (int64_t c = 0; c < nc; ++c) {
        if (c == pos) continue;
        const double wz = w[c] * static_cast<double>(z[c][j]);
        const double v = m[c] + wz;
        double& best = c < pos ? before : after;
        best = best < v ? v : best;
    }
    const double wz = w[pos] * static_cast<double>(z[pos][j]);
    const double v = m[pos] + wz;
    return static_cast<int>(v > before) & static_cast<int>(v >= after);
}

#define REELREC_MC_INLINE inline __attribute__((always_inline))

namespace mc_generic {
template <class VecI>
REELREC_MC_INLINE bool any_lane(VecI v) {
    uint64_t b[sizeof(VecI) / sizeof(uint64_t)];
    __builtin_memcpy(b, &v, sizeof(VecI));
    uint64_t o = 0;
    for (uint64_t x : b) o |= x;
    return o != 0;
}
#include "bandits/mc_filter.inc"
}  // namespace mc_generic
#ifdef REELREC_X86
#pragma GCC push_options
#pragma GCC target("avx2,fma")
namespace mc_avx2 {
template <class VecI>
REELREC_MC_INLINE bool any_lane(VecI v) {
    const __m256i x = reinterpret_cast<__m256i>(v);
    return !_mm256_testz_si256(x, x);
}
#include "bandits/mc_filter.inc"
}  // namespace mc_avx2
#pragma GCC pop_options
#pragma GCC push_options
#pragma GCC target("avx512f,avx512vl,avx2,fma")
namespace mc_avx512 {
template <class VecI>
REELREC_MC_INLINE bool any_lane(VecI v) {
    const __m512i x = reinterpret_cast<__m512i>(v);
    return _mm512_test_epi32_mask(x, x) != 0;
}
#include "bandits/mc_filter.inc"
}  // namespace mc_avx512
#pragma GCC pop_options
#endif

using FilterWins = int64_t (*)(const double*, const double*, const float* const*, int64_t, int64_t, int64_t,
                               float);
int64_t filter_wins_generic(const double* m, const double* w, const float* const* z, int64_t nc, int64_t pos,
                            int64_t n, float T) {
    return mc_generic::filter_wins_body<4>(m, w, z, nc, pos, n, T);
}
#ifdef REELREC_X86
__attribute__((target("avx512f,avx512vl,avx2,fma"))) int64_t filter_wins_avx512(
    const double* m, const double* w, const float* const* z, int64_t nc, int64_t pos, int64_t n, float T) {
    return mc_avx512::filter_wins_body<16>(m, w, z, nc, pos, n, T);
}
__attribute__((target("avx2,fma"))) int64_t filter_wins_avx2(const double* m, const double* w,
                                                             const float* const* z, int64_t nc, int64_t pos,
                                                             int64_t n, float T) {
    return mc_avx2::filter_wins_body<8>(m, w, z, nc, pos, n, T);
}
#endif

using OpenFn = void (*)(uint64_t, uint64_t, uint32_t, uint64_t*);
void open_generic(uint64_t seed, uint64_t stream0, uint32_t sub, uint64_t* states) {
    open_streams8(seed, stream0, sub, states);
}
#ifdef REELREC_X86
__attribute__((target("avx512f,avx512vl,avx512dq,avx2,fma"))) void open_avx512(uint64_t seed,
                                                                               uint64_t stream0, uint32_t sub,
                                                                               uint64_t* states) {
    open_streams8(seed, stream0, sub, states);
}
__attribute__((target("avx2,fma"))) void open_avx2(uint64_t seed, uint64_t stream0, uint32_t sub,
                                                   uint64_t* states) {
    open_streams8(seed, stream0, sub, states);
}
#endif

// The kernels of one instruction set.
struct Kernels {
    void (*running_max)(double*, const float*, double, double, int64_t);
    int64_t (*count_wins)(const float*, double, double, const double*, const double*, int64_t);
    FusedWins fused_wins;
    FilterWins filter_wins;
    OpenFn open;
};
constexpr Kernels kGeneric{running_max_generic, count_wins_generic, fused_wins_generic, filter_wins_generic,
                           open_generic};
#ifdef REELREC_X86
constexpr Kernels kAvx2{running_max_avx2, count_wins_avx2, fused_wins_avx2, filter_wins_avx2, open_avx2};
constexpr Kernels kAvx512{running_max_avx512, count_wins_avx512, fused_wins_avx512, filter_wins_avx512,
                          open_avx512};
#endif
constexpr IsaTables<Kernels> kTables{&kGeneric, REELREC_X86_TABLE(kAvx2), REELREC_X86_TABLE(kAvx512)};

const Kernels& dispatch() { return best_once(kTables); }

inline void mc_running_max(double* best, const float* z, double m, double w, int64_t n) {
    dispatch().running_max(best, z, m, w, n);
}
inline int64_t mc_count_wins(const float* z, double m, double w, const double* before, const double* after,
                             int64_t n) {
    return dispatch().count_wins(z, m, w, before, after, n);
}

// T of the filter (see exact_lane_win) for the error scale M, rounded up to a float.
float mc_filter_margin(double M) {
    const double t = 16.0 * 0x1p-24 * M * (1.0 + 1e-6) + 0x1p-100;
    float T = static_cast<float>(t);
    if (static_cast<double>(T) < t) T = std::nextafter(T, std::numeric_limits<float>::infinity());
    return T;
}

// Wins of candidate pos: the float filter when its scores cannot overflow
// (M = max |m| + |w| max|z| < 1e30), else the double scan. zc and zf hold
// the same draws (double rows padded to kPoolPad, float rows to kPoolPadF).
int64_t scan_wins(FusedWins fused, FilterWins filter, const double* mc, const double* wc,
                  const double* const* zc, const float* const* zf, double M, int64_t nc, int64_t pos,
                  int64_t n) {
    return M < 1e30 ? filter(mc, wc, zf, nc, pos, n, mc_filter_margin(M)) : fused(mc, wc, zc, nc, pos, n);
}

}  // namespace

SlateSelector::SlateSelector(const SelectConfig& cfg, const PolicyCore& core, int64_t first_request)
    : cfg_(cfg),
      arms_(core.arms),
      seed_(core.seed),
      first_request_(first_request),
      n_slots_(core.arms.n_slots()) {
    if (cfg.rule == Rule::Beta && cfg.n_mc < 1)
        throw std::invalid_argument("n_mc: Beta Thompson sampling needs at least one Monte Carlo draw");
}

double SlateSelector::exact_propensity(int64_t arm, const std::vector<int64_t>& cand, const double* m,
                                       const double* w) const {
    thread_local std::vector<double> mc, wc;
    thread_local NormalArgmaxScratch scratch;
    const int64_t nc = static_cast<int64_t>(cand.size());
    mc.resize(static_cast<std::size_t>(nc));
    wc.resize(static_cast<std::size_t>(nc));
    int64_t pos = -1;
    for (int64_t c = 0; c < nc; ++c) {
        mc[c] = m[cand[c]];
        wc[c] = w[cand[c]];
        if (cand[c] == arm) pos = c;
    }
    return normal_argmax_probability(mc.data(), wc.data(), nc, pos, scratch);
}

int SlateSelector::threads_for(int64_t n_requests, double ns_per_request) const {
    if (n_requests < 2) return 1;
    return threads_for_work(static_cast<double>(n_requests) * ns_per_request, cfg_.num_threads);
}

void SlateSelector::make_pool(const double* m, const double* w, int num_threads) {
    if ((cfg_.rule != Rule::Normal && cfg_.rule != Rule::Beta) || exact_normal()) return;
    const int64_t n_mc = cfg_.n_mc, S = n_slots_;
    pool_.assign(static_cast<std::size_t>(n_mc * S), 0.0f);
    const uint8_t* active = arms_.active();
    const int threads = threads_for_work((cfg_.rule == Rule::Beta ? 60.0 : 15.0) * n_mc * S, num_threads);
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
                const double v = cfg_.rule == Rule::Normal
                                     ? rng.normal()
                                     : rng.beta_logit(shapes_[2 * a], shapes_[2 * a + 1]);
                pool_[a * n_mc + j] = static_cast<float>(v);
            }
        });
    }
    errors.rethrow();
    if (cfg_.rule == Rule::Normal && cfg_.k == 1) {
        // Exact double copy for the fused one-slot scan (no per-request conversions).
        const int64_t pad = (n_mc + kPoolPad - 1) / kPoolPad * kPoolPad;
        pool_d_.assign(static_cast<std::size_t>(pad * S), 0.0);
        for (int64_t a = 0; a < S; ++a) {
            for (int64_t j = 0; j < n_mc; ++j)
                pool_d_[a * pad + j] = static_cast<double>(pool_[a * n_mc + j]);
        }
        pool_pad_ = pad;
        // The same draws in float for the filtered scan (rows padded to
        // kPoolPadF), and each row's largest magnitude for its error bound.
        const int64_t pad_f = (n_mc + kPoolPadF - 1) / kPoolPadF * kPoolPadF;
        pool_f_.assign(static_cast<std::size_t>(pad_f * S), 0.0f);
        pool_zmax_.assign(static_cast<std::size_t>(S), 0.0);
        for (int64_t a = 0; a < S; ++a) {
            float zmax = 0.0f;
            for (int64_t j = 0; j < n_mc; ++j) {
                const float z = pool_[a * n_mc + j];
                pool_f_[a * pad_f + j] = z;
                zmax = std::max(zmax, std::abs(z));
            }
            pool_zmax_[a] = zmax;
        }
        pool_pad_f_ = pad_f;
    }
}

int64_t SlateSelector::pool_wins(int64_t arm, const std::vector<int64_t>& cand, const double* m,
                                 const double* w, SlateScratch& s) const {
    const int64_t n_mc = cfg_.n_mc;
    const bool normal = cfg_.rule == Rule::Normal;
    s.before.assign(static_cast<std::size_t>(n_mc), kNegInf);
    s.after.assign(static_cast<std::size_t>(n_mc), kNegInf);
    bool seen = false;
    for (int64_t b : cand) {
        if (b == arm) {
            seen = true;
            continue;
        }
        double* best = seen ? s.after.data() : s.before.data();
        if (normal) {
            mc_running_max(best, pool_.data() + b * n_mc, m[b], w[b], n_mc);
        } else {
            mc_running_max(best, pool_.data() + b * n_mc, 0.0, 1.0, n_mc);
        }
    }
    const float* za = pool_.data() + arm * n_mc;
    return normal ? mc_count_wins(za, m[arm], w[arm], s.before.data(), s.after.data(), n_mc)
                  : mc_count_wins(za, 0.0, 1.0, s.before.data(), s.after.data(), n_mc);
}

bool SlateSelector::fast_path() const {
    if (cfg_.k != 1 || cfg_.new_arm_share > 0.0) return false;
    return (cfg_.rule == Rule::Greedy && !(cfg_.epsilon > 0.0)) || cfg_.rule == Rule::Normal;
}

void SlateSelector::open_streams(int64_t r0, int64_t n, uint64_t* states) const {
    const OpenFn open = dispatch().open;
    for (int64_t i = 0; i < n; i += 8) {
        open(seed_, kDecisionStream | static_cast<uint64_t>(first_request_ + r0 + i), 0, states + 4 * i);
    }
}

// One-pass Normal rule: candidates kept on the stack (12 KB at most).
constexpr int64_t kMaxFused = SlateSelector::kMaxFusedCandidates;

bool SlateSelector::choose_fast(int64_t r, const double* m, const double* w, const std::vector<int64_t>& live,
                                int64_t* out_arm, double* out_p, const uint64_t* state) const {
    const int64_t nc = static_cast<int64_t>(live.size());
    if (nc == 0) return false;
    if (cfg_.rule == Rule::Greedy) {
        // choose(): best = max of m over the candidates, ties = those equal to
        // it; one tie needs no draw and has propensity eps / nc + 1 = 1.
        double best = kNegInf;
        for (int64_t a : live) best = std::max(best, m[a]);
        int64_t arm = -1, n_ties = 0;
        for (int64_t a : live) {
            if (m[a] == best) {
                ++n_ties;
                if (arm < 0) arm = a;
            }
        }
        if (n_ties != 1) return false;
        *out_arm = arm;
        *out_p = 1.0;
        return true;
    }
    // Normal rule: the request's draws in candidate order, then the pool wins.
    RandomStream rng = state
                           ? RandomStream(state)
                           : RandomStream(seed_, kDecisionStream | static_cast<uint64_t>(first_request_ + r));
    if (!exact_normal() && (nc > kMaxFused || pool_d_.empty())) return false;
    double best = kNegInf;
    int64_t pos = -1;
    for (int64_t c = 0; c < nc; ++c) {
        const int64_t a = live[c];
        const double v = m[a] + w[a] * rng.normal();
        if (pos < 0 || v > best) {
            best = v;
            pos = c;
        }
    }
    return normal_wins(m, w, live, pos, out_arm, out_p);
}

bool SlateSelector::normal_wins(const double* m, const double* w, const std::vector<int64_t>& live,
                                int64_t pos, int64_t* out_arm, double* out_p) const {
    const int64_t nc = static_cast<int64_t>(live.size());
    if (exact_normal() && pos >= 0 && pos < nc) {
        *out_arm = live[pos];
        *out_p = exact_propensity(live[pos], live, m, w);
        return true;
    }
    if (nc == 0 || nc > kMaxFused || pool_d_.empty() || pos < 0 || pos >= nc) return false;
    double mc[kMaxFused], wc[kMaxFused];
    const double* zc[kMaxFused];
    const float* zf[kMaxFused];
    double M = 0.0;  // max |m| + |w| max|z|: the filter's error scale
    for (int64_t c = 0; c < nc; ++c) {
        const int64_t a = live[c];
        mc[c] = m[a];
        wc[c] = w[a];
        zc[c] = pool_d_.data() + a * pool_pad_;
        zf[c] = pool_f_.data() + a * pool_pad_f_;
        M = std::max(M, std::abs(m[a]) + std::abs(w[a]) * pool_zmax_[a]);
    }
    const int64_t n_mc = cfg_.n_mc;
    const Kernels& k = dispatch();
    const int64_t wins = scan_wins(k.fused_wins, k.filter_wins, mc, wc, zc, zf, M, nc, pos, n_mc);
    *out_arm = live[pos];
    *out_p = static_cast<double>(wins + 1) / static_cast<double>(n_mc + 1);
    return true;
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
    if ((cfg_.rule != Rule::Normal && cfg_.rule != Rule::Beta) || exact_normal()) return;
    pool_wins_all(first_.cand, m, w, first_wins_);
}

void SlateSelector::pool_wins_all(const std::vector<int64_t>& cand, const double* m, const double* w,
                                  std::vector<int64_t>& wins) const {
    wins.assign(static_cast<std::size_t>(n_slots_), 0);
    if (cand.empty()) return;
    const bool normal = cfg_.rule == Rule::Normal;
    const int64_t n_mc = cfg_.n_mc;
    std::vector<double> best(static_cast<std::size_t>(n_mc), kNegInf);
    std::vector<int64_t> arg(static_cast<std::size_t>(n_mc), -1);
    for (int64_t a : cand) {
        const float* z = pool_.data() + a * n_mc;
        for (int64_t j = 0; j < n_mc; ++j) {
            const double v = normal ? m[a] + w[a] * static_cast<double>(z[j]) : static_cast<double>(z[j]);
            if (arg[j] < 0 || v > best[j]) {
                best[j] = v;
                arg[j] = a;
            }
        }
    }
    for (int64_t j = 0; j < n_mc; ++j) ++wins[arg[j]];
}

void SlateSelector::choose(int64_t r, const double* m, const double* w, const uint8_t* avail,
                           int64_t* out_arm, double* out_p, SlateScratch& s, const uint64_t* state) const {
    // The request's stream is opened at its first draw: deterministic rules
    // (a unique UCB maximum, epsilon = 0) never pay for it, and its values do
    // not depend on when it is opened.
    std::optional<RandomStream> stream;
    auto rng = [&]() -> RandomStream& {
        if (!stream) {
            if (state) {
                stream.emplace(state);
            } else {
                stream.emplace(seed_, kDecisionStream | static_cast<uint64_t>(first_request_ + r));
            }
        }
        return *stream;
    };
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
        if (!shared && (cfg_.rule == Rule::Greedy || cfg_.rule == Rule::Softmax))
            summarise(cand, m, s.summary);
        const SlotSummary& sum = shared ? first_.summary : s.summary;

        // Guaranteed exploration among arms that have not been observed enough.
        int64_t fresh_pick = -1;
        if (!fresh.empty() && rng().uniform() < share) {
            fresh_pick = fresh[rng().below(static_cast<int64_t>(fresh.size()))];
        }

        // The policy's own draw always happens, so a slot consumes the same
        // randomness whichever branch fills it, and Thompson rules can count
        // this draw as one Monte Carlo sample.
        int64_t base = -1;
        double p_base = 0.0;
        int64_t chosen = -1;
        switch (cfg_.rule) {
            case Rule::Greedy: {
                // No tie means every score is NaN (a state or context beyond
                // floating-point range): nothing to choose from.
                if (sum.ties.empty())
                    throw std::domain_error(
                        "select: the scores of a request are NaN (model state or contexts "
                        "out of floating-point range)");
                const int64_t n_ties = static_cast<int64_t>(sum.ties.size());
                const double eps = cfg_.epsilon;
                if (eps > 0.0 && rng().uniform() < eps) {
                    base = cand[rng().below(nc)];
                } else {
                    base = sum.ties[n_ties > 1 ? rng().below(n_ties) : 0];
                }
                chosen = fresh_pick >= 0 ? fresh_pick : base;
                p_base = eps / static_cast<double>(nc) +
                         (m[chosen] == sum.best ? (1.0 - eps) / static_cast<double>(n_ties) : 0.0);
                break;
            }
            case Rule::Softmax: {
                // First candidate whose cumulative weight exceeds u * z.
                const double z = sum.cum.back();
                const double u = rng().uniform() * z;
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
                        v = m[a] + w[a] * rng().normal();
                    } else if (beta_ratio_) {
                        // Ga / Gb ranks like the Beta draw; no logarithm needed when no
                        // shape is below 1 (then neither gamma under- nor overflows).
                        const double ga = rng().gamma_core(shapes_[2 * a]);
                        v = ga / rng().gamma_core(shapes_[2 * a + 1]);
                    } else {
                        v = rng().beta_logit(shapes_[2 * a], shapes_[2 * a + 1]);
                    }
                    if (base < 0 || v > best) {
                        best = v;
                        base = a;
                    }
                }
                chosen = fresh_pick >= 0 ? fresh_pick : base;
                if (exact_normal()) {
                    p_base = exact_propensity(chosen, cand, m, w);
                    break;
                }
                const int64_t wins = shared ? first_wins_[chosen] : pool_wins(chosen, cand, m, w, s);
                p_base = static_cast<double>(wins + (base == chosen)) / static_cast<double>(cfg_.n_mc + 1);
                break;
            }
        }
        double p = p_base;
        if (!fresh.empty()) {
            const double p_fresh =
                pulls[chosen] < cfg_.new_arm_pulls ? 1.0 / static_cast<double>(fresh.size()) : 0.0;
            p = share * p_fresh + (1.0 - share) * p_base;
        }
        out_arm[j] = chosen;
        out_p[j] = p;
        if (!shared) erase_value(s.cand, chosen);
    }
}

bool mc_wins_isa(const std::string& isa, bool filtered, const double* m, const double* w, const float* z,
                 int64_t nc, int64_t n, int64_t pos, int64_t* wins) {
    if (nc < 1 || nc > kMaxFusedWins || pos < 0 || pos >= nc || n < 0) {
        throw std::invalid_argument("mc_wins: expected 1 <= nc <= 512, 0 <= pos < nc and n >= 0");
    }
    const std::optional<Isa> level = parse_isa(isa);
    if (!level) throw std::invalid_argument("isa: expected generic, avx2 or avx512, got " + isa);
    const Kernels* k = kTables.find(*level);
    if (!k) return false;
    const FusedWins fused = k->fused_wins;
    const FilterWins filter = k->filter_wins;
    constexpr int64_t kPadD = 8, kPadF = 16;
    const int64_t pad_d = (n + kPadD - 1) / kPadD * kPadD, pad_f = (n + kPadF - 1) / kPadF * kPadF;
    std::vector<double> zd(static_cast<std::size_t>(nc * pad_d), 0.0);
    std::vector<float> zs(static_cast<std::size_t>(nc * pad_f), 0.0f);
    std::vector<const double*> zc(static_cast<std::size_t>(nc));
    std::vector<const float*> zf(static_cast<std::size_t>(nc));
    double M = 0.0;
    for (int64_t c = 0; c < nc; ++c) {
        double zmax = 0.0;
        for (int64_t j = 0; j < n; ++j) {
            zd[c * pad_d + j] = z[c * n + j];
            zs[c * pad_f + j] = z[c * n + j];
            zmax = std::max(zmax, static_cast<double>(std::abs(z[c * n + j])));
        }
        zc[c] = zd.data() + c * pad_d;
        zf[c] = zs.data() + c * pad_f;
        M = std::max(M, std::abs(m[c]) + std::abs(w[c]) * zmax);
    }
    *wins = filtered ? scan_wins(fused, filter, m, w, zc.data(), zf.data(), M, nc, pos, n)
                     : fused(m, w, zc.data(), nc, pos, n);
    return true;
}

}  // namespace reelrec::bandits
