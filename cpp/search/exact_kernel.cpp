#include "search/exact_kernel.hpp"

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#define REELREC_X86_DISPATCH 1
#include <immintrin.h>
#endif

namespace reelrec::search {

namespace {

// Portable: R x 16 partial sums; the j loop vectorises on any SIMD baseline.
template <int R>
void panel_portable_rows(const float* q, int64_t ldq, int64_t d, const float* panel, float* out) {
    float acc[R][kPanelWidth] = {};
    for (int64_t t = 0; t < d; ++t) {
        const float* b = panel + t * kPanelWidth;
        for (int r = 0; r < R; ++r) {
            const float a = q[r * ldq + t];
            for (int j = 0; j < kPanelWidth; ++j) acc[r][j] += a * b[j];
        }
    }
    for (int r = 0; r < R; ++r) {
        for (int j = 0; j < kPanelWidth; ++j) out[r * kPanelWidth + j] = acc[r][j];
    }
}

void panel_portable(const float* q, int64_t ldq, int rows, int64_t d, const float* panel, float* out) {
    switch (rows) {
        case 1:
            return panel_portable_rows<1>(q, ldq, d, panel, out);
        case 2:
            return panel_portable_rows<2>(q, ldq, d, panel, out);
        case 3:
            return panel_portable_rows<3>(q, ldq, d, panel, out);
        default:
            return panel_portable_rows<4>(q, ldq, d, panel, out);
    }
}

#ifdef REELREC_X86_DISPATCH

// AVX2: R rows x two 8-wide accumulators = up to 12 of the 16 ymm registers.
template <int R>
__attribute__((target("avx2,fma"))) void panel_avx2_rows(const float* q, int64_t ldq, int64_t d,
                                                          const float* panel, float* out) {
    __m256 lo[R], hi[R];
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) lo[r] = hi[r] = _mm256_setzero_ps();
    for (int64_t t = 0; t < d; ++t) {
        const __m256 b0 = _mm256_loadu_ps(panel + t * kPanelWidth);
        const __m256 b1 = _mm256_loadu_ps(panel + t * kPanelWidth + 8);
#pragma GCC unroll 8
        for (int r = 0; r < R; ++r) {
            const __m256 a = _mm256_broadcast_ss(q + r * ldq + t);
            lo[r] = _mm256_fmadd_ps(a, b0, lo[r]);
            hi[r] = _mm256_fmadd_ps(a, b1, hi[r]);
        }
    }
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
        _mm256_storeu_ps(out + r * kPanelWidth, lo[r]);
        _mm256_storeu_ps(out + r * kPanelWidth + 8, hi[r]);
    }
}

__attribute__((target("avx2,fma"))) void panel_avx2(const float* q, int64_t ldq, int rows, int64_t d,
                                                     const float* panel, float* out) {
    switch (rows) {
        case 1:
            return panel_avx2_rows<1>(q, ldq, d, panel, out);
        case 2:
            return panel_avx2_rows<2>(q, ldq, d, panel, out);
        case 3:
            return panel_avx2_rows<3>(q, ldq, d, panel, out);
        case 4:
            return panel_avx2_rows<4>(q, ldq, d, panel, out);
        case 5:
            return panel_avx2_rows<5>(q, ldq, d, panel, out);
        default:
            return panel_avx2_rows<6>(q, ldq, d, panel, out);
    }
}

// AVX-512: one 16-wide accumulator per row; 8 rows hide the FMA latency.
template <int R>
__attribute__((target("avx512f"))) void panel_avx512_rows(const float* q, int64_t ldq, int64_t d,
                                                           const float* panel, float* out) {
    __m512 acc[R];
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) acc[r] = _mm512_setzero_ps();
    for (int64_t t = 0; t < d; ++t) {
        const __m512 b = _mm512_loadu_ps(panel + t * kPanelWidth);
#pragma GCC unroll 16
        for (int r = 0; r < R; ++r) acc[r] = _mm512_fmadd_ps(_mm512_set1_ps(q[r * ldq + t]), b, acc[r]);
    }
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) _mm512_storeu_ps(out + r * kPanelWidth, acc[r]);
}

__attribute__((target("avx512f"))) void panel_avx512(const float* q, int64_t ldq, int rows, int64_t d,
                                                      const float* panel, float* out) {
    switch (rows) {
        case 1:
            return panel_avx512_rows<1>(q, ldq, d, panel, out);
        case 2:
            return panel_avx512_rows<2>(q, ldq, d, panel, out);
        case 3:
            return panel_avx512_rows<3>(q, ldq, d, panel, out);
        case 4:
            return panel_avx512_rows<4>(q, ldq, d, panel, out);
        case 5:
            return panel_avx512_rows<5>(q, ldq, d, panel, out);
        case 6:
            return panel_avx512_rows<6>(q, ldq, d, panel, out);
        case 7:
            return panel_avx512_rows<7>(q, ldq, d, panel, out);
        case 8:
            return panel_avx512_rows<8>(q, ldq, d, panel, out);
        case 9:
            return panel_avx512_rows<9>(q, ldq, d, panel, out);
        case 10:
            return panel_avx512_rows<10>(q, ldq, d, panel, out);
        case 11:
            return panel_avx512_rows<11>(q, ldq, d, panel, out);
        default:
            return panel_avx512_rows<12>(q, ldq, d, panel, out);
    }
}

#endif

}  // namespace

PanelKernelInfo panel_kernel(SimdLevel level) {
#ifdef REELREC_X86_DISPATCH
    if (level == SimdLevel::kAvx512) return {panel_avx512, 12};
    if (level == SimdLevel::kAvx2) return {panel_avx2, 6};
#endif
    (void)level;
    return {panel_portable, 4};
}

}  // namespace reelrec::search
