#include "factorization/bpr.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <vector>

#include "common/parallel.hpp"
#include "factorization/random.hpp"

namespace reelrec::factorization {

namespace {

// Block in [0, S) of an id under an epoch's hash key.
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

namespace {

inline int team_size() {
#ifdef _OPENMP
    return omp_get_num_threads();
#else
    return 1;
#endif
}

// Waits until pred() holds: spins for up to kSpinMicros (a short wait is the
// common case and a sleep costs a wake-up of tens of microseconds), then
// sleeps on cv. A spinning waiter would otherwise steal the time slice of the
// thread it waits for on a machine with fewer free cores than threads.
constexpr int kSpinMicros = 30;

template <class Pred>
void spin_then_wait(Pred pred, std::mutex& mutex, std::condition_variable& cv, std::atomic<int>& sleepers) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::microseconds(kSpinMicros);
    for (int spin = 0; !pred(); ++spin) {
        if ((spin & 63) == 63 && std::chrono::steady_clock::now() > deadline) {
            std::unique_lock<std::mutex> lock(mutex);
            sleepers.fetch_add(1);
            cv.wait(lock, pred);
            sleepers.fetch_sub(1);
            return;
        }
    }
}

// Wakes the sleepers of spin_then_wait after the state they test changed.
inline void notify_sleepers(std::mutex& mutex, std::condition_variable& cv,
                            const std::atomic<int>& sleepers) {
    if (sleepers.load() > 0) {
        // Taking the lock orders the caller's store before a sleeper's re-check.
        {
            std::lock_guard<std::mutex> lock(mutex);
        }
        cv.notify_all();
    }
}

// A barrier for the threads of one team, built on spin_then_wait.
class SleepingBarrier {
public:
    void set_team(int n) {
        int expected = 0;
        team_.compare_exchange_strong(expected, n);
    }
    void wait() {
        const int team = team_.load();
        if (team <= 1) return;
        const int64_t generation = generation_.load(std::memory_order_acquire);
        if (arrived_.fetch_add(1) + 1 == team) {
            arrived_.store(0);
            generation_.store(generation + 1, std::memory_order_release);
            notify_sleepers(mutex_, cv_, sleepers_);
            return;
        }
        spin_then_wait([&] { return generation_.load(std::memory_order_acquire) != generation; }, mutex_, cv_,
                       sleepers_);
    }

private:
    std::atomic<int> team_{0}, arrived_{0}, sleepers_{0};
    std::atomic<int64_t> generation_{0};
    std::mutex mutex_;
    std::condition_variable cv_;
};

}  // namespace

void bpr_epochs(const CsrView& X, float* users, float* items, float* bias, int d, const BprConfig& cfg,
                uint64_t seed, int64_t first_epoch, int64_t n_epochs, int32_t* buckets,
                const uint64_t* seen_words, BprEpochStats* stats_out, int num_threads, int isa) {
    const BprKernels& kernels = bpr_select_kernels(isa);
    SeenFilter seen;
    if (seen_words) {
        seen.words = seen_words;
        seen.mask = static_cast<uint64_t>(bpr_seen_filter_words(X.nnz())) * 64 - 1;
    }
    const int64_t n_users = X.n_rows, n_items = X.n_cols, nnz = X.nnz();
    const int S = bpr_strata(n_users, n_items, nnz);
    const int64_t SS = static_cast<int64_t>(S) * S;
    const int threads = (S == 1 || static_cast<double>(nnz) * d < 1e6) ? 1 : resolve_threads(num_threads);

    std::vector<int32_t> item_block(static_cast<std::size_t>(n_items));
    std::vector<int64_t> item_start(static_cast<std::size_t>(S) + 1);
    std::vector<int32_t> item_list(static_cast<std::size_t>(n_items));
    const int64_t n_chunks = std::max<int64_t>(1, std::min<int64_t>(64, n_users));
    std::vector<int64_t> counts(static_cast<std::size_t>(n_chunks * SS));
    std::vector<int64_t> bucket_start(static_cast<std::size_t>(SS) + 1);
    auto chunk_rows = [&](int64_t f, int64_t& lo, int64_t& hi) {
        lo = n_users * f / n_chunks;
        hi = n_users * (f + 1) / n_chunks;
    };
    constexpr int64_t kItemChunk = 1 << 14;
    const int64_t n_item_chunks = (n_items + kItemChunk - 1) / kItemChunk;
    std::atomic<int64_t> next_items{0}, next_count{0}, next_scatter{0}, next_stratum{0};

    // Stratum (b, c = (b + t) mod S) of round t needs round t - 1 finished on
    // user block b (stratum (t - 1, b)) and on item block c (stratum
    // (t - 1, b + 1)). Threads take strata in round-major order and wait only
    // for those two, not for whole rounds. The earliest unfinished stratum
    // never waits, so this cannot deadlock.
    std::vector<double> loss(static_cast<std::size_t>(SS));
    std::vector<int64_t> used(static_cast<std::size_t>(SS)), skipped(static_cast<std::size_t>(SS));
    std::unique_ptr<std::atomic<int>[]> done(new std::atomic<int>[static_cast<std::size_t>(SS)]);
    auto ready = [&](int64_t w) { return done[w].load(std::memory_order_acquire) != 0; };
    std::mutex mutex;
    std::condition_variable finished;
    std::atomic<int> sleepers{0};
    SleepingBarrier barrier;
    uint64_t user_key = 0, item_key = 0;
    auto epoch_start = std::chrono::steady_clock::now();
    // Hands out the fixed user chunks from `next` and visits every cell (u, k)
    // of a claimed chunk with the chunk's slot of the cell's stratum in `counts`.
    auto for_each_cell = [&](std::atomic<int64_t>& next, auto&& visit) {
        for (int64_t f = next.fetch_add(1); f < n_chunks; f = next.fetch_add(1)) {
            int64_t lo, hi;
            chunk_rows(f, lo, hi);
            int64_t* slots = counts.data() + f * SS;
            for (int64_t u = lo; u < hi; ++u) {
                const int64_t base = static_cast<int64_t>(block_of(user_key, u, S)) * S;
                for (int64_t k = X.indptr[u]; k < X.indptr[u + 1]; ++k)
                    visit(slots[base + item_block[X.indices[k]]], u, k);
            }
        }
    };

    // One parallel region for all the epochs; their phases meet at sleeping
    // barriers. Every phase's output depends on the data, seed and epoch only.
#pragma omp parallel num_threads(threads)
    {
        barrier.set_team(team_size());
        const bool leader = thread_id() == 0;
        for (int64_t e = 0; e < n_epochs; ++e) {
            const int64_t epoch = first_epoch + e;
            // 0. the leader resets the epoch's state
            if (leader) {
                epoch_start = std::chrono::steady_clock::now();
                user_key = stream_key(seed, 10, static_cast<uint64_t>(epoch));
                item_key = stream_key(seed, 11, static_cast<uint64_t>(epoch));
                std::fill(item_start.begin(), item_start.end(), 0);
                std::fill(counts.begin(), counts.end(), 0);
                std::fill(loss.begin(), loss.end(), 0.0);
                std::fill(used.begin(), used.end(), 0);
                std::fill(skipped.begin(), skipped.end(), 0);
                for (int64_t w = 0; w < SS; ++w) done[w].store(0, std::memory_order_relaxed);
                next_items = 0;
                next_count = 0;
                next_scatter = 0;
                next_stratum = 0;
            }
            barrier.wait();
            // 1. the block of every item under this epoch's hash
            for (int64_t q = next_items.fetch_add(1); q < n_item_chunks; q = next_items.fetch_add(1)) {
                for (int64_t i = q * kItemChunk; i < std::min(n_items, (q + 1) * kItemChunk); ++i)
                    item_block[i] = block_of(item_key, i, S);
            }
            barrier.wait();
            // 2. the leader lists the items of each block (counting sort) while
            //    all count the cells of each stratum per fixed user chunk
            if (leader) {
                for (int64_t i = 0; i < n_items; ++i) ++item_start[item_block[i] + 1];
                for (int c = 0; c < S; ++c) item_start[c + 1] += item_start[c];
                std::vector<int64_t> fill(item_start.begin(), item_start.end() - 1);
                for (int64_t i = 0; i < n_items; ++i)
                    item_list[fill[item_block[i]]++] = static_cast<int32_t>(i);
            }
            for_each_cell(next_count, [](int64_t& slot, int64_t, int64_t) { ++slot; });
            barrier.wait();
            // 3. write cursors: strata in order, chunks in order within a stratum
            if (leader) {
                int64_t running = 0;
                for (int64_t s = 0; s < SS; ++s) {
                    bucket_start[s] = running;
                    for (int64_t f = 0; f < n_chunks; ++f) {
                        const int64_t c = counts[f * SS + s];
                        counts[f * SS + s] = running;
                        running += c;
                    }
                }
                bucket_start[SS] = running;
            }
            barrier.wait();
            // 4. the cells of each stratum, contiguous
            for_each_cell(next_scatter, [&](int64_t& slot, int64_t u, int64_t k) {
                const int64_t pos = slot++;
                buckets[2 * pos] = static_cast<int32_t>(u);
                buckets[2 * pos + 1] = X.indices[k];
            });
            barrier.wait();
            // 5. SGD, stratum by stratum
            for (int64_t w = next_stratum.fetch_add(1); w < SS; w = next_stratum.fetch_add(1)) {
                const int t = static_cast<int>(w / S), b = static_cast<int>(w % S);
                if (t > 0) {
                    const int64_t user_dep = w - S, item_dep = static_cast<int64_t>(t - 1) * S + (b + 1) % S;
                    spin_then_wait([&] { return ready(user_dep) && ready(item_dep); }, mutex, finished,
                                   sleepers);
                }
                const int c = (b + t) % S;
                const int64_t s = static_cast<int64_t>(b) * S + c;
                const int64_t n = bucket_start[s + 1] - bucket_start[s];
                const int64_t m = item_start[c + 1] - item_start[c];
                if (n > 0 && m > 0) {
                    const BprStratumArgs args{
                        &X,    seen,
                        users, items,
                        bias,  d,
                        cfg,   buckets + 2 * bucket_start[s],
                        n,     item_list.data() + item_start[c],
                        m,     stream_key(seed, 12, static_cast<uint64_t>(epoch), static_cast<uint64_t>(s))};
                    const BprStratumResult r = kernels.run_stratum(args);
                    loss[s] = r.loss;
                    used[s] = r.used;
                    skipped[s] = r.skipped;
                }
                done[w].store(1, std::memory_order_release);
                notify_sleepers(mutex, finished, sleepers);
            }
            barrier.wait();
            if (leader) {
                BprEpochStats& st = stats_out[e];
                st = BprEpochStats();
                double total = 0.0;
                for (int64_t s = 0; s < SS; ++s) {
                    total += loss[s];
                    st.samples += used[s];
                    st.skipped += skipped[s];
                }
                st.loss = st.samples ? total / static_cast<double>(st.samples) : 0.0;
                st.seconds =
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - epoch_start).count();
            }
        }
    }
}

void bpr_fold_in(const CsrView& rows, const float* items, const float* item_bias, int d,
                 const BprConfig& config, uint64_t seed, const int64_t* keys, int epochs, float* out,
                 int num_threads, int isa) {
    const BprKernels& kernels = bpr_select_kernels(isa);
    const BprFoldInArgs args{&rows, items, item_bias, d, config, seed, keys, epochs, out};
    const double work = static_cast<double>(rows.nnz()) * epochs * d;
    const int threads = work < 1e6 ? 1 : resolve_threads(num_threads);
    constexpr int64_t kBlock = 16;
    const int64_t n_blocks = (rows.n_rows + kBlock - 1) / kBlock;
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1)
    for (int64_t blk = 0; blk < n_blocks; ++blk) {
        kernels.fold_in_rows(args, blk * kBlock, std::min(rows.n_rows, (blk + 1) * kBlock));
    }
}

double bpr_replay(float* users, float* items, float* item_bias, int d, const int32_t* u, const int32_t* pos,
                  const int32_t* neg, int64_t n, const BprConfig& config, int isa) {
    return bpr_select_kernels(isa).replay(users, items, item_bias, d, u, pos, neg, n, config);
}

}  // namespace reelrec::factorization
