#include "bandits/quadform.hpp"

#include <string>

namespace reelrec::bandits {

namespace {

#if defined(__GNUC__)
#define REELREC_INLINE inline __attribute__((always_inline))
#else
#define REELREC_INLINE inline
#endif

// Adds, for R rows, the contribution of column tile [j0, j0 + V * W) to
// x^T S x: the diagonal block once, the rows below it twice (symmetry).
// Vec is a GCC vector of W doubles, so each target clone gets its own width.
template <class Vec, int W, int R, int V>
REELREC_INLINE void tile(const double* X, int64_t ld, int64_t d, const double* S, int64_t j0, double* q) {
    typedef double VecU __attribute__((vector_size(W * sizeof(double)), aligned(sizeof(double))));
    constexpr int TW = V * W;
    Vec acc[R][V];
    for (int r = 0; r < R; ++r) {
        for (int v = 0; v < V; ++v) acc[r][v] = Vec{};
    }
    for (int64_t k = j0; k < d; ++k) {
        const double* s = S + k * d + j0;
        Vec sv[V];
        for (int v = 0; v < V; ++v) sv[v] = *reinterpret_cast<const VecU*>(s + v * W);
        const double weight = k < j0 + TW ? 1.0 : 2.0;
        for (int r = 0; r < R; ++r) {
            const Vec xv = Vec{} + weight * X[r * ld + k];
            for (int v = 0; v < V; ++v) acc[r][v] += xv * sv[v];
        }
    }
    for (int r = 0; r < R; ++r) {
        double sum = 0.0;
        for (int v = 0; v < V; ++v) {
            for (int c = 0; c < W; ++c) sum += acc[r][v][c] * X[r * ld + j0 + v * W + c];
        }
        q[r] += sum;
    }
}

// Scalar tile for the last d % W columns.
template <int R>
REELREC_INLINE void tile1(const double* X, int64_t ld, int64_t d, const double* S, int64_t j0, double* q) {
    for (int r = 0; r < R; ++r) {
        const double* x = X + r * ld;
        double acc = S[j0 * d + j0] * x[j0];
        for (int64_t k = j0 + 1; k < d; ++k) acc += 2.0 * S[k * d + j0] * x[k];
        q[r] += acc * x[j0];
    }
}

template <class Vec, int W, int R, int V>
REELREC_INLINE void rows_block(const double* X, int64_t ld, int64_t d, const double* S, double* q) {
    for (int r = 0; r < R; ++r) q[r] = 0.0;
    int64_t j0 = 0;
    for (; j0 + V * W <= d; j0 += V * W) tile<Vec, W, R, V>(X, ld, d, S, j0, q);
    for (; j0 + W <= d; j0 += W) tile<Vec, W, R, 1>(X, ld, d, S, j0, q);
    for (; j0 < d; ++j0) tile1<R>(X, ld, d, S, j0, q);
}

template <class Vec, int W, int R, int V>
REELREC_INLINE void body(const double* X, int64_t n, int64_t ld, int64_t d, const double* S, double* q) {
    int64_t r = 0;
    for (; r + R <= n; r += R) rows_block<Vec, W, R, V>(X + r * ld, ld, d, S, q + r);
    for (; r < n; ++r) rows_block<Vec, W, 1, V>(X + r * ld, ld, d, S, q + r);
}

typedef double Vec2 __attribute__((vector_size(16)));
typedef double Vec4 __attribute__((vector_size(32)));
typedef double Vec8 __attribute__((vector_size(64)));

using Kernel = void (*)(const double*, int64_t, int64_t, int64_t, const double*, double*);

void kernel_generic(const double* X, int64_t n, int64_t ld, int64_t d, const double* S, double* q) {
    body<Vec2, 2, 4, 2>(X, n, ld, d, S, q);
}

#if defined(__x86_64__) && defined(__GNUC__)
#define REELREC_X86_DISPATCH 1
__attribute__((target("avx2,fma"))) void kernel_avx2(const double* X, int64_t n, int64_t ld, int64_t d,
                                                     const double* S, double* q) {
    body<Vec4, 4, 4, 2>(X, n, ld, d, S, q);
}

__attribute__((target("avx512f,avx2,fma"))) void kernel_avx512(const double* X, int64_t n, int64_t ld, int64_t d,
                                                               const double* S, double* q) {
    body<Vec8, 8, 8, 2>(X, n, ld, d, S, q);
}
#endif

struct Dispatch {
    Kernel fn = kernel_generic;
    const char* name = "generic";
    bool has_avx2 = false, has_avx512 = false;
    Dispatch() {
#ifdef REELREC_X86_DISPATCH
        __builtin_cpu_init();
        has_avx512 = __builtin_cpu_supports("avx512f");
        has_avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
        if (has_avx512) {
            fn = kernel_avx512;
            name = "avx512";
        } else if (has_avx2) {
            fn = kernel_avx2;
            name = "avx2";
        }
#endif
    }
};

const Dispatch& dispatch() {
    static const Dispatch d;
    return d;
}

}  // namespace

void quadform_rows(const double* X, int64_t n_rows, int64_t ld, int64_t d, const double* S, double* q) {
    dispatch().fn(X, n_rows, ld, d, S, q);
}

const char* quadform_isa() { return dispatch().name; }

bool quadform_rows_isa(const std::string& isa, const double* X, int64_t n_rows, int64_t ld, int64_t d,
                       const double* S, double* q) {
    if (isa == "generic") {
        kernel_generic(X, n_rows, ld, d, S, q);
        return true;
    }
#ifdef REELREC_X86_DISPATCH
    if (isa == "avx2" && dispatch().has_avx2) {
        kernel_avx2(X, n_rows, ld, d, S, q);
        return true;
    }
    if (isa == "avx512" && dispatch().has_avx512) {
        kernel_avx512(X, n_rows, ld, d, S, q);
        return true;
    }
#endif
    return false;
}

}  // namespace reelrec::bandits
