#include "bandits/quadform.hpp"

#include <algorithm>
#include <string>
#include <type_traits>

namespace reelrec::bandits {

namespace {

#if defined(__GNUC__)
#define REELREC_INLINE inline __attribute__((always_inline))
#else
#define REELREC_INLINE inline
#endif

// Adds, for R rows, the contribution of column tile [j0, j0 + V * W) to
// x^T S x: the diagonal block once, the rows below it twice (symmetry).
// Vec is a GCC vector of W scalars T, so each target clone gets its own width.
// Every row is computed with the same operations whatever R is, so a row's
// result does not depend on the rows batched with it (tested).
template <class T, int W, int R, int V>
REELREC_INLINE void tile(const T* X, int64_t ld, int64_t d, const T* S, int64_t j0, T* q) {
    typedef T Vec __attribute__((vector_size(W * sizeof(T))));
    typedef T VecU __attribute__((vector_size(W * sizeof(T)), aligned(sizeof(T))));
    constexpr int TW = V * W;
    Vec acc[R][V];
    for (int r = 0; r < R; ++r) {
        for (int v = 0; v < V; ++v) acc[r][v] = Vec{};
    }
    for (int64_t k = j0; k < d; ++k) {
        const T* s = S + k * d + j0;
        Vec sv[V];
        for (int v = 0; v < V; ++v) sv[v] = *reinterpret_cast<const VecU*>(s + v * W);
        const T weight = k < j0 + TW ? T(1) : T(2);
        for (int r = 0; r < R; ++r) {
            const Vec xv = Vec{} + weight * X[r * ld + k];
            for (int v = 0; v < V; ++v) acc[r][v] += xv * sv[v];
        }
    }
    for (int r = 0; r < R; ++r) {
        T sum = 0;
        for (int v = 0; v < V; ++v) {
            for (int c = 0; c < W; ++c) sum += acc[r][v][c] * X[r * ld + j0 + v * W + c];
        }
        q[r] += sum;
    }
}

// Scalar tile for the last d % W columns.
template <class T, int R>
REELREC_INLINE void tile1(const T* X, int64_t ld, int64_t d, const T* S, int64_t j0, T* q) {
    for (int r = 0; r < R; ++r) {
        const T* x = X + r * ld;
        T acc = S[j0 * d + j0] * x[j0];
        for (int64_t k = j0 + 1; k < d; ++k) acc += T(2) * S[k * d + j0] * x[k];
        q[r] += acc * x[j0];
    }
}

// Column tiles of V * W, then W, W / 2, W / 4 lanes, then single columns:
// narrow feature counts (d = 20, say) stay mostly vectorised.
template <class T, int W, int R, int V>
REELREC_INLINE void rows_block(const T* X, int64_t ld, int64_t d, const T* S, T* q) {
    for (int r = 0; r < R; ++r) q[r] = 0;
    int64_t j0 = 0;
    for (; j0 + V * W <= d; j0 += V * W) tile<T, W, R, V>(X, ld, d, S, j0, q);
    for (; j0 + W <= d; j0 += W) tile<T, W, R, 1>(X, ld, d, S, j0, q);
    if constexpr (W >= 4) {
        for (; j0 + W / 2 <= d; j0 += W / 2) tile<T, W / 2, R, 1>(X, ld, d, S, j0, q);
    }
    if constexpr (W >= 8) {
        for (; j0 + W / 4 <= d; j0 += W / 4) tile<T, W / 4, R, 1>(X, ld, d, S, j0, q);
    }
    for (; j0 < d; ++j0) tile1<T, R>(X, ld, d, S, j0, q);
}

template <class T, int W, int R, int V>
REELREC_INLINE void body(const T* X, int64_t n, int64_t ld, int64_t d, const T* S, T* q) {
    int64_t r = 0;
    for (; r + R <= n; r += R) rows_block<T, W, R, V>(X + r * ld, ld, d, S, q + r);
    for (; r < n; ++r) rows_block<T, W, 1, V>(X + r * ld, ld, d, S, q + r);
}

// Gram matrix tile: G[i0 + r][j0 .. j0 + V * W) += sum_t X[t][i0 + r] * X[t][j0 ..].
template <class T, int W, int R, int V>
REELREC_INLINE void gram_tile(const T* X, int64_t n, int64_t ld, int64_t d, int64_t i0, int64_t j0, T* G) {
    typedef T Vec __attribute__((vector_size(W * sizeof(T))));
    typedef T VecU __attribute__((vector_size(W * sizeof(T)), aligned(sizeof(T))));
    Vec acc[R][V];
    for (int r = 0; r < R; ++r) {
        for (int v = 0; v < V; ++v) acc[r][v] = Vec{};
    }
    for (int64_t t = 0; t < n; ++t) {
        const T* row = X + t * ld;
        Vec xv[V];
        for (int v = 0; v < V; ++v) xv[v] = *reinterpret_cast<const VecU*>(row + j0 + v * W);
        for (int r = 0; r < R; ++r) {
            const Vec b = Vec{} + row[i0 + r];
            for (int v = 0; v < V; ++v) acc[r][v] += b * xv[v];
        }
    }
    for (int r = 0; r < R; ++r) {
        T* g = G + (i0 + r) * d + j0;
        for (int v = 0; v < V; ++v) {
            for (int c = 0; c < W; ++c) g[v * W + c] += acc[r][v][c];
        }
    }
}

template <class T, int R>
REELREC_INLINE void gram_col(const T* X, int64_t n, int64_t ld, int64_t d, int64_t i0, int64_t j, T* G) {
    for (int r = 0; r < R; ++r) {
        T s = 0;
        for (int64_t t = 0; t < n; ++t) s += X[t * ld + i0 + r] * X[t * ld + j];
        G[(i0 + r) * d + j] += s;
    }
}

// Rows [i0, i0 + R) of the lower triangle (plus the few upper entries of the
// tiles that straddle the diagonal).
template <class T, int W, int R, int V>
REELREC_INLINE void gram_rows(const T* X, int64_t n, int64_t ld, int64_t d, int64_t i0, T* G) {
    const int64_t j_end = std::min<int64_t>(i0 + R, d);
    int64_t j0 = 0;
    for (; j0 < j_end && j0 + V * W <= d; j0 += V * W) gram_tile<T, W, R, V>(X, n, ld, d, i0, j0, G);
    for (; j0 < j_end && j0 + W <= d; j0 += W) gram_tile<T, W, R, 1>(X, n, ld, d, i0, j0, G);
    for (; j0 < j_end; ++j0) gram_col<T, R>(X, n, ld, d, i0, j0, G);
}

template <class T, int W, int R, int V>
REELREC_INLINE void gram_body(const T* X, int64_t n, int64_t ld, int64_t d, T* G) {
    // Chunks of rows keep the streamed block of X in cache across all tiles.
    constexpr int64_t kChunk = 128;
    for (int64_t t0 = 0; t0 < n; t0 += kChunk) {
        const int64_t nt = std::min(kChunk, n - t0);
        const T* Xc = X + t0 * ld;
        int64_t i0 = 0;
        for (; i0 + R <= d; i0 += R) gram_rows<T, W, R, V>(Xc, nt, ld, d, i0, G);
        for (; i0 < d; ++i0) gram_rows<T, W, 1, V>(Xc, nt, ld, d, i0, G);
    }
    for (int64_t i = 0; i < d; ++i) {
        for (int64_t j = i + 1; j < d; ++j) G[i * d + j] = G[j * d + i];
    }
}

// y = S x for a d x d row-major S (one dot product per row).
REELREC_INLINE void matvec_body(const double* S, const double* x, int64_t d, double* y) {
    for (int64_t i = 0; i < d; ++i) {
        const double* row = S + i * d;
        double s = 0.0;
        for (int64_t j = 0; j < d; ++j) s += row[j] * x[j];
        y[i] = s;
    }
}

// S -= coef * u u^T, the Sherman-Morrison downdate; (u_i u_j) is formed first
// so that S stays exactly symmetric.
REELREC_INLINE void rank1_body(double* S, const double* u, double coef, int64_t d) {
    for (int64_t i = 0; i < d; ++i) {
        double* row = S + i * d;
        const double ui = u[i];
        for (int64_t j = 0; j < d; ++j) row[j] -= (ui * u[j]) * coef;
    }
}

void matvec_generic(const double* S, const double* x, int64_t d, double* y) { matvec_body(S, x, d, y); }
void rank1_generic(double* S, const double* u, double coef, int64_t d) { rank1_body(S, u, coef, d); }


template <class T>
using Kernel = void (*)(const T*, int64_t, int64_t, int64_t, const T*, T*);

// Register tiles: R rows x (V * W) columns of accumulators, sized to the
// register file of each instruction set (16 registers for SSE2/AVX2, 32 for AVX-512).
void kernel_generic(const double* X, int64_t n, int64_t ld, int64_t d, const double* S, double* q) {
    body<double, 2, 4, 2>(X, n, ld, d, S, q);
}
void gram_generic(const double* X, int64_t n, int64_t ld, int64_t d, double* G) {
    gram_body<double, 2, 4, 2>(X, n, ld, d, G);
}
void kernel_generic_f(const float* X, int64_t n, int64_t ld, int64_t d, const float* S, float* q) {
    body<float, 4, 4, 2>(X, n, ld, d, S, q);
}

#if defined(__x86_64__) && defined(__GNUC__)
#define REELREC_X86_DISPATCH 1
__attribute__((target("avx2,fma"))) void kernel_avx2(const double* X, int64_t n, int64_t ld, int64_t d,
                                                     const double* S, double* q) {
    body<double, 4, 4, 2>(X, n, ld, d, S, q);
}
__attribute__((target("avx2,fma"))) void matvec_avx2(const double* S, const double* x, int64_t d, double* y) {
    matvec_body(S, x, d, y);
}
__attribute__((target("avx2,fma"))) void rank1_avx2(double* S, const double* u, double coef, int64_t d) {
    rank1_body(S, u, coef, d);
}
__attribute__((target("avx512f,avx2,fma"))) void matvec_avx512(const double* S, const double* x, int64_t d,
                                                               double* y) {
    matvec_body(S, x, d, y);
}
__attribute__((target("avx512f,avx2,fma"))) void rank1_avx512(double* S, const double* u, double coef, int64_t d) {
    rank1_body(S, u, coef, d);
}
__attribute__((target("avx2,fma"))) void gram_avx2(const double* X, int64_t n, int64_t ld, int64_t d, double* G) {
    gram_body<double, 4, 4, 2>(X, n, ld, d, G);
}
__attribute__((target("avx2,fma"))) void kernel_avx2_f(const float* X, int64_t n, int64_t ld, int64_t d,
                                                       const float* S, float* q) {
    body<float, 8, 4, 2>(X, n, ld, d, S, q);
}
__attribute__((target("avx512f,avx2,fma"))) void kernel_avx512(const double* X, int64_t n, int64_t ld, int64_t d,
                                                               const double* S, double* q) {
    body<double, 8, 8, 2>(X, n, ld, d, S, q);
}
__attribute__((target("avx512f,avx2,fma"))) void gram_avx512(const double* X, int64_t n, int64_t ld, int64_t d,
                                                             double* G) {
    gram_body<double, 8, 8, 2>(X, n, ld, d, G);
}
__attribute__((target("avx512f,avx2,fma"))) void kernel_avx512_f(const float* X, int64_t n, int64_t ld, int64_t d,
                                                                 const float* S, float* q) {
    body<float, 16, 8, 2>(X, n, ld, d, S, q);
}
#endif

struct Dispatch {
    Kernel<double> fn = kernel_generic;
    Kernel<float> fn_f = kernel_generic_f;
    void (*gram)(const double*, int64_t, int64_t, int64_t, double*) = gram_generic;
    void (*matvec)(const double*, const double*, int64_t, double*) = matvec_generic;
    void (*rank1)(double*, const double*, double, int64_t) = rank1_generic;
    const char* name = "generic";
    bool has_avx2 = false, has_avx512 = false;
    Dispatch() {
#ifdef REELREC_X86_DISPATCH
        __builtin_cpu_init();
        has_avx512 = __builtin_cpu_supports("avx512f");
        has_avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
        if (has_avx512) {
            fn = kernel_avx512;
            fn_f = kernel_avx512_f;
            gram = gram_avx512;
            matvec = matvec_avx512;
            rank1 = rank1_avx512;
            name = "avx512";
        } else if (has_avx2) {
            fn = kernel_avx2;
            fn_f = kernel_avx2_f;
            gram = gram_avx2;
            matvec = matvec_avx2;
            rank1 = rank1_avx2;
            name = "avx2";
        }
#endif
    }
};

const Dispatch& dispatch() {
    static const Dispatch d;
    return d;
}

template <class T>
bool pick(const std::string& isa, Kernel<T>& out, Kernel<T> generic, Kernel<T> avx2, Kernel<T> avx512) {
    if (isa == "generic") {
        out = generic;
        return true;
    }
    if (isa == "avx2" && dispatch().has_avx2 && avx2) {
        out = avx2;
        return true;
    }
    if (isa == "avx512" && dispatch().has_avx512 && avx512) {
        out = avx512;
        return true;
    }
    return false;
}

}  // namespace

void quadform_rows(const double* X, int64_t n_rows, int64_t ld, int64_t d, const double* S, double* q) {
    dispatch().fn(X, n_rows, ld, d, S, q);
}

void quadform_rows(const float* X, int64_t n_rows, int64_t ld, int64_t d, const float* S, float* q) {
    dispatch().fn_f(X, n_rows, ld, d, S, q);
}

const char* quadform_isa() { return dispatch().name; }

void gram_accumulate(const double* X, int64_t n_rows, int64_t ld, int64_t d, double* G) {
    dispatch().gram(X, n_rows, ld, d, G);
}

void symmetric_matvec(const double* S, const double* x, int64_t d, double* y) { dispatch().matvec(S, x, d, y); }

void symmetric_rank1_sub(double* S, const double* u, double coef, int64_t d) { dispatch().rank1(S, u, coef, d); }

bool gram_accumulate_isa(const std::string& isa, const double* X, int64_t n_rows, int64_t ld, int64_t d, double* G) {
    if (isa == "generic") {
        gram_generic(X, n_rows, ld, d, G);
        return true;
    }
#ifdef REELREC_X86_DISPATCH
    if (isa == "avx2" && dispatch().has_avx2) {
        gram_avx2(X, n_rows, ld, d, G);
        return true;
    }
    if (isa == "avx512" && dispatch().has_avx512) {
        gram_avx512(X, n_rows, ld, d, G);
        return true;
    }
#endif
    return false;
}

template <class T>
bool quadform_rows_isa(const std::string& isa, const T* X, int64_t n_rows, int64_t ld, int64_t d, const T* S, T* q) {
    Kernel<T> fn = nullptr;
    bool ok;
#ifdef REELREC_X86_DISPATCH
    if constexpr (std::is_same_v<T, double>) {
        ok = pick<double>(isa, fn, kernel_generic, kernel_avx2, kernel_avx512);
    } else {
        ok = pick<float>(isa, fn, kernel_generic_f, kernel_avx2_f, kernel_avx512_f);
    }
#else
    if constexpr (std::is_same_v<T, double>) {
        ok = pick<double>(isa, fn, kernel_generic, nullptr, nullptr);
    } else {
        ok = pick<float>(isa, fn, kernel_generic_f, nullptr, nullptr);
    }
#endif
    if (ok) fn(X, n_rows, ld, d, S, q);
    return ok;
}

template bool quadform_rows_isa<double>(const std::string&, const double*, int64_t, int64_t, int64_t, const double*,
                                        double*);
template bool quadform_rows_isa<float>(const std::string&, const float*, int64_t, int64_t, int64_t, const float*,
                                       float*);

}  // namespace reelrec::bandits
