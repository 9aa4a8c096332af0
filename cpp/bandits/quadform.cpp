#include "bandits/quadform.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "common/cpu.hpp"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#ifdef REELREC_X86
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
// over the x_j already loaded). G groups of W contexts may share each
// broadcast of an N_ij, and when the z_i do not all fit in registers the
// rows i of N are taken in passes of P rows, pass [I0, I0 + P) running over
// j >= I0. Each z_i is one chain over ascending j (at most d products: the
// error bound of WidthScreen::build_factors), the mean one chain over
// ascending j (first pass), and q gets, per pass, two chains over the
// pass's z_i^2 added to the running sum (any order of d terms keeps the
// bound). Every lane runs the same operations whatever G is, so a row's
// results do not depend on the rows grouped with it.
template <class T, int W, int D, int G, int P, int I0>
REELREC_INLINE void factor_pass(const T* xt, const T* N, const T* mu, T* q, T* m) {
    typedef T Vec __attribute__((vector_size(W * sizeof(T))));
    constexpr int I1 = I0 + P < D ? I0 + P : D;
    Vec z[G][I1 - I0];
    Vec mean[G];
#pragma GCC unroll 4
    for (int g = 0; g < G; ++g) {
        mean[g] = Vec{};
#pragma GCC unroll 32
        for (int i = 0; i < I1 - I0; ++i) z[g][i] = Vec{};
    }
#pragma GCC unroll 32
    for (int j = I0; j < D; ++j) {
        Vec x[G];
#pragma GCC unroll 4
        for (int g = 0; g < G; ++g) __builtin_memcpy(&x[g], xt + (g * D + j) * W, sizeof(Vec));
        if constexpr (I0 == 0) {
            const Vec mj = mu[j] - Vec{};
#pragma GCC unroll 4
            for (int g = 0; g < G; ++g) mean[g] += x[g] * mj;
        }
#pragma GCC unroll 32
        for (int i = I0; i < I1 && i <= j; ++i) {
            const Vec nij = N[i * D + j] - Vec{};
#pragma GCC unroll 4
            for (int g = 0; g < G; ++g) z[g][i - I0] += x[g] * nij;
        }
    }
#pragma GCC unroll 4
    for (int g = 0; g < G; ++g) {
        Vec a[2] = {Vec{}, Vec{}};
#pragma GCC unroll 32
        for (int i = 0; i < I1 - I0; ++i) a[i % 2] += z[g][i] * z[g][i];
        Vec qg = a[0] + a[1];
        if constexpr (I0 > 0) {
            Vec before;
            __builtin_memcpy(&before, q + g * W, sizeof(Vec));
            qg = before + qg;
        } else {
            __builtin_memcpy(m + g * W, &mean[g], sizeof(Vec));
        }
        __builtin_memcpy(q + g * W, &qg, sizeof(Vec));
    }
    if constexpr (I1 < D) factor_pass<T, W, D, G, P, I1>(xt, N, mu, q, m);
}

// Rows of N per pass for G groups and a register file of R vectors: the
// pass's G P accumulators, G contexts, G means and a broadcast must fit;
// passes are then balanced.
constexpr int factor_pass_rows(int D, int G, int R) {
    const int most = (R - 2 * G - 1) / G;
    const int passes = (D + most - 1) / most;
    return (D + passes - 1) / passes;
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

// Small d = B W (B <= 3, the ridge fit's padded rows [x, r, 0...] for d
// < 24): the upper triangle by W x W blocks, each row of block I broadcast
// against the row's vectors J >= I, all blocks of rows [IA, IB) at once (24
// accumulators). The column tiles of gram_rows cover W x 2 W tiles and
// spent half their multiply-adds below the diagonal here. Each sum is one
// chain over the chunk's rows, as in gram_tile.
constexpr int gram_tri_offset(int W, int B, int IA, int I) {
    int k = 0;
    for (int i = IA; i < I; ++i) k += W * (B - i);
    return k;
}

template <class T, int W, int B, int IA, int IB>
REELREC_INLINE void gram_tri_pass(const T* X, int64_t n, int64_t ld, T* G) {
    typedef T Vec __attribute__((vector_size(W * sizeof(T))));
    constexpr int64_t d = B * W;
    constexpr int K = gram_tri_offset(W, B, IA, IB);
    Vec acc[K];
#pragma GCC unroll 32
    for (int k = 0; k < K; ++k) acc[k] = Vec{};
    for (int64_t t = 0; t < n; ++t) {
        const T* row = X + t * ld;
        Vec xv[B];
#pragma GCC unroll 4
        for (int J = IA; J < B; ++J) __builtin_memcpy(&xv[J], row + J * W, sizeof(Vec));
#pragma GCC unroll 4
        for (int I = IA; I < IB; ++I) {
#pragma GCC unroll 16
            for (int r = 0; r < W; ++r) {
                const Vec b = row[I * W + r] - Vec{};  // a broadcast (see tile_steps)
#pragma GCC unroll 4
                for (int J = I; J < B; ++J) {
                    acc[gram_tri_offset(W, B, IA, I) + r * (B - I) + (J - I)] += b * xv[J];
                }
            }
        }
    }
#pragma GCC unroll 4
    for (int I = IA; I < IB; ++I) {
#pragma GCC unroll 16
        for (int r = 0; r < W; ++r) {
#pragma GCC unroll 4
            for (int J = I; J < B; ++J) {
                T* g = G + (I * W + r) * d + J * W;
                Vec v;
                __builtin_memcpy(&v, g, sizeof(Vec));
                v += acc[gram_tri_offset(W, B, IA, I) + r * (B - I) + (J - I)];
                __builtin_memcpy(g, &v, sizeof(Vec));
            }
        }
    }
}

template <class T, int W, int B>
REELREC_INLINE void gram_tri(const T* X, int64_t n, int64_t ld, T* G) {
    static_assert(B >= 1 && B <= 3, "blocks of at most 24 accumulators");
    constexpr int64_t d = B * W;
    for (int64_t t0 = 0; t0 < n; t0 += kGramChunk) {
        const int64_t nt = std::min(kGramChunk, n - t0);
        const T* Xc = X + t0 * ld;
        if constexpr (B == 3) {
            gram_tri_pass<T, W, B, 0, 1>(Xc, nt, ld, G);
            gram_tri_pass<T, W, B, 1, 3>(Xc, nt, ld, G);
        } else {
            gram_tri_pass<T, W, B, 0, B>(Xc, nt, ld, G);
        }
    }
    for (int64_t i = 0; i < d; ++i) {
        for (int64_t j = 0; j < i; ++j) G[i * d + j] = G[j * d + i];
    }
}

template <class T, int W, int R, int V>
REELREC_INLINE void gram_body(const T* X, int64_t n, int64_t ld, int64_t d, T* G) {
    if constexpr (W == 8) {
        switch (d) {
            case 8:
                return gram_tri<T, W, 1>(X, n, ld, G);
            case 16:
                return gram_tri<T, W, 2>(X, n, ld, G);
            case 24:
                return gram_tri<T, W, 3>(X, n, ld, G);
            default:
                break;
        }
    }
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

// sqrt of W floats in place (correctly rounded, as the intrinsics are), in
// inline assembly: the intrinsics carry a target attribute and cannot be
// inlined into the target-neutral templates that each ISA's entry point
// instantiates.
// (T is float: a non-dependent element type would make GCC drop the
// dependent vector size.)
template <class T, int W>
REELREC_INLINE void sqrt_lanes(T* v) {
#ifdef REELREC_X86
    typedef T Vec __attribute__((vector_size(W * sizeof(T))));
    Vec x;
    __builtin_memcpy(&x, v, sizeof(Vec));
    if constexpr (W == 4) {
        asm("sqrtps %1, %0" : "=x"(x) : "x"(x));
    } else {
        asm("vsqrtps %1, %0" : "=v"(x) : "v"(x));
    }
    __builtin_memcpy(v, &x, sizeof(Vec));
#else
    for (int l = 0; l < W; ++l) v[l] = std::sqrt(v[l]);
#endif
}

// One arm's UCB screen state and constants (see ucb_screen_step).
struct ScreenStep {
    const double* xn;
    double cw, crel, emu, scale, arm;
    double *best_lo, *arg, *hi_arg, *hi_other;
};

// The screen's bounds for the WD rows from r on, in double, from float widths
// w = sqrt(q) and means m (see quadform.hpp). Selects, not branches, so it
// vectorises; a non-finite input gives the bounds (-inf, inf). The first
// arm, or a strictly better lower bound, takes the lead; the others (and a
// displaced leader) raise hi_other. Each select takes a single comparison:
// GCC lowers logical operations between comparison masks lane by lane in
// these templates. (T is double and F float, as template parameters for the
// reason of sqrt_lanes.)
template <class T, int WD, class F>
REELREC_INLINE void screen_rows(const F* wf, const F* mf, int64_t r, const ScreenStep& s) {
    typedef T Vec __attribute__((vector_size(WD * sizeof(T))));
    typedef F VecF __attribute__((vector_size(WD * sizeof(F))));
    const Vec zero = Vec{}, inf = zero + __builtin_inf();
    VecF w32, m32;
    __builtin_memcpy(&w32, wf, sizeof(VecF));
    __builtin_memcpy(&m32, mf, sizeof(VecF));
    const Vec w = __builtin_convertvector(w32, Vec), mv = __builtin_convertvector(m32, Vec);
    Vec x, bl, ag, ha, ho;
    __builtin_memcpy(&x, s.xn + r, sizeof(Vec));
    __builtin_memcpy(&bl, s.best_lo + r, sizeof(Vec));
    __builtin_memcpy(&ag, s.arg + r, sizeof(Vec));
    __builtin_memcpy(&ha, s.hi_arg + r, sizeof(Vec));
    __builtin_memcpy(&ho, s.hi_other + r, sizeof(Vec));
    const Vec dw = s.cw * x, em = s.emu * x;
    // 0 when all four are finite, NaN otherwise
    const Vec finite = ((w - w) + (mv - mv)) + ((dw - dw) + (em - em));
    const Vec wl = w * (1.0 - s.crel) - dw;
    const Vec lo = finite == zero ? (mv - em) + s.scale * (wl > zero ? wl : zero) : -inf;
    const Vec hi = finite == zero ? (mv + em) + s.scale * (w * (1.0 + s.crel) + dw) : inf;
    // no leader yet (arg < 0, best_lo = -inf): this arm leads
    const Vec lo_lead = ag < zero ? inf : lo;
    const Vec displaced = lo_lead > bl ? ha : hi;
    const Vec cand = ag < zero ? -inf : displaced;
    ho = ho > cand ? ho : cand;
    ha = lo_lead > bl ? hi : ha;
    ag = lo_lead > bl ? zero + s.arm : ag;
    bl = lo_lead > bl ? lo : bl;
    __builtin_memcpy(s.best_lo + r, &bl, sizeof(Vec));
    __builtin_memcpy(s.arg + r, &ag, sizeof(Vec));
    __builtin_memcpy(s.hi_arg + r, &ha, sizeof(Vec));
    __builtin_memcpy(s.hi_other + r, &ho, sizeof(Vec));
}

// One arm's screen step over G float groups from xt (G W rows from r):
// widths and means in float, the width's square root in float too (its
// rounding, at most 2^-24 relative, lies well inside crel: see
// WidthScreen::build_factors), the bounds in double.
template <int W, int D, int G, int P>
REELREC_INLINE void screen_groups(const float* xt, const float* N, const float* mu, int64_t r,
                                  const ScreenStep& s) {
    alignas(64) float q[G * W], m[G * W];
    factor_pass<float, W, D, G, P, 0>(xt, N, mu, q, m);
#pragma GCC unroll 4
    for (int g = 0; g < G; ++g) sqrt_lanes<float, W>(q + g * W);
#pragma GCC unroll 8
    for (int h = 0; h < G * W; h += W / 2) screen_rows<double, W / 2, float>(q + h, m + h, r + h, s);
}

// Whole groups of n rows, G at a time (then one by one): the fused step of
// ucb_screen_step for d = D on a register file of R vectors. G = 2 pays
// with 16 registers (passes of few rows, each x_j load serving more FMAs);
// with 32, one group in one pass ran as fast (measured).
template <int W, int R, int D>
REELREC_INLINE void screen_body(const float* xt, int64_t n, const float* N, const float* mu,
                                const ScreenStep& s) {
    constexpr int G = R >= 32 ? 1 : 2;
    // one pass structure for both loops: a row's result must not depend on its batch
    constexpr int P = factor_pass_rows(D, G, R);
    const int64_t ng = (n + W - 1) / W;
    int64_t g = 0;
    for (; g + G <= ng; g += G) screen_groups<W, D, G, P>(xt + g * D * W, N, mu, g * W, s);
    for (; g < ng; ++g) screen_groups<W, D, 1, P>(xt + g * D * W, N, mu, g * W, s);
}

template <int W, int R, std::size_t... Ds>
REELREC_INLINE void screen_switch(const float* xt, int64_t n, int64_t d, const float* N, const float* mu,
                                  const ScreenStep& s, std::index_sequence<Ds...>) {
    (void)((d == static_cast<int64_t>(Ds + 1)
                ? (screen_body<W, R, static_cast<int>(Ds + 1)>(xt, n, N, mu, s), true)
                : false) ||
           ...);
}

// Rows to float groups with their norms, lanes innermost (contiguous
// stores, and the norms of a group's rows accumulate in one vector, each in
// ascending feature order).
template <int W, bool Fused>
REELREC_INLINE void transpose_norms_body(const double* X, int64_t n, int64_t d, float* xt, double* norms) {
    const int64_t ng = (n + W - 1) / W;
    for (int64_t g = 0; g < ng; ++g) {
        const int64_t rows = std::min<int64_t>(W, n - g * W);
        const double* xg = X + g * W * d;
        float* dst = xt + g * d * W;
        double s2[W];
        for (int l = 0; l < W; ++l) s2[l] = 0.0;
        // one code path for whole and partial groups: a row's norm must not
        // depend on the rows around it
        for (int64_t i = 0; i < d; ++i) {
            for (int l = 0; l < W; ++l) {
                const double v = l < rows ? xg[l * d + i] : 0.0;
                dst[i * W + l] = static_cast<float>(v);
                // Spelled out: GCC 13 contracted some lanes' v * v + s2 and not
                // others, so a row's norm changed with its place in the group.
                if constexpr (Fused) {
                    s2[l] = __builtin_fma(v, v, s2[l]);
                } else {
                    s2[l] += v * v;
                }
            }
        }
        for (int l = 0; l < rows; ++l) norms[g * W + l] = std::sqrt(s2[l]);
    }
}
using TransposeNormsFn = void (*)(const double*, int64_t, int64_t, float*, double*);
void transpose_norms_generic(const double* X, int64_t n, int64_t d, float* xt, double* norms) {
    transpose_norms_body<4, false>(X, n, d, xt, norms);
}
#ifdef REELREC_X86
__attribute__((target("avx2,fma"))) void transpose_norms_avx2(const double* X, int64_t n, int64_t d,
                                                              float* xt, double* norms) {
    transpose_norms_body<8, true>(X, n, d, xt, norms);
}
// 16 rows as two 8 x 8 double transposes per 8 features (shuffles, not
// the strided scalar reads of the generic body), the norms summed down the
// transposed columns, each in ascending feature order.
__attribute__((target("avx512f,avx512vl,avx2,fma"))) void transpose_norms_avx512(const double* X, int64_t n,
                                                                                 int64_t d, float* xt,
                                                                                 double* norms) {
    const __m512i pair_lo = _mm512_set_epi64(13, 12, 5, 4, 9, 8, 1, 0);
    const __m512i pair_hi = _mm512_set_epi64(15, 14, 7, 6, 11, 10, 3, 2);
    const int64_t ng = (n + 15) / 16;
    for (int64_t g = 0; g < ng; ++g) {
        float* dst = xt + g * d * 16;
        for (int h = 0; h < 2; ++h) {
            const int64_t r0 = g * 16 + h * 8;
            const int rows = static_cast<int>(std::max<int64_t>(0, std::min<int64_t>(8, n - r0)));
            __m512d s2 = _mm512_setzero_pd();
            for (int64_t c0 = 0; c0 < d; c0 += 8) {
                const int cols = static_cast<int>(std::min<int64_t>(8, d - c0));
                const __mmask8 cm = static_cast<__mmask8>((1u << cols) - 1u);
                __m512d r[8], t[8], u[8];
                for (int l = 0; l < 8; ++l) {
                    r[l] = l < rows ? _mm512_maskz_loadu_pd(cm, X + (r0 + l) * d + c0) : _mm512_setzero_pd();
                }
                for (int l = 0; l < 8; l += 2) {
                    t[l] = _mm512_unpacklo_pd(r[l], r[l + 1]);
                    t[l + 1] = _mm512_unpackhi_pd(r[l], r[l + 1]);
                }
                // u[0 + k], k < 4: columns k and k + 4 of rows 0-3 (low) / 4-7 (u[4 + k])
                for (int b = 0; b < 8; b += 4) {
                    u[b + 0] = _mm512_permutex2var_pd(t[b + 0], pair_lo, t[b + 2]);
                    u[b + 2] = _mm512_permutex2var_pd(t[b + 0], pair_hi, t[b + 2]);
                    u[b + 1] = _mm512_permutex2var_pd(t[b + 1], pair_lo, t[b + 3]);
                    u[b + 3] = _mm512_permutex2var_pd(t[b + 1], pair_hi, t[b + 3]);
                }
                for (int k = 0; k < 4; ++k) {
                    r[k] = _mm512_shuffle_f64x2(u[k], u[4 + k], 0x44);
                    r[k + 4] = _mm512_shuffle_f64x2(u[k], u[4 + k], 0xEE);
                }
                for (int k = 0; k < cols; ++k) {
                    s2 = _mm512_fmadd_pd(r[k], r[k], s2);
                    _mm256_storeu_ps(dst + (c0 + k) * 16 + h * 8, _mm512_cvtpd_ps(r[k]));
                }
            }
            _mm512_mask_storeu_pd(norms + r0, static_cast<__mmask8>((1u << rows) - 1u), _mm512_sqrt_pd(s2));
        }
    }
}
#endif

using ScreenFn = void (*)(const float*, int64_t, int64_t, const float*, const float*, const ScreenStep&);
void screen_generic(const float* xt, int64_t n, int64_t d, const float* N, const float* mu,
                    const ScreenStep& s) {
    screen_switch<4, 16>(xt, n, d, N, mu, s, std::make_index_sequence<kLaneMaxD>{});
}
#ifdef REELREC_X86
__attribute__((target("avx2,fma"))) void screen_avx2(const float* xt, int64_t n, int64_t d, const float* N,
                                                     const float* mu, const ScreenStep& s) {
    screen_switch<8, 16>(xt, n, d, N, mu, s, std::make_index_sequence<kLaneMaxD>{});
}
__attribute__((target("avx512f,avx512vl,avx2,fma"))) void screen_avx512(const float* xt, int64_t n, int64_t d,
                                                                        const float* N, const float* mu,
                                                                        const ScreenStep& s) {
    screen_switch<16, 32>(xt, n, d, N, mu, s, std::make_index_sequence<kLaneMaxD>{});
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

#ifdef REELREC_X86
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
#ifdef REELREC_X86
__attribute__((target("avx2,fma"))) double fma_avx2(bool single, int64_t it) {
    return single ? fma_chains<float, 8>(it) : fma_chains<double, 4>(it);
}
__attribute__((target("avx512f,avx2,fma"))) double fma_avx512(bool single, int64_t it) {
    return single ? fma_chains<float, 16>(it) : fma_chains<double, 8>(it);
}
#endif

// The kernels of one instruction set.
struct Kernels {
    Kernel<double> fn;
    Kernel<float> fn_f;
    Kernel<float> factor_f;
    void (*gram)(const double*, int64_t, int64_t, int64_t, double*);
    void (*matvec)(const double*, const double*, int64_t, double*);
    void (*rank1)(double*, const double*, double, int64_t);
    LaneKernel<double> lanes;
    LaneKernel<float> lanes_f;
    void (*dot)(const double*, int64_t, int64_t, const double*, double*);
    ScreenFn screen;
    TransposeNormsFn transpose_norms;
    double (*fma)(bool, int64_t);
    int lane_w;  // doubles per vector; floats are twice as many
    const char* name;
};
// clang-format off: one line per group of fields
constexpr Kernels kGeneric{kernel_generic, kernel_generic_f, factor_generic_f,
                           gram_generic, matvec_generic, rank1_generic,
                           lanes_generic, lanes_generic_f, dot_generic,
                           screen_generic, transpose_norms_generic,
                           fma_generic, 2, "generic"};
#ifdef REELREC_X86
constexpr Kernels kAvx2{kernel_avx2, kernel_avx2_f, factor_avx2_f,
                        gram_avx2, matvec_avx2, rank1_avx2,
                        lanes_avx2, lanes_avx2_f, dot_avx2,
                        screen_avx2, transpose_norms_avx2,
                        fma_avx2, 4, "avx2"};
constexpr Kernels kAvx512{kernel_avx512, kernel_avx512_f, factor_avx512_f,
                          gram_avx512, matvec_avx512, rank1_avx512,
                          lanes_avx512, lanes_avx512_f, dot_avx512,
                          screen_avx512, transpose_norms_avx512,
                          fma_avx512, 8, "avx512"};
// clang-format on
#endif
constexpr IsaTables<Kernels> kTables{&kGeneric, REELREC_X86_TABLE(kAvx2), REELREC_X86_TABLE(kAvx512)};

const Kernels& dispatch() { return best_once(kTables); }

}  // namespace

void quadform_rows(const double* X, int64_t n_rows, int64_t ld, int64_t d, const double* S, double* q) {
    dispatch().fn(X, n_rows, ld, d, S, q);
}

void quadform_rows(const float* X, int64_t n_rows, int64_t ld, int64_t d, const float* S, float* q) {
    dispatch().fn_f(X, n_rows, ld, d, S, q);
}

const char* quadform_isa() { return dispatch().name; }

double fma_peak_probe(bool single, int64_t iterations) { return dispatch().fma(single, iterations); }

int64_t fma_peak_lanes(bool single) { return (single ? 2 : 1) * dispatch().lane_w; }

void quadform_factor_rows(const float* X, int64_t n_rows, int64_t ld, int64_t d, const float* L, float* q) {
    dispatch().factor_f(X, n_rows, ld, d, L, q);
}

bool quadform_factor_rows_isa(const std::string& isa, const float* X, int64_t n_rows, int64_t ld, int64_t d,
                              const float* L, float* q) {
    const Kernels* k = kTables.find(isa);
    if (k) k->factor_f(X, n_rows, ld, d, L, q);
    return k != nullptr;
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

void ucb_screen_step(const float* xt, int64_t n_rows, int64_t d, const float* N, const float* mu,
                     const double* xn, double cw, double crel, double emu, double scale, int64_t arm,
                     double* best_lo, double* arg, double* hi_arg, double* hi_other) {
    const ScreenStep s{xn, cw, crel, emu, scale, static_cast<double>(arm), best_lo, arg, hi_arg, hi_other};
    dispatch().screen(xt, n_rows, d, N, mu, s);
}

bool ucb_screen_isa(const std::string& isa, const double* X, int64_t n_rows, int64_t d, int64_t n_arms,
                    const float* N, const float* mu, const double* cw, double crel, const double* emu,
                    double scale, double* xn, double* best_lo, double* arg, double* hi_arg,
                    double* hi_other) {
    const Kernels* k = kTables.find(isa);
    if (!k) return false;
    if (d < 1 || d > kLaneMaxD) return false;
    const TransposeNormsFn transpose = k->transpose_norms;
    const ScreenFn screen = k->screen;
    const int64_t lanes = 2 * k->lane_w;  // float lanes
    const int64_t padded = (n_rows + lanes - 1) / lanes * lanes;
    std::vector<float> xt(static_cast<std::size_t>(padded * d));
    std::vector<double> norms(static_cast<std::size_t>(padded), 0.0), lo(norms.size(), -HUGE_VAL),
        ag(norms.size(), -1.0), ha(norms.size(), -HUGE_VAL), ho(norms.size(), -HUGE_VAL);
    transpose(X, n_rows, d, xt.data(), norms.data());
    for (int64_t a = 0; a < n_arms; ++a) {
        const ScreenStep s{norms.data(),           cw[a],     crel,      emu[a],    scale,
                           static_cast<double>(a), lo.data(), ag.data(), ha.data(), ho.data()};
        screen(xt.data(), n_rows, d, N + a * d * d, mu + a * d, s);
    }
    std::copy_n(norms.data(), n_rows, xn);
    std::copy_n(lo.data(), n_rows, best_lo);
    std::copy_n(ag.data(), n_rows, arg);
    std::copy_n(ha.data(), n_rows, hi_arg);
    std::copy_n(ho.data(), n_rows, hi_other);
    return true;
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
    const Kernels* k = kTables.find(isa);
    if (k) k->gram(X, n_rows, ld, d, G);
    return k != nullptr;
}

template <class T>
bool quadform_rows_isa(const std::string& isa, const T* X, int64_t n_rows, int64_t ld, int64_t d, const T* S,
                       T* q) {
    const Kernels* k = kTables.find(isa);
    if (!k) return false;
    if constexpr (std::is_same_v<T, double>) {
        k->fn(X, n_rows, ld, d, S, q);
    } else {
        k->fn_f(X, n_rows, ld, d, S, q);
    }
    return true;
}

template bool quadform_rows_isa<double>(const std::string&, const double*, int64_t, int64_t, int64_t,
                                        const double*, double*);
template bool quadform_rows_isa<float>(const std::string&, const float*, int64_t, int64_t, int64_t,
                                       const float*, float*);

}  // namespace reelrec::bandits
