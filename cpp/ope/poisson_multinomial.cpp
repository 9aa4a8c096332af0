#include "ope/poisson_multinomial.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "common/cpu.hpp"

#ifdef REELREC_X86
#include <immintrin.h>
#endif

namespace reelrec::ope {

namespace {

inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

// One step of the eight streams; out[l] is lane l's 64-bit output. Word w of
// a block (0..31) is bits [16 (w % 4), 16 (w % 4) + 16) of out[w / 4].
inline void step_generic(PoissonLanes& g, uint64_t* out) {
    for (int l = 0; l < 8; ++l) {
        uint64_t& s0 = g.s[0][l];
        uint64_t& s1 = g.s[1][l];
        uint64_t& s2 = g.s[2][l];
        uint64_t& s3 = g.s[3][l];
        out[l] = rotl(s0 + s3, 23) + s0;
        const uint64_t t = s1 << 17;
        s2 ^= s0;
        s3 ^= s1;
        s1 ^= s2;
        s0 ^= s3;
        s2 ^= t;
        s3 = rotl(s3, 45);
    }
}

// One Poisson pass in portable code. Adds c_i * x to acc[j] and returns the
// total count N. Row e of a block uses word e; rows are visited in order, so
// the rare undecided lanes take their extra bits from rng in the same order
// as in the vector kernel.
int64_t pass_generic(const UniformRows& R, PoissonLanes& g, const PoissonThresholds& T, WyRand& rng,
                     double* acc) {
    const int64_t m = R.m, W = R.W, ld = R.ld;
    int64_t total = 0;
    uint64_t r[8];
    for (int64_t i0 = 0; i0 < m; i0 += kUniformRowBlock) {
        step_generic(g, r);
        const int64_t len = std::min<int64_t>(kUniformRowBlock, m - i0);
        for (int64_t e = 0; e < len; ++e) {
            const uint32_t u16 = static_cast<uint32_t>(r[e >> 2] >> (16 * (e & 3))) & 0xFFFFu;
            int64_t c = T.count16(u16);
            if (!T.decided(u16, static_cast<int>(c))) c = T.resolve(u16, rng);
            if (c == 0) continue;
            total += c;
            const double cd = static_cast<double>(c);
            for (int64_t j = 0; j < W; ++j) acc[j] += cd * R.values[j * ld + i0 + e];
        }
    }
    return total;
}

#ifdef REELREC_X86
#define REELREC_AVX512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma")))

// One step of the eight xoshiro256++ lanes shared by both AVX-512 passes: 32
// 16-bit uniforms r and their Poisson(1) counts c = #{k : r > t_k} by a
// three-step binary search over the seven sorted thresholds (t_3 decides
// c >= 4, t_{c+1} then decides +2, t_c +1). `redo` flags the valid lanes whose
// 16 bits cannot decide the count; fix_lanes resolves them with more bits.
struct PoissonStep512 {
    __m512i s0, s1, s2, s3;
    __m512i t3, undecided, next, one, two, four;

    REELREC_AVX512 PoissonStep512(const PoissonLanes& g, const PoissonThresholds& T)
        : s0(_mm512_load_si512(g.s[0])),
          s1(_mm512_load_si512(g.s[1])),
          s2(_mm512_load_si512(g.s[2])),
          s3(_mm512_load_si512(g.s[3])),
          t3(_mm512_set1_epi16(static_cast<short>(T.t[3]))),
          undecided(_mm512_loadu_si512(T.undecided)),  // t_c for c < 7 (0 after)
          next(_mm512_loadu_si512(T.next)),
          one(_mm512_set1_epi16(1)),
          two(_mm512_set1_epi16(2)),
          four(_mm512_set1_epi16(4)) {}

    REELREC_AVX512 void store(PoissonLanes& g) const {
        _mm512_store_si512(g.s[0], s0);
        _mm512_store_si512(g.s[1], s1);
        _mm512_store_si512(g.s[2], s2);
        _mm512_store_si512(g.s[3], s3);
    }

    __attribute__((always_inline, target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma"))) __m512i
    draw(__mmask32 valid, __m512i& r, __mmask32& redo) {
        r = _mm512_add_epi64(_mm512_rol_epi64(_mm512_add_epi64(s0, s3), 23), s0);
        // the xoshiro256++ update, its five xors folded into three-way ones
        const __m512i t = _mm512_slli_epi64(s1, 17);
        const __m512i n0 = _mm512_ternarylogic_epi64(s0, s3, s1, 0x96);
        const __m512i n1 = _mm512_ternarylogic_epi64(s1, s2, s0, 0x96);
        const __m512i n2 = _mm512_ternarylogic_epi64(s2, s0, t, 0x96);
        s3 = _mm512_rol_epi64(_mm512_xor_si512(s3, s1), 45);
        s0 = n0;
        s1 = n1;
        s2 = n2;
        // (the thresholds t_c for c < 7 are the `undecided` table)
        __m512i c = _mm512_maskz_mov_epi16(_mm512_cmpgt_epu16_mask(r, t3), four);
        c = _mm512_mask_add_epi16(c, _mm512_cmpgt_epu16_mask(r, _mm512_permutexvar_epi16(c, next)), c, two);
        c = _mm512_mask_add_epi16(c, _mm512_cmpgt_epu16_mask(r, _mm512_permutexvar_epi16(c, undecided)), c,
                                  one);
        c = _mm512_maskz_mov_epi16(valid, c);
        redo = _mm512_mask_cmpge_epu16_mask(valid, r, _mm512_permutexvar_epi16(c, undecided));
        return c;
    }
};

// The rare lanes flagged `redo`: their exact counts from more random bits,
// the corrections added to fix[j] (W columns of R from row i0) and fix_total.
REELREC_AVX512 void fix_lanes(const UniformRows& R, int64_t W, int64_t i0, __m512i r, __m512i c,
                              __mmask32 redo, const PoissonThresholds& T, WyRand& rng, double* fix,
                              int64_t& fix_total, bool& any_fix) {
    alignas(64) uint16_t u[32], cs[32];
    _mm512_store_si512(u, r);
    _mm512_store_si512(cs, c);
    for (uint32_t pending = redo; pending; pending &= pending - 1) {
        const int e = __builtin_ctz(pending);
        const int64_t corr = T.resolve(u[e], rng) - cs[e];
        if (corr == 0) continue;
        fix_total += corr;
        any_fix = true;
        for (int64_t j = 0; j < W; ++j) fix[j] += static_cast<double>(corr) * R.values[j * R.ld + i0 + e];
    }
}

// Top 16 bits of the double c, for c = 0..7 (the low 48 bits are zero).
alignas(64) constexpr uint16_t kCountBits[32] = {0x0000, 0x3FF0, 0x4000, 0x4008,
                                                 0x4010, 0x4014, 0x4018, 0x401C};

// kToTop[q]: word 4 l + 3 (the top of lane l) takes word 8 q + l.
struct ToTop {
    alignas(64) uint16_t index[4][32];
    constexpr ToTop() : index() {
        for (int q = 0; q < 4; ++q)
            for (int l = 0; l < 8; ++l) index[q][4 * l + 3] = static_cast<uint16_t>(8 * q + l);
    }
};
alignas(64) constexpr ToTop kToTopTable{};
constexpr const uint16_t (&kToTop)[4][32] = kToTopTable.index;

// The same pass, 32 rows per step. WC > 0: the column count is known at
// compile time and accumulators stay in registers; WC == 0: any W.
//
// Per step: eight xoshiro256++ steps give 32 16-bit uniforms; a three-step
// binary search gives the counts c (16-bit lanes); one table lookup turns c
// into the top word of the double c (the other 48 bits of a small integer are
// zero), and four zero-masking word permutes move words 8q..8q+7 to the top of
// the eight lanes of vector q -- cheaper than widening conversions. Counts are
// summed in 16-bit lanes and flushed before they could overflow.
template <int WC>
REELREC_AVX512 int64_t pass_avx512(const UniformRows& R, PoissonLanes& g, const PoissonThresholds& T,
                                   WyRand& rng, double* sums) {
    const int64_t m = R.m, ld = R.ld;
    const int64_t W = WC > 0 ? WC : R.W;
    PoissonStep512 step(g, T);
    const __m512i one = step.one;
    const __m512i count_bits = _mm512_load_si512(kCountBits);
    const __m512i to_top0 = _mm512_load_si512(kToTop[0]), to_top1 = _mm512_load_si512(kToTop[1]);
    const __m512i to_top2 = _mm512_load_si512(kToTop[2]), to_top3 = _mm512_load_si512(kToTop[3]);
    const __m512i zero = _mm512_setzero_si512();
    __m512i count16 = zero;  // at most 7 per lane and step: flushed every 8192 steps
    int64_t count_total = 0;
    int64_t steps_since_flush = 0;
    // WC > 0: accumulators in registers; otherwise 32 doubles per column in memory.
    constexpr int kRegCols = WC > 0 ? WC : 1;
    __m512d acc_reg[kRegCols][4];
    for (auto& a : acc_reg)
        for (auto& v : a) v = _mm512_setzero_pd();
    std::vector<double> acc_mem(WC > 0 ? 0 : static_cast<size_t>(32 * W), 0.0);
    int64_t fix_total = 0;
    double fix_small[8] = {};
    std::vector<double> fix_big(W > 8 ? static_cast<size_t>(W) : 0, 0.0);
    double* fix = W > 8 ? fix_big.data() : fix_small;
    bool any_fix = false;

    // One block of 32 rows; `valid` masks the rows past m in the last block
    // (all ones elsewhere, which the compiler folds away).
    auto block = [&](int64_t i0, __mmask32 valid) __attribute__((
                     always_inline, target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma"))) {
        __m512i r;
        __mmask32 redo;
        const __m512i c = step.draw(valid, r, redo);
        count16 = _mm512_add_epi16(count16, c);

        const __m512i bits = _mm512_permutexvar_epi16(c, count_bits);
        constexpr __mmask32 kTopWords = 0x88888888u;
        const __m512d d0 = _mm512_castsi512_pd(_mm512_maskz_permutexvar_epi16(kTopWords, to_top0, bits));
        const __m512d d1 = _mm512_castsi512_pd(_mm512_maskz_permutexvar_epi16(kTopWords, to_top1, bits));
        const __m512d d2 = _mm512_castsi512_pd(_mm512_maskz_permutexvar_epi16(kTopWords, to_top2, bits));
        const __m512d d3 = _mm512_castsi512_pd(_mm512_maskz_permutexvar_epi16(kTopWords, to_top3, bits));
        for (int64_t j = 0; j < W; ++j) {
            const double* x = R.values + j * ld + i0;
            if (WC > 0) {
                __m512d* a = acc_reg[WC > 0 ? j : 0];
                a[0] = _mm512_fmadd_pd(d0, _mm512_loadu_pd(x), a[0]);
                a[1] = _mm512_fmadd_pd(d1, _mm512_loadu_pd(x + 8), a[1]);
                a[2] = _mm512_fmadd_pd(d2, _mm512_loadu_pd(x + 16), a[2]);
                a[3] = _mm512_fmadd_pd(d3, _mm512_loadu_pd(x + 24), a[3]);
            } else {
                double* a = acc_mem.data() + 32 * j;
                _mm512_storeu_pd(a, _mm512_fmadd_pd(d0, _mm512_loadu_pd(x), _mm512_loadu_pd(a)));
                _mm512_storeu_pd(a + 8, _mm512_fmadd_pd(d1, _mm512_loadu_pd(x + 8), _mm512_loadu_pd(a + 8)));
                _mm512_storeu_pd(a + 16,
                                 _mm512_fmadd_pd(d2, _mm512_loadu_pd(x + 16), _mm512_loadu_pd(a + 16)));
                _mm512_storeu_pd(a + 24,
                                 _mm512_fmadd_pd(d3, _mm512_loadu_pd(x + 24), _mm512_loadu_pd(a + 24)));
            }
        }
        if (__builtin_expect(redo != 0, 0)) fix_lanes(R, W, i0, r, c, redo, T, rng, fix, fix_total, any_fix);
        if (__builtin_expect(++steps_since_flush == 8192, 0)) {
            count_total += _mm512_reduce_add_epi32(_mm512_madd_epi16(count16, one));
            count16 = zero;
            steps_since_flush = 0;
        }
    };
    const int64_t full = m / kUniformRowBlock * kUniformRowBlock;
    for (int64_t i0 = 0; i0 < full; i0 += kUniformRowBlock) block(i0, ~__mmask32(0));
    if (full < m) {
        block(full, static_cast<__mmask32>((uint64_t(1) << (m - full)) - 1));
    }
    step.store(g);
    for (int64_t j = 0; j < W; ++j) {
        __m512d a[4];
        for (int q = 0; q < 4; ++q)
            a[q] = WC > 0 ? acc_reg[WC > 0 ? j : 0][q] : _mm512_loadu_pd(acc_mem.data() + 32 * j + 8 * q);
        const __m512d s = _mm512_add_pd(_mm512_add_pd(a[0], a[1]), _mm512_add_pd(a[2], a[3]));
        sums[j] += _mm512_reduce_add_pd(s) + (any_fix ? fix[j] : 0.0);
    }
    count_total += _mm512_reduce_add_epi32(_mm512_madd_epi16(count16, one));
    return count_total + fix_total;
}

REELREC_AVX512 int64_t pass_avx512_any(const UniformRows& R, PoissonLanes& g, const PoissonThresholds& T,
                                       WyRand& rng, double* sums) {
    switch (R.W) {
        case 1:
            return pass_avx512<1>(R, g, T, rng, sums);
        case 2:
            return pass_avx512<2>(R, g, T, rng, sums);
        case 3:
            return pass_avx512<3>(R, g, T, rng, sums);
        case 4:
            return pass_avx512<4>(R, g, T, rng, sums);
        default:
            return pass_avx512<0>(R, g, T, rng, sums);
    }
}
#define REELREC_AVX512_VNNI __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx512vnni,avx2,fma")))

// The pass with fixed-point values (W = WC <= 4 columns): the same random
// streams, search and undecided lanes as pass_avx512, but the 16-bit counts
// multiply the 16-bit digits of the values directly -- one vpdpwssd per
// digit adds 32 products into 16 32-bit lanes, with no count conversion. A
// lane gains at most 2 * 7 * 2^14 < 2^18 per step, so the 32-bit sums are
// flushed to 64 bits every 8192 steps; the digit sums are combined exactly in
// 128 bits and converted once.
template <int WC>
REELREC_AVX512_VNNI int64_t pass_fixed(const UniformRows& R, PoissonLanes& g, const PoissonThresholds& T,
                                       WyRand& rng, double* sums) {
    static_assert(WC >= 1 && WC <= 4, "fixed-point pass: 1 to 4 columns");
    const int64_t m = R.m;
    const int16_t* digits = R.fixed->digits.data();
    PoissonStep512 step(g, T);
    const __m512i one = step.one;
    const __m512i zero = _mm512_setzero_si512();
    __m512i count16 = zero;
    int64_t count_total = 0;
    int64_t steps_since_flush = 0;
    __m512i acc[WC][4];
    int64_t acc_total[WC][4] = {};
    for (auto& a : acc)
        for (auto& v : a) v = zero;
    int64_t fix_total = 0;
    double fix[WC] = {};
    bool any_fix = false;

    auto flush = [&]() __attribute__((always_inline, target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma"))) {
        count_total += _mm512_reduce_add_epi32(_mm512_madd_epi16(count16, one));
        count16 = zero;
        for (int j = 0; j < WC; ++j)
            for (int p = 0; p < 4; ++p) {
                const __m512i lo = _mm512_cvtepi32_epi64(_mm512_castsi512_si256(acc[j][p]));
                const __m512i hi = _mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64(acc[j][p], 1));
                acc_total[j][p] += _mm512_reduce_add_epi64(_mm512_add_epi64(lo, hi));
                acc[j][p] = zero;
            }
        steps_since_flush = 0;
    };
    auto block = [&](int64_t i0, __mmask32 valid) __attribute__((
                     always_inline, target("avx512f,avx512bw,avx512dq,avx512vl,avx512vnni,avx2,fma"))) {
        __m512i r;
        __mmask32 redo;
        const __m512i c = step.draw(valid, r, redo);
        count16 = _mm512_add_epi16(count16, c);

        const int16_t* d = digits + (i0 / kUniformRowBlock) * WC * 4 * 32;
        for (int j = 0; j < WC; ++j)
            for (int p = 0; p < 4; ++p)
                acc[j][p] = _mm512_dpwssd_epi32(acc[j][p], c, _mm512_loadu_si512(d + (j * 4 + p) * 32));
        if (__builtin_expect(redo != 0, 0)) fix_lanes(R, WC, i0, r, c, redo, T, rng, fix, fix_total, any_fix);
        if (__builtin_expect(++steps_since_flush == 8192, 0)) flush();
    };
    const int64_t full = m / kUniformRowBlock * kUniformRowBlock;
    for (int64_t i0 = 0; i0 < full; i0 += kUniformRowBlock) block(i0, ~__mmask32(0));
    if (full < m) block(full, static_cast<__mmask32>((uint64_t(1) << (m - full)) - 1));
    flush();
    step.store(g);
    for (int j = 0; j < WC; ++j) {
        __int128 v = 0;
        for (int p = 3; p >= 0; --p) v = v * 32768 + acc_total[j][p];
        sums[j] += std::ldexp(static_cast<double>(v), -R.fixed->scale_exp[j]) + (any_fix ? fix[j] : 0.0);
    }
    return count_total + fix_total;
}

REELREC_AVX512_VNNI int64_t pass_vnni_any(const UniformRows& R, PoissonLanes& g, const PoissonThresholds& T,
                                          WyRand& rng, double* sums) {
    if (R.fixed) {
        switch (R.W) {
            case 1:
                return pass_fixed<1>(R, g, T, rng, sums);
            case 2:
                return pass_fixed<2>(R, g, T, rng, sums);
            case 3:
                return pass_fixed<3>(R, g, T, rng, sums);
            case 4:
                return pass_fixed<4>(R, g, T, rng, sums);
            default:
                break;
        }
    }
    return pass_avx512_any(R, g, T, rng, sums);
}

#endif

using PassFn = int64_t (*)(const UniformRows&, PoissonLanes&, const PoissonThresholds&, WyRand&, double*);

// The pass of one kernel.
struct Kernels {
    PassFn pass;
    const char* name;
    bool fixed;  // the pass takes fixed-point digits (UniformRows::fixed)
};
constexpr Kernels kGeneric{pass_generic, "generic", false};
#ifdef REELREC_X86
constexpr Kernels kAvx512{pass_avx512_any, "avx512", false};
constexpr Kernels kAvx512Vnni{pass_vnni_any, "avx512-vnni", true};
#endif

const Kernels& choose() {
#ifdef REELREC_X86
    // tests compare the kernels: "1" forces the portable one, "fma" the floating-point AVX-512 one
    const char* force = std::getenv("REELREC_OPE_GENERIC");
    const bool generic = force && std::strcmp(force, "1") == 0;
    const bool no_vnni = force && std::strcmp(force, "fma") == 0;
    if (!generic && cpu_supports(Isa::kAvx512)) {
        return !no_vnni && cpu_has_avx512_vnni() ? kAvx512Vnni : kAvx512;
    }
#endif
    return kGeneric;
}

const Kernels& dispatch() {
    static const Kernels& k = choose();
    return k;
}

#ifdef REELREC_X86
// One block of 32 values to their four digit rows (see FixedColumns); the
// scaled value is rounded to the nearest integer.
__attribute__((target("avx512f,avx512dq"))) void to_digits(const double* x, double f1, double f2,
                                                           int16_t* d) {
    const __m512i half = _mm512_set1_epi64(16384), low = _mm512_set1_epi64(32767);
    for (int e = 0; e < 32; e += 8) {
        const __m512d y =
            _mm512_mul_pd(_mm512_mul_pd(_mm512_loadu_pd(x + e), _mm512_set1_pd(f1)), _mm512_set1_pd(f2));
        __m512i v = _mm512_cvt_roundpd_epi64(y, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        for (int p = 0; p < 4; ++p) {  // balanced base-2^15 digits, lowest first
            const __m512i digit = _mm512_sub_epi64(_mm512_and_si512(_mm512_add_epi64(v, half), low), half);
            _mm_storeu_si128(reinterpret_cast<__m128i*>(d + p * 32 + e), _mm512_cvtepi64_epi16(digit));
            v = _mm512_srai_epi64(_mm512_sub_epi64(v, digit), 15);
        }
    }
}
#endif

}  // namespace

PoissonThresholds::PoissonThresholds(double lam) : lambda(lam), p0(std::exp(-lam)) {
    double p = p0, F = p0;
    for (int k = 0; k < kThresholds; ++k) {
        if (k > 0) {
            p *= lambda / k;
            F += p;
        }
        t[k] = static_cast<uint16_t>(std::min(std::floor(F * 65536.0), 65535.0));
        undecided[k] = t[k];
    }
    for (int k = 0; k + 1 < kThresholds; ++k) next[k] = t[k + 1];
    next[kThresholds - 1] = 0xFFFF;
}

int64_t PoissonThresholds::invert(double u) const {
    double p = p0, F = p0;
    int64_t k = 0;
    while (u >= F) {
        ++k;
        p *= lambda / static_cast<double>(k);
        const double next_F = F + p;
        if (next_F == F) return k;  // the CDF stopped growing (rounding): u is in the far tail
        F = next_F;
    }
    return k;
}

PoissonLanes::PoissonLanes(uint64_t seed) {
    uint64_t st = seed;
    for (auto& word : s)
        for (auto& lane : word) lane = splitmix64(st);
}

int64_t poisson_pass(const UniformRows& rows, const PoissonThresholds& thresholds, PoissonLanes& lanes,
                     WyRand& rng, double* sums) {
    return dispatch().pass(rows, lanes, thresholds, rng, sums);
}

const char* multinomial_kernel_name() { return dispatch().name; }

bool poisson_pass_uses_fixed(int64_t W) { return dispatch().fixed && W >= 1 && W <= 4; }

bool make_fixed_columns(const UniformRows& rows, FixedColumns& out) {
#ifdef REELREC_X86
    if (!dispatch().fixed) return false;
    const int64_t m = rows.m, ld = rows.ld, W = rows.W;
    const int64_t blocks = (m + kUniformRowBlock - 1) / kUniformRowBlock;
    std::vector<int> scale(static_cast<size_t>(W), 0);
    for (int64_t j = 0; j < W; ++j) {
        double largest = 0.0;
        for (int64_t i = 0; i < m; ++i) {
            const double x = rows.values[j * ld + i];
            if (!std::isfinite(x)) return false;
            largest = std::max(largest, std::fabs(x));
        }
        int e = 0;
        if (largest > 0.0) std::frexp(largest, &e);  // largest < 2^e
        scale[j] = 58 - e;                           // |x| 2^scale < 2^58
    }
    out.scale_exp = scale;
    out.digits.assign(static_cast<size_t>(blocks * W * 4 * 32), 0);
    for (int64_t j = 0; j < W; ++j) {
        // x 2^scale by exact power-of-two products (2^scale alone may not be a double)
        const int big = std::max(scale[j] - 1000, 0);
        const double f1 = std::ldexp(1.0, big), f2 = std::ldexp(1.0, scale[j] - big);
        // every row up to the padded length (the padding is finite and gets zero counts)
        for (int64_t b = 0; b < blocks; ++b)
            to_digits(rows.values + j * ld + b * kUniformRowBlock, f1, f2,
                      out.digits.data() + (b * W + j) * 4 * kUniformRowBlock);
    }
    return true;
#else
    (void)rows;
    (void)out;
    return false;
#endif
}

PoissonGuide::PoissonGuide(double mean) {
    // Window of +-(12 sd + 12) around the mean: the mass outside is below 1e-30,
    // far under the rounding of the CDF itself.
    const double sd = std::sqrt(mean);
    lo_ = static_cast<int64_t>(std::max(0.0, std::floor(mean - 12.0 * sd - 12.0)));
    const int64_t hi = static_cast<int64_t>(std::ceil(mean + 12.0 * sd + 12.0));
    const int64_t len = hi - lo_ + 1;
    cdf_.resize(static_cast<size_t>(len));
    // pmf by the ratio recursion outwards from the mode (one lgamma in all):
    // p_{k+1} = p_k mean / (k + 1), p_{k-1} = p_k k / mean.
    std::vector<double>& pmf = cdf_;
    const int64_t mode = std::min(std::max(static_cast<int64_t>(std::floor(mean)), lo_), hi);
    const double md = static_cast<double>(mode);
    pmf[mode - lo_] = std::exp(md * std::log(mean) - mean - std::lgamma(md + 1.0));
    for (int64_t k = mode + 1; k <= hi; ++k) pmf[k - lo_] = pmf[k - 1 - lo_] * mean / static_cast<double>(k);
    for (int64_t k = mode - 1; k >= lo_; --k)
        pmf[k - lo_] = pmf[k + 1 - lo_] * static_cast<double>(k + 1) / mean;
    double total = 0.0;
    for (auto& p : cdf_) p = (total += p);
    for (auto& F : cdf_) F /= total;
    cdf_.back() = 1.0;  // u < 1 always stops the search
    guide_.resize(static_cast<size_t>(len));
    int64_t k = 0;
    for (int64_t g = 0; g < len; ++g) {
        const double bound = static_cast<double>(g) / static_cast<double>(len);
        while (cdf_[k] <= bound) ++k;
        guide_[g] = static_cast<int32_t>(k);
    }
}

}  // namespace reelrec::ope
