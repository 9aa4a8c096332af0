#include "factorization/bpr.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <vector>

#include "common/parallel.hpp"
#include "factorization/random.hpp"

namespace reelrec::factorization {

namespace {

// Block in [0, S) of an id under a hash key.
inline int block_of(uint64_t key, int64_t id, int S) {
    const uint64_t h = mix64(key + static_cast<uint64_t>(id) * 0x9e3779b97f4a7c15ULL);
    return static_cast<int>((static_cast<unsigned __int128>(h) * static_cast<uint64_t>(S)) >> 64);
}

}  // namespace

int bpr_strata(int64_t n_users, int64_t n_items, int64_t nnz) {
    // Enough cells per stratum (~2k) that a round is worth a synchronisation,
    // at most 64 x 64 strata, and blocks of at least 16 users and items.
    int64_t s = static_cast<int64_t>(std::sqrt(static_cast<double>(nnz) / 2048.0));
    s = std::min<int64_t>({s, 64, n_users / 16, n_items / 16});
    return static_cast<int>(std::max<int64_t>(s, 1));
}

int64_t bpr_seen_filter_words(int64_t nnz) {
    int64_t bits = 64;
    while (bits < 8 * nnz) bits <<= 1;
    return bits / 64;
}

void bpr_build_seen_filter(const CsrView& X, uint64_t* words, int num_threads) {
    const int64_t n_words = bpr_seen_filter_words(X.nnz());
    const uint64_t mask = static_cast<uint64_t>(n_words) * 64 - 1;
    for (int64_t w = 0; w < n_words; ++w) words[w] = 0;
    const int threads = X.nnz() < (int64_t{1} << 20) ? 1 : resolve_threads(num_threads);
    // Bits are only ever set (atomic OR), so the table is the same whatever
    // the order or the thread count.
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1024)
    for (int64_t u = 0; u < X.n_rows; ++u) {
        for (int64_t k = X.indptr[u]; k < X.indptr[u + 1]; ++k) {
            const uint64_t h = SeenFilter::hash(static_cast<int32_t>(u), X.indices[k]);
            const uint64_t a = h & mask, b = (h >> 32) & mask;
            __atomic_fetch_or(words + (a >> 6), uint64_t{1} << (a & 63), __ATOMIC_RELAXED);
            __atomic_fetch_or(words + (b >> 6), uint64_t{1} << (b & 63), __ATOMIC_RELAXED);
        }
    }
}

int bpr_micro_blocks(int64_t n_users, int64_t n_items, int S) {
    // Up to 4 micro-blocks per block (finer regrouping between epochs), at
    // most 128 per side (the per-fit bucketing keeps F^2 counters per chunk),
    // and micro-blocks of at least 4 ids.
    int64_t k = std::min<int64_t>({4, 128 / S, n_users / (4 * int64_t{S}), n_items / (4 * int64_t{S})});
    return static_cast<int>(std::max<int64_t>(k, 1));
}

void bpr_build_layout(const CsrView& X, uint64_t seed, BprLayout& layout, int num_threads) {
    const int64_t n_users = X.n_rows, n_items = X.n_cols;
    const int F = layout.S * layout.K;
    const int64_t FF = static_cast<int64_t>(F) * F;
    const uint64_t user_key = stream_key(seed, 10), item_key = stream_key(seed, 11);
    std::vector<int32_t> item_micro(static_cast<std::size_t>(n_items));
    for (int64_t c = 0; c <= F; ++c) layout.item_start[c] = 0;
    for (int64_t i = 0; i < n_items; ++i) {
        item_micro[i] = block_of(item_key, i, F);
        ++layout.item_start[item_micro[i] + 1];
    }
    for (int c = 0; c < F; ++c) layout.item_start[c + 1] += layout.item_start[c];
    {
        std::vector<int64_t> fill(layout.item_start, layout.item_start + F);
        for (int64_t i = 0; i < n_items; ++i) layout.item_list[fill[item_micro[i]]++] = static_cast<int32_t>(i);
    }
    // Two-pass counting sort over fixed user chunks: positions depend on the
    // data and the seed only, not on the threads.
    const int64_t n_chunks = std::max<int64_t>(1, std::min<int64_t>(64, n_users));
    std::vector<int64_t> counts(static_cast<std::size_t>(n_chunks * FF), 0);
    auto chunk_rows = [&](int64_t f, int64_t& lo, int64_t& hi) {
        lo = n_users * f / n_chunks;
        hi = n_users * (f + 1) / n_chunks;
    };
    const int threads = X.nnz() < (int64_t{1} << 20) ? 1 : resolve_threads(num_threads);
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1)
    for (int64_t f = 0; f < n_chunks; ++f) {
        int64_t lo, hi;
        chunk_rows(f, lo, hi);
        int64_t* cnt = counts.data() + f * FF;
        for (int64_t u = lo; u < hi; ++u) {
            const int64_t base = static_cast<int64_t>(block_of(user_key, u, F)) * F;
            for (int64_t k = X.indptr[u]; k < X.indptr[u + 1]; ++k) ++cnt[base + item_micro[X.indices[k]]];
        }
    }
    int64_t running = 0;
    for (int64_t s = 0; s < FF; ++s) {
        layout.cell_start[s] = running;
        for (int64_t f = 0; f < n_chunks; ++f) {
            const int64_t c = counts[f * FF + s];
            counts[f * FF + s] = running;  // becomes the chunk's write cursor
            running += c;
        }
    }
    layout.cell_start[FF] = running;
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1)
    for (int64_t f = 0; f < n_chunks; ++f) {
        int64_t lo, hi;
        chunk_rows(f, lo, hi);
        int64_t* cursor = counts.data() + f * FF;
        for (int64_t u = lo; u < hi; ++u) {
            const int64_t base = static_cast<int64_t>(block_of(user_key, u, F)) * F;
            for (int64_t k = X.indptr[u]; k < X.indptr[u + 1]; ++k) {
                const int64_t pos = cursor[base + item_micro[X.indices[k]]]++;
                layout.cells[2 * pos] = static_cast<int32_t>(u);
                layout.cells[2 * pos + 1] = X.indices[k];
            }
        }
    }
}

BprEpochStats bpr_epoch(const CsrView& X, const BprLayout& layout, float* users, float* items, float* bias,
                        int d, const BprConfig& cfg, uint64_t seed, int64_t epoch, const uint64_t* seen_words,
                        int num_threads, int isa) {
    const BprKernels& kernels = bpr_select_kernels(isa);
    SeenFilter seen;
    if (seen_words) {
        seen.words = seen_words;
        seen.mask = static_cast<uint64_t>(bpr_seen_filter_words(X.nnz())) * 64 - 1;
    }
    const int S = layout.S, K = layout.K, F = S * K;
    const int64_t SS = static_cast<int64_t>(S) * S;
    const int threads = (S == 1 || static_cast<double>(X.nnz()) * d < 1e6) ? 1 : resolve_threads(num_threads);

    // This epoch's grouping: block b of a side is the micro-blocks
    // members[b * K .. b * K + K) of a seeded random permutation.
    auto permutation = [&](uint64_t stream) {
        std::vector<int> order(static_cast<std::size_t>(F));
        for (int f = 0; f < F; ++f) order[f] = f;
        SplitMix64 rng(stream_key(seed, stream, static_cast<uint64_t>(epoch)));
        for (int f = F - 1; f > 0; --f) std::swap(order[f], order[rng.below(static_cast<uint64_t>(f) + 1)]);
        return order;
    };
    const std::vector<int> user_members = permutation(20), item_members = permutation(21);

    // Stratum (b, c = (b + t) mod S) of round t needs round t - 1 finished on
    // user block b (stratum (t - 1, b)) and on item block c (stratum
    // (t - 1, b + 1)). Threads take strata in round-major order and wait only
    // for those two, not for whole rounds. The earliest unfinished stratum
    // never waits, so this cannot deadlock.
    std::vector<double> loss(static_cast<std::size_t>(SS), 0.0);
    std::vector<int64_t> used(static_cast<std::size_t>(SS), 0), skipped(static_cast<std::size_t>(SS), 0);
    std::unique_ptr<std::atomic<int>[]> done(new std::atomic<int>[static_cast<std::size_t>(SS)]);
    for (int64_t w = 0; w < SS; ++w) done[w].store(0, std::memory_order_relaxed);
    std::atomic<int64_t> next{0};
    auto ready = [&](int64_t w) { return done[w].load(std::memory_order_acquire) != 0; };
    // A waiting thread spins briefly, then sleeps until a stratum finishes:
    // on a machine with fewer free cores than threads, spinning would steal
    // the time slice of the very thread it waits for.
    std::mutex mutex;
    std::condition_variable finished;
    std::atomic<int> sleepers{0};

    // A stratum is the union of K x K micro-strata (and K micro item blocks):
    // each is copied into contiguous per-thread scratch first, a sequential
    // pass that keeps the per-sample draw a single index.
    int64_t max_cells = 0, max_items = 0;
    for (int b = 0; b < S; ++b) {
        for (int c = 0; c < S; ++c) {
            int64_t cells = 0;
            for (int ju = 0; ju < K; ++ju)
                for (int ji = 0; ji < K; ++ji) {
                    const int64_t micro = int64_t{user_members[b * K + ju]} * F + item_members[c * K + ji];
                    cells += layout.cell_start[micro + 1] - layout.cell_start[micro];
                }
            max_cells = std::max(max_cells, cells);
        }
        int64_t members = 0;
        for (int ji = 0; ji < K; ++ji) {
            const int f = item_members[b * K + ji];
            members += layout.item_start[f + 1] - layout.item_start[f];
        }
        max_items = std::max(max_items, members);
    }
    ExceptionCollector errors;
#pragma omp parallel num_threads(threads)
    {
        std::vector<int32_t> pairs, candidates;
        errors.run([&] {
            pairs.resize(static_cast<std::size_t>(2 * max_cells));
            candidates.resize(static_cast<std::size_t>(max_items));
        });
        for (int64_t w = next.fetch_add(1); w < SS; w = next.fetch_add(1)) {
            const int t = static_cast<int>(w / S), b = static_cast<int>(w % S);
            if (t > 0) {
                const int64_t user_dep = w - S, item_dep = static_cast<int64_t>(t - 1) * S + (b + 1) % S;
                auto deps_done = [&] { return ready(user_dep) && ready(item_dep); };
                for (int spin = 0; spin < 2000 && !deps_done(); ++spin) {
                }
                if (!deps_done()) {
                    std::unique_lock<std::mutex> lock(mutex);
                    sleepers.fetch_add(1);
                    finished.wait(lock, deps_done);
                    sleepers.fetch_sub(1);
                }
            }
            const int c = (b + t) % S;
            const int64_t s = static_cast<int64_t>(b) * S + c;
            if (!errors.failed() && pairs.size() == static_cast<std::size_t>(2 * max_cells)) {
                int64_t n = 0, m = 0;
                for (int ju = 0; ju < K; ++ju) {
                    for (int ji = 0; ji < K; ++ji) {
                        const int64_t micro = int64_t{user_members[b * K + ju]} * F + item_members[c * K + ji];
                        const int64_t lo = layout.cell_start[micro], hi = layout.cell_start[micro + 1];
                        std::copy(layout.cells + 2 * lo, layout.cells + 2 * hi, pairs.data() + 2 * n);
                        n += hi - lo;
                    }
                }
                for (int ji = 0; ji < K; ++ji) {
                    const int f = item_members[c * K + ji];
                    const int64_t lo = layout.item_start[f], hi = layout.item_start[f + 1];
                    std::copy(layout.item_list + lo, layout.item_list + hi, candidates.data() + m);
                    m += hi - lo;
                }
                if (n > 0 && m > 0) {
                    BprStratumArgs args;
                    args.X = &X;
                    args.seen = seen;
                    args.users = users;
                    args.items = items;
                    args.item_bias = bias;
                    args.d = d;
                    args.config = cfg;
                    args.pairs = pairs.data();
                    args.n = n;
                    args.candidates = candidates.data();
                    args.m = m;
                    args.rng_key = stream_key(seed, 12, static_cast<uint64_t>(epoch), static_cast<uint64_t>(s));
                    const BprStratumResult r = kernels.run_stratum(args);
                    loss[s] = r.loss;
                    used[s] = r.used;
                    skipped[s] = r.skipped;
                }
            }
            // Marked done even after a failure, so that no thread waits forever.
            done[w].store(1, std::memory_order_release);
            if (sleepers.load() > 0) {
                // Taking the lock orders this store before a sleeper's re-check.
                { std::lock_guard<std::mutex> lock(mutex); }
                finished.notify_all();
            }
        }
    }
    errors.rethrow();
    BprEpochStats stats;
    double total = 0.0;
    for (int64_t s = 0; s < SS; ++s) {
        total += loss[s];
        stats.samples += used[s];
        stats.skipped += skipped[s];
    }
    stats.loss = stats.samples ? total / static_cast<double>(stats.samples) : 0.0;
    return stats;
}

void bpr_fold_in(const CsrView& rows, const float* items, const float* item_bias, int d,
                 const BprConfig& config, uint64_t seed, const int64_t* keys, int epochs, float* out,
                 int num_threads, int isa) {
    const BprKernels& kernels = bpr_select_kernels(isa);
    BprFoldInArgs args;
    args.rows = &rows;
    args.items = items;
    args.item_bias = item_bias;
    args.d = d;
    args.config = config;
    args.seed = seed;
    args.keys = keys;
    args.epochs = epochs;
    args.out = out;
    const double work = static_cast<double>(rows.nnz()) * epochs * d;
    const int threads = work < 1e6 ? 1 : resolve_threads(num_threads);
    constexpr int64_t kBlock = 16;
    const int64_t n_blocks = (rows.n_rows + kBlock - 1) / kBlock;
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1)
    for (int64_t blk = 0; blk < n_blocks; ++blk) {
        kernels.fold_in_rows(args, blk * kBlock, std::min(rows.n_rows, (blk + 1) * kBlock));
    }
}

double bpr_replay(float* users, float* items, float* item_bias, int d, const int32_t* u,
                  const int32_t* pos, const int32_t* neg, int64_t n, const BprConfig& config, int isa) {
    return bpr_select_kernels(isa).replay(users, items, item_bias, d, u, pos, neg, n, config);
}

}  // namespace reelrec::factorization
