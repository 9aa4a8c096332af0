#include "mf/puresvd.hpp"

#include <Eigen/Cholesky>
#include <Eigen/Core>
#include <Eigen/Householder>
#include <Eigen/QR>
#include <Eigen/SVD>
#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

#include "common/csr_owned.hpp"
#include "common/parallel.hpp"
#include "mf/rng.hpp"

namespace reelrec::mf {

namespace detail {

// GCC clones the sparse product for AVX2 (chosen at load time). FMA stays off,
// so both clones round identically.
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define REELREC_SVD_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define REELREC_SVD_CLONES
#endif

// out (A.n_rows x l) = A * B with B (A.n_cols x l), both row-major. Columns go
// in tiles of 16 held in registers across the row's nonzeros.
REELREC_SVD_CLONES void sparse_times_dense(const CsrView& A, const double* B, int64_t l, double* out,
                                           int threads) {
    constexpr int64_t T = 16;
#pragma omp parallel for schedule(dynamic, 256) num_threads(threads)
    for (int64_t r = 0; r < A.n_rows; ++r) {
        const int64_t k0 = A.row_begin(r), k1 = A.row_end(r);
        int64_t f0 = 0;
        for (; f0 + T <= l; f0 += T) {
            double acc[T] = {};
            for (int64_t k = k0; k < k1; ++k) {
                const double a = A.data ? static_cast<double>(A.data[k]) : 1.0;
                const double* b = B + static_cast<int64_t>(A.indices[k]) * l + f0;
                for (int64_t f = 0; f < T; ++f) acc[f] += a * b[f];
            }
            std::copy(acc, acc + T, out + r * l + f0);
        }
        if (f0 < l) {
            double acc[T] = {};
            for (int64_t k = k0; k < k1; ++k) {
                const double a = A.data ? static_cast<double>(A.data[k]) : 1.0;
                const double* b = B + static_cast<int64_t>(A.indices[k]) * l + f0;
                for (int64_t f = 0; f < l - f0; ++f) acc[f] += a * b[f];
            }
            std::copy(acc, acc + (l - f0), out + r * l + f0);
        }
    }
}

}  // namespace detail

namespace {

using RowMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using RowMap = Eigen::Map<RowMatrix>;

// Standard normal entries, one SplitMix64 stream per row (Box-Muller).
void gaussian_rows(double* W, int64_t n, int64_t l, uint64_t seed, int threads) {
    constexpr double two_pi = 6.283185307179586;
    constexpr double unit = 1.0 / 9007199254740992.0;  // 2^-53
#pragma omp parallel for schedule(static) num_threads(threads)
    for (int64_t j = 0; j < n; ++j) {
        SplitMix64 rng(stream_seed(seed, 0x4f4d, static_cast<uint64_t>(j)));
        double* w = W + j * l;
        for (int64_t f = 0; f < l; f += 2) {
            const double u1 = static_cast<double>((rng.next() >> 11) + 1) * unit;  // (0, 1]
            const double u2 = static_cast<double>(rng.next() >> 11) * unit;
            const double radius = std::sqrt(-2.0 * std::log(u1));
            w[f] = radius * std::cos(two_pi * u2);
            if (f + 1 < l) w[f + 1] = radius * std::sin(two_pi * u2);
        }
    }
}

// Row chunks of the TSQR: fixed by the shape, each with >= l rows.
int64_t chunk_count(int64_t m, int64_t l) {
    const int64_t rows = std::max<int64_t>(4096, 4 * l);
    return std::max<int64_t>(1, m / rows);
}

int64_t chunk_begin(int64_t c, int64_t n_chunks, int64_t m) { return c == n_chunks ? m : c * (m / n_chunks); }

// out (m x k) = Y (m x l) * S (l x k), in row chunks.
void tall_times_small(const double* Y, int64_t m, int64_t l, const Eigen::MatrixXd& S, double* out,
                      int threads) {
    const int64_t k = S.cols();
    const int64_t n_chunks = std::max<int64_t>(1, m / 1024);
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
    for (int64_t c = 0; c < n_chunks; ++c) {
        const int64_t r0 = chunk_begin(c, n_chunks, m), r1 = chunk_begin(c + 1, n_chunks, m);
        RowMap(out + r0 * k, r1 - r0, k).noalias() = RowMap(const_cast<double*>(Y) + r0 * l, r1 - r0, l) * S;
    }
}

}  // namespace

namespace {

// Two-level TSQR; R (l x l, row-major) is written when not null.
void tsqr(double* Y, int64_t m, int64_t l, double* R, int threads) {
    const int64_t n_chunks = chunk_count(m, l);
    std::vector<Eigen::MatrixXd> q_chunks(static_cast<std::size_t>(n_chunks));
    Eigen::MatrixXd stacked = Eigen::MatrixXd::Zero(n_chunks * l, l);
    ExceptionCollector errors;
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
    for (int64_t c = 0; c < n_chunks; ++c) {
        errors.run([&] {
            const int64_t r0 = chunk_begin(c, n_chunks, m), rows = chunk_begin(c + 1, n_chunks, m) - r0;
            const Eigen::HouseholderQR<Eigen::MatrixXd> qr(Eigen::MatrixXd(RowMap(Y + r0 * l, rows, l)));
            q_chunks[c] = qr.householderQ() * Eigen::MatrixXd::Identity(rows, l);
            stacked.middleRows(c * l, l) = qr.matrixQR().topRows(l).triangularView<Eigen::Upper>();
        });
    }
    errors.rethrow();
    if (n_chunks == 1) {
        RowMap(Y, m, l) = q_chunks[0];
        if (R) RowMap(R, l, l) = stacked;
        return;
    }
    const Eigen::HouseholderQR<Eigen::MatrixXd> qr(stacked);
    const Eigen::MatrixXd q_top = qr.householderQ() * Eigen::MatrixXd::Identity(n_chunks * l, l);
    if (R) RowMap(R, l, l) = qr.matrixQR().topRows(l).triangularView<Eigen::Upper>();
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
    for (int64_t c = 0; c < n_chunks; ++c) {
        const int64_t r0 = chunk_begin(c, n_chunks, m), rows = chunk_begin(c + 1, n_chunks, m) - r0;
        RowMap(Y + r0 * l, rows, l).noalias() = q_chunks[c] * q_top.middleRows(c * l, l);
    }
}

// One Cholesky-QR pass: G = Y^T Y (fixed row chunks, summed in order), G = R^T R,
// Y <- Y R^-1. False, with Y untouched, when G is not numerically positive definite.
bool cholesky_qr_pass(double* Y, int64_t m, int64_t l, Eigen::MatrixXd& R, int threads) {
    const int64_t n_chunks = std::max<int64_t>(1, m / 1024);
    std::vector<Eigen::MatrixXd> grams(static_cast<std::size_t>(n_chunks));
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
    for (int64_t c = 0; c < n_chunks; ++c) {
        const int64_t r0 = chunk_begin(c, n_chunks, m), rows = chunk_begin(c + 1, n_chunks, m) - r0;
        const RowMap block(Y + r0 * l, rows, l);
        grams[c] = Eigen::MatrixXd::Zero(l, l);
        grams[c].selfadjointView<Eigen::Lower>().rankUpdate(block.transpose());
    }
    Eigen::MatrixXd G = grams[0];
    for (int64_t c = 1; c < n_chunks; ++c) G += grams[c];
    const Eigen::LLT<Eigen::MatrixXd, Eigen::Lower> llt(G);
    if (llt.info() != Eigen::Success) return false;
    R = llt.matrixU();
    const Eigen::VectorXd diag = R.diagonal().cwiseAbs();
    // diag(R) spans at most cond(Y): beyond ~1e6 the squared condition number
    // of G leaves too few correct digits for the second pass to repair.
    if (!(diag.minCoeff() > 1e-6 * diag.maxCoeff())) return false;
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
    for (int64_t c = 0; c < n_chunks; ++c) {
        const int64_t r0 = chunk_begin(c, n_chunks, m), rows = chunk_begin(c + 1, n_chunks, m) - r0;
        RowMap block(Y + r0 * l, rows, l);
        R.triangularView<Eigen::Upper>().solveInPlace<Eigen::OnTheRight>(block);
    }
    return true;
}

int orthonormalize_threads(int64_t m, int64_t l, int num_threads) {
    return static_cast<double>(m) * l * l < 4e6 ? 1 : resolve_threads(num_threads);
}

// Between power iterations only the spanned subspace matters, not orthogonality
// to the last digit: one Cholesky-QR pass (orthogonality error ~ u * cond^2 <=
// 1e-4 under the diag(R) test) is enough, the TSQR when even that fails.
void orthonormalize_once(double* Y, int64_t m, int64_t l, int num_threads) {
    const int threads = orthonormalize_threads(m, l, num_threads);
    Eigen::MatrixXd R1;
    if (!cholesky_qr_pass(Y, m, l, R1, threads)) tsqr(Y, m, l, nullptr, threads);
}

}  // namespace

void orthonormalize(double* Y, int64_t m, int64_t l, double* R, int num_threads, bool householder) {
    if (m < l) throw std::invalid_argument("orthonormalize: needs at least as many rows as columns");
    const int threads = orthonormalize_threads(m, l, num_threads);
    Eigen::MatrixXd R1, R2;
    if (householder || !cholesky_qr_pass(Y, m, l, R1, threads)) {
        tsqr(Y, m, l, R, threads);
        return;
    }
    // The second pass restores orthogonality to rounding level; its R is ~I,
    // anything else means the first pass lost too much: finish with the TSQR.
    const bool second = cholesky_qr_pass(Y, m, l, R2, threads);
    if (!second) R2 = Eigen::MatrixXd::Identity(l, l);
    Eigen::MatrixXd R_total = R2 * R1;
    if (!second || (R2.diagonal().array() - 1.0).abs().maxCoeff() >= 0.1) {
        RowMatrix R_fix(l, l);
        tsqr(Y, m, l, R_fix.data(), threads);
        R_total = R_fix * R_total;
    }
    if (R) RowMap(R, l, l) = R_total;
}

void randomized_svd(const CsrView& X, int64_t rank, int64_t oversampling, int power_iterations, uint64_t seed,
                    double* U, double* s, double* V, int num_threads) {
    const int64_t m = X.n_rows, n = X.n_cols;
    const int64_t l = std::min({rank + oversampling, m, n});
    if (rank < 1 || rank > l)
        throw std::invalid_argument("randomized_svd: rank must be in [1, min(n_rows, n_cols)]");
    // Flop estimate of the whole fit. Below ~1e9 (a few tens of milliseconds,
    // e.g. ML-100K) the ~30 fork-joins cost more than a second core returns on
    // a busy machine.
    const double work = (2.0 * power_iterations + 2.0) *
                        (2.0 * static_cast<double>(X.nnz()) * l + 4.0 * static_cast<double>(m + n) * l * l);
    const int threads = work < 1e9 ? 1 : resolve_threads(num_threads);
    const CsrMatrix Xt_owned = transpose(X);
    const CsrView Xt = Xt_owned.view();
    std::vector<double> Y(static_cast<std::size_t>(m * l)), Z(static_cast<std::size_t>(n * l));
    gaussian_rows(Z.data(), n, l, seed, threads);
    detail::sparse_times_dense(X, Z.data(), l, Y.data(), threads);
    for (int q = 0; q < power_iterations; ++q) {
        orthonormalize_once(Y.data(), m, l, threads);
        detail::sparse_times_dense(Xt, Y.data(), l, Z.data(), threads);
        orthonormalize_once(Z.data(), n, l, threads);
        detail::sparse_times_dense(X, Z.data(), l, Y.data(), threads);
    }
    orthonormalize(Y.data(), m, l, nullptr, threads, false);
    // X ~ Y B with B = Y^T X; B^T = X^T Y = Qb R and R = Ur S Vr^T give
    // X ~ (Y Vr) S (Qb Ur)^T.
    detail::sparse_times_dense(Xt, Y.data(), l, Z.data(), threads);
    RowMatrix R(l, l);
    orthonormalize(Z.data(), n, l, R.data(), threads, false);
    const Eigen::JacobiSVD<Eigen::MatrixXd> svd(Eigen::MatrixXd(R),
                                                Eigen::ComputeFullU | Eigen::ComputeFullV);
    Eigen::MatrixXd Ur = svd.matrixU().leftCols(rank), Vr = svd.matrixV().leftCols(rank);
    // Sign convention on V = Qb Ur: computed first, then flipped with U together.
    tall_times_small(Z.data(), n, l, Ur, V, threads);
    for (int64_t f = 0; f < rank; ++f) {
        int64_t best = 0;
        for (int64_t j = 1; j < n; ++j) {
            if (std::abs(V[j * rank + f]) > std::abs(V[best * rank + f])) best = j;
        }
        if (V[best * rank + f] < 0) {
            for (int64_t j = 0; j < n; ++j) V[j * rank + f] = -V[j * rank + f];
            Vr.col(f) = -Vr.col(f);
        }
        s[f] = svd.singularValues()(f);
    }
    if (U) tall_times_small(Y.data(), m, l, Vr, U, threads);
}

}  // namespace reelrec::mf
