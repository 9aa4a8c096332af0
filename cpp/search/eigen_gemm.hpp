// Reference GEMM through Eigen, used only by benchmarks/bench_exact.py to
// measure what the library's own dense product reaches on this machine (the
// "peak" that ExactIndex's fused kernel is quoted against).
#pragma once

#include <cstdint>

namespace reelrec::search {

// c (m x n) = a (m x k) * b (n x k)^T, all row-major float32; one thread.
void eigen_gemm_nt(const float* a, const float* b, float* c, int64_t m, int64_t n, int64_t k);

}  // namespace reelrec::search
