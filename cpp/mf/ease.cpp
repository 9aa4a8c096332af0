#include "mf/ease.hpp"

#include <Eigen/Cholesky>
#include <Eigen/Core>
#include <algorithm>
#include <stdexcept>
#include <utility>
#include <vector>

#include "common/csr_owned.hpp"
#include "common/parallel.hpp"

namespace reelrec::mf {

namespace {

using RowMat = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Tile = Eigen::Map<RowMat, 0, Eigen::OuterStride<>>;

// 128 x 128 doubles (128 KiB) per tile: big enough for Eigen's GEMM kernels,
// small enough to give every thread work on catalogues of a few thousand items.
constexpr int64_t kTile = 128;
constexpr int64_t kSolveBlock = 64;

inline Tile tile(double* a, int64_t n, int64_t r0, int64_t c0, int64_t rows, int64_t cols) {
    return Tile(a + r0 * n + c0, rows, cols, Eigen::OuterStride<>(n));
}

}  // namespace

void gram_matrix(const CsrView& X, double l2, double* gram, int num_threads) {
    const int64_t n = X.n_cols;
    const CsrMatrix Xt = transpose(X);
    double work = 0;
    for (int64_t u = 0; u < X.n_rows; ++u) {
        const auto len = static_cast<double>(X.row_end(u) - X.row_begin(u));
        work += len * len;
    }
    const int threads = work + static_cast<double>(n) * n < 1e6 ? 1 : resolve_threads(num_threads);
#pragma omp parallel for schedule(dynamic, 8) num_threads(threads)
    for (int64_t i = 0; i < n; ++i) {
        double* row = gram + i * n;
        std::fill(row, row + n, 0.0);
        for (int64_t k = Xt.indptr[i]; k < Xt.indptr[i + 1]; ++k) {
            const int64_t u = Xt.indices[k];
            const double x_ui = X.data ? static_cast<double>(Xt.data[k]) : 1.0;
            for (int64_t kk = X.row_begin(u); kk < X.row_end(u); ++kk) {
                row[X.indices[kk]] += x_ui * (X.data ? static_cast<double>(X.data[kk]) : 1.0);
            }
        }
        row[i] += l2;
    }
}

void cholesky_lower(double* a, int64_t n, int num_threads) {
    const int threads = n < 2 * kTile ? 1 : resolve_threads(num_threads);
    std::vector<std::pair<int64_t, int64_t>> pairs;
    for (int64_t k0 = 0; k0 < n; k0 += kTile) {
        const int64_t kb = std::min(kTile, n - k0);
        Eigen::MatrixXd diag = tile(a, n, k0, k0, kb, kb);
        Eigen::LLT<Eigen::MatrixXd> llt(diag);
        if (llt.info() != Eigen::Success) {
            throw std::runtime_error("cholesky: the matrix is not positive definite");
        }
        const Eigen::MatrixXd L = llt.matrixL();
        tile(a, n, k0, k0, kb, kb).triangularView<Eigen::Lower>() = L;
        const int64_t rest = k0 + kb;
        const int64_t n_tiles = (n - rest + kTile - 1) / kTile;
        ExceptionCollector errors;
        // Panel: A_ik <- A_ik L_kk^-T for every tile row below the diagonal.
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
        for (int64_t t = 0; t < n_tiles; ++t) {
            errors.run([&] {
                const int64_t i0 = rest + t * kTile, ib = std::min(kTile, n - i0);
                Tile panel = tile(a, n, i0, k0, ib, kb);
                L.transpose().triangularView<Eigen::Upper>().solveInPlace<Eigen::OnTheRight>(panel);
            });
        }
        errors.rethrow();
        // Trailing update of the lower tiles: A_ij -= L_ik L_jk^T.
        pairs.clear();
        for (int64_t ti = 0; ti < n_tiles; ++ti)
            for (int64_t tj = 0; tj <= ti; ++tj) pairs.emplace_back(ti, tj);
        const auto n_pairs = static_cast<int64_t>(pairs.size());
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
        for (int64_t p = 0; p < n_pairs; ++p) {
            errors.run([&] {
                const int64_t i0 = rest + pairs[p].first * kTile, ib = std::min(kTile, n - i0);
                const int64_t j0 = rest + pairs[p].second * kTile, jb = std::min(kTile, n - j0);
                tile(a, n, i0, j0, ib, jb).noalias() -=
                    tile(a, n, i0, k0, ib, kb) * tile(a, n, j0, k0, jb, kb).transpose();
            });
        }
        errors.rethrow();
    }
}

void ease_weights(const CsrView& X, double l2, float* weights, int num_threads) {
    const int64_t n = X.n_cols;
    std::vector<double> g(static_cast<std::size_t>(n) * static_cast<std::size_t>(n));
    gram_matrix(X, l2, g.data(), num_threads);
    cholesky_lower(g.data(), n, num_threads);
    std::vector<double> diag_p(static_cast<std::size_t>(n));
    const int64_t n_blocks = (n + kSolveBlock - 1) / kSolveBlock;
    const int threads = n < 2 * kTile ? 1 : resolve_threads(num_threads);
    ExceptionCollector errors;
    // P[c0:, c0:c1] = L_s^-T L_s^-1 E with L_s = L[c0:, c0:] (L^-1 is lower
    // triangular, so its trailing block is L_s^-1). Rows above c0 are the mirror
    // of blocks already solved. Blocks write disjoint entries of `weights`.
#pragma omp parallel num_threads(threads)
    {
        Eigen::MatrixXd Z;
#pragma omp for schedule(dynamic, 1)
        for (int64_t blk = 0; blk < n_blocks; ++blk) {
            errors.run([&] {
                const int64_t c0 = blk * kSolveBlock, cb = std::min(kSolveBlock, n - c0), m = n - c0;
                Z.setZero(m, cb);
                for (int64_t j = 0; j < cb; ++j) Z(j, j) = 1.0;
                Tile Ls = tile(g.data(), n, c0, c0, m, m);
                Ls.triangularView<Eigen::Lower>().solveInPlace(Z);
                Ls.triangularView<Eigen::Lower>().transpose().solveInPlace(Z);
                for (int64_t r = 0; r < m; ++r) {
                    for (int64_t j = 0; j < cb; ++j) {
                        const auto value = static_cast<float>(Z(r, j));
                        weights[(c0 + r) * n + c0 + j] = value;
                        weights[(c0 + j) * n + c0 + r] = value;
                    }
                }
                for (int64_t j = 0; j < cb; ++j) diag_p[c0 + j] = Z(j, j);
            });
        }
    }
    errors.rethrow();
#pragma omp parallel for schedule(static) num_threads(threads)
    for (int64_t i = 0; i < n; ++i) {
        float* row = weights + i * n;
        for (int64_t j = 0; j < n; ++j) row[j] = static_cast<float>(-row[j] / diag_p[j]);
        row[i] = 0.f;
    }
}

}  // namespace reelrec::mf
