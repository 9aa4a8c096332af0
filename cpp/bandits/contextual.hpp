// Blockwise selection shared by the contextual policies (LinUCB, LinTS,
// LogisticTS, hybrid LinUCB).
//
// Each of them scores request x against arm a as a mean x . mu_a plus a width
// sqrt(x^T Sigma_a x); UCB adds alpha * width, Thompson sampling draws
// mean + v * width * N(0, 1) (the exact law of x . theta~ when theta~ is drawn
// from N(mu_a, v^2 Sigma_a), without drawing the d-dimensional theta~).
//
// Requests are processed in blocks so that one GEMM gives all means of the
// block and each arm's matrix is streamed once per block; rows are then handed
// to the slate builder with their own random stream (thread-count invariant).
//
// Memory: O(threads * block * n_slots) scratch, block <= 256 rows.
#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <vector>

#include "bandits/slate.hpp"
#include "common/parallel.hpp"

namespace reelrec::bandits {

// width(X_block, n_rows, arm, q) must fill q[r] = x_r^T Sigma_arm x_r; it is
// called concurrently from several threads with different blocks.
template <class WidthFn>
void contextual_select(PolicyCore& core, const SelectConfig& cfg, const double* X, int64_t n, int64_t d,
                       const double* mean, double scale, double work_per_arm, const Availability& avail,
                       WidthFn&& width, int64_t* out_arms, double* out_p) {
    using RowMat = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    const int64_t S = core.arms.n_slots();
    std::vector<int64_t> live;
    for (int64_t a = 0; a < S; ++a) {
        if (core.arms.is_active(a)) live.push_back(a);
    }
    SlateSelector sel(cfg, core, core.next_request);
    sel.make_pool(nullptr, nullptr, cfg.num_threads);
    const int64_t block = std::max<int64_t>(1, std::min<int64_t>(256, (int64_t(1) << 18) / std::max<int64_t>(S, 1)));
    const int64_t n_blocks = (n + block - 1) / block;
    const double per_request = static_cast<double>(live.size()) * (work_per_arm + 2.0 * d) +
                               static_cast<double>(S) * cfg.k * (1.0 + static_cast<double>(cfg.n_mc));
    const int threads = n_blocks < 2 ? 1 : sel.threads_for(n, per_request);
    const bool greedy = cfg.rule == Rule::Greedy;
    ExceptionCollector errors;
#pragma omp parallel num_threads(threads)
    {
        RowMat M(block, S), W(block, S);
        std::vector<double> q(static_cast<std::size_t>(block));
        SlateScratch scratch;
#pragma omp for schedule(dynamic, 1)
        for (int64_t b = 0; b < n_blocks; ++b) {
            errors.run([&] {
                const int64_t r0 = b * block;
                const int64_t nb = std::min(block, n - r0);
                const double* xb = X + r0 * d;
                Eigen::Map<const RowMat> Xb(xb, nb, d);
                Eigen::Map<const RowMat> Mu(mean, S, d);
                M.topRows(nb).noalias() = Xb * Mu.transpose();
                for (int64_t a : live) {
                    width(xb, nb, a, q.data());
                    for (int64_t r = 0; r < nb; ++r) {
                        const double wv = std::sqrt(std::max(q[r], 0.0)) * scale;
                        W(r, a) = wv;
                        if (greedy) M(r, a) += wv;
                    }
                }
                for (int64_t r = 0; r < nb; ++r) {
                    sel.choose(r0 + r, M.data() + r * S, W.data() + r * S, avail.row(r0 + r, S),
                               out_arms + (r0 + r) * cfg.k, out_p + (r0 + r) * cfg.k, scratch);
                }
            });
        }
    }
    errors.rethrow();
    core.next_request += n;
}

}  // namespace reelrec::bandits
