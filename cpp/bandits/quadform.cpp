#include "bandits/quadform.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <type_traits>
#include <utility>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

namespace reelrec::bandits {

namespace {

#if defined(__GNUC__)
#define REELREC_INLINE inline __attribute__((always_inline))
#else
#define REELREC_INLINE inline
#endif

// Sum of the W lanes of a GCC vector: halves added pairwise (vector
// extracts, no trip through memory).
template <class T, int W, class Vec>
REELREC_INLINE T lane_sum(const Vec& v) {
    if constexpr (W == 1) {
        return v[0];
    } else {
        typedef T Half __attribute__((vector_size(W / 2 * sizeof(T))));
        Half lo, hi;
        __builtin_memcpy(&lo, &v, sizeof(Half));
        __builtin_memcpy(&hi, reinterpret_cast<const char*>(&v) + sizeof(Half), sizeof(Half));
        return lane_sum<T, W / 2>(lo + hi);
    }
}

// acc[r][v] += x_r[k] * S[k][j0 + v * W ..] for k in [k0, k1): rows of S
// read once for all R contexts.
template <class T, int W, int R, int V, class Vec>
REELREC_INLINE void tile_steps(const T* X, int64_t ld, int64_t d, const T* S, int64_t j0, int64_t k0,
                               int64_t k1, Vec (&acc)[R][V]) {
    typedef T VecU __attribute__((vector_size(W * sizeof(T)), aligned(sizeof(T))));
    for (int64_t k = k0; k < k1; ++k) {
        const T* s = S + k * d + j0;
        Vec sv[V];
        for (int v = 0; v < V; ++v) sv[v] = *reinterpret_cast<const VecU*>(s + v * W);
        for (int r = 0; r < R; ++r) {
            // x - 0, not 0 + x: subtracting +0 is an identity the compiler
            // drops (one broadcast load remains), adding +0 is not (-0 + 0 =
            // +0) and cost an add, a register broadcast and a dependency per
            // row and step (measured: 40 % of the FMA rate).
            const Vec xv = X[r * ld + k] - Vec{};
            for (int v = 0; v < V; ++v) acc[r][v] += xv * sv[v];
        }
    }
}

// Adds, for R rows, the contribution of column tile [j0, j0 + V * W) to
// x^T S x: the diagonal block once, the rows below it twice (symmetry).
// Vec is a GCC vector of W scalars T, so each target clone gets its own width.
// Every row is computed with the same operations whatever R is, so a row's
// result does not depend on the rows batched with it (tested).
template <class T, int W, int R, int V>
REELREC_INLINE void tile(const T* X, int64_t ld, int64_t d, const T* S, int64_t j0, T* q) {
    typedef T Vec __attribute__((vector_size(W * sizeof(T))));
    Vec acc[R][V];
    for (int r = 0; r < R; ++r) {
        for (int v = 0; v < V; ++v) acc[r][v] = Vec{};
    }
    // The diagonal block has weight 1 and the rows below it weight 2: the
    // accumulators are halved after the diagonal block and doubled at the end
    // (both exact in binary floating point), which gives bit for bit the sums
    // of fma(2 x_k, s, acc) without a multiply per row and step.
    const int64_t k_diag = std::min<int64_t>(j0 + V * W, d);
    tile_steps<T, W, R, V>(X, ld, d, S, j0, j0, k_diag, acc);
    for (int r = 0; r < R; ++r) {
        for (int v = 0; v < V; ++v) acc[r][v] *= T(0.5);
    }
    tile_steps<T, W, R, V>(X, ld, d, S, j0, k_diag, d, acc);
    for (int r = 0; r < R; ++r) {
        for (int v = 0; v < V; ++v) acc[r][v] *= T(2);
    }
    // x_tile . acc by lanes, then a pairwise sum of the W lanes: log2(W)
    // dependent additions instead of a chain of V * W.
    typedef T VecU __attribute__((vector_size(W * sizeof(T)), aligned(sizeof(T))));
    for (int r = 0; r < R; ++r) {
        const T* x = X + r * ld + j0;
        Vec t = acc[r][0] * *reinterpret_cast<const VecU*>(x);
        for (int v = 1; v < V; ++v) t += acc[r][v] * *reinterpret_cast<const VecU*>(x + v * W);
        q[r] += lane_sum<T, W>(t);
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

// Factored widths for large d: q = |z|^2 with z_i = sum_{k >= i} L_ki x_k
// for a lower triangular L (S = L L^T, zeros stored above the diagonal).
// The same register tiles as x^T S x, with L's rows in place of S's, so the
// triangle costs the same d (d + 1) / 2 multiply-adds; what differs is
// accuracy: every z_i is one chain over ascending k (the rigorous bound of
// WidthScreen::build_factors), and x^T S x, which cancels badly when S is
// wide along directions the contexts avoid, is never formed.
template <class T, int W, int R, int V>
REELREC_INLINE void factor_tile(const T* X, int64_t ld, int64_t d, const T* L, int64_t j0, T* q) {
    typedef T Vec __attribute__((vector_size(W * sizeof(T))));
    Vec acc[R][V];
    for (int r = 0; r < R; ++r) {
        for (int v = 0; v < V; ++v) acc[r][v] = Vec{};
    }
    tile_steps<T, W, R, V>(X, ld, d, L, j0, j0, d, acc);
    for (int r = 0; r < R; ++r) {
        Vec t = acc[r][0] * acc[r][0];
        for (int v = 1; v < V; ++v) t += acc[r][v] * acc[r][v];
        q[r] += lane_sum<T, W>(t);
    }
}

// The two quadratic forms that share the column-tile loops below: x^T S x
// (tile, tile1) and |L^T x|^2 (factor_tile, factor_col).
template <class T, int R>
REELREC_INLINE void factor_col(const T* X, int64_t ld, int64_t d, const T* L, int64_t j0, T* q) {
    for (int r = 0; r < R; ++r) {
        const T* x = X + r * ld;
        T z = T(0);
        for (int64_t k = j0; k < d; ++k) z += L[k * d + j0] * x[k];
        q[r] += z * z;
    }
}

struct Symmetric {
    template <class T, int W, int R, int V>
    static REELREC_INLINE void tiles(const T* X, int64_t ld, int64_t d, const T* S, int64_t j0, T* q) {
        tile<T, W, R, V>(X, ld, d, S, j0, q);
    }
    template <class T, int R>
    static REELREC_INLINE void column(const T* X, int64_t ld, int64_t d, const T* S, int64_t j0, T* q) {
        tile1<T, R>(X, ld, d, S, j0, q);
    }
};

struct Factored {
    template <class T, int W, int R, int V>
    static REELREC_INLINE void tiles(const T* X, int64_t ld, int64_t d, const T* L, int64_t j0, T* q) {
        factor_tile<T, W, R, V>(X, ld, d, L, j0, q);
    }
    template <class T, int R>
    static REELREC_INLINE void column(const T* X, int64_t ld, int64_t d, const T* L, int64_t j0, T* q) {
        factor_col<T, R>(X, ld, d, L, j0, q);
    }
};

// The columns left after the wide tiles: tiles of W, W / 2, W / 4 lanes,
// then single columns, so narrow feature counts (d = 20, say) stay mostly
// vectorised.
template <class Kind, class T, int W, int R, int V>
REELREC_INLINE void narrow_tiles(const T* X, int64_t ld, int64_t d, const T* S, int64_t j0, T* q) {
    for (; j0 + W <= d; j0 += W) Kind::template tiles<T, W, R, 1>(X, ld, d, S, j0, q);
    if constexpr (W >= 4) {
        for (; j0 + W / 2 <= d; j0 += W / 2) Kind::template tiles<T, W / 2, R, 1>(X, ld, d, S, j0, q);
    }
    if constexpr (W >= 8) {
        for (; j0 + W / 4 <= d; j0 += W / 4) Kind::template tiles<T, W / 4, R, 1>(X, ld, d, S, j0, q);
    }
    for (; j0 < d; ++j0) Kind::template column<T, R>(X, ld, d, S, j0, q);
}

// Wide column tiles (V * W lanes) are the outer loop and blocks of R rows the
// inner one, so a tile's rows of S (d x V * W, 25 KB for d = 200 in single
// precision) stay in L1 while every row block of the batch uses them; then
// the narrow tiles. Each row still adds its tiles in ascending column order,
// so the result does not depend on the loop order nor on the rows around it.
template <class Kind, class T, int W, int R, int V>
REELREC_INLINE void body(const T* X, int64_t n, int64_t ld, int64_t d, const T* S, T* q) {
    for (int64_t r = 0; r < n; ++r) q[r] = 0;
    const int64_t wide_end = d - d % (V * W);
    for (int64_t j0 = 0; j0 < wide_end; j0 += V * W) {
        int64_t r = 0;
        for (; r + R <= n; r += R) Kind::template tiles<T, W, R, V>(X + r * ld, ld, d, S, j0, q + r);
        for (; r < n; ++r) Kind::template tiles<T, W, 1, V>(X + r * ld, ld, d, S, j0, q + r);
    }
    int64_t r = 0;
    for (; r + R <= n; r += R) narrow_tiles<Kind, T, W, R, V>(X + r * ld, ld, d, S, wide_end, q + r);
    for (; r < n; ++r) narrow_tiles<Kind, T, W, 1, V>(X + r * ld, ld, d, S, wide_end, q + r);
}

// Small d (<= kLaneMaxD): contexts across the vector lanes instead of the
// matrix columns. With d = 20 a column tile wastes lanes and every tile pays
// a horizontal sum; here W contexts are transposed into a d x W block and
// each matrix element is one broadcast FMA for all W of them:
//   y_j = sum_{i<j} S_ij x_i  (independent accumulators, d of them in registers),
//   q   = sum_j x_j (S_jj x_j + 2 y_j).
// d (d + 1) / 2 + d FMAs per W contexts and no reductions. Each lane runs the
// same operations in the same order, and padding lanes are zeros, so a row's
// result does not depend on the rows batched with it.
constexpr int64_t kLaneMaxD = 24;

template <class T, int W, int D>
REELREC_INLINE void lanes_group(const T* xt, const T* S, T* q) {
    typedef T Vec __attribute__((vector_size(W * sizeof(T))));
    Vec x[D], y[D];
#pragma GCC unroll 32
    for (int i = 0; i < D; ++i) {
        __builtin_memcpy(&x[i], xt + i * W, sizeof(Vec));
        y[i] = Vec{};
    }
#pragma GCC unroll 32
    for (int i = 0; i < D; ++i) {
#pragma GCC unroll 32
        for (int j = i + 1; j < D; ++j) y[j] += x[i] * (S[i * D + j] - Vec{});
    }
    Vec acc = Vec{};
#pragma GCC unroll 32
    for (int j = 0; j < D; ++j) acc += x[j] * (x[j] * (S[j * D + j] - Vec{}) + (y[j] + y[j]));
    __builtin_memcpy(q, &acc, sizeof(Vec));
}

// The factored width for the UCB screen: z = N x with N upper triangular
// (S = N^T N), q = |z|^2, and the mean mu . x alongside (a second FMA chain
// over the x_j already loaded). Accumulators z_i stay in registers: for each
// j, z_i += N_ij x_j for i <= j.
template <class T, int W, int D>
REELREC_INLINE void lanes_group_factor(const T* xt, const T* N, const T* mu, T* q, T* m) {
    typedef T Vec __attribute__((vector_size(W * sizeof(T))));
    Vec z[D];
    Vec mean = Vec{};
#pragma GCC unroll 32
    for (int i = 0; i < D; ++i) z[i] = Vec{};
#pragma GCC unroll 32
    for (int j = 0; j < D; ++j) {
        Vec xj;
        __builtin_memcpy(&xj, xt + j * W, sizeof(Vec));
        mean += xj * (mu[j] - Vec{});
#pragma GCC unroll 32
        for (int i = 0; i <= j; ++i) z[i] += xj * (N[i * D + j] - Vec{});
    }
    // Four partial sums: one chain of D dependent FMAs would cost more than
    // the triangle itself.
    Vec acc[4] = {Vec{}, Vec{}, Vec{}, Vec{}};
#pragma GCC unroll 32
    for (int i = 0; i < D; ++i) acc[i % 4] += z[i] * z[i];
    const Vec sum = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    __builtin_memcpy(q, &sum, sizeof(Vec));
    __builtin_memcpy(m, &mean, sizeof(Vec));
}

// Group-major transpose: group g holds rows [g W, g W + W) as xt[g][i][lane],
// zero-padded to whole groups.
template <class T, int W>
REELREC_INLINE void lanes_transpose(const T* X, int64_t n, int64_t ld, int64_t d, T* xt) {
    const int64_t ng = (n + W - 1) / W;
    for (int64_t r = 0; r < ng * W; ++r) {
        T* dst = xt + (r / W) * d * W + r % W;
        if (r < n) {
            const T* x = X + r * ld;
            for (int64_t i = 0; i < d; ++i) dst[i * W] = x[i];
        } else {
            for (int64_t i = 0; i < d; ++i) dst[i * W] = T(0);
        }
    }
}

template <class T, int W, int D>
REELREC_INLINE void lanes_groups(const T* xt, int64_t n, const T* S, T* q) {
    alignas(64) T qt[W];
    const int64_t full = n / W;
    for (int64_t g = 0; g < full; ++g) lanes_group<T, W, D>(xt + g * D * W, S, q + g * W);
    if (full * W < n) {
        lanes_group<T, W, D>(xt + full * D * W, S, qt);
        for (int64_t r = full * W; r < n; ++r) q[r] = qt[r - full * W];
    }
}

// Factored widths and means of n rows (whole groups: q and m need room for them).
template <class T, int W, int D>
REELREC_INLINE void lanes_groups_factor(const T* xt, int64_t n, const T* N, const T* mu, T* q, T* m) {
    const int64_t ng = (n + W - 1) / W;
    for (int64_t g = 0; g < ng; ++g) lanes_group_factor<T, W, D>(xt + g * D * W, N, mu, q + g * W, m + g * W);
}

template <class T, int W, std::size_t... Ds>
REELREC_INLINE void lanes_factor_switch(const T* xt, int64_t n, int64_t d, const T* N, const T* mu, T* q,
                                        T* m, std::index_sequence<Ds...>) {
    (void)((d == static_cast<int64_t>(Ds + 1)
                ? (lanes_groups_factor<T, W, static_cast<int>(Ds + 1)>(xt, n, N, mu, q, m), true)
                : false) ||
           ...);
}

// out[r] = mu . x_r from the transposed groups: one FMA chain per lane in
// ascending feature order.
template <class T, int W>
REELREC_INLINE void lanes_dot_body(const T* xt, int64_t n, int64_t d, const T* mu, T* out) {
    typedef T Vec __attribute__((vector_size(W * sizeof(T))));
    const int64_t ng = (n + W - 1) / W;
    for (int64_t g = 0; g < ng; ++g) {
        const T* x = xt + g * d * W;
        Vec acc = Vec{};
        for (int64_t i = 0; i < d; ++i) {
            Vec xi;
            __builtin_memcpy(&xi, x + i * W, sizeof(Vec));
            acc += xi * (mu[i] - Vec{});
        }
        if ((g + 1) * W <= n) {
            __builtin_memcpy(out + g * W, &acc, sizeof(Vec));
        } else {
            for (int64_t r = g * W; r < n; ++r) out[r] = acc[r - g * W];
        }
    }
}

template <class T, int W, std::size_t... Ds>
REELREC_INLINE void lanes_switch(const T* xt, int64_t n, int64_t d, const T* S, T* q,
                                 std::index_sequence<Ds...>) {
    (void)((d == static_cast<int64_t>(Ds + 1)
                ? (lanes_groups<T, W, static_cast<int>(Ds + 1)>(xt, n, S, q), true)
                : false) ||
           ...);
}

template <class T, int W>
REELREC_INLINE void lanes_body(const T* xt, int64_t n, int64_t d, const T* S, T* q) {
    lanes_switch<T, W>(xt, n, d, S, q, std::make_index_sequence<kLaneMaxD>{});
}

// The lane kernel for d <= kLaneMaxD (transposing chunks of rows first), else
// the column tiles.
template <class T, int W, int WL, int R, int V>
REELREC_INLINE void quadform_body(const T* X, int64_t n, int64_t ld, int64_t d, const T* S, T* q) {
    if (d > kLaneMaxD) {
        body<Symmetric, T, W, R, V>(X, n, ld, d, S, q);
        return;
    }
    constexpr int64_t kChunk = 8 * WL;
    alignas(64) T xt[kChunk * kLaneMaxD];
    for (int64_t r0 = 0; r0 < n; r0 += kChunk) {
        const int64_t nr = std::min<int64_t>(kChunk, n - r0);
        lanes_transpose<T, WL>(X + r0 * ld, nr, ld, d, xt);
        lanes_body<T, WL>(xt, nr, d, S, q + r0);
    }
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
            const Vec b = row[i0 + r] - Vec{};  // a broadcast (see tile_steps)
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
    constexpr int64_t kChunk = kGramChunk;
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
    quadform_body<double, 2, 2, 4, 2>(X, n, ld, d, S, q);
}
void gram_generic(const double* X, int64_t n, int64_t ld, int64_t d, double* G) {
    gram_body<double, 2, 4, 2>(X, n, ld, d, G);
}
void kernel_generic_f(const float* X, int64_t n, int64_t ld, int64_t d, const float* S, float* q) {
    quadform_body<float, 4, 4, 4, 2>(X, n, ld, d, S, q);
}
void factor_generic_f(const float* X, int64_t n, int64_t ld, int64_t d, const float* L, float* q) {
    body<Factored, float, 4, 4, 2>(X, n, ld, d, L, q);
}

// One arm's step of the UCB screen (see quadform.hpp), W rows per vector.
// SQRT is the ISA's vector square root. Selects, not branches, so it
// vectorises; a non-finite input gives the bounds (-inf, inf). The first
// arm, or a strictly better lower bound, takes the lead; the others (and a
// displaced leader) raise hi_other.
#define REELREC_SCREEN_BODY(W, SQRT)                                                                   \
    typedef double Vec __attribute__((vector_size(W * sizeof(double))));                               \
    typedef int64_t Mask __attribute__((vector_size(W * sizeof(int64_t))));                            \
    const Vec zero = Vec{}, inf = zero + __builtin_inf();                                              \
    for (int64_t r = 0; r < n; r += W) {                                                               \
        Vec qv, mv, x, bl, ag, ha, ho;                                                                 \
        for (int l = 0; l < W; ++l) {                                                                  \
            qv[l] = static_cast<double>(q[r + l]);                                                     \
            mv[l] = static_cast<double>(m[r + l]);                                                     \
        }                                                                                              \
        __builtin_memcpy(&x, xn + r, sizeof(Vec));                                                     \
        __builtin_memcpy(&bl, best_lo + r, sizeof(Vec));                                               \
        __builtin_memcpy(&ag, arg + r, sizeof(Vec));                                                   \
        __builtin_memcpy(&ha, hi_arg + r, sizeof(Vec));                                                \
        __builtin_memcpy(&ho, hi_other + r, sizeof(Vec));                                              \
        const Vec dw = cw * x, em = emu * x;                                                           \
        const Mask ok = (qv - qv == zero) & (mv - mv == zero) & (dw - dw == zero) & (em - em == zero); \
        const Vec qc = qv > zero ? qv : zero;                                                          \
        const Vec w = SQRT(qc);                                                                        \
        const Vec wl = w * (1.0 - crel) - dw;                                                          \
        const Vec lo = ok ? (mv - em) + scale * (wl > zero ? wl : zero) : -inf;                        \
        const Vec hi = ok ? (mv + em) + scale * (w * (1.0 + crel) + dw) : inf;                         \
        const Mask lead = (ag < zero) | (lo > bl);                                                     \
        const Vec displaced = lead ? ha : hi;                                                          \
        const Mask had = ag >= zero;                                                                   \
        const Vec cand = (lead & ~had) ? -inf : displaced;                                             \
        ho = ho > cand ? ho : cand;                                                                    \
        bl = lead ? lo : bl;                                                                           \
        ha = lead ? hi : ha;                                                                           \
        ag = lead ? zero + arm : ag;                                                                   \
        __builtin_memcpy(best_lo + r, &bl, sizeof(Vec));                                               \
        __builtin_memcpy(arg + r, &ag, sizeof(Vec));                                                   \
        __builtin_memcpy(hi_arg + r, &ha, sizeof(Vec));                                                \
        __builtin_memcpy(hi_other + r, &ho, sizeof(Vec));                                              \
    }

// Rows to float groups with their norms, lanes innermost (contiguous
// stores, and the norms of a group's rows accumulate in one vector, each in
// ascending feature order).
template <int W>
REELREC_INLINE void transpose_norms_body(const double* X, int64_t n, int64_t d, float* xt, double* norms) {
    const int64_t ng = (n + W - 1) / W;
    for (int64_t g = 0; g < ng; ++g) {
        const int64_t rows = std::min<int64_t>(W, n - g * W);
        const double* xg = X + g * W * d;
        float* dst = xt + g * d * W;
        double s2[W];
        for (int l = 0; l < W; ++l) s2[l] = 0.0;
        if (rows == W) {
            for (int64_t i = 0; i < d; ++i) {
                for (int l = 0; l < W; ++l) {
                    const double v = xg[l * d + i];
                    dst[i * W + l] = static_cast<float>(v);
                    s2[l] += v * v;
                }
            }
        } else {
            for (int64_t i = 0; i < d; ++i) {
                for (int l = 0; l < W; ++l) {
                    const double v = l < rows ? xg[l * d + i] : 0.0;
                    dst[i * W + l] = static_cast<float>(v);
                    s2[l] += v * v;
                }
            }
        }
        for (int l = 0; l < rows; ++l) norms[g * W + l] = std::sqrt(s2[l]);
    }
}
using TransposeNormsFn = void (*)(const double*, int64_t, int64_t, float*, double*);
void transpose_norms_generic(const double* X, int64_t n, int64_t d, float* xt, double* norms) {
    transpose_norms_body<4>(X, n, d, xt, norms);
}
#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("avx2,fma"))) void transpose_norms_avx2(const double* X, int64_t n, int64_t d,
                                                              float* xt, double* norms) {
    transpose_norms_body<8>(X, n, d, xt, norms);
}
__attribute__((target("avx512f,avx512vl,avx2,fma"))) void transpose_norms_avx512(const double* X, int64_t n,
                                                                                 int64_t d, float* xt,
                                                                                 double* norms) {
    transpose_norms_body<16>(X, n, d, xt, norms);
}
#endif

using ScreenFn = void (*)(const float*, const float*, const double*, int64_t, double, double, double, double,
                          double, double*, double*, double*, double*);
void screen_generic(const float* q, const float* m, const double* xn, int64_t n, double cw, double crel,
                    double emu, double scale, double arm, double* best_lo, double* arg, double* hi_arg,
                    double* hi_other) {
#define REELREC_SQRT_2(v) Vec{std::sqrt(v[0]), std::sqrt(v[1])}
    REELREC_SCREEN_BODY(2, REELREC_SQRT_2)
}
#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("avx2,fma"))) void screen_avx2(const float* q, const float* m, const double* xn,
                                                     int64_t n, double cw, double crel, double emu,
                                                     double scale, double arm, double* best_lo, double* arg,
                                                     double* hi_arg, double* hi_other) {
#define REELREC_SQRT_4(v) reinterpret_cast<Vec>(_mm256_sqrt_pd(reinterpret_cast<__m256d>(v)))
    REELREC_SCREEN_BODY(4, REELREC_SQRT_4)
}
__attribute__((target("avx512f,avx512vl,avx2,fma"))) void screen_avx512(
    const float* q, const float* m, const double* xn, int64_t n, double cw, double crel, double emu,
    double scale, double arm, double* best_lo, double* arg, double* hi_arg, double* hi_other) {
#define REELREC_SQRT_8(v) reinterpret_cast<Vec>(_mm512_sqrt_pd(reinterpret_cast<__m512d>(v)))
    REELREC_SCREEN_BODY(8, REELREC_SQRT_8)
}
#endif

template <class T>
using LaneKernel = void (*)(const T*, int64_t, int64_t, const T*, T*);
void lanes_generic(const double* xt, int64_t n, int64_t d, const double* S, double* q) {
    lanes_body<double, 2>(xt, n, d, S, q);
}
void dot_generic(const double* xt, int64_t n, int64_t d, const double* mu, double* out) {
    lanes_dot_body<double, 2>(xt, n, d, mu, out);
}
void lanes_generic_f(const float* xt, int64_t n, int64_t d, const float* S, float* q) {
    lanes_body<float, 4>(xt, n, d, S, q);
}
using LaneFactorKernel = void (*)(const float*, int64_t, int64_t, const float*, const float*, float*, float*);
void lanes_factor_generic_f(const float* xt, int64_t n, int64_t d, const float* N, const float* mu, float* q,
                            float* m) {
    lanes_factor_switch<float, 4>(xt, n, d, N, mu, q, m, std::make_index_sequence<kLaneMaxD>{});
}

#if defined(__x86_64__) && defined(__GNUC__)
#define REELREC_X86_DISPATCH 1
__attribute__((target("avx2,fma"))) void lanes_avx2(const double* xt, int64_t n, int64_t d, const double* S,
                                                    double* q) {
    lanes_body<double, 4>(xt, n, d, S, q);
}
__attribute__((target("avx2,fma"))) void dot_avx2(const double* xt, int64_t n, int64_t d, const double* mu,
                                                  double* out) {
    lanes_dot_body<double, 4>(xt, n, d, mu, out);
}
__attribute__((target("avx512f,avx2,fma"))) void dot_avx512(const double* xt, int64_t n, int64_t d,
                                                            const double* mu, double* out) {
    lanes_dot_body<double, 8>(xt, n, d, mu, out);
}
__attribute__((target("avx2,fma"))) void lanes_factor_avx2_f(const float* xt, int64_t n, int64_t d,
                                                             const float* N, const float* mu, float* q,
                                                             float* m) {
    lanes_factor_switch<float, 8>(xt, n, d, N, mu, q, m, std::make_index_sequence<kLaneMaxD>{});
}
__attribute__((target("avx512f,avx2,fma"))) void lanes_factor_avx512_f(const float* xt, int64_t n, int64_t d,
                                                                       const float* N, const float* mu,
                                                                       float* q, float* m) {
    lanes_factor_switch<float, 16>(xt, n, d, N, mu, q, m, std::make_index_sequence<kLaneMaxD>{});
}
__attribute__((target("avx2,fma"))) void lanes_avx2_f(const float* xt, int64_t n, int64_t d, const float* S,
                                                      float* q) {
    lanes_body<float, 8>(xt, n, d, S, q);
}
__attribute__((target("avx512f,avx2,fma"))) void lanes_avx512(const double* xt, int64_t n, int64_t d,
                                                              const double* S, double* q) {
    lanes_body<double, 8>(xt, n, d, S, q);
}
__attribute__((target("avx512f,avx2,fma"))) void lanes_avx512_f(const float* xt, int64_t n, int64_t d,
                                                                const float* S, float* q) {
    lanes_body<float, 16>(xt, n, d, S, q);
}
__attribute__((target("avx2,fma"))) void kernel_avx2(const double* X, int64_t n, int64_t ld, int64_t d,
                                                     const double* S, double* q) {
    quadform_body<double, 4, 4, 4, 2>(X, n, ld, d, S, q);
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
__attribute__((target("avx512f,avx2,fma"))) void rank1_avx512(double* S, const double* u, double coef,
                                                              int64_t d) {
    rank1_body(S, u, coef, d);
}
__attribute__((target("avx2,fma"))) void gram_avx2(const double* X, int64_t n, int64_t ld, int64_t d,
                                                   double* G) {
    gram_body<double, 4, 4, 2>(X, n, ld, d, G);
}
__attribute__((target("avx2,fma"))) void kernel_avx2_f(const float* X, int64_t n, int64_t ld, int64_t d,
                                                       const float* S, float* q) {
    quadform_body<float, 8, 8, 4, 2>(X, n, ld, d, S, q);
}
__attribute__((target("avx2,fma"))) void factor_avx2_f(const float* X, int64_t n, int64_t ld, int64_t d,
                                                       const float* L, float* q) {
    body<Factored, float, 8, 4, 2>(X, n, ld, d, L, q);
}
__attribute__((target("avx512f,avx2,fma"))) void kernel_avx512(const double* X, int64_t n, int64_t ld,
                                                               int64_t d, const double* S, double* q) {
    quadform_body<double, 8, 8, 8, 2>(X, n, ld, d, S, q);
}
__attribute__((target("avx512f,avx2,fma"))) void gram_avx512(const double* X, int64_t n, int64_t ld,
                                                             int64_t d, double* G) {
    gram_body<double, 8, 8, 2>(X, n, ld, d, G);
}
__attribute__((target("avx512f,avx2,fma"))) void kernel_avx512_f(const float* X, int64_t n, int64_t ld,
                                                                 int64_t d, const float* S, float* q) {
    quadform_body<float, 16, 16, 8, 2>(X, n, ld, d, S, q);
}
__attribute__((target("avx512f,avx2,fma"))) void factor_avx512_f(const float* X, int64_t n, int64_t ld,
                                                                 int64_t d, const float* L, float* q) {
    body<Factored, float, 16, 8, 2>(X, n, ld, d, L, q);
}
#endif

// Peak probe: 12 independent multiply-add chains per vector width, enough to
// cover the FMA latency on current x86 cores, so the loop runs at the core's
// FMA throughput. Returns a checksum that keeps the loop alive.
template <class T, int W>
REELREC_INLINE T fma_chains(int64_t iterations) {
    typedef T Vec __attribute__((vector_size(W * sizeof(T))));
    Vec a[12];
    for (int i = 0; i < 12; ++i) a[i] = Vec{} + T(i);
    const Vec b = Vec{} + T(0.999999), c = Vec{} + T(1e-7);
    for (int64_t n = 0; n < iterations; ++n) {
        for (int i = 0; i < 12; ++i) a[i] = a[i] * b + c;
    }
    Vec s = a[0];
    for (int i = 1; i < 12; ++i) s += a[i];
    return lane_sum<T, W>(s);
}
double fma_generic(bool single, int64_t it) {
    return single ? fma_chains<float, 4>(it) : fma_chains<double, 2>(it);
}
#ifdef REELREC_X86_DISPATCH
__attribute__((target("avx2,fma"))) double fma_avx2(bool single, int64_t it) {
    return single ? fma_chains<float, 8>(it) : fma_chains<double, 4>(it);
}
__attribute__((target("avx512f,avx2,fma"))) double fma_avx512(bool single, int64_t it) {
    return single ? fma_chains<float, 16>(it) : fma_chains<double, 8>(it);
}
#endif

struct Dispatch {
    Kernel<double> fn = kernel_generic;
    Kernel<float> fn_f = kernel_generic_f;
    Kernel<float> factor_f = factor_generic_f;
    void (*gram)(const double*, int64_t, int64_t, int64_t, double*) = gram_generic;
    void (*matvec)(const double*, const double*, int64_t, double*) = matvec_generic;
    void (*rank1)(double*, const double*, double, int64_t) = rank1_generic;
    LaneKernel<double> lanes = lanes_generic;
    LaneKernel<float> lanes_f = lanes_generic_f;
    LaneFactorKernel lanes_factor_f = lanes_factor_generic_f;
    ScreenFn screen = screen_generic;
    TransposeNormsFn transpose_norms = transpose_norms_generic;
    void (*dot)(const double*, int64_t, int64_t, const double*, double*) = dot_generic;
    int lane_w = 2;
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
            factor_f = factor_avx512_f;
            gram = gram_avx512;
            matvec = matvec_avx512;
            rank1 = rank1_avx512;
            lanes = lanes_avx512;
            lanes_f = lanes_avx512_f;
            lanes_factor_f = lanes_factor_avx512_f;
            screen = screen_avx512;
            transpose_norms = transpose_norms_avx512;
            dot = dot_avx512;
            lane_w = 8;
            name = "avx512";
        } else if (has_avx2) {
            fn = kernel_avx2;
            fn_f = kernel_avx2_f;
            factor_f = factor_avx2_f;
            gram = gram_avx2;
            matvec = matvec_avx2;
            rank1 = rank1_avx2;
            lanes = lanes_avx2;
            lanes_f = lanes_avx2_f;
            lanes_factor_f = lanes_factor_avx2_f;
            screen = screen_avx2;
            transpose_norms = transpose_norms_avx2;
            dot = dot_avx2;
            lane_w = 4;
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

double fma_peak_probe(bool single, int64_t iterations) {
#ifdef REELREC_X86_DISPATCH
    if (dispatch().has_avx512) return fma_avx512(single, iterations);
    if (dispatch().has_avx2) return fma_avx2(single, iterations);
#endif
    return fma_generic(single, iterations);
}

int64_t fma_peak_lanes(bool single) { return (single ? 2 : 1) * dispatch().lane_w; }

void quadform_factor_rows(const float* X, int64_t n_rows, int64_t ld, int64_t d, const float* L, float* q) {
    dispatch().factor_f(X, n_rows, ld, d, L, q);
}

bool quadform_factor_rows_isa(const std::string& isa, const float* X, int64_t n_rows, int64_t ld, int64_t d,
                              const float* L, float* q) {
    Kernel<float> fn = nullptr;
#ifdef REELREC_X86_DISPATCH
    const bool ok = pick<float>(isa, fn, factor_generic_f, factor_avx2_f, factor_avx512_f);
#else
    const bool ok = pick<float>(isa, fn, factor_generic_f, nullptr, nullptr);
#endif
    if (ok) fn(X, n_rows, ld, d, L, q);
    return ok;
}

// sqrt is correctly rounded in every form; the SSE2 instruction (x86-64
// baseline) sidesteps the errno check that keeps std::sqrt scalar. The clamp
// is std::max(q, 0) exactly (a NaN or -0 passes through unchanged).
template <class T>
inline void scaled_sqrt_body(const T* q, double* out, int64_t n, double scale) {
    int64_t r = 0;
#if defined(__SSE2__)
    const __m128d s = _mm_set1_pd(scale);
    for (; r + 2 <= n; r += 2) {
        const double a = static_cast<double>(q[r]), b = static_cast<double>(q[r + 1]);
        const __m128d v = _mm_set_pd(b < 0.0 ? 0.0 : b, a < 0.0 ? 0.0 : a);
        _mm_storeu_pd(out + r, _mm_mul_pd(_mm_sqrt_pd(v), s));
    }
#endif
    for (; r < n; ++r) {
        const double a = static_cast<double>(q[r]);
        out[r] = std::sqrt(a < 0.0 ? 0.0 : a) * scale;
    }
}

void scaled_sqrt(const double* q, double* out, int64_t n, double scale) {
    scaled_sqrt_body(q, out, n, scale);
}

void scaled_sqrt(const float* q, double* out, int64_t n, double scale) { scaled_sqrt_body(q, out, n, scale); }

bool quadform_lanes_apply(int64_t d) { return d >= 1 && d <= kLaneMaxD; }

// Float lanes are twice the double lanes in every ISA.
int64_t quadform_lane_width() { return dispatch().lane_w; }

void quadform_transpose(const double* X, int64_t n_rows, int64_t ld, int64_t d, double* xt) {
    switch (dispatch().lane_w) {
        case 8:
            lanes_transpose<double, 8>(X, n_rows, ld, d, xt);
            break;
        case 4:
            lanes_transpose<double, 4>(X, n_rows, ld, d, xt);
            break;
        default:
            lanes_transpose<double, 2>(X, n_rows, ld, d, xt);
            break;
    }
}

void quadform_transpose_norms(const double* X, int64_t n_rows, int64_t d, float* xt, double* norms) {
    dispatch().transpose_norms(X, n_rows, d, xt, norms);
}

void quadform_transpose(const float* X, int64_t n_rows, int64_t ld, int64_t d, float* xt) {
    switch (dispatch().lane_w) {
        case 8:
            lanes_transpose<float, 16>(X, n_rows, ld, d, xt);
            break;
        case 4:
            lanes_transpose<float, 8>(X, n_rows, ld, d, xt);
            break;
        default:
            lanes_transpose<float, 4>(X, n_rows, ld, d, xt);
            break;
    }
}

void quadform_rows_t(const double* xt, int64_t n_rows, int64_t d, const double* S, double* q) {
    dispatch().lanes(xt, n_rows, d, S, q);
}

void dot_rows_t(const double* xt, int64_t n_rows, int64_t d, const double* mu, double* out) {
    dispatch().dot(xt, n_rows, d, mu, out);
}

void quadform_rows_t(const float* xt, int64_t n_rows, int64_t d, const float* S, float* q) {
    dispatch().lanes_f(xt, n_rows, d, S, q);
}

void quadform_factor_rows_t(const float* xt, int64_t n_rows, int64_t d, const float* N, const float* mu,
                            float* q, float* m) {
    dispatch().lanes_factor_f(xt, n_rows, d, N, mu, q, m);
}

void ucb_screen_step(const float* q, const float* m, const double* xn, int64_t n, double cw, double crel,
                     double emu, double scale, int64_t arm, double* best_lo, double* arg, double* hi_arg,
                     double* hi_other) {
    dispatch().screen(q, m, xn, n, cw, crel, emu, scale, static_cast<double>(arm), best_lo, arg, hi_arg,
                      hi_other);
}

void gram_accumulate(const double* X, int64_t n_rows, int64_t ld, int64_t d, double* G) {
    dispatch().gram(X, n_rows, ld, d, G);
}

void symmetric_matvec(const double* S, const double* x, int64_t d, double* y) {
    dispatch().matvec(S, x, d, y);
}

void symmetric_rank1_sub(double* S, const double* u, double coef, int64_t d) {
    dispatch().rank1(S, u, coef, d);
}

bool gram_accumulate_isa(const std::string& isa, const double* X, int64_t n_rows, int64_t ld, int64_t d,
                         double* G) {
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
bool quadform_rows_isa(const std::string& isa, const T* X, int64_t n_rows, int64_t ld, int64_t d, const T* S,
                       T* q) {
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

template bool quadform_rows_isa<double>(const std::string&, const double*, int64_t, int64_t, int64_t,
                                        const double*, double*);
template bool quadform_rows_isa<float>(const std::string&, const float*, int64_t, int64_t, int64_t,
                                       const float*, float*);

}  // namespace reelrec::bandits
