// Vector distances for the search indexes, with runtime SIMD dispatch.
//
// Why dispatch at runtime: wheels are built without -march=native (they must
// run on any x86-64), yet every server CPU since 2013 has AVX2+FMA, which is
// 2-4x faster for these loops than the SSE2 baseline. The AVX2/AVX-512 bodies
// are compiled for those targets with function attributes and chosen once,
// when an index is created, from what the running CPU reports. Other
// architectures get the portable loops, which the compiler vectorises at -O3.
//
// Convention: every index minimises a "distance" and reports score = -distance:
//   ip / cosine : distance = -<a, b>     (cosine vectors are unit length)
//   l2          : distance = ||a - b||^2
// Vectors are stored zero-padded to a multiple of kDimAlign floats, so the
// kernels have no tail loop (padding adds 0 to both sums).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace reelrec::search {

enum class Metric : int32_t { kInnerProduct = 0, kCosine = 1, kL2 = 2 };

// Padding granularity of stored vectors (one AVX-512 register of floats).
constexpr int64_t kDimAlign = 16;

inline int64_t padded_dim(int64_t dim) { return (dim + kDimAlign - 1) / kDimAlign * kDimAlign; }

// dist(a, b, padded_dim): both arrays hold padded_dim floats.
using DistanceFn = float (*)(const float*, const float*, int64_t);

enum class SimdLevel : int32_t { kPortable = 0, kAvx2 = 1, kAvx512 = 2 };

// Best level the running CPU supports (cached after the first call).
SimdLevel detect_simd();
// REELREC_SIMD=portable|avx2|avx512 in the environment caps the level (tests, benchmarks).
SimdLevel active_simd();
std::string simd_name(SimdLevel level);

DistanceFn distance_function(Metric metric, SimdLevel level);

// out[i] = dist(q, vector of slots[i]), vectors at base + slot * stride bytes.
// Several vectors are in flight at once, which hides the FMA and horizontal-sum
// latency that dominates one short (e.g. 64-d) distance.
using BatchDistanceFn = void (*)(const float* q, const char* base, std::size_t stride, const uint32_t* slots,
                                 int64_t n, int64_t d, float* out);

BatchDistanceFn batch_distance_function(Metric metric, SimdLevel level);

Metric parse_metric(const std::string& name);
std::string metric_name(Metric metric);

}  // namespace reelrec::search
