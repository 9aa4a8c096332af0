#include "search/exact_kernel.hpp"

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#define REELREC_X86_DISPATCH 1
#include <immintrin.h>
#endif

namespace reelrec::search {

namespace {

// Portable: R x 16 partial sums; the j loop vectorises on any SIMD baseline.
template <int R>
void panel_portable_rows(const float* q, int64_t ldq, int64_t d, const float* panel, const float* norms,
                         const float* thresholds, float* out, uint32_t* masks) {
    float acc[R][kPanelWidth] = {};
    for (int64_t t = 0; t < d; ++t) {
        const float* b = panel + t * kPanelWidth;
        for (int r = 0; r < R; ++r) {
            const float a = q[r * ldq + t];
            for (int j = 0; j < kPanelWidth; ++j) acc[r][j] += a * b[j];
        }
    }
    for (int r = 0; r < R; ++r) {
        uint32_t m = 0;
        for (int j = 0; j < kPanelWidth; ++j) {
            const float s = norms ? 2.0f * acc[r][j] - norms[j] : acc[r][j];
            out[r * kPanelWidth + j] = s;
            m |= static_cast<uint32_t>(s >= thresholds[r]) << j;
        }
        masks[r] = m;
    }
}

void panel_portable(const float* q, int64_t ldq, int rows, int64_t d, const float* panel, const float* norms,
                    const float* thresholds, float* out, uint32_t* masks) {
    switch (rows) {
        case 1:
            return panel_portable_rows<1>(q, ldq, d, panel, norms, thresholds, out, masks);
        case 2:
            return panel_portable_rows<2>(q, ldq, d, panel, norms, thresholds, out, masks);
        case 3:
            return panel_portable_rows<3>(q, ldq, d, panel, norms, thresholds, out, masks);
        default:
            return panel_portable_rows<4>(q, ldq, d, panel, norms, thresholds, out, masks);
    }
}

#ifdef REELREC_X86_DISPATCH

// AVX2: R rows x two 8-wide accumulators = up to 12 of the 16 ymm registers.
template <int R>
__attribute__((target("avx2,fma"))) void panel_avx2_rows(const float* q, int64_t ldq, int64_t d,
                                                          const float* panel, const float* norms,
                                                          const float* thresholds, float* out, uint32_t* masks) {
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
    if (norms) {
        const __m256 two = _mm256_set1_ps(2.0f);
        const __m256 n0 = _mm256_loadu_ps(norms), n1 = _mm256_loadu_ps(norms + 8);
#pragma GCC unroll 8
        for (int r = 0; r < R; ++r) {
            lo[r] = _mm256_fmsub_ps(two, lo[r], n0);
            hi[r] = _mm256_fmsub_ps(two, hi[r], n1);
        }
    }
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
        _mm256_storeu_ps(out + r * kPanelWidth, lo[r]);
        _mm256_storeu_ps(out + r * kPanelWidth + 8, hi[r]);
        const __m256 thr = _mm256_set1_ps(thresholds[r]);
        const uint32_t m0 = static_cast<uint32_t>(_mm256_movemask_ps(_mm256_cmp_ps(lo[r], thr, _CMP_GE_OQ)));
        const uint32_t m1 = static_cast<uint32_t>(_mm256_movemask_ps(_mm256_cmp_ps(hi[r], thr, _CMP_GE_OQ)));
        masks[r] = m0 | (m1 << 8);
    }
}

__attribute__((target("avx2,fma"))) void panel_avx2(const float* q, int64_t ldq, int rows, int64_t d,
                                                     const float* panel, const float* norms,
                                                     const float* thresholds, float* out, uint32_t* masks) {
    switch (rows) {
        case 1:
            return panel_avx2_rows<1>(q, ldq, d, panel, norms, thresholds, out, masks);
        case 2:
            return panel_avx2_rows<2>(q, ldq, d, panel, norms, thresholds, out, masks);
        case 3:
            return panel_avx2_rows<3>(q, ldq, d, panel, norms, thresholds, out, masks);
        case 4:
            return panel_avx2_rows<4>(q, ldq, d, panel, norms, thresholds, out, masks);
        case 5:
            return panel_avx2_rows<5>(q, ldq, d, panel, norms, thresholds, out, masks);
        default:
            return panel_avx2_rows<6>(q, ldq, d, panel, norms, thresholds, out, masks);
    }
}

// AVX-512: one 16-wide accumulator per row; 8 rows hide the FMA latency.
template <int R>
__attribute__((target("avx512f"))) void panel_avx512_rows(const float* q, int64_t ldq, int64_t d,
                                                           const float* panel, const float* norms,
                                                           const float* thresholds, float* out, uint32_t* masks) {
    __m512 acc[R];
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) acc[r] = _mm512_setzero_ps();
    for (int64_t t = 0; t < d; ++t) {
        const __m512 b = _mm512_loadu_ps(panel + t * kPanelWidth);
#pragma GCC unroll 16
        for (int r = 0; r < R; ++r) acc[r] = _mm512_fmadd_ps(_mm512_set1_ps(q[r * ldq + t]), b, acc[r]);
    }
    if (norms) {
        const __m512 two = _mm512_set1_ps(2.0f);
        const __m512 nv = _mm512_loadu_ps(norms);
#pragma GCC unroll 16
        for (int r = 0; r < R; ++r) acc[r] = _mm512_fmsub_ps(two, acc[r], nv);
    }
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) {
        _mm512_storeu_ps(out + r * kPanelWidth, acc[r]);
        masks[r] = _mm512_cmp_ps_mask(acc[r], _mm512_set1_ps(thresholds[r]), _CMP_GE_OQ);
    }
}

__attribute__((target("avx512f"))) void panel_avx512(const float* q, int64_t ldq, int rows, int64_t d,
                                                      const float* panel, const float* norms,
                                                      const float* thresholds, float* out, uint32_t* masks) {
    switch (rows) {
        case 1:
            return panel_avx512_rows<1>(q, ldq, d, panel, norms, thresholds, out, masks);
        case 2:
            return panel_avx512_rows<2>(q, ldq, d, panel, norms, thresholds, out, masks);
        case 3:
            return panel_avx512_rows<3>(q, ldq, d, panel, norms, thresholds, out, masks);
        case 4:
            return panel_avx512_rows<4>(q, ldq, d, panel, norms, thresholds, out, masks);
        case 5:
            return panel_avx512_rows<5>(q, ldq, d, panel, norms, thresholds, out, masks);
        case 6:
            return panel_avx512_rows<6>(q, ldq, d, panel, norms, thresholds, out, masks);
        case 7:
            return panel_avx512_rows<7>(q, ldq, d, panel, norms, thresholds, out, masks);
        case 8:
            return panel_avx512_rows<8>(q, ldq, d, panel, norms, thresholds, out, masks);
        case 9:
            return panel_avx512_rows<9>(q, ldq, d, panel, norms, thresholds, out, masks);
        case 10:
            return panel_avx512_rows<10>(q, ldq, d, panel, norms, thresholds, out, masks);
        case 11:
            return panel_avx512_rows<11>(q, ldq, d, panel, norms, thresholds, out, masks);
        default:
            return panel_avx512_rows<12>(q, ldq, d, panel, norms, thresholds, out, masks);
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
