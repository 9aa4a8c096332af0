// Run-time choice between the baseline and the AVX2 copies of the kernels.
#include <stdexcept>

#include "common/cpu.hpp"
#include "factorization/kernels.hpp"

namespace reelrec::factorization {

namespace {

template <class Kernels>
const Kernels& select(int isa, const Kernels& generic, const Kernels* wide) {
    const IsaTables<Kernels> tables{&generic, wide};
    switch (isa) {
        case 0:
            return tables.best();
        case 1:
            return generic;
        case 2:
            if (const Kernels* k = tables.find(Isa::kAvx2)) return *k;
            throw std::invalid_argument("isa: AVX2+FMA kernels are not available on this machine");
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
