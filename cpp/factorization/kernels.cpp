// Run-time choice between the baseline and the AVX2 copies of the kernels.
#include <stdexcept>

#include "factorization/kernels.hpp"

namespace reelrec::factorization {

namespace {

bool cpu_has_avx2_fma() {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    static const bool ok = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    return ok;
#else
    return false;
#endif
}

template <class Kernels>
const Kernels& select(int isa, const Kernels& generic, const Kernels* wide) {
    switch (isa) {
        case 0:
            return wide && cpu_has_avx2_fma() ? *wide : generic;
        case 1:
            return generic;
        case 2:
            if (!wide || !cpu_has_avx2_fma())
                throw std::invalid_argument("isa: AVX2+FMA kernels are not available on this machine");
            return *wide;
        default:
            throw std::invalid_argument("isa: expected 0 (auto), 1 (generic) or 2 (avx2)");
    }
}

}  // namespace

const AlsKernels& als_select_kernels(int isa) {
    return select(isa, als_kernels_generic(), als_kernels_avx2());
}

const BprKernels& bpr_select_kernels(int isa) {
    return select(isa, bpr_kernels_generic(), bpr_kernels_avx2());
}

}  // namespace reelrec::factorization
