#include "factorization/als.hpp"

#include <algorithm>
#include <vector>

#include "common/parallel.hpp"
#include "factorization/random.hpp"

namespace reelrec::factorization {

namespace {

// Below this many flops a parallel region costs more than it saves.
constexpr double kParallelFlops = 2e6;
constexpr double kGatherAbove = 1 << 20;
constexpr int64_t kGatherBytes = int64_t{2} << 20;

}  // namespace

void als_gram(const float* Y, int64_t n, int d, float weight, float* out, int num_threads, int isa) {
    const AlsKernels& kernels = als_select_kernels(isa);
    const int64_t dd = static_cast<int64_t>(d) * d;
    // A fixed chunking (it depends on n and d only) and an ordered sum of the
    // per-chunk partials make the result independent of the thread count;
    // partials are double so that millions of rows do not lose precision.
    constexpr int64_t kTile = 256;
    const int64_t budget_chunks = std::max<int64_t>(1, (int64_t{64} << 20) / (8 * std::max<int64_t>(dd, 1)));
    const int64_t n_chunks = std::max<int64_t>(1, std::min({(n + 4095) / 4096, int64_t{64}, budget_chunks}));
    std::vector<double> partial(static_cast<std::size_t>(n_chunks * dd), 0.0);
    const double flops = static_cast<double>(n) * dd;
    const int threads = flops < kParallelFlops
                            ? 1
                            : static_cast<int>(std::min<int64_t>(resolve_threads(num_threads), n_chunks));
    ExceptionCollector errors;
#pragma omp parallel num_threads(threads)
    {
        std::vector<float> tile;
        errors.run([&] { tile.resize(static_cast<std::size_t>(dd)); });
#pragma omp for schedule(dynamic, 1)
        for (int64_t c = 0; c < n_chunks; ++c) {
            errors.run([&] {
                if (tile.size() != static_cast<std::size_t>(dd)) return;
                const int64_t lo = n * c / n_chunks, hi = n * (c + 1) / n_chunks;
                double* acc = partial.data() + c * dd;
                for (int64_t t0 = lo; t0 < hi; t0 += kTile) {
                    const int64_t m = std::min(kTile, hi - t0);
                    kernels.gram_upper(Y + t0 * d, m, d, tile.data());
                    for (int r = 0; r < d; ++r)
                        for (int col = r; col < d; ++col) acc[r * d + col] += tile[r * d + col];
                }
            });
        }
    }
    errors.rethrow();
    for (int r = 0; r < d; ++r) {
        for (int col = r; col < d; ++col) {
            double s = 0.0;
            for (int64_t c = 0; c < n_chunks; ++c) s += partial[c * dd + r * d + col];
            const float v = static_cast<float>(weight * s);
            out[r * d + col] = v;
            out[col * d + r] = v;
        }
    }
}

void als_solve(const CsrView& rows, const float* other, const float* gram, float* factors, int d,
               const AlsConfig& config, int num_threads, int isa) {
    const AlsKernels& kernels = als_select_kernels(isa);
    AlsRowArgs args;
    args.indptr = rows.indptr;
    args.indices = rows.indices;
    args.confidence = rows.data;
    args.other = other;
    args.gram = gram;
    args.factors = factors;
    args.d = d;
    args.unobserved_weight = config.unobserved_weight;
    args.regularization = config.regularization;
    args.reg_offset = config.unobserved_weight * static_cast<float>(rows.n_cols);
    args.frequency_scaling = config.frequency_scaling;
    args.solver = config.solver;
    args.cg_steps = config.cg_steps;
    // Gathering pays when the fixed side does not fit in a core's L2 cache;
    // the buffer (2 MiB per thread) then holds rows of up to that size.
    const double other_bytes = 4.0 * static_cast<double>(rows.n_cols) * d;
    const int64_t group = als_cg_group(d);
    args.gather_capacity = config.solver == AlsSolver::kConjugateGradient && other_bytes > kGatherAbove
                               ? std::max<int64_t>(1, kGatherBytes / (4 * int64_t{d} * group))
                               : 0;

    const int64_t n_rows = rows.n_rows;
    // Rows too long to gather share their table passes in batches instead,
    // scheduled before the short rows (they are the longest tasks). Batches
    // are cut from the row order alone, so results do not depend on the threads.
    std::vector<int64_t> long_rows;
    if (args.gather_capacity > 0) {
        args.batched_above = args.gather_capacity;
        args.tile_rows = std::max<int64_t>(64, kAlsTileBytes / (4 * int64_t{d}));
        for (int64_t r = 0; r < n_rows; ++r)
            if (rows.indptr[r + 1] - rows.indptr[r] > args.batched_above) long_rows.push_back(r);
    }
    const int64_t n_batches = (static_cast<int64_t>(long_rows.size()) + kAlsBatchRows - 1) / kAlsBatchRows;
    const double passes = config.solver == AlsSolver::kCholesky ? d : 4.0 * (config.cg_steps + 1);
    const double flops = passes * (static_cast<double>(rows.nnz()) * d + static_cast<double>(n_rows) * d * d);
    const int threads = flops < kParallelFlops ? 1 : resolve_threads(num_threads);
    // Rows differ wildly in length (power-law data), hence small dynamic blocks.
    constexpr int64_t kBlock = 16;
    const int64_t n_blocks = (n_rows + kBlock - 1) / kBlock;
    const std::size_t scratch_floats = als_scratch_floats(d, config.solver, args.gather_capacity);
    ExceptionCollector errors;
#pragma omp parallel num_threads(threads)
    {
        std::vector<float> scratch;
        errors.run([&] { scratch.resize(scratch_floats); });
#pragma omp for schedule(dynamic, 1)
        for (int64_t task = 0; task < n_batches + n_blocks; ++task) {
            if (scratch.size() != scratch_floats) continue;
            if (task < n_batches) {
                const int64_t lo = task * kAlsBatchRows;
                const int64_t count =
                    std::min<int64_t>(kAlsBatchRows, static_cast<int64_t>(long_rows.size()) - lo);
                kernels.solve_batch(args, long_rows.data() + lo, static_cast<int>(count), scratch.data());
                continue;
            }
            const int64_t lo = (task - n_batches) * kBlock;
            kernels.solve_rows(args, lo, std::min(n_rows, lo + kBlock), scratch.data());
        }
    }
    errors.rethrow();
}

double als_loss(const CsrView& user_items, const float* items, const int64_t* item_counts, const float* gram,
                const float* users, int d, const AlsConfig& config, int num_threads) {
    const int64_t n_users = user_items.n_rows, n_items = user_items.n_cols;
    const float w0 = config.unobserved_weight;
    const double reg = config.regularization;
    auto lambda = [&](int64_t count, int64_t n_other) {
        return config.frequency_scaling
                   ? reg * (static_cast<double>(count) + w0 * static_cast<double>(n_other))
                   : reg;
    };
    // Fixed blocks summed in order: the value does not depend on the thread count.
    constexpr int64_t kBlock = 1024;
    const int64_t n_user_blocks = (n_users + kBlock - 1) / kBlock;
    const int64_t n_item_blocks = (n_items + kBlock - 1) / kBlock;
    std::vector<double> partial(static_cast<std::size_t>(n_user_blocks + n_item_blocks), 0.0);
    std::vector<double> weight_partial(static_cast<std::size_t>(n_user_blocks), 0.0);
    const double flops = (static_cast<double>(user_items.nnz()) + static_cast<double>(n_users) * d) * d;
    const int threads = flops < kParallelFlops ? 1 : resolve_threads(num_threads);
    ExceptionCollector errors;
#pragma omp parallel num_threads(threads)
    {
        std::vector<double> gx;
        errors.run([&] { gx.resize(static_cast<std::size_t>(d)); });
#pragma omp for schedule(dynamic, 1)
        for (int64_t blk = 0; blk < n_user_blocks + n_item_blocks; ++blk) {
            if (gx.size() != static_cast<std::size_t>(d)) continue;
            double total = 0.0;
            if (blk < n_user_blocks) {
                double weight = 0.0;
                for (int64_t u = blk * kBlock; u < std::min(n_users, (blk + 1) * kBlock); ++u) {
                    const float* x = users + u * d;
                    // x^T (w0 Y^T Y) x: every cell scored as unobserved ...
                    double quad = 0.0, norm = 0.0;
                    for (int r = 0; r < d; ++r) {
                        double s = 0.0;
                        for (int col = 0; col < d; ++col)
                            s += static_cast<double>(gram[r * d + col]) * x[col];
                        quad += s * x[r];
                        norm += static_cast<double>(x[r]) * x[r];
                    }
                    // ... then the stored cells are corrected to their confidence.
                    double stored = 0.0;
                    for (int64_t k = user_items.row_begin(u); k < user_items.row_end(u); ++k) {
                        const float* y = items + static_cast<int64_t>(user_items.indices[k]) * d;
                        double s = 0.0;
                        for (int j = 0; j < d; ++j) s += static_cast<double>(x[j]) * y[j];
                        const double c = user_items.data[k];
                        stored += c * (1.0 - s) * (1.0 - s) - w0 * s * s;
                        weight += c - w0;
                    }
                    total += quad + stored +
                             lambda(user_items.row_end(u) - user_items.row_begin(u), n_items) * norm;
                }
                weight_partial[blk] = weight;
            } else {
                const int64_t ib = blk - n_user_blocks;
                for (int64_t i = ib * kBlock; i < std::min(n_items, (ib + 1) * kBlock); ++i) {
                    const float* y = items + i * d;
                    double norm = 0.0;
                    for (int j = 0; j < d; ++j) norm += static_cast<double>(y[j]) * y[j];
                    total += lambda(item_counts ? item_counts[i] : 0, n_users) * norm;
                }
            }
            partial[blk] = total;
        }
    }
    errors.rethrow();
    double loss = 0.0, weight = w0 * static_cast<double>(n_users) * static_cast<double>(n_items);
    for (double v : partial) loss += v;
    for (double v : weight_partial) weight += v;
    return weight > 0 ? loss / weight : loss;
}

void init_factors(float* out, int64_t n, int d, uint64_t seed, uint64_t stream, float scale,
                  int num_threads) {
    const int threads = static_cast<double>(n) * d < 1e6 ? 1 : resolve_threads(num_threads);
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int64_t r = 0; r < n; ++r) {
        SplitMix64 rng(stream_key(seed, stream, static_cast<uint64_t>(r)));
        fill_normal(rng, out + r * d, d, scale);
    }
}

}  // namespace reelrec::factorization
