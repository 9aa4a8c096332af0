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
// Screening (UCB rule with full matrices, d > 24): the widths of a block are
// first computed in single precision, which runs twice as many lanes, as
// |L_a^T x| from a float Cholesky factor S_a = L_a L_a^T (quadform_factor_rows)
// with a rigorous bound: the float width w is within crel w + cw_a |x| of the
// double one (WidthScreen::build_factors); the means are the exact double
// ones. (x^T S x from S's entries cancels badly when S is wide along
// directions the contexts avoid, e.g. redundant features: on the benchmark's
// make_classification contexts its Frobenius-norm bound was 6 % of the width
// and left 3.7 arms per request to rescore, against 1.04 with the factor.
// Without a factor, e.g. S not numerically positive definite in float, that
// bound is used.) An arm is evaluated again in double precision only if its
// upper bound reaches the k-th largest lower bound of the request's
// candidates; the others cannot enter the slate and get score -inf. With
// k = 1 and a plain argmax, a lone survivor is the unique argmax and needs no
// double width at all. The slate, ties and propensities are therefore exactly
// those of the double-precision scores, for about half the arithmetic,
// gathered by arm so that each read of an arm's matrix serves all its
// surviving rows of a block.
//
// Single-precision widths (Thompson rule with full matrices, d >= 16): the
// sampled score m + v * w * N(0, 1) takes its width w from the float kernel
// directly (|L^T x| for d > 24, x^T S x for 16 <= d <= 24). The policy is
// then Thompson sampling with a width perturbed by a relative error below
// crel + cw |x| / w for the factor (a median bound of 7e-4 on the benchmark's collinear
// contexts, typically far less), or quadform_f32_error_factor(d) |x|^2
// ||S||_F / x^T S x for S itself (about 1e-5 for a well-conditioned S), far
// below the sampling noise itself; the Monte Carlo propensities use the same
// widths, so they describe the policy that actually ran. Each row's width
// depends only on that row, so decisions still do not depend on batching or
// threads.
//
// UCB screen for small d (d <= 24, k = 1, no mask, epsilon or exploration
// share; the common LinUCB call): every arm's mean and width are computed in
// single precision in the lane kernel (16 contexts per AVX-512 vector), the
// width as |N x| from a triangular factor S = N^T N (x^T S x from S's
// entries cancels badly when S is wide along directions the contexts avoid,
// e.g. collinear features, and its float error bound is then useless).
// Rigorous bounds [lo, hi] of each double-precision score follow in the same
// pass (ucb_screen_step); a request whose best lower bound exceeds every other
// arm's upper bound is decided outright (propensity 1, exactly what the
// double argmax gives); any other request (a close call or an exact tie) is
// scored in double precision by the unscreened kernels, after all blocks and
// all such requests together, and goes through choose_fast / choose.
// Decisions and propensities are therefore bit for bit those of the double
// path, for about half its arithmetic; on the benchmark's small shape 0.5 %
// of requests need the double scores.
//
// Small d (quadform_lanes_apply, d <= 24) without screening: each block is
// transposed once into groups of vector lanes (contexts across lanes), and
// the means and widths of every arm are read from there; quadform_rows uses
// the same lane kernel for these d, so the widths are the same bit for bit.
//
// One-pass selection (SlateSelector::choose_fast): with k = 1, no mask and
// no guaranteed exploration, a UCB rule without epsilon takes the argmax
// directly (propensity 1; ties go to the slate builder) and a Normal
// Thompson rule draws and counts its Monte Carlo wins in one fused scan.
// Same arithmetic and random streams as the slate builder (tested).
//
// Memory: O(threads * block * n_slots) scratch, block <= 256 rows.
#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <vector>

#include "bandits/dense.hpp"
#include "bandits/quadform.hpp"
#include "bandits/slate.hpp"
#include "bandits/thompson_batch.hpp"
#include "common/parallel.hpp"

namespace reelrec::bandits {

// Single-precision copies of the arms' width matrices for screening.
// The float kernels' error bounds assume that nothing overflows or turns
// subnormal in single precision. That holds for contexts whose largest |x|
// lies in [2^-20, 2^20] (or that are 0) against matrices whose largest entry
// lies in [2^-60, 2^40] and means below 2^60: widths then stay within
// d * 2^40 and products above 2^-100. Rows outside that range are scored in
// double (a property of the row alone, so batching cannot change a result);
// a state outside it (WidthScreen::float_ok) sends the whole call there.
inline bool float_row_ok(const double* x, int64_t d) {
    double m = 0.0;
    for (int64_t i = 0; i < d; ++i) m = std::max(m, std::abs(x[i]));
    return m == 0.0 || (m >= 0x1p-20 && m <= 0x1p20);
}

struct WidthScreen {
    std::vector<float> matrices;    // n_slots x d x d (live slots filled), or empty
    std::vector<double> frobenius;  // ||S_a||_F per slot
    const double* exact = nullptr;  // the double matrices, n_slots x d x d
    bool float_ok = true;           // every live matrix (and mean) in the float kernels' range

    // Frobenius norms and, with copies, the float matrices. The factored
    // paths never read the copies (16 MB for 100 arms at d = 200), so their
    // callers skip them and call copy_matrices only if build_factors fails.
    void build(const double* S, int64_t n_slots, int64_t d, const std::vector<int64_t>& live,
               bool copies = true) {
        exact = S;
        frobenius.assign(static_cast<std::size_t>(n_slots), 0.0);
        float_ok = true;
        for (int64_t a : live) {
            const double* src = S + a * d * d;
            double f = 0.0, top = 0.0;
            for (int64_t i = 0; i < d * d; ++i) {
                f += src[i] * src[i];
                top = std::max(top, std::abs(src[i]));
            }
            frobenius[a] = std::sqrt(f);
            float_ok = float_ok && top >= 0x1p-60 && top <= 0x1p40;
        }
        matrices.clear();
        if (copies) copy_matrices(n_slots, d, live);
        factors.clear();
        means.clear();
        factors_tried = false;
    }
    void copy_matrices(int64_t n_slots, int64_t d, const std::vector<int64_t>& live) {
        matrices.assign(static_cast<std::size_t>(n_slots * d * d), 0.0f);
        for (int64_t a : live) {
            const double* src = exact + a * d * d;
            float* dst = matrices.data() + a * d * d;
            for (int64_t i = 0; i < d * d; ++i) dst[i] = static_cast<float>(src[i]);
        }
    }

    bool factors_tried = false;
    // Float factors of S per slot, the error constants of the width bounds
    // and, for the small-d UCB screen (ucb_screen_step), float means. Small d
    // stores N = F^T (S = N^T N, upper triangular); large d
    // (quadform_factor_rows) stores F itself, lower triangular. Empty when
    // some live arm's S has no Cholesky factor (then the unfactored paths run).
    std::vector<float> factors;     // n_slots x d x d
    std::vector<float> means;       // n_slots x d
    std::vector<double> width_abs;  // cw: absolute width error per |x|
    std::vector<double> mean_err;   // emu: absolute mean error per |x|
    double width_rel = 0.0;         // crel
    void build_factors(const double* mu, int64_t n_slots, int64_t d, const std::vector<int64_t>& live) {
        // gamma_n of Higham for float (u = 2^-24) and double (2^-53), with 5 % to spare.
        factors_tried = true;
        auto gamma = [](double n, double u) { return 1.05 * n * u / (1.0 - n * u); };
        const double u32 = 5.9604644775390625e-08, u64 = 1.1102230246251565e-16;
        const double dd = static_cast<double>(d);
        factors.assign(static_cast<std::size_t>(n_slots * d * d), 0.0f);
        means.assign(static_cast<std::size_t>(n_slots * d), 0.0f);
        width_abs.assign(static_cast<std::size_t>(n_slots), 0.0);
        mean_err.assign(static_cast<std::size_t>(n_slots), 0.0);
        width_rel = gamma(dd + 2.0, u32);
        std::vector<double> U(static_cast<std::size_t>(d * d));
        const bool lower = !quadform_lanes_apply(d);
        for (int64_t a : live) {
            const double* Sa = exact + a * d * d;
            bool finite = true;
            for (int64_t i = 0; i < d * d; ++i) finite = finite && std::isfinite(Sa[i]);
            std::copy(Sa, Sa + d * d, U.begin());
            // S = U^T U (spd_cholesky, dense.hpp): F = U^T, N = U.
            if (!finite || !spd_cholesky(U.data(), d)) {
                factors.clear();
                means.clear();
                return;
            }
            double mu2 = 0.0, f2 = 0.0;
            for (int64_t i = 0; i < d; ++i) {
                means[a * d + i] = static_cast<float>(mu[a * d + i]);
                mu2 += mu[a * d + i] * mu[a * d + i];
                float_ok = float_ok && std::abs(mu[a * d + i]) <= 0x1p60;
                for (int64_t j = i; j < d; ++j) {
                    const double u = U[i * d + j];
                    factors[(a * d + (lower ? j : i)) * d + (lower ? i : j)] = static_cast<float>(u);
                    f2 += u * u;
                }
            }
            // |N x| in float: inputs rounded, d products summed (gamma_{d+2}
            // ||N||_F |x|). Its square q = |z|^2 in float (at most d
            // roundings, any order) and the float square root (one more)
            // put w within a factor 1 +- ((d / 2 + 1) u32 + O(u32^2)) of
            // |z|, inside crel = gamma_{d+2}. F F^T differs from S and the
            // double kernel from x^T S x by at most gamma_{2d+73} (||F||_F^2
            // + ||S||_F) |x|^2 in double, at most the square root of that in
            // the width.
            const double mismatch = gamma(2.0 * dd + 73.0, u64) * (f2 + frobenius[a]);
            width_abs[a] = gamma(dd + 2.0, u32) * std::sqrt(f2) + std::sqrt(mismatch);
            mean_err[a] = gamma(dd + 4.0, u32) * std::sqrt(mu2);
            if (!std::isfinite(width_abs[a]) || !std::isfinite(mean_err[a])) {
                factors.clear();
                means.clear();
                return;
            }
        }
    }
};

// Screening pays for its float copies after a few requests, and for its
// per-request bookkeeping once d^2 / 2 dominates (measured break-even d ~ 20).
constexpr int64_t kScreenMinRequests = 16;
constexpr int64_t kScreenMinFeatures = 24;
// Float widths for Thompson rules have no per-request bookkeeping and pay
// from smaller d on (measured: 20 % faster selection at d = 20).
constexpr int64_t kFloatWidthMinFeatures = 16;

// The UCB screen of small d (see the note at the top). Each block of
// requests is transposed once into float lane groups and every arm's
// ucb_screen_step narrows its rows' bounds; a row they decide gets its arm
// with propensity 1. The other rows (close calls, exact ties) are scored in
// double precision after all blocks, together, by the kernels of the
// unscreened path: a lane's result does not depend on its group, and a
// handful of rows per block would leave the groups mostly empty.
inline void ucb_lanes_select(const SlateSelector& sel, const WidthScreen& screen,
                             const std::vector<int64_t>& live, const double* X, int64_t n, int64_t d,
                             int64_t S, const double* mean, const double* lane_matrices, double scale,
                             int threads, int64_t block, int64_t* out_arms, double* out_p) {
    constexpr double kInf = std::numeric_limits<double>::infinity();
    const int64_t n_blocks = (n + block - 1) / block;
    std::vector<std::vector<int64_t>> close(static_cast<std::size_t>(n_blocks));
    ExceptionCollector errors;
#pragma omp parallel num_threads(threads)
    {
        // rows padded to whole groups of float lanes (and of the screen's 8 doubles)
        const int64_t lane_f = std::max<int64_t>(8, 2 * quadform_lane_width());
        const std::size_t padded = static_cast<std::size_t>((block + lane_f - 1) / lane_f * lane_f);
        std::vector<float> xtf(padded * static_cast<std::size_t>(d));
        std::vector<double> xn(padded), best_lo(padded), arg(padded), hi_arg(padded), hi_other(padded);
#pragma omp for schedule(dynamic, 1)
        for (int64_t b = 0; b < n_blocks; ++b) {
            errors.run([&] {
                const int64_t r0 = b * block;
                const int64_t nb = std::min(block, n - r0);
                quadform_transpose_norms(X + r0 * d, nb, d, xtf.data(), xn.data());
                std::fill(xn.begin() + nb, xn.end(), 0.0);
                std::fill(best_lo.begin(), best_lo.end(), -kInf);
                std::fill(arg.begin(), arg.end(), -1.0);
                std::fill(hi_arg.begin(), hi_arg.end(), -kInf);
                std::fill(hi_other.begin(), hi_other.end(), -kInf);
                for (int64_t a : live) {
                    ucb_screen_step(xtf.data(), nb, d, screen.factors.data() + a * d * d,
                                    screen.means.data() + a * d, xn.data(), screen.width_abs[a],
                                    screen.width_rel, screen.mean_err[a], scale, a, best_lo.data(),
                                    arg.data(), hi_arg.data(), hi_other.data());
                }
                for (int64_t r = 0; r < nb; ++r) {
                    if (hi_other[r] < best_lo[r] && float_row_ok(X + (r0 + r) * d, d)) {
                        // Every other arm's exact score is below this arm's.
                        out_arms[r0 + r] = static_cast<int64_t>(arg[r]);
                        out_p[r0 + r] = 1.0;
                    } else {
                        close[b].push_back(r0 + r);
                    }
                }
            });
        }
    }
    errors.rethrow();
    std::vector<int64_t> rows;
    for (const auto& c : close) rows.insert(rows.end(), c.begin(), c.end());
    if (rows.empty()) return;
    // Close calls: exact double scores, a chunk of rows at a time.
    const int64_t n_close = static_cast<int64_t>(rows.size());
    constexpr int64_t kChunk = 64;
    const int64_t n_chunks = (n_close + kChunk - 1) / kChunk;
    const int close_threads = n_chunks < 2 ? 1 : threads;
#pragma omp parallel num_threads(close_threads)
    {
        const int64_t lw = quadform_lane_width();
        std::vector<double> xg(static_cast<std::size_t>(kChunk * d)),
            xt(static_cast<std::size_t>((kChunk + lw - 1) / lw * lw * d)), mv(kChunk), qv(kChunk),
            scores(static_cast<std::size_t>(kChunk * S)), wrow(static_cast<std::size_t>(S), 0.0);
        SlateScratch scratch;
#pragma omp for schedule(dynamic, 1)
        for (int64_t c = 0; c < n_chunks; ++c) {
            errors.run([&] {
                const int64_t t0 = c * kChunk;
                const int64_t nc = std::min(kChunk, n_close - t0);
                for (int64_t t = 0; t < nc; ++t) std::copy_n(X + rows[t0 + t] * d, d, xg.data() + t * d);
                quadform_transpose(xg.data(), nc, d, d, xt.data());
                std::fill(scores.begin(), scores.end(), -kInf);
                for (int64_t a : live) {
                    dot_rows_t(xt.data(), nc, d, mean + a * d, mv.data());
                    quadform_rows_t(xt.data(), nc, d, lane_matrices + a * d * d, qv.data());
                    scaled_sqrt(qv.data(), qv.data(), nc, scale);
                    for (int64_t t = 0; t < nc; ++t) scores[t * S + a] = mv[t] + qv[t];
                }
                for (int64_t t = 0; t < nc; ++t) {
                    const int64_t r = rows[t0 + t];
                    const double* mrow = scores.data() + t * S;
                    if (live.empty() ||
                        !sel.choose_fast(r, mrow, wrow.data(), live, out_arms + r, out_p + r)) {
                        sel.choose(r, mrow, wrow.data(), nullptr, out_arms + r, out_p + r, scratch);
                    }
                }
            });
        }
    }
    errors.rethrow();
}

// width(X_block, n_rows, arm, q) must fill q[r] = x_r^T Sigma_arm x_r; it is
// called concurrently from several threads with different blocks. `screen`
// enables the single-precision screening (UCB rule) or widths (Thompson rule)
// described above.
template <class WidthFn>
void contextual_select(PolicyCore& core, const SelectConfig& cfg, const double* X, int64_t n, int64_t d,
                       const double* mean, double scale, double work_per_arm, const Availability& avail,
                       WidthFn&& width, int64_t* out_arms, double* out_p, const WidthScreen* screen = nullptr,
                       const double* lane_matrices = nullptr) {
    using RowMat = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    constexpr double kInf = std::numeric_limits<double>::infinity();
    const int64_t S = core.arms.n_slots();
    std::vector<int64_t> live;
    for (int64_t a = 0; a < S; ++a) {
        if (core.arms.is_active(a)) live.push_back(a);
    }
    SlateSelector sel(cfg, core, core.next_request);
    sel.make_pool(nullptr, nullptr, cfg.num_threads);
    const bool greedy = cfg.rule == Rule::Greedy;
    const bool fast = avail.flags == nullptr && sel.fast_path();
    if (screen && !screen->float_ok) screen = nullptr;
    const bool f32_widths = screen && cfg.rule == Rule::Normal;
    if (!greedy && !f32_widths) screen = nullptr;
    // UCB screen for small d (see the note at the top): float lanes give
    // bounds of every score; a request whose best lower bound beats every
    // other arm's upper bound is decided without double precision.
    const bool ucb_lanes = greedy && fast && screen && !screen->means.empty() && quadform_lanes_apply(d) &&
                           lane_matrices != nullptr;
    if (greedy && !ucb_lanes && d < kScreenMinFeatures) screen = nullptr;
    // Large d: widths |L^T x| from float factors (quadform_factor_rows).
    const bool factored = screen && !screen->factors.empty() && !quadform_lanes_apply(d);
    // Large d: each arm's matrix (d^2 floats, from L3 once all arms exceed
    // L2) is read once per block, so blocks of up to 1024 rows (d = 200: 800 KB
    // of float contexts, L2-resident) amortise it: measured 40 -> 45 G FMA/s
    // for 100 arms at d = 200 against 256-row blocks.
    const int64_t max_block = quadform_lanes_apply(d) ? 256 : 1024;
    const int64_t block =
        std::max<int64_t>(1, std::min<int64_t>(max_block, (int64_t(1) << 18) / std::max<int64_t>(S, 1)));
    const int64_t n_blocks = (n + block - 1) / block;
    const double arm_work = screen ? 0.5 * work_per_arm : work_per_arm;
    // (the one-pass Monte Carlo scan runs 8 draws per instruction)
    const double per_request =
        static_cast<double>(live.size()) * (arm_work + 2.0 * d) / kFmaPerNs +
        static_cast<double>(S) * cfg.k * (4.0 + static_cast<double>(cfg.n_mc) / (fast ? 8.0 : 1.0)) +
        (sel.exact_normal() ? 700.0 * static_cast<double>(cfg.k * live.size()) : 0.0);
    const int threads = n_blocks < 2 ? 1 : sel.threads_for(n, per_request);
    if (ucb_lanes) {
        ucb_lanes_select(sel, *screen, live, X, n, d, S, mean, lane_matrices, scale, threads, block, out_arms,
                         out_p);
        core.next_request += n;
        return;
    }
    const double err = quadform_f32_error_factor(d);
    ExceptionCollector errors;
#pragma omp parallel num_threads(threads)
    {
        RowMat M(block, S), W(block, S), H;
        std::vector<double> q(static_cast<std::size_t>(block));
        std::vector<float> xf, qf;
        std::vector<double> xnorm2, lows, thresholds, xg;
        std::vector<int64_t> rows, lone;
        std::vector<uint8_t> row_ok(static_cast<std::size_t>(block));
        if (screen) {
            lone.resize(static_cast<std::size_t>(block));
            thresholds.resize(static_cast<std::size_t>(block));
            xg.resize(static_cast<std::size_t>(block * d));
            H.resize(block, S);
            xf.resize(static_cast<std::size_t>(block * d));
            qf.resize(static_cast<std::size_t>(block));
            xnorm2.resize(static_cast<std::size_t>(block));
        }
        // Small d: each block is transposed once into vector-lane groups and
        // scored against every arm from there (bit-identical to quadform_rows).
        const bool lanes = quadform_lanes_apply(d) && (screen ? f32_widths : lane_matrices != nullptr);
        const int64_t lane_w = quadform_lane_width() * (f32_widths ? 2 : 1);
        std::vector<double> xt;
        std::vector<float> xtf;
        if (lanes) {
            const std::size_t len = static_cast<std::size_t>(((block + lane_w - 1) / lane_w) * lane_w * d);
            xt.resize(len);
            if (f32_widths) xtf.resize(len);
        }
        SlateScratch scratch;
        // One-pass selection for the common configuration (bit-identical to
        // choose(), which serves whatever it leaves). Thompson rules draw for
        // every request.
        const bool batch_streams = fast && cfg.rule == Rule::Normal;
        // Normal rule, one pass: the block's draws run side by side, one
        // request per vector lane (thompson_draws, bit for bit the scalar
        // stream's draws), then each request counts its Monte Carlo wins.
        const bool lane_draws = batch_streams && !live.empty() &&
                                static_cast<int64_t>(live.size()) <= SlateSelector::kMaxFusedCandidates;
        std::vector<uint64_t> states;
        if (batch_streams && !lane_draws) states.resize(static_cast<std::size_t>(4 * ((block + 7) / 8 * 8)));
        std::vector<int64_t> pos;
        ThompsonBatch job;
        if (lane_draws) {
            pos.resize(static_cast<std::size_t>(block));
            job.model = ThompsonModel::Normal;
            job.seed = sel.seed();
            job.first_request = static_cast<uint64_t>(sel.first_request());
            job.n_cand = static_cast<int64_t>(live.size());
            job.cols = live.data();
            job.m = M.data();
            job.w = W.data();
            job.mw_stride = S;
        }
        auto choose_rows = [&](int64_t r0, int64_t nb) {
            if (lane_draws) {
                thompson_draws(job, r0, nb, pos.data(), nullptr);
                for (int64_t r = 0; r < nb; ++r) {
                    const double* mr = M.data() + r * S;
                    const double* wr = W.data() + r * S;
                    int64_t* oa = out_arms + (r0 + r) * cfg.k;
                    double* op = out_p + (r0 + r) * cfg.k;
                    if (sel.normal_wins(mr, wr, live, pos[r], oa, op)) continue;
                    if (sel.choose_fast(r0 + r, mr, wr, live, oa, op)) continue;
                    sel.choose(r0 + r, mr, wr, avail.row(r0 + r, S), oa, op, scratch);
                }
                return;
            }
            if (batch_streams) sel.open_streams(r0, nb, states.data());
            for (int64_t r = 0; r < nb; ++r) {
                const double* mr = M.data() + r * S;
                const double* wr = W.data() + r * S;
                int64_t* oa = out_arms + (r0 + r) * cfg.k;
                double* op = out_p + (r0 + r) * cfg.k;
                const uint64_t* st = batch_streams ? states.data() + 4 * r : nullptr;
                if (fast && sel.choose_fast(r0 + r, mr, wr, live, oa, op, st)) continue;
                sel.choose(r0 + r, mr, wr, avail.row(r0 + r, S), oa, op, scratch);
            }
        };
#pragma omp for schedule(dynamic, 1)
        for (int64_t b = 0; b < n_blocks; ++b) {
            errors.run([&] {
                const int64_t r0 = b * block;
                const int64_t nb = std::min(block, n - r0);
                const double* xb = X + r0 * d;
                if (lanes) {
                    // Means from the transposed block (a block of 256 rows
                    // against a few arms is too small for the GEMM to pay).
                    quadform_transpose(xb, nb, d, d, xt.data());
                    for (int64_t a : live) {
                        dot_rows_t(xt.data(), nb, d, mean + a * d, q.data());
                        for (int64_t r = 0; r < nb; ++r) M(r, a) = q[r];
                    }
                } else {
                    block_means(xb, nb, d, mean, S, M.data(), S);
                }
                if (!screen) {
                    for (int64_t a : live) {
                        if (lanes) {
                            quadform_rows_t(xt.data(), nb, d, lane_matrices + a * d * d, q.data());
                        } else {
                            width(xb, nb, a, q.data());
                        }
                        // Contiguous square roots vectorise; the strided scatter follows.
                        scaled_sqrt(q.data(), q.data(), nb, scale);
                        for (int64_t r = 0; r < nb; ++r) {
                            W(r, a) = q[r];
                            if (greedy) M(r, a) += q[r];
                        }
                    }
                    choose_rows(r0, nb);
                    return;
                }
                // Float contexts; |x|^2 only for the UCB bounds (Thompson
                // widths carry no bound).
                for (int64_t i = 0; i < nb * d; ++i) xf[i] = static_cast<float>(xb[i]);
                for (int64_t r = 0; r < nb; ++r) row_ok[r] = float_row_ok(xb + r * d, d);
                if (greedy) {
                    for (int64_t r = 0; r < nb; ++r) {
                        double s2 = 0.0;
                        for (int64_t i = 0; i < d; ++i) s2 += xb[r * d + i] * xb[r * d + i];
                        xnorm2[r] = s2;
                    }
                }
                if (f32_widths) {
                    if (lanes) quadform_transpose(xf.data(), nb, d, d, xtf.data());
                    for (int64_t a : live) {
                        if (factored) {
                            quadform_factor_rows(xf.data(), nb, d, d, screen->factors.data() + a * d * d,
                                                 qf.data());
                        } else if (lanes) {
                            quadform_rows_t(xtf.data(), nb, d, screen->matrices.data() + a * d * d,
                                            qf.data());
                        } else {
                            quadform_rows(xf.data(), nb, d, d, screen->matrices.data() + a * d * d,
                                          qf.data());
                        }
                        scaled_sqrt(qf.data(), q.data(), nb, scale);
                        for (int64_t r = 0; r < nb; ++r) {
                            if (!row_ok[r]) {
                                width(xb + r * d, 1, a, q.data() + r);
                                scaled_sqrt(q.data() + r, q.data() + r, 1, scale);
                            }
                            W(r, a) = q[r];
                        }
                    }
                    choose_rows(r0, nb);
                    return;
                }
                // W holds lower and H upper bounds of the scores.
                for (int64_t a : live) {
                    if (factored) {
                        // |L^T x| in float is within crel w + cw |x| of the
                        // double width (build_factors); M is the exact mean.
                        quadform_factor_rows(xf.data(), nb, d, d, screen->factors.data() + a * d * d,
                                             qf.data());
                        const double cw = screen->width_abs[a], crel = screen->width_rel;
                        for (int64_t r = 0; r < nb; ++r) {
                            const double w = std::sqrt(std::max(static_cast<double>(qf[r]), 0.0));
                            const double dw = cw * std::sqrt(xnorm2[r]);
                            if (!row_ok[r] || !std::isfinite(w) || !std::isfinite(dw)) {
                                W(r, a) = -kInf;
                                H(r, a) = kInf;
                            } else {
                                W(r, a) = M(r, a) + scale * std::max(w * (1.0 - crel) - dw, 0.0);
                                H(r, a) = M(r, a) + scale * (w * (1.0 + crel) + dw);
                            }
                        }
                        continue;
                    }
                    quadform_rows(xf.data(), nb, d, d, screen->matrices.data() + a * d * d, qf.data());
                    for (int64_t r = 0; r < nb; ++r) {
                        const double qa = static_cast<double>(qf[r]);
                        const double slack = err * xnorm2[r] * screen->frobenius[a];
                        if (!row_ok[r] || !std::isfinite(qa) || !std::isfinite(slack)) {
                            W(r, a) = -kInf;
                            H(r, a) = kInf;
                        } else {
                            W(r, a) = M(r, a) + scale * std::sqrt(std::max(qa - slack, 0.0));
                            H(r, a) = M(r, a) + scale * std::sqrt(qa + slack);
                        }
                    }
                }
                for (int64_t r = 0; r < nb; ++r) {
                    const uint8_t* av = avail.row(r0 + r, S);
                    lows.clear();
                    for (int64_t a : live) {
                        if (!av || av[a]) lows.push_back(W(r, a));
                    }
                    double threshold = -kInf;
                    const std::size_t k = static_cast<std::size_t>(cfg.k);
                    if (lows.size() > k) {
                        if (k == 1) {
                            threshold = *std::max_element(lows.begin(), lows.end());
                        } else {
                            std::nth_element(lows.begin(), lows.begin() + static_cast<std::ptrdiff_t>(k - 1),
                                             lows.end(), std::greater<double>());
                            threshold = lows[k - 1];
                        }
                    }
                    thresholds[r] = threshold;
                }
                // A lone survivor (k = 1, plain argmax) is the arm with the best
                // lower bound, and every other exact score lies below that bound:
                // it is the unique argmax, as choose() would find (propensity 1),
                // without its exact width.
                std::fill(lone.begin(), lone.begin() + nb, -1);
                if (greedy && fast) {
                    for (int64_t r = 0; r < nb; ++r) {
                        if (!std::isfinite(thresholds[r])) continue;
                        int64_t count = 0, arm = -1;
                        for (int64_t a : live) {
                            if (H(r, a) >= thresholds[r]) {
                                ++count;
                                arm = a;
                            }
                        }
                        if (count == 1) lone[r] = arm;
                    }
                }
                // Exact widths of the surviving (row, arm) pairs, arm by arm: the
                // rows that need an arm are gathered and share each read of its
                // matrix (a row's result does not depend on the rows around it).
                for (int64_t a : live) {
                    rows.clear();
                    for (int64_t r = 0; r < nb; ++r) {
                        const uint8_t* av = avail.row(r0 + r, S);
                        if ((av && !av[a]) || lone[r] >= 0) continue;
                        if (H(r, a) >= thresholds[r]) {
                            rows.push_back(r);
                        } else {
                            M(r, a) = -kInf;
                        }
                    }
                    if (rows.empty()) continue;
                    const int64_t nr = static_cast<int64_t>(rows.size());
                    for (int64_t t = 0; t < nr; ++t) std::copy_n(xb + rows[t] * d, d, xg.data() + t * d);
                    quadform_rows(xg.data(), nr, d, d, screen->exact + a * d * d, q.data());
                    for (int64_t t = 0; t < nr; ++t) M(rows[t], a) += std::sqrt(std::max(q[t], 0.0)) * scale;
                }
                for (int64_t r = 0; r < nb; ++r) {
                    if (lone[r] >= 0) {
                        out_arms[r0 + r] = lone[r];
                        out_p[r0 + r] = 1.0;
                        continue;
                    }
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
