#include "search/exact_kernel.hpp"

#include "common/cpu.hpp"

#ifdef REELREC_X86
#include <immintrin.h>
#endif

#include <algorithm>
#include <array>
#include <utility>

namespace reelrec::search {

namespace {

// Row-count dispatch: RowKernel<R> for R = 1..N in a table indexed by rows - 1
// (rows past N use N). `pick` maps std::integral_constant<int, R> to the kernel.
using RowKernel = void (*)(const float* q, int64_t ldq, int64_t d, const float* panel, const float* norms,
                           const float* thresholds, float* out, uint32_t* masks);

template <class Pick, int... I>
constexpr std::array<RowKernel, sizeof...(I)> row_table(Pick pick, std::integer_sequence<int, I...>) {
    return {pick(std::integral_constant<int, I + 1>{})...};
}

template <int N, class Pick>
constexpr std::array<RowKernel, N> row_table(Pick pick) {
    return row_table(pick, std::make_integer_sequence<int, N>{});
}

template <const auto& kTable>
void dispatch_rows(const float* q, int64_t ldq, int rows, int64_t d, const float* panel, const float* norms,
                   const float* thresholds, float* out, uint32_t* masks) {
    // rows <= 0 wraps to a huge index and, like rows > N, runs the widest kernel.
    const std::size_t r = std::min<std::size_t>(static_cast<std::size_t>(rows - 1), kTable.size() - 1);
    kTable[r](q, ldq, d, panel, norms, thresholds, out, masks);
}

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

constexpr auto kPortableRows =
    row_table<4>([](auto r) -> RowKernel { return panel_portable_rows<decltype(r)::value>; });

#ifdef REELREC_X86

// AVX2: R rows x two 8-wide accumulators = up to 12 of the 16 ymm registers.
template <int R>
__attribute__((target("avx2,fma"))) void panel_avx2_rows(const float* q, int64_t ldq, int64_t d,
                                                         const float* panel, const float* norms,
                                                         const float* thresholds, float* out,
                                                         uint32_t* masks) {
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

constexpr auto kAvx2Rows =
    row_table<6>([](auto r) -> RowKernel { return panel_avx2_rows<decltype(r)::value>; });

// AVX-512: one 16-wide accumulator per row; 8 rows hide the FMA latency.
template <int R>
__attribute__((target("avx512f"))) void panel_avx512_rows(const float* q, int64_t ldq, int64_t d,
                                                          const float* panel, const float* norms,
                                                          const float* thresholds, float* out,
                                                          uint32_t* masks) {
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

constexpr auto kAvx512Rows =
    row_table<12>([](auto r) -> RowKernel { return panel_avx512_rows<decltype(r)::value>; });

#endif

}  // namespace

PanelKernelInfo panel_kernel(SimdLevel level) {
#ifdef REELREC_X86
    if (level == SimdLevel::kAvx512)
        return {dispatch_rows<kAvx512Rows>, static_cast<int>(kAvx512Rows.size())};
    if (level == SimdLevel::kAvx2) return {dispatch_rows<kAvx2Rows>, static_cast<int>(kAvx2Rows.size())};
#endif
    (void)level;
    return {dispatch_rows<kPortableRows>, static_cast<int>(kPortableRows.size())};
}

}  // namespace reelrec::search
