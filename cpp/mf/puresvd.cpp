#include "mf/puresvd.hpp"

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

namespace {

using RowMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using RowMap = Eigen::Map<RowMatrix>;

// out (A.n_rows x l) = A * B with B (A.n_cols x l), both row-major.
void sparse_times_dense(const CsrView& A, const double* B, int64_t l, double* out, int threads) {
#pragma omp parallel for schedule(dynamic, 256) num_threads(threads)
    for (int64_t r = 0; r < A.n_rows; ++r) {
        double* o = out + r * l;
        std::fill(o, o + l, 0.0);
        for (int64_t k = A.row_begin(r); k < A.row_end(r); ++k) {
            const double a = A.data ? static_cast<double>(A.data[k]) : 1.0;
            const double* b = B + static_cast<int64_t>(A.indices[k]) * l;
            for (int64_t f = 0; f < l; ++f) o[f] += a * b[f];
        }
    }
}

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
void tall_times_small(const double* Y, int64_t m, int64_t l, const Eigen::MatrixXd& S, double* out, int threads) {
    const int64_t k = S.cols();
    const int64_t n_chunks = std::max<int64_t>(1, m / 1024);
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
    for (int64_t c = 0; c < n_chunks; ++c) {
        const int64_t r0 = chunk_begin(c, n_chunks, m), r1 = chunk_begin(c + 1, n_chunks, m);
        RowMap(out + r0 * k, r1 - r0, k).noalias() = RowMap(const_cast<double*>(Y) + r0 * l, r1 - r0, l) * S;
    }
}

}  // namespace

void orthonormalize(double* Y, int64_t m, int64_t l, double* R, int num_threads) {
    if (m < l) throw std::invalid_argument("orthonormalize: needs at least as many rows as columns");
    const int64_t n_chunks = chunk_count(m, l);
    const int threads = static_cast<double>(m) * l * l < 4e6 ? 1 : resolve_threads(num_threads);
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
    Eigen::MatrixXd q_top;
    if (n_chunks == 1) {
        q_top = Eigen::MatrixXd::Identity(l, l);
    } else {
        const Eigen::HouseholderQR<Eigen::MatrixXd> qr(stacked);
        q_top = qr.householderQ() * Eigen::MatrixXd::Identity(n_chunks * l, l);
        stacked.topRows(l) = qr.matrixQR().topRows(l).triangularView<Eigen::Upper>();
    }
    if (R) RowMap(R, l, l) = stacked.topRows(l);
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
    for (int64_t c = 0; c < n_chunks; ++c) {
        const int64_t r0 = chunk_begin(c, n_chunks, m), rows = chunk_begin(c + 1, n_chunks, m) - r0;
        RowMap(Y + r0 * l, rows, l).noalias() = q_chunks[c] * q_top.middleRows(c * l, l);
    }
}

void randomized_svd(const CsrView& X, int64_t rank, int64_t oversampling, int power_iterations, uint64_t seed,
                    double* U, double* s, double* V, int num_threads) {
    const int64_t m = X.n_rows, n = X.n_cols;
    const int64_t l = std::min({rank + oversampling, m, n});
    if (rank < 1 || rank > l) throw std::invalid_argument("randomized_svd: rank must be in [1, min(n_rows, n_cols)]");
    const double work = static_cast<double>(X.nnz()) * l + static_cast<double>(m + n) * l * l;
    const int threads = work < 4e6 ? 1 : resolve_threads(num_threads);
    const CsrMatrix Xt_owned = transpose(X);
    const CsrView Xt = Xt_owned.view();
    std::vector<double> Y(static_cast<std::size_t>(m * l)), Z(static_cast<std::size_t>(n * l));
    gaussian_rows(Z.data(), n, l, seed, threads);
    sparse_times_dense(X, Z.data(), l, Y.data(), threads);
    orthonormalize(Y.data(), m, l, nullptr, threads);
    for (int q = 0; q < power_iterations; ++q) {
        sparse_times_dense(Xt, Y.data(), l, Z.data(), threads);
        orthonormalize(Z.data(), n, l, nullptr, threads);
        sparse_times_dense(X, Z.data(), l, Y.data(), threads);
        orthonormalize(Y.data(), m, l, nullptr, threads);
    }
    // X ~ Y B with B = Y^T X; B^T = X^T Y = Qb R and R = Ur S Vr^T give
    // X ~ (Y Vr) S (Qb Ur)^T.
    sparse_times_dense(Xt, Y.data(), l, Z.data(), threads);
    RowMatrix R(l, l);
    orthonormalize(Z.data(), n, l, R.data(), threads);
    const Eigen::JacobiSVD<Eigen::MatrixXd> svd(Eigen::MatrixXd(R), Eigen::ComputeFullU | Eigen::ComputeFullV);
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
