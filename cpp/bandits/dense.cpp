#include "bandits/dense.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "common/cpu.hpp"

namespace reelrec::bandits {

namespace {

#if defined(__GNUC__)
#define REELREC_INLINE inline __attribute__((always_inline))
// A lambda does not inherit its enclosing function's target attribute: unless
// it is inlined, its vector code compiles for the baseline ISA (measured: the
// AVX-512 Cholesky ran at 2 G FMA/s through an outlined SSE2 lambda).
#define REELREC_LAMBDA_INLINE __attribute__((always_inline))
#else
#define REELREC_INLINE inline
#define REELREC_LAMBDA_INLINE
#endif

// How a tile's sums reach its destination.
enum class Store { Subtract, Negate, Assign, Add };

// For rows r < R and columns c < V * W of one tile:
//   dst[r * ldd + c] (-)= sum_{k in [k0, k1)} B[k * bk + r * br] * C[k * ldc + c]
// (or = the negated sum). B's element is broadcast, C's row loaded as V
// vectors, so each C load serves R rows. Every sum starts from zero and adds
// its products in ascending k, whatever R, V and W are: an entry's value does
// not depend on the tile it falls in.
template <int W, int R, int V, Store How>
REELREC_INLINE void outer_tile(const double* B, int64_t bk, int64_t br, const double* C, int64_t ldc,
                               int64_t k0, int64_t k1, double* dst, int64_t ldd) {
    typedef double Vec __attribute__((vector_size(W * sizeof(double))));
    Vec acc[R][V];
    for (int r = 0; r < R; ++r) {
        for (int v = 0; v < V; ++v) acc[r][v] = Vec{};
    }
    for (int64_t k = k0; k < k1; ++k) {
        Vec cv[V];
        for (int v = 0; v < V; ++v) __builtin_memcpy(&cv[v], C + k * ldc + v * W, sizeof(Vec));
        for (int r = 0; r < R; ++r) {
            // x - 0 is a broadcast the compiler folds (see quadform.cpp's tile_steps).
            const Vec b = B[k * bk + r * br] - Vec{};
            for (int v = 0; v < V; ++v) acc[r][v] += b * cv[v];
        }
    }
    for (int r = 0; r < R; ++r) {
        for (int v = 0; v < V; ++v) {
            double* p = dst + r * ldd + v * W;
            Vec out;
            if constexpr (How == Store::Subtract) {
                __builtin_memcpy(&out, p, sizeof(Vec));
                out -= acc[r][v];
            } else if constexpr (How == Store::Add) {
                __builtin_memcpy(&out, p, sizeof(Vec));
                out += acc[r][v];
            } else if constexpr (How == Store::Negate) {
                out = -acc[r][v];
            } else {
                out = acc[r][v];
            }
            __builtin_memcpy(p, &out, sizeof(Vec));
        }
    }
}

// outer_tile over the columns [j_begin, j_end) of C and dst: wide tiles of
// V * W, then W, W / 2 and single columns. With KFromColumn the sum of a tile
// starting at column j runs over k in [max(k0, j), k1): C is lower triangular
// there (C[k][j] = 0 for k < j), so the rows skipped hold only zeros.
template <int W, int R, int V, Store How, bool KFromColumn>
REELREC_INLINE void outer_strip(const double* B, int64_t bk, int64_t br, const double* C, int64_t ldc,
                                int64_t k0, int64_t k1, int64_t j_begin, int64_t j_end, double* dst,
                                int64_t ldd) {
    auto lo = [&](int64_t j) REELREC_LAMBDA_INLINE { return KFromColumn ? std::max(k0, j) : k0; };
    int64_t j = j_begin;
    for (; j + V * W <= j_end; j += V * W) {
        outer_tile<W, R, V, How>(B, bk, br, C + j, ldc, lo(j), k1, dst + j, ldd);
    }
    for (; j + W <= j_end; j += W) outer_tile<W, R, 1, How>(B, bk, br, C + j, ldc, lo(j), k1, dst + j, ldd);
    if constexpr (W >= 4) {
        for (; j + W / 2 <= j_end; j += W / 2) {
            outer_tile<W / 2, R, 1, How>(B, bk, br, C + j, ldc, lo(j), k1, dst + j, ldd);
        }
    }
    for (; j < j_end; ++j) outer_tile<1, R, 1, How>(B, bk, br, C + j, ldc, lo(j), k1, dst + j, ldd);
}

// A block of rb <= R rows starting at i0: strip(rows, i) runs a strip of
// rows.value rows from row i, R rows at i0 for a full block, else one row at
// a time.
template <int R, class Strip>
REELREC_INLINE void row_blocks(int64_t i0, int64_t rb, Strip&& strip) {
    if (rb == R) {
        strip(std::integral_constant<int, R>{}, i0);
    } else {
        for (int64_t i = i0; i < i0 + rb; ++i) strip(std::integral_constant<int, 1>{}, i);
    }
}

// A = U^T U in place: U (upper triangular) replaces A's upper triangle; the
// strict lower triangle is left as scratch. Blocks of R rows: the block's rows
// first receive the updates of all rows above it (one register-tiled strip),
// then its own R rows are finished one after another.
template <int W, int R, int V>
REELREC_INLINE bool cholesky_upper(double* A, int64_t d) {
    constexpr double kMax = std::numeric_limits<double>::max();
    for (int64_t i0 = 0; i0 < d; i0 += R) {
        const int64_t rb = std::min<int64_t>(R, d - i0);
        if (i0 > 0) {
            // A[i][j] -= sum_{k < i0} U[k][i] U[k][j] for j >= i0.
            row_blocks<R>(i0, rb, [&](auto rows, int64_t i) REELREC_LAMBDA_INLINE {
                outer_strip<W, decltype(rows)::value, V, Store::Subtract, false>(A + i, d, 1, A, d, 0, i0, i0,
                                                                                 d, A + i * d, d);
            });
        }
        for (int64_t i = i0; i < i0 + rb; ++i) {
            double* __restrict row = A + i * d;
            for (int64_t k = i0; k < i; ++k) {
                const double c = A[k * d + i];
                const double* __restrict uk = A + k * d;
                for (int64_t j = i; j < d; ++j) row[j] -= c * uk[j];
            }
            const double p = row[i];
            if (!(p > 0.0 && p <= kMax)) return false;
            const double pivot = std::sqrt(p);
            row[i] = pivot;
            for (int64_t j = i + 1; j < d; ++j) row[j] /= pivot;
        }
    }
    return true;
}

// M = U^-T (lower triangular, row-major, its upper triangle set to zero) by
// forward substitution on the rows of U^T M = I:
//   M[i][j] = (delta_ij - sum_{j <= k < i} U[k][i] M[k][j]) / U[i][i].
template <int W, int R, int V>
REELREC_INLINE void lower_inverse(const double* U, int64_t d, double* M) {
    for (int64_t i0 = 0; i0 < d; i0 += R) {
        const int64_t rb = std::min<int64_t>(R, d - i0);
        if (i0 > 0) {
            // M[i][j] = -sum_{j <= k < i0} U[k][i] M[k][j] for j < i0.
            row_blocks<R>(i0, rb, [&](auto rows, int64_t i) REELREC_LAMBDA_INLINE {
                outer_strip<W, decltype(rows)::value, V, Store::Negate, true>(U + i, d, 1, M, d, 0, i0, 0, i0,
                                                                              M + i * d, d);
            });
        }
        for (int64_t i = i0; i < i0 + rb; ++i) {
            double* __restrict row = M + i * d;
            for (int64_t j = i0; j < i; ++j) row[j] = 0.0;
            row[i] = 1.0;
            for (int64_t k = i0; k < i; ++k) {
                const double c = U[k * d + i];
                const double* __restrict mk = M + k * d;
                for (int64_t j = 0; j <= k; ++j) row[j] -= c * mk[j];
            }
            const double pivot = U[i * d + i];
            for (int64_t j = 0; j <= i; ++j) row[j] /= pivot;
            for (int64_t j = i + 1; j < d; ++j) row[j] = 0.0;
        }
    }
}

// P = M^T M for lower triangular M: P[i][j] = sum_{k >= max(i, j)} M[k][i]
// M[k][j]. The upper triangle is computed (a tile at column j sums from
// k = j), then mirrored, so P is exactly symmetric.
template <int W, int R, int V>
REELREC_INLINE void gram_of_lower(const double* M, int64_t d, double* P) {
    for (int64_t i0 = 0; i0 < d; i0 += R) {
        const int64_t rb = std::min<int64_t>(R, d - i0);
        row_blocks<R>(i0, rb, [&](auto rows, int64_t i) REELREC_LAMBDA_INLINE {
            outer_strip<W, decltype(rows)::value, V, Store::Assign, true>(M + i, d, 1, M, d, i, d, i, d,
                                                                          P + i * d, d);
        });
    }
    for (int64_t i = 0; i < d; ++i) {
        for (int64_t j = i + 1; j < d; ++j) P[j * d + i] = P[i * d + j];
    }
}

template <int W, int R, int V>
REELREC_INLINE bool inverse_body(double* A, int64_t d, double* work) {
    if (!cholesky_upper<W, R, V>(A, d)) return false;
    lower_inverse<W, R, V>(A, d, work);
    gram_of_lower<W, R, V>(work, d, A);
    for (int64_t i = 0; i < d; ++i) {
        const double p = A[i * d + i];
        if (!(std::abs(p) <= std::numeric_limits<double>::max())) return false;
    }
    return true;
}

// out[r][a] = X_r . Mu_a: Mu transposed into mut (d x n_arms), then tiles of R
// rows x (V * W) arms with the row's features broadcast.
template <int W, int R, int V>
REELREC_INLINE void means_body(const double* X, int64_t n, int64_t d, const double* Mu, int64_t S,
                               double* out, int64_t ldo, double* mut) {
    for (int64_t a = 0; a < S; ++a) {
        for (int64_t k = 0; k < d; ++k) mut[k * S + a] = Mu[a * d + k];
    }
    int64_t r = 0;
    for (; r + R <= n; r += R) {
        outer_strip<W, R, V, Store::Assign, false>(X + r * d, 1, d, mut, S, 0, d, 0, S, out + r * ldo, ldo);
    }
    for (; r < n; ++r) {
        outer_strip<W, 1, V, Store::Assign, false>(X + r * d, 1, d, mut, S, 0, d, 0, S, out + r * ldo, ldo);
    }
}

// The Gram matrix of the rows z_t = [X[rows[t]], r[rows[t]]] (d + 1 columns),
// packed 128 rows at a time into column panels of V * W (zero-padded past
// d + 1), so that a tile streams two sequential panels (the R broadcast
// columns and the V * W loaded ones) instead of a strided row per step; the
// packing is also the gather of the arm's rows. The lower triangle's tiles
// add their chunk sums into a padded accumulator C, copied into G's lower
// triangle and mirrored at the end.
constexpr int64_t kPackRows = 128;
constexpr int64_t kPrefetchRows = 8;
template <int W, int R, int V>
REELREC_INLINE void ridge_gram_body(const double* X, const double* r, const int64_t* rows, int64_t n,
                                    int64_t d, double* G, double* pk, double* C) {
    constexpr int64_t PW = V * W;
    static_assert(PW % R == 0, "row blocks must not straddle panels");
    const int64_t m = d + 1, np = (m + PW - 1) / PW, dpp = np * PW;
    std::fill(C, C + dpp * dpp, 0.0);
    for (int64_t t0 = 0; t0 < n; t0 += kPackRows) {
        const int64_t nt = std::min(kPackRows, n - t0);
        for (int64_t t = 0; t < nt; ++t) {
            // An arm's rows lie far apart in X: each is a trip to memory,
            // requested a few rows ahead of its copy.
            if (t0 + t + kPrefetchRows < n) {
                const char* ahead = reinterpret_cast<const char*>(X + rows[t0 + t + kPrefetchRows] * d);
                for (int64_t c = 0; c < d * 8; c += 64) __builtin_prefetch(ahead + c);
            }
            const int64_t i = rows[t0 + t];
            const double* x = X + i * d;
            for (int64_t q = 0; q < np; ++q) {
                double* dst = pk + q * nt * PW + t * PW;
                const int64_t c0 = q * PW, c1 = std::min(c0 + PW, d);
                int64_t c = c0;
                for (; c < c1; ++c) dst[c - c0] = x[c];
                for (; c < c0 + PW; ++c) dst[c - c0] = c == d ? r[i] : 0.0;
            }
        }
        for (int64_t q = 0; q < np; ++q) {
            const int64_t j0 = q * PW;
            const double* cols = pk + q * nt * PW;
            for (int64_t i0 = j0; i0 < dpp; i0 += R) {
                const double* bcast = pk + (i0 / PW) * nt * PW + i0 % PW;
                outer_tile<W, R, V, Store::Add>(bcast, PW, 1, cols, PW, 0, nt, C + i0 * dpp + j0, dpp);
            }
        }
    }
    for (int64_t i = 0; i < m; ++i) {
        for (int64_t j = 0; j <= i; ++j) G[i * m + j] = C[i * dpp + j];
    }
    for (int64_t i = 0; i < m; ++i) {
        for (int64_t j = i + 1; j < m; ++j) G[i * m + j] = G[j * m + i];
    }
}

using InverseFn = bool (*)(double*, int64_t, double*);
using MeansFn = void (*)(const double*, int64_t, int64_t, const double*, int64_t, double*, int64_t, double*);
using GramFn = void (*)(const double*, const double*, const int64_t*, int64_t, int64_t, double*, double*,
                        double*);

// Register tiles as in quadform.cpp: R rows x (V * W) columns of accumulators
// for 16 (SSE2, AVX2) or 32 (AVX-512) vector registers.
bool inverse_generic(double* A, int64_t d, double* work) { return inverse_body<2, 4, 2>(A, d, work); }
bool cholesky_generic(double* A, int64_t d) { return cholesky_upper<2, 4, 2>(A, d); }
void means_generic(const double* X, int64_t n, int64_t d, const double* Mu, int64_t S, double* out,
                   int64_t ldo, double* mut) {
    means_body<2, 4, 2>(X, n, d, Mu, S, out, ldo, mut);
}

void gram_generic(const double* X, const double* r, const int64_t* rows, int64_t n, int64_t d, double* G,
                  double* pk, double* C) {
    ridge_gram_body<2, 4, 2>(X, r, rows, n, d, G, pk, C);
}

#ifdef REELREC_X86
__attribute__((target("avx2,fma"))) void gram_avx2(const double* X, const double* r, const int64_t* rows,
                                                   int64_t n, int64_t d, double* G, double* pk, double* C) {
    ridge_gram_body<4, 4, 2>(X, r, rows, n, d, G, pk, C);
}
__attribute__((target("avx512f,avx2,fma"))) void gram_avx512(const double* X, const double* r,
                                                             const int64_t* rows, int64_t n, int64_t d,
                                                             double* G, double* pk, double* C) {
    ridge_gram_body<8, 8, 2>(X, r, rows, n, d, G, pk, C);
}
__attribute__((target("avx2,fma"))) bool inverse_avx2(double* A, int64_t d, double* work) {
    return inverse_body<4, 4, 2>(A, d, work);
}
__attribute__((target("avx2,fma"))) bool cholesky_avx2(double* A, int64_t d) {
    return cholesky_upper<4, 4, 2>(A, d);
}
__attribute__((target("avx2,fma"))) void means_avx2(const double* X, int64_t n, int64_t d, const double* Mu,
                                                    int64_t S, double* out, int64_t ldo, double* mut) {
    means_body<4, 4, 2>(X, n, d, Mu, S, out, ldo, mut);
}
__attribute__((target("avx512f,avx2,fma"))) bool inverse_avx512(double* A, int64_t d, double* work) {
    return inverse_body<8, 8, 2>(A, d, work);
}
__attribute__((target("avx512f,avx2,fma"))) bool cholesky_avx512(double* A, int64_t d) {
    return cholesky_upper<8, 8, 2>(A, d);
}
__attribute__((target("avx512f,avx2,fma"))) void means_avx512(const double* X, int64_t n, int64_t d,
                                                              const double* Mu, int64_t S, double* out,
                                                              int64_t ldo, double* mut) {
    means_body<8, 8, 2>(X, n, d, Mu, S, out, ldo, mut);
}
#endif

// The kernels of one instruction set.
struct Kernels {
    InverseFn inverse;
    bool (*cholesky)(double*, int64_t);
    MeansFn means;
    GramFn gram;
    int64_t panel;
    const char* name;
};
constexpr Kernels kGeneric{inverse_generic, cholesky_generic, means_generic, gram_generic, 4, "generic"};
#ifdef REELREC_X86
constexpr Kernels kAvx2{inverse_avx2, cholesky_avx2, means_avx2, gram_avx2, 8, "avx2"};
constexpr Kernels kAvx512{inverse_avx512, cholesky_avx512, means_avx512, gram_avx512, 16, "avx512"};
#endif
constexpr IsaTables<Kernels> kTables{&kGeneric, REELREC_X86_TABLE(kAvx2), REELREC_X86_TABLE(kAvx512)};

const Kernels& dispatch() { return best_once(kTables); }

void run_means(MeansFn fn, const double* X, int64_t n, int64_t d, const double* Mu, int64_t S, double* out,
               int64_t ldo) {
    if (n <= 0 || S <= 0) return;
    // One transposed copy per thread, reused across calls.
    thread_local std::vector<double> mut;
    mut.resize(static_cast<std::size_t>(d * S));
    fn(X, n, d, Mu, S, out, ldo, mut.data());
}

void run_gram(GramFn fn, int64_t panel, const double* X, const double* r, const int64_t* rows, int64_t n,
              int64_t d, double* G) {
    const int64_t dpp = (d + panel) / panel * panel;
    // Packed rows and the padded accumulator, per thread and reused.
    thread_local std::vector<double> pk, acc;
    pk.resize(static_cast<std::size_t>(kPackRows * dpp));
    acc.resize(static_cast<std::size_t>(dpp * dpp));
    fn(X, r, rows, n, d, G, pk.data(), acc.data());
}

}  // namespace

bool spd_inverse(double* A, int64_t d, double* work) { return dispatch().inverse(A, d, work); }

namespace {
bool run_cholesky(bool (*fn)(double*, int64_t), double* A, int64_t d) {
    if (!fn(A, d)) return false;
    for (int64_t i = 0; i < d; ++i) {
        for (int64_t j = 0; j < i; ++j) A[i * d + j] = 0.0;
    }
    return true;
}
}  // namespace

bool spd_cholesky(double* A, int64_t d) { return run_cholesky(dispatch().cholesky, A, d); }

bool spd_cholesky_isa(const std::string& isa, double* A, int64_t d, bool& ok) {
    const Kernels* k = kTables.find(isa);
    if (!k) return false;
    ok = run_cholesky(k->cholesky, A, d);
    return true;
}

bool spd_inverse_isa(const std::string& isa, double* A, int64_t d, double* work, bool& ok) {
    const Kernels* k = kTables.find(isa);
    if (!k) return false;
    ok = k->inverse(A, d, work);
    return true;
}

void block_means(const double* X, int64_t n_rows, int64_t d, const double* Mu, int64_t n_arms, double* out,
                 int64_t ld_out) {
    run_means(dispatch().means, X, n_rows, d, Mu, n_arms, out, ld_out);
}

bool block_means_isa(const std::string& isa, const double* X, int64_t n_rows, int64_t d, const double* Mu,
                     int64_t n_arms, double* out, int64_t ld_out) {
    const Kernels* k = kTables.find(isa);
    if (!k) return false;
    run_means(k->means, X, n_rows, d, Mu, n_arms, out, ld_out);
    return true;
}

void ridge_gram(const double* X, const double* r, const int64_t* rows, int64_t n, int64_t d, double* G) {
    run_gram(dispatch().gram, dispatch().panel, X, r, rows, n, d, G);
}

bool ridge_gram_isa(const std::string& isa, const double* X, const double* r, const int64_t* rows, int64_t n,
                    int64_t d, double* G) {
    const Kernels* k = kTables.find(isa);
    if (!k) return false;
    run_gram(k->gram, k->panel, X, r, rows, n, d, G);
    return true;
}

const char* dense_isa() { return dispatch().name; }

}  // namespace reelrec::bandits
