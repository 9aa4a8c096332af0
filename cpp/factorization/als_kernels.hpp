// Per-row kernels of implicit ALS, compiled once per instruction set.
//
// als_rows.inc holds the code; als_rows_generic.cpp compiles it for the
// baseline ISA the module is built for and als_rows_avx2.cpp again with
// AVX2+FMA enabled, each in its own namespace so that the two copies never
// collide at link time. als.cpp picks one at run time (CPUID), so a portable
// wheel still runs the wide kernels on machines that have them.
#pragma once

#include <cstddef>
#include <cstdint>

namespace reelrec::factorization {

enum class AlsSolver : int { kConjugateGradient = 0, kCholesky = 1 };

// One half-step: solve every row r in [begin, end) of
//   (G + lambda_r I + sum_k (c_rk - w0) y_k y_k^T) x_r = sum_k c_rk y_k
// where k runs over the stored entries of row r, y_k are rows of `other`,
// G = w0 * other^T other (precomputed, full symmetric d x d) and
// lambda_r = reg * (n_r + reg_offset) with frequency scaling, reg otherwise.
struct AlsRowArgs {
    const int64_t* indptr = nullptr;
    const int32_t* indices = nullptr;
    const float* confidence = nullptr;  // c_rk > 0 for every stored entry
    const float* other = nullptr;       // n_other x d, row-major
    const float* gram = nullptr;        // d x d, row-major, already scaled by w0
    float* factors = nullptr;           // n_rows x d, warm start in, solution out
    int d = 0;
    float unobserved_weight = 1.0f;  // w0
    float regularization = 0.0f;
    float reg_offset = 0.0f;
    bool frequency_scaling = false;
    AlsSolver solver = AlsSolver::kConjugateGradient;
    int cg_steps = 3;
};

// Floats of per-thread scratch that solve_rows needs.
std::size_t als_scratch_floats(int d, AlsSolver solver);

struct AlsKernels {
    const char* name;
    // Solves rows [begin, end) in place; scratch holds als_scratch_floats floats.
    void (*solve_rows)(const AlsRowArgs& args, int64_t begin, int64_t end, float* scratch);
    // out (d x d, upper triangle incl. diagonal) = sum of the n rows' outer
    // products, rows contiguous (n x d). Lower triangle is left untouched.
    void (*gram_upper)(const float* rows, int64_t n, int d, float* out);
};

const AlsKernels& als_kernels_generic();
// nullptr when the module was built without the AVX2 copy (non-x86 or compiler
// without target pragmas).
const AlsKernels* als_kernels_avx2();

}  // namespace reelrec::factorization
