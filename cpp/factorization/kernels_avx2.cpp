// The ALS and BPR inner kernels compiled a second time with AVX2 + FMA enabled.
//
// Only this translation unit sees the target pragma, every function it
// defines lives in namespace `avx2`, and all library headers are included
// before the pragma: nothing compiled here can replace a baseline function at
// link time. kernels.cpp hands these out only after CPUID reported AVX2 and FMA.
#include <cmath>
#include <cstdint>

#include "common/cpu.hpp"
#include "factorization/kernels.hpp"
#include "factorization/random.hpp"

#ifdef REELREC_X86
#include <immintrin.h>
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#endif

namespace reelrec::factorization::avx2 {
#define REELREC_ALS_AVX2 1
#include "factorization/als_rows.inc"
#include "factorization/bpr_steps.inc"
#undef REELREC_ALS_AVX2
}  // namespace reelrec::factorization::avx2

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

namespace reelrec::factorization {
const AlsKernels* als_kernels_avx2() {
    static const AlsKernels kernels{"avx2", &avx2::solve_rows, &avx2::solve_batch, &avx2::gram_upper};
    return &kernels;
}
const BprKernels* bpr_kernels_avx2() {
    static const BprKernels kernels{"avx2", &avx2::bpr_run_stratum, &avx2::bpr_fold_in_rows,
                                    &avx2::bpr_replay};
    return &kernels;
}
}  // namespace reelrec::factorization

#else

namespace reelrec::factorization {
const AlsKernels* als_kernels_avx2() { return nullptr; }
const BprKernels* bpr_kernels_avx2() { return nullptr; }
}  // namespace reelrec::factorization

#endif
