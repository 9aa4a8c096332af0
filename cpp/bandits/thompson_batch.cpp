// Kernels of bandits/thompson_batch.hpp (see the note there: Marsaglia &
// Tsang gamma and ziggurat normals, one request per SIMD lane, bit for bit the
// scalar RandomStream; O(n_requests * n_candidates) draws, O(W) memory).
#include "bandits/thompson_batch.hpp"

#include <cmath>
#include <cstring>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>

#include "common/cpu.hpp"

#ifdef REELREC_X86
#include <immintrin.h>
#endif

// The lane helpers pass vectors by value but are always inlined into the
// kernels of their own ISA, so no call ever uses the warned-about ABI.
#pragma GCC diagnostic ignored "-Wpsabi"

namespace reelrec::bandits {

namespace {

// The slow paths, compiled for the baseline ISA like RandomStream's other
// users: a lane hands its state over and takes the advanced state back.
__attribute__((noinline)) double gamma_slow(uint64_t s[4], const GammaShape& g) {
    RandomStream rng = RandomStream(s);
    const double v = rng.gamma_core(g);
    rng.save_state(s);
    return v;
}

__attribute__((noinline)) double normal_slow(uint64_t s[4]) {
    RandomStream rng = RandomStream(s);
    const double v = rng.normal();
    rng.save_state(s);
    return v;
}

// The reference: one request at a time through RandomStream, the calls of
// SlateSelector::choose for the same model.
void draws_scalar(const ThompsonBatch& job, int64_t r0, int64_t n, int64_t* pos, double* values) {
    const int64_t nc = job.n_cand;
    for (int64_t i = 0; i < n; ++i) {
        RandomStream rng(job.seed, kDecisionStream | (job.first_request + static_cast<uint64_t>(r0 + i)));
        double best = 0.0;
        int64_t arg = -1;
        for (int64_t c = 0; c < nc; ++c) {
            if (job.avail && !job.avail[i * job.avail_stride + job.cols[c]]) {
                if (values) values[i * nc + c] = -std::numeric_limits<double>::infinity();
                continue;
            }
            double v;
            if (job.model == ThompsonModel::Normal) {
                const int64_t at = job.mw_stride ? i * job.mw_stride + job.cols[c] : c;
                v = job.m[at] + job.w[at] * rng.normal();
            } else if (job.model == ThompsonModel::BetaRatio) {
                const double ga = rng.gamma_core(job.shapes[2 * c]);
                v = ga / rng.gamma_core(job.shapes[2 * c + 1]);
            } else {
                v = rng.beta_logit(job.shapes[2 * c], job.shapes[2 * c + 1]);
            }
            if (values) values[i * nc + c] = v;
            if (arg < 0 || v > best) {
                best = v;
                arg = c;
            }
        }
        pos[i] = arg;
    }
}

// Lane helpers must inline into the kernel of their ISA.
#define TS_INLINE inline __attribute__((always_inline))

constexpr uint64_t kExpOne = 0x4330000000000000ull;  // bits of 2^52
constexpr double kTwoPow52 = 4503599627370496.0;

// double(k) for k < 2^53 without a 64-bit conversion instruction:
// k = 2 (k >> 1) + (k & 1), each part through the 2^52 exponent trick.
template <class U, class D>
TS_INLINE D to_double53_split(U k) {
    U hi = (k >> 1) | kExpOne, lo = (k & 1) | kExpOne;
    D h, l;
    std::memcpy(&h, &hi, sizeof(D));
    std::memcpy(&l, &lo, sizeof(D));
    h -= kTwoPow52;
    return (h + h) + (l - kTwoPow52);
}

// Clang ignores GCC's optimize pragma; this keeps its multiplies and adds apart.
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

// One kernel per instruction set: the lane code (thompson_lanes.inc) compiled
// under each ISA's target, with a table gather and a comparison into a lane
// bit mask spelled per ISA. fp-contract=off: a fused multiply-add would round
// differently from the scalar sampler and change draws.
#pragma GCC push_options
#pragma GCC optimize("fp-contract=off")
namespace lanes2 {
constexpr int W = 2;
typedef uint64_t U __attribute__((vector_size(16)));
typedef int64_t I __attribute__((vector_size(16)));
typedef double D __attribute__((vector_size(16)));
TS_INLINE D gather(const double* t, U i) { return D{t[i[0]], t[i[1]]}; }
TS_INLINE unsigned less(D a, D b) {
    return static_cast<unsigned>(a[0] < b[0]) | static_cast<unsigned>(a[1] < b[1]) << 1;
}
TS_INLINE D to_double53(U k) { return to_double53_split<U, D>(k); }
TS_INLINE U mul32(U a, U b) { return (a & 0xFFFFFFFFull) * (b & 0xFFFFFFFFull); }
#include "bandits/thompson_lanes.inc"
}  // namespace lanes2
#pragma GCC pop_options

#ifdef REELREC_X86
#pragma GCC push_options
#pragma GCC optimize("fp-contract=off")
#pragma GCC target("avx2")
namespace lanes4 {
constexpr int W = 4;
typedef uint64_t U __attribute__((vector_size(32)));
typedef int64_t I __attribute__((vector_size(32)));
typedef double D __attribute__((vector_size(32)));
TS_INLINE D gather(const double* t, U i) { return _mm256_i64gather_pd(t, reinterpret_cast<__m256i>(i), 8); }
TS_INLINE unsigned less(D a, D b) {
    return static_cast<unsigned>(_mm256_movemask_pd(_mm256_cmp_pd(a, b, _CMP_LT_OQ)));
}
TS_INLINE D to_double53(U k) { return to_double53_split<U, D>(k); }
TS_INLINE U mul32(U a, U b) {
    return reinterpret_cast<U>(_mm256_mul_epu32(reinterpret_cast<__m256i>(a), reinterpret_cast<__m256i>(b)));
}
#include "bandits/thompson_lanes.inc"
}  // namespace lanes4
#pragma GCC pop_options

#pragma GCC push_options
#pragma GCC optimize("fp-contract=off")
#pragma GCC target("avx512f,avx512vl,avx512dq,avx2")
namespace lanes8 {
constexpr int W = 8;
typedef uint64_t U __attribute__((vector_size(64)));
typedef int64_t I __attribute__((vector_size(64)));
typedef double D __attribute__((vector_size(64)));
TS_INLINE D gather(const double* t, U i) { return _mm512_i64gather_pd(reinterpret_cast<__m512i>(i), t, 8); }
TS_INLINE unsigned less(D a, D b) { return static_cast<unsigned>(_mm512_cmp_pd_mask(a, b, _CMP_LT_OQ)); }
TS_INLINE D to_double53(U k) { return _mm512_cvtepu64_pd(reinterpret_cast<__m512i>(k)); }
TS_INLINE U mul32(U a, U b) {
    return reinterpret_cast<U>(_mm512_mul_epu32(reinterpret_cast<__m512i>(a), reinterpret_cast<__m512i>(b)));
}
#include "bandits/thompson_lanes.inc"
}  // namespace lanes8
#pragma GCC pop_options
#endif

using DrawsFn = void (*)(const ThompsonBatch&, int64_t, int64_t, int64_t*, double*);

// The kernels of one instruction set.
struct Kernels {
    const char* name;
    DrawsFn draws;
};
constexpr Kernels kGeneric{"generic", lanes2::draws};
#ifdef REELREC_X86
constexpr Kernels kAvx2{"avx2", lanes4::draws};
constexpr Kernels kAvx512{"avx512", lanes8::draws};
#endif
constexpr IsaTables<Kernels> kTables{&kGeneric, REELREC_X86_TABLE(kAvx2), REELREC_X86_TABLE(kAvx512)};

const Kernels& dispatch() { return best_once(kTables); }

}  // namespace

bool thompson_isa_available(const std::string& isa) {
    const std::optional<Isa> level = parse_isa(isa, /*scalar=*/true);
    return level && kTables.find(*level) != nullptr;
}

const char* thompson_batch_isa() { return dispatch().name; }

void thompson_draws(const ThompsonBatch& job, int64_t r0, int64_t n, int64_t* pos, double* values,
                    const char* isa) {
    if (n <= 0) return;
    if (!isa || !*isa) {
        dispatch().draws(job, r0, n, pos, values);
        return;
    }
    const std::string name(isa);
    const std::optional<Isa> level = parse_isa(name, /*scalar=*/true);
    if (!level) throw std::invalid_argument("isa: expected scalar, generic, avx2 or avx512, got " + name);
    const Kernels* k = kTables.find(*level);
    if (!k) throw std::invalid_argument("isa: this CPU cannot run the " + name + " kernel");
    if (name == "scalar") {
        draws_scalar(job, r0, n, pos, values);
    } else {
        k->draws(job, r0, n, pos, values);
    }
}

}  // namespace reelrec::bandits
