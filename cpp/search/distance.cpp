#include "search/distance.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include "common/cpu.hpp"

#ifdef REELREC_X86
#include <immintrin.h>
#endif

namespace reelrec::search {

namespace {

// Portable kernels: sixteen independent partial sums make the inner loop a
// fixed-width, dependency-free body that the auto-vectoriser maps onto
// whatever vector unit the baseline target has (SSE2, NEON).
float neg_dot_portable(const float* a, const float* b, int64_t d) {
    float acc[kDimAlign] = {};
    for (int64_t i = 0; i < d; i += kDimAlign) {
        for (int j = 0; j < kDimAlign; ++j) acc[j] += a[i + j] * b[i + j];
    }
    float s = 0.0f;
    for (int j = 0; j < kDimAlign; ++j) s += acc[j];
    return -s;
}

float l2_portable(const float* a, const float* b, int64_t d) {
    float acc[kDimAlign] = {};
    for (int64_t i = 0; i < d; i += kDimAlign) {
        for (int j = 0; j < kDimAlign; ++j) {
            const float t = a[i + j] - b[i + j];
            acc[j] += t * t;
        }
    }
    float s = 0.0f;
    for (int j = 0; j < kDimAlign; ++j) s += acc[j];
    return s;
}

template <DistanceFn F>
void batch_portable(const float* q, const char* base, std::size_t stride, const uint32_t* slots, int64_t n,
                    int64_t d, float* out) {
    for (int64_t i = 0; i < n; ++i)
        out[i] = F(q, reinterpret_cast<const float*>(base + slots[i] * stride), d);
}

#ifdef REELREC_X86

__attribute__((target("avx2,fma"))) inline float hsum256(__m256 v) {
    __m128 lo = _mm256_castps256_ps128(v);
    __m128 hi = _mm256_extractf128_ps(v, 1);
    lo = _mm_add_ps(lo, hi);
    lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
    lo = _mm_add_ss(lo, _mm_shuffle_ps(lo, lo, 0x55));
    return _mm_cvtss_f32(lo);
}

__attribute__((target("avx2,fma"))) float neg_dot_avx2(const float* a, const float* b, int64_t d) {
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    for (int64_t i = 0; i < d; i += 16) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
    }
    return -hsum256(_mm256_add_ps(s0, s1));
}

__attribute__((target("avx2,fma"))) float l2_avx2(const float* a, const float* b, int64_t d) {
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    for (int64_t i = 0; i < d; i += 16) {
        const __m256 t0 = _mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
        const __m256 t1 = _mm256_sub_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8));
        s0 = _mm256_fmadd_ps(t0, t0, s0);
        s1 = _mm256_fmadd_ps(t1, t1, s1);
    }
    return hsum256(_mm256_add_ps(s0, s1));
}

// Horizontal sum. The zero-masked shuffles avoid the "undefined" operands of
// _mm512_reduce_add_ps / _mm512_shuffle_f32x4 that GCC 12 flags with
// -Wuninitialized once inlined.
__attribute__((target("avx512f"))) inline float hsum512(__m512 v) {
    __m512 t = _mm512_add_ps(v, _mm512_maskz_shuffle_f32x4(0xFFFF, v, v, 0x4E));
    t = _mm512_add_ps(t, _mm512_maskz_shuffle_f32x4(0xFFFF, t, t, 0xB1));
    __m128 x = _mm512_maskz_extractf32x4_ps(0xF, t, 0);
    x = _mm_add_ps(x, _mm_movehl_ps(x, x));
    x = _mm_add_ss(x, _mm_shuffle_ps(x, x, 0x55));
    return _mm_cvtss_f32(x);
}

// Two accumulators when the dimension allows it: halves the FMA latency chain.
__attribute__((target("avx512f"))) float neg_dot_avx512(const float* a, const float* b, int64_t d) {
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 32 <= d; i += 32) {
        s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
        s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), s1);
    }
    if (i < d) s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
    return -hsum512(_mm512_add_ps(s0, s1));
}

__attribute__((target("avx512f"))) float l2_avx512(const float* a, const float* b, int64_t d) {
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 32 <= d; i += 32) {
        const __m512 t0 = _mm512_sub_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i));
        const __m512 t1 = _mm512_sub_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16));
        s0 = _mm512_fmadd_ps(t0, t0, s0);
        s1 = _mm512_fmadd_ps(t1, t1, s1);
    }
    if (i < d) {
        const __m512 t0 = _mm512_sub_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i));
        s0 = _mm512_fmadd_ps(t0, t0, s0);
    }
    return hsum512(_mm512_add_ps(s0, s1));
}

// Four vectors per pass: four independent accumulator chains.
template <bool kL2>
__attribute__((target("avx512f"))) void batch_avx512(const float* q, const char* base, std::size_t stride,
                                                     const uint32_t* slots, int64_t n, int64_t d,
                                                     float* out) {
    auto vec = [&](int64_t i) { return reinterpret_cast<const float*>(base + slots[i] * stride); };
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const float *v0 = vec(i), *v1 = vec(i + 1), *v2 = vec(i + 2), *v3 = vec(i + 3);
        __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps(), a2 = _mm512_setzero_ps(),
               a3 = _mm512_setzero_ps();
        for (int64_t t = 0; t < d; t += 16) {
            const __m512 x = _mm512_loadu_ps(q + t);
            if (kL2) {
                const __m512 t0 = _mm512_sub_ps(x, _mm512_loadu_ps(v0 + t));
                const __m512 t1 = _mm512_sub_ps(x, _mm512_loadu_ps(v1 + t));
                const __m512 t2 = _mm512_sub_ps(x, _mm512_loadu_ps(v2 + t));
                const __m512 t3 = _mm512_sub_ps(x, _mm512_loadu_ps(v3 + t));
                a0 = _mm512_fmadd_ps(t0, t0, a0);
                a1 = _mm512_fmadd_ps(t1, t1, a1);
                a2 = _mm512_fmadd_ps(t2, t2, a2);
                a3 = _mm512_fmadd_ps(t3, t3, a3);
            } else {
                a0 = _mm512_fmadd_ps(x, _mm512_loadu_ps(v0 + t), a0);
                a1 = _mm512_fmadd_ps(x, _mm512_loadu_ps(v1 + t), a1);
                a2 = _mm512_fmadd_ps(x, _mm512_loadu_ps(v2 + t), a2);
                a3 = _mm512_fmadd_ps(x, _mm512_loadu_ps(v3 + t), a3);
            }
        }
        const float sign = kL2 ? 1.0f : -1.0f;
        out[i] = sign * hsum512(a0);
        out[i + 1] = sign * hsum512(a1);
        out[i + 2] = sign * hsum512(a2);
        out[i + 3] = sign * hsum512(a3);
    }
    if (i < n) {
        // Tail of 1-3 vectors: one more pass with the last vector repeated.
        float tail[4];
        const uint32_t idx[4] = {slots[i], slots[std::min(i + 1, n - 1)], slots[std::min(i + 2, n - 1)],
                                 slots[std::min(i + 3, n - 1)]};
        batch_avx512<kL2>(q, base, stride, idx, 4, d, tail);
        for (int64_t j = 0; i + j < n; ++j) out[i + j] = tail[j];
    }
}

template <bool kL2>
__attribute__((target("avx2,fma"))) void batch_avx2(const float* q, const char* base, std::size_t stride,
                                                    const uint32_t* slots, int64_t n, int64_t d, float* out) {
    auto vec = [&](int64_t i) { return reinterpret_cast<const float*>(base + slots[i] * stride); };
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const float *v0 = vec(i), *v1 = vec(i + 1), *v2 = vec(i + 2), *v3 = vec(i + 3);
        __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps(), a2 = _mm256_setzero_ps(),
               a3 = _mm256_setzero_ps();
        for (int64_t t = 0; t < d; t += 8) {
            const __m256 x = _mm256_loadu_ps(q + t);
            if (kL2) {
                const __m256 t0 = _mm256_sub_ps(x, _mm256_loadu_ps(v0 + t));
                const __m256 t1 = _mm256_sub_ps(x, _mm256_loadu_ps(v1 + t));
                const __m256 t2 = _mm256_sub_ps(x, _mm256_loadu_ps(v2 + t));
                const __m256 t3 = _mm256_sub_ps(x, _mm256_loadu_ps(v3 + t));
                a0 = _mm256_fmadd_ps(t0, t0, a0);
                a1 = _mm256_fmadd_ps(t1, t1, a1);
                a2 = _mm256_fmadd_ps(t2, t2, a2);
                a3 = _mm256_fmadd_ps(t3, t3, a3);
            } else {
                a0 = _mm256_fmadd_ps(x, _mm256_loadu_ps(v0 + t), a0);
                a1 = _mm256_fmadd_ps(x, _mm256_loadu_ps(v1 + t), a1);
                a2 = _mm256_fmadd_ps(x, _mm256_loadu_ps(v2 + t), a2);
                a3 = _mm256_fmadd_ps(x, _mm256_loadu_ps(v3 + t), a3);
            }
        }
        const float sign = kL2 ? 1.0f : -1.0f;
        out[i] = sign * hsum256(a0);
        out[i + 1] = sign * hsum256(a1);
        out[i + 2] = sign * hsum256(a2);
        out[i + 3] = sign * hsum256(a3);
    }
    if (i < n) {
        // Tail of 1-3 vectors: one more pass with the last vector repeated.
        float tail[4];
        const uint32_t idx[4] = {slots[i], slots[std::min(i + 1, n - 1)], slots[std::min(i + 2, n - 1)],
                                 slots[std::min(i + 3, n - 1)]};
        batch_avx2<kL2>(q, base, stride, idx, 4, d, tail);
        for (int64_t j = 0; i + j < n; ++j) out[i + j] = tail[j];
    }
}

#endif

}  // namespace

SimdLevel detect_simd() {
    switch (cpu_isa()) {
        case Isa::kAvx512:
            return SimdLevel::kAvx512;
        case Isa::kAvx2:
            return SimdLevel::kAvx2;
        default:
            return SimdLevel::kPortable;
    }
}

SimdLevel active_simd() {
    static const SimdLevel level = [] {
        SimdLevel best = detect_simd();
        const char* env = std::getenv("REELREC_SIMD");
        if (env == nullptr) return best;
        SimdLevel cap = best;
        if (std::strcmp(env, "portable") == 0) cap = SimdLevel::kPortable;
        if (std::strcmp(env, "avx2") == 0) cap = SimdLevel::kAvx2;
        return static_cast<int>(cap) < static_cast<int>(best) ? cap : best;
    }();
    return level;
}

std::string simd_name(SimdLevel level) {
    switch (level) {
        case SimdLevel::kAvx512:
            return "avx512";
        case SimdLevel::kAvx2:
            return "avx2";
        default:
            return "portable";
    }
}

DistanceFn distance_function(Metric metric, SimdLevel level) {
    const bool l2 = metric == Metric::kL2;
#ifdef REELREC_X86
    if (level == SimdLevel::kAvx512) return l2 ? l2_avx512 : neg_dot_avx512;
    if (level == SimdLevel::kAvx2) return l2 ? l2_avx2 : neg_dot_avx2;
#endif
    (void)level;
    return l2 ? l2_portable : neg_dot_portable;
}

BatchDistanceFn batch_distance_function(Metric metric, SimdLevel level) {
    const bool l2 = metric == Metric::kL2;
#ifdef REELREC_X86
    if (level == SimdLevel::kAvx512) return l2 ? batch_avx512<true> : batch_avx512<false>;
    if (level == SimdLevel::kAvx2) return l2 ? batch_avx2<true> : batch_avx2<false>;
#endif
    (void)level;
    return l2 ? batch_portable<l2_portable> : batch_portable<neg_dot_portable>;
}

Metric parse_metric(const std::string& name) {
    if (name == "ip") return Metric::kInnerProduct;
    if (name == "cosine") return Metric::kCosine;
    if (name == "l2") return Metric::kL2;
    throw std::invalid_argument("metric: expected 'ip', 'cosine' or 'l2', got '" + name + "'");
}

std::string metric_name(Metric metric) {
    switch (metric) {
        case Metric::kCosine:
            return "cosine";
        case Metric::kL2:
            return "l2";
        default:
            return "ip";
    }
}

}  // namespace reelrec::search
