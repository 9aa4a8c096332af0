// The ALS and BPR inner kernels compiled for the baseline instruction set of the build.
#include <cmath>
#include <cstdint>

#include "factorization/kernels.hpp"
#include "factorization/random.hpp"

namespace reelrec::factorization {
namespace generic {
#define REELREC_ALS_AVX2 0
#include "factorization/als_rows.inc"
#include "factorization/bpr_steps.inc"
#undef REELREC_ALS_AVX2
}  // namespace generic

const AlsKernels& als_kernels_generic() {
    static const AlsKernels kernels{"generic", &generic::solve_rows, &generic::solve_batch,
                                    &generic::gram_upper};
    return kernels;
}

const BprKernels& bpr_kernels_generic() {
    static const BprKernels kernels{"generic", &generic::bpr_run_stratum, &generic::bpr_fold_in_rows,
                                    &generic::bpr_replay};
    return kernels;
}

std::size_t als_scratch_floats(int d, AlsSolver solver, int64_t gather_capacity) {
    const std::size_t stride = (static_cast<std::size_t>(d) + 15) / 16 * 16;
    if (solver == AlsSolver::kCholesky) {
        const std::size_t dd = (static_cast<std::size_t>(d) * d + 15) / 16 * 16;
        return dd + stride + 2 * static_cast<std::size_t>(generic::kCholeskyChunk) * d;
    }
    const std::size_t group = static_cast<std::size_t>(als_cg_group(d));
    const std::size_t rows =
        group * (3 * stride + static_cast<std::size_t>(gather_capacity > 0 ? gather_capacity : 0) * d);
    // solve_batch: r, p, Ap per row and an int64 cursor (two floats) per row
    const std::size_t batch = gather_capacity > 0 ? kAlsBatchRows * (3 * stride + 2) : 0;
    return rows > batch ? rows : batch;
}

}  // namespace reelrec::factorization
