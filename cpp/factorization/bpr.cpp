#include "factorization/bpr.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "common/parallel.hpp"
#include "factorization/random.hpp"

namespace reelrec::factorization {

namespace {

// sigmoid(-score) (the gradient scale) and the sample loss log(1 + e^-score).
inline float gradient_scale(float score, float& loss) {
    if (score > 30.0f) {  // e^score would overflow; both terms are e^-score here
        const float z = std::exp(-score);
        loss = z;
        return z;
    }
    const float e = std::exp(score);
    loss = std::log1p(e) - score;
    return 1.0f / (1.0f + e);
}

template <int D>
inline float score_of(const float* x, const float* yi, const float* yj, int d_rt) {
    const int d = D ? D : d_rt;
    float s = 0.0f;
#pragma omp simd reduction(+ : s)
    for (int j = 0; j < d; ++j) s += x[j] * (yi[j] - yj[j]);
    return s;
}

// One SGD step on user, positive and negative; returns the sample loss.
// yi == yj (an unverified negative equal to the positive) is well defined:
// the score is 0 and the last write wins, as in a scalar loop.
template <int D>
inline float sgd_step(float* x, float* yi, float* yj, float* bi, float* bj, int d_rt, float lr, float reg) {
    const int d = D ? D : d_rt;
    float loss;
    const float z = gradient_scale(score_of<D>(x, yi, yj, d) + (*bi - *bj), loss);
    const float g = lr * z, decay = 1.0f - lr * reg;
#pragma omp simd
    for (int j = 0; j < d; ++j) {
        const float xu = x[j], vi = yi[j], vj = yj[j];
        x[j] = decay * xu + g * (vi - vj);
        yi[j] = decay * vi + g * xu;
        yj[j] = decay * vj - g * xu;
    }
    const float b_i = *bi, b_j = *bj;
    *bi = decay * b_i + g;
    *bj = decay * b_j - g;
    return loss;
}

// The same step with the items fixed (fold-in).
template <int D>
inline void user_step(float* x, const float* yi, const float* yj, float bias_diff, int d_rt, float lr,
                      float reg) {
    const int d = D ? D : d_rt;
    float loss;
    const float z = gradient_scale(score_of<D>(x, yi, yj, d) + bias_diff, loss);
    const float g = lr * z, decay = 1.0f - lr * reg;
#pragma omp simd
    for (int j = 0; j < d; ++j) x[j] = decay * x[j] + g * (yi[j] - yj[j]);
}

inline bool row_contains(const CsrView& X, int64_t row, int32_t item) {
    const int32_t* b = X.indices + X.indptr[row];
    const int32_t* e = X.indices + X.indptr[row + 1];
    return std::binary_search(b, e, item);
}

// Block in [0, S) of an id under an epoch's hash.
inline int block_of(uint64_t key, int64_t id, int S) {
    const uint64_t h = mix64(key + static_cast<uint64_t>(id) * 0x9e3779b97f4a7c15ULL);
    return static_cast<int>((static_cast<unsigned __int128>(h) * static_cast<uint64_t>(S)) >> 64);
}

template <int D>
void run_stratum(const CsrView& X, float* users, float* items, float* bias, int d, const BprConfig& cfg,
                 const int32_t* pairs, int64_t n, const int32_t* candidates, int64_t m, SplitMix64& rng,
                 double& loss_sum, int64_t& used, int64_t& skipped) {
    double loss = 0.0;
    for (int64_t it = 0; it < n; ++it) {
        const int64_t k = static_cast<int64_t>(rng.below(static_cast<uint64_t>(n)));
        const int32_t u = pairs[2 * k], i = pairs[2 * k + 1];
        int32_t j = -1;
        for (int tries = 0; tries < kMaxNegativeDraws; ++tries) {
            const int32_t cand = candidates[rng.below(static_cast<uint64_t>(m))];
            if (!cfg.verify_negatives || !row_contains(X, u, cand)) {
                j = cand;
                break;
            }
        }
        if (j < 0) {
            ++skipped;
            continue;
        }
        const int64_t dd = D ? D : d;
        loss += sgd_step<D>(users + u * dd, items + i * dd, items + j * dd, bias + i, bias + j, d,
                            cfg.learning_rate, cfg.regularization);
        ++used;
    }
    loss_sum += loss;
}

template <int D>
BprEpochStats epoch_impl(const CsrView& X, float* users, float* items, float* bias, int d,
                         const BprConfig& cfg, uint64_t seed, int64_t epoch, int32_t* buckets,
                         int num_threads) {
    const int64_t n_users = X.n_rows, n_items = X.n_cols, nnz = X.nnz();
    const int S = bpr_strata(n_users, n_items, nnz);
    const int64_t SS = static_cast<int64_t>(S) * S;
    const uint64_t user_key = stream_key(seed, 10, static_cast<uint64_t>(epoch));
    const uint64_t item_key = stream_key(seed, 11, static_cast<uint64_t>(epoch));
    const int threads = (S == 1 || static_cast<double>(nnz) * d < 1e6) ? 1 : resolve_threads(num_threads);

    // Items of each block (counting sort: ordered by block, then id).
    std::vector<int32_t> item_block(static_cast<std::size_t>(n_items));
    std::vector<int64_t> item_start(static_cast<std::size_t>(S) + 1, 0);
    for (int64_t i = 0; i < n_items; ++i) {
        item_block[i] = block_of(item_key, i, S);
        ++item_start[item_block[i] + 1];
    }
    for (int c = 0; c < S; ++c) item_start[c + 1] += item_start[c];
    std::vector<int32_t> item_list(static_cast<std::size_t>(n_items));
    {
        std::vector<int64_t> fill(item_start.begin(), item_start.end() - 1);
        for (int64_t i = 0; i < n_items; ++i) item_list[fill[item_block[i]]++] = static_cast<int32_t>(i);
    }

    // Cells of each stratum, by a two-pass counting sort over fixed user
    // chunks: positions depend on the data only, not on the threads.
    const int64_t n_chunks = std::max<int64_t>(1, std::min<int64_t>(64, n_users));
    std::vector<int64_t> counts(static_cast<std::size_t>(n_chunks * SS), 0);
    auto chunk_rows = [&](int64_t f, int64_t& lo, int64_t& hi) {
        lo = n_users * f / n_chunks;
        hi = n_users * (f + 1) / n_chunks;
    };
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1)
    for (int64_t f = 0; f < n_chunks; ++f) {
        int64_t lo, hi;
        chunk_rows(f, lo, hi);
        int64_t* cnt = counts.data() + f * SS;
        for (int64_t u = lo; u < hi; ++u) {
            const int64_t base = static_cast<int64_t>(block_of(user_key, u, S)) * S;
            for (int64_t k = X.indptr[u]; k < X.indptr[u + 1]; ++k) ++cnt[base + item_block[X.indices[k]]];
        }
    }
    std::vector<int64_t> bucket_start(static_cast<std::size_t>(SS) + 1, 0);
    {
        int64_t running = 0;
        for (int64_t s = 0; s < SS; ++s) {
            bucket_start[s] = running;
            for (int64_t f = 0; f < n_chunks; ++f) {
                const int64_t c = counts[f * SS + s];
                counts[f * SS + s] = running;  // becomes the chunk's write cursor
                running += c;
            }
        }
        bucket_start[SS] = running;
    }
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1)
    for (int64_t f = 0; f < n_chunks; ++f) {
        int64_t lo, hi;
        chunk_rows(f, lo, hi);
        int64_t* cursor = counts.data() + f * SS;
        for (int64_t u = lo; u < hi; ++u) {
            const int64_t base = static_cast<int64_t>(block_of(user_key, u, S)) * S;
            for (int64_t k = X.indptr[u]; k < X.indptr[u + 1]; ++k) {
                const int64_t pos = cursor[base + item_block[X.indices[k]]]++;
                buckets[2 * pos] = static_cast<int32_t>(u);
                buckets[2 * pos + 1] = X.indices[k];
            }
        }
    }

    std::vector<double> loss(static_cast<std::size_t>(SS), 0.0);
    std::vector<int64_t> used(static_cast<std::size_t>(SS), 0), skipped(static_cast<std::size_t>(SS), 0);
#pragma omp parallel num_threads(threads)
    for (int t = 0; t < S; ++t) {
#pragma omp for schedule(dynamic, 1)
        for (int b = 0; b < S; ++b) {
            const int c = (b + t) % S;
            const int64_t s = static_cast<int64_t>(b) * S + c;
            const int64_t n = bucket_start[s + 1] - bucket_start[s];
            const int64_t m = item_start[c + 1] - item_start[c];
            if (n == 0 || m == 0) continue;
            SplitMix64 rng(stream_key(seed, 12, static_cast<uint64_t>(epoch), static_cast<uint64_t>(s)));
            run_stratum<D>(X, users, items, bias, d, cfg, buckets + 2 * bucket_start[s], n,
                           item_list.data() + item_start[c], m, rng, loss[s], used[s], skipped[s]);
        }
    }
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

template <int D>
void fold_in_impl(const CsrView& rows, const float* items, const float* bias, int d, const BprConfig& cfg,
                  uint64_t seed, const int64_t* keys, int epochs, float* out, int num_threads) {
    const int64_t n_items = rows.n_cols;
    const double work = static_cast<double>(rows.nnz()) * epochs * d;
    const int threads = work < 1e6 ? 1 : resolve_threads(num_threads);
#pragma omp parallel for num_threads(threads) schedule(dynamic, 16)
    for (int64_t r = 0; r < rows.n_rows; ++r) {
        float* x = out + r * d;
        for (int j = 0; j < d; ++j) x[j] = 0.0f;
        const int64_t lo = rows.indptr[r], n = rows.indptr[r + 1] - lo;
        if (n == 0 || n_items == 0) continue;
        SplitMix64 rng(stream_key(seed, 13, static_cast<uint64_t>(keys[r])));
        for (int64_t it = 0; it < n * epochs; ++it) {
            const int32_t i = rows.indices[lo + static_cast<int64_t>(rng.below(static_cast<uint64_t>(n)))];
            int32_t j = -1;
            for (int tries = 0; tries < kMaxNegativeDraws; ++tries) {
                const int32_t cand = static_cast<int32_t>(rng.below(static_cast<uint64_t>(n_items)));
                if (!cfg.verify_negatives || !row_contains(rows, r, cand)) {
                    j = cand;
                    break;
                }
            }
            if (j < 0) continue;
            user_step<D>(x, items + static_cast<int64_t>(i) * d, items + static_cast<int64_t>(j) * d,
                         bias[i] - bias[j], d, cfg.learning_rate, cfg.regularization);
        }
    }
}

}  // namespace

int bpr_strata(int64_t n_users, int64_t n_items, int64_t nnz) {
    // Enough cells per stratum (~2k) that a round is worth a barrier, at most
    // 64 x 64 strata, and blocks of at least 16 users and items.
    int64_t s = static_cast<int64_t>(std::sqrt(static_cast<double>(nnz) / 2048.0));
    s = std::min<int64_t>({s, 64, n_users / 16, n_items / 16});
    return static_cast<int>(std::max<int64_t>(s, 1));
}

BprEpochStats bpr_epoch(const CsrView& X, float* users, float* items, float* item_bias, int d,
                        const BprConfig& config, uint64_t seed, int64_t epoch, int32_t* buckets,
                        int num_threads) {
    switch (d) {
        case 32: return epoch_impl<32>(X, users, items, item_bias, d, config, seed, epoch, buckets, num_threads);
        case 64: return epoch_impl<64>(X, users, items, item_bias, d, config, seed, epoch, buckets, num_threads);
        case 128: return epoch_impl<128>(X, users, items, item_bias, d, config, seed, epoch, buckets, num_threads);
        default: return epoch_impl<0>(X, users, items, item_bias, d, config, seed, epoch, buckets, num_threads);
    }
}

double bpr_replay(float* users, float* items, float* item_bias, int d, const int32_t* u,
                  const int32_t* pos, const int32_t* neg, int64_t n, const BprConfig& config) {
    double loss = 0.0;
    for (int64_t t = 0; t < n; ++t) {
        loss += sgd_step<0>(users + static_cast<int64_t>(u[t]) * d, items + static_cast<int64_t>(pos[t]) * d,
                            items + static_cast<int64_t>(neg[t]) * d, item_bias + pos[t], item_bias + neg[t], d,
                            config.learning_rate, config.regularization);
    }
    return loss;
}

void bpr_fold_in(const CsrView& rows, const float* items, const float* item_bias, int d,
                 const BprConfig& config, uint64_t seed, const int64_t* keys, int epochs, float* out,
                 int num_threads) {
    switch (d) {
        case 32: return fold_in_impl<32>(rows, items, item_bias, d, config, seed, keys, epochs, out, num_threads);
        case 64: return fold_in_impl<64>(rows, items, item_bias, d, config, seed, keys, epochs, out, num_threads);
        case 128: return fold_in_impl<128>(rows, items, item_bias, d, config, seed, keys, epochs, out, num_threads);
        default: return fold_in_impl<0>(rows, items, item_bias, d, config, seed, keys, epochs, out, num_threads);
    }
}

}  // namespace reelrec::factorization
