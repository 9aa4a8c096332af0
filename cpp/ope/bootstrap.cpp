#include "ope/bootstrap.hpp"

#include <algorithm>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <vector>

#include "common/parallel.hpp"
#include "ope/binomial.hpp"
#include "ope/rng.hpp"

namespace reelrec::ope {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Uniform integers in [0, n) from 32-bit halves of the generator (n < 2^32).
// Lemire (2019), "Fast random integer generation in an interval": the high word
// of x * n is uniform once the low word clears the threshold (2^32 - n) mod n.
class IndexSampler32 {
public:
    explicit IndexSampler32(uint64_t n)
        : n_(n), threshold_(static_cast<uint32_t>(-static_cast<uint32_t>(n)) % static_cast<uint32_t>(n)) {}
    inline uint32_t one(WyRand& rng) const {
        for (;;) {
            const uint64_t m = (rng.next() >> 32) * n_;
            if (static_cast<uint32_t>(m) >= threshold_) return static_cast<uint32_t>(m >> 32);
        }
    }
    // Eight indices from four generator calls. A group with any rejected half is
    // redrawn whole: conditioning on a product event keeps the eight independent
    // and uniform, and rejections are rare (probability < 8 n / 2^32).
    inline void eight(WyRand& rng, uint32_t* out) const {
        for (;;) {
            uint64_t m[8];
            for (int k = 0; k < 4; ++k) {
                const uint64_t x = rng.next();
                m[2 * k] = (x & 0xFFFFFFFFULL) * n_;
                m[2 * k + 1] = (x >> 32) * n_;
            }
            bool rejected = false;
            for (int k = 0; k < 8; ++k) rejected |= static_cast<uint32_t>(m[k]) < threshold_;
            if (__builtin_expect(rejected, 0)) continue;
            for (int k = 0; k < 8; ++k) out[k] = static_cast<uint32_t>(m[k] >> 32);
            return;
        }
    }

private:
    uint64_t n_;
    uint32_t threshold_;
};

// 64-bit variant for logs of 2^32 rounds or more.
inline uint64_t index64(WyRand& rng, uint64_t n) {
    const uint64_t threshold = (0 - n) % n;
    for (;;) {
        const __uint128_t m = static_cast<__uint128_t>(rng.next()) * n;
        if (static_cast<uint64_t>(m) >= threshold) return static_cast<uint64_t>(m >> 64);
    }
}

// Fills counts[0..n) with how often each round is drawn in one resample.
void draw_counts(WyRand& rng, int64_t n, uint32_t* counts) {
    std::fill(counts, counts + n, 0u);
    if (n < (int64_t(1) << 32)) {
        const IndexSampler32 sampler(static_cast<uint64_t>(n));
        uint32_t idx[8];
        int64_t i = 0;
        for (; i + 8 <= n; i += 8) {
            sampler.eight(rng, idx);
            for (int k = 0; k < 8; ++k) ++counts[idx[k]];
        }
        for (; i < n; ++i) ++counts[sampler.one(rng)];
    } else {
        for (int64_t i = 0; i < n; ++i) ++counts[index64(rng, static_cast<uint64_t>(n))];
    }
}

// Estimates of every column from per-row multiplicities w (resample counts, or
// counts of distinct rows); writes n_cols values to out. One pass over the rows.
template <class Weight>
void column_statistics(const BootstrapColumns& c, int64_t rows, const Weight* w, double* acc, double* out) {
    const int64_t E = c.n_cols;
    double* plain = acc;
    double* num = acc + E;
    double* den = acc + 2 * E;
    std::fill(acc, acc + 3 * E, 0.0);
    for (int64_t i = 0; i < rows; ++i) {
        if (w[i] == 0) continue;
        const double wi = static_cast<double>(w[i]);
        const double* p = c.plain + i * E;
        for (int64_t e = 0; e < E; ++e) plain[e] += wi * p[e];
        if (c.num) {
            const double* a = c.num + i * E;
            const double* b = c.den + i * E;
            for (int64_t e = 0; e < E; ++e) {
                num[e] += wi * a[e];
                den[e] += wi * b[e];
            }
        }
    }
    for (int64_t e = 0; e < E; ++e) {
        double v = plain[e] / static_cast<double>(c.n);
        if (c.has_ratio && c.has_ratio[e]) v = den[e] == 0.0 ? kNaN : v + num[e] / den[e];
        out[e] = v;
    }
}

// Fast path: one column, no ratio term; sums gathered values directly with
// eight accumulators (fixed order, so thread-count independent).
double resample_mean(const double* values, int64_t n, WyRand& rng) {
    double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    if (n < (int64_t(1) << 32)) {
        const IndexSampler32 sampler(static_cast<uint64_t>(n));
        uint32_t idx[8];
        int64_t i = 0;
        for (; i + 8 <= n; i += 8) {
            sampler.eight(rng, idx);
            for (int k = 0; k < 8; ++k) acc[k] += values[idx[k]];
        }
        for (; i < n; ++i) acc[0] += values[sampler.one(rng)];
    } else {
        for (int64_t i = 0; i < n; ++i) acc[0] += values[index64(rng, static_cast<uint64_t>(n))];
    }
    const double total = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
    return total / static_cast<double>(n);
}

// Distinct rows of the (plain, num, den) tuples, in order of first occurrence.
struct DistinctRows {
    std::vector<int64_t> first_row;  // representative row of each distinct tuple
    std::vector<int64_t> mass;       // how many rows share it
};

class RowKey {
public:
    explicit RowKey(const BootstrapColumns& c) : c_(c) {}
    uint64_t hash(int64_t row) const {
        uint64_t h = 0x243F6A8885A308D3ULL;
        auto mix = [&h](const double* p, int64_t len) {
            for (int64_t k = 0; k < len; ++k) {
                uint64_t bits;
                std::memcpy(&bits, p + k, sizeof bits);
                h = (h ^ bits) * 0x9E3779B97F4A7C15ULL;
                h ^= h >> 29;
            }
        };
        mix(c_.plain + row * c_.n_cols, c_.n_cols);
        if (c_.num) {
            mix(c_.num + row * c_.n_cols, c_.n_cols);
            mix(c_.den + row * c_.n_cols, c_.n_cols);
        }
        return h;
    }
    // Bitwise equality: exact, and -0.0 vs 0.0 merely splits a category.
    bool equal(int64_t a, int64_t b) const {
        const size_t bytes = static_cast<size_t>(c_.n_cols) * sizeof(double);
        if (std::memcmp(c_.plain + a * c_.n_cols, c_.plain + b * c_.n_cols, bytes) != 0) return false;
        if (!c_.num) return true;
        return std::memcmp(c_.num + a * c_.n_cols, c_.num + b * c_.n_cols, bytes) == 0 &&
               std::memcmp(c_.den + a * c_.n_cols, c_.den + b * c_.n_cols, bytes) == 0;
    }

private:
    const BootstrapColumns& c_;
};

// Open-addressing hash of the rows; gives up (returns false) once more than
// `limit` distinct tuples are seen, so the auto mode costs O(limit) memory.
bool distinct_rows(const BootstrapColumns& c, int64_t limit, DistinctRows& out) {
    const RowKey key(c);
    uint64_t capacity = 16;
    while (capacity < static_cast<uint64_t>(std::min<int64_t>(limit, c.n)) * 2 + 2) capacity <<= 1;
    std::vector<int64_t> slot(capacity, -1);  // index into out.first_row
    out.first_row.clear();
    out.mass.clear();
    for (int64_t i = 0; i < c.n; ++i) {
        uint64_t h = key.hash(i) & (capacity - 1);
        for (;;) {
            const int64_t s = slot[h];
            if (s < 0) {
                if (static_cast<int64_t>(out.first_row.size()) >= limit) return false;
                slot[h] = static_cast<int64_t>(out.first_row.size());
                out.first_row.push_back(i);
                out.mass.push_back(1);
                break;
            }
            if (key.equal(out.first_row[s], i)) {
                ++out.mass[s];
                break;
            }
            h = (h + 1) & (capacity - 1);
        }
        if (out.first_row.size() * 2 + 2 > capacity) {  // keep the load factor below 1/2
            capacity <<= 1;
            std::vector<int64_t>(capacity, -1).swap(slot);
            for (size_t s = 0; s < out.first_row.size(); ++s) {
                uint64_t g = key.hash(out.first_row[s]) & (capacity - 1);
                while (slot[g] >= 0) g = (g + 1) & (capacity - 1);
                slot[g] = static_cast<int64_t>(s);
            }
        }
    }
    return true;
}

}  // namespace

BootstrapMethod bootstrap_replicates(const BootstrapColumns& cols, int64_t n_boot, uint64_t seed,
                                     BootstrapMethod method, int num_threads, double* out) {
    if (cols.n <= 0 || cols.n_cols <= 0) throw std::invalid_argument("bootstrap: no rounds or no columns");
    if (n_boot <= 0) throw std::invalid_argument("bootstrap: n_boot must be positive");
    if ((cols.num == nullptr) != (cols.den == nullptr) || (cols.num && !cols.has_ratio))
        throw std::invalid_argument("bootstrap: num, den and has_ratio go together");
    const int64_t n = cols.n, E = cols.n_cols;

    DistinctRows distinct;
    if (method != BootstrapMethod::Indices) {
        const int64_t limit = method == BootstrapMethod::Counts ? n : std::max<int64_t>(1, n / 32);
        method = distinct_rows(cols, limit, distinct) ? BootstrapMethod::Counts : BootstrapMethod::Indices;
    }

    const double work = static_cast<double>(n_boot) *
                        (method == BootstrapMethod::Counts ? 64.0 * distinct.mass.size() * E : n * 1.0 * E);
    const int threads = work < 2e5 ? 1 : resolve_threads(num_threads);
    ExceptionCollector errors;

    if (method == BootstrapMethod::Counts) {
        // Compact the distinct rows; the heaviest goes last so that it takes the
        // remainder of the multinomial instead of a binomial draw.
        const int64_t K = static_cast<int64_t>(distinct.first_row.size());
        int64_t heaviest = 0;
        for (int64_t k = 1; k < K; ++k)
            if (distinct.mass[k] > distinct.mass[heaviest]) heaviest = k;
        std::swap(distinct.first_row[heaviest], distinct.first_row[K - 1]);
        std::swap(distinct.mass[heaviest], distinct.mass[K - 1]);
        std::vector<double> plain(K * E), num, den;
        if (cols.num) {
            num.resize(K * E);
            den.resize(K * E);
        }
        for (int64_t k = 0; k < K; ++k) {
            const int64_t r = distinct.first_row[k];
            std::copy(cols.plain + r * E, cols.plain + (r + 1) * E, plain.begin() + k * E);
            if (cols.num) {
                std::copy(cols.num + r * E, cols.num + (r + 1) * E, num.begin() + k * E);
                std::copy(cols.den + r * E, cols.den + (r + 1) * E, den.begin() + k * E);
            }
        }
        BootstrapColumns compact{plain.data(), cols.num ? num.data() : nullptr,
                                 cols.num ? den.data() : nullptr, cols.has_ratio, n, E};
#pragma omp parallel num_threads(threads)
        {
            std::vector<int64_t> counts(K);
            std::vector<double> acc(3 * E);
#pragma omp for schedule(static)
            for (int64_t b = 0; b < n_boot; ++b) {
                errors.run([&] {
                    WyRand rng(seed, static_cast<uint64_t>(b));
                    int64_t left = n, mass_left = n;
                    for (int64_t k = 0; k + 1 < K; ++k) {
                        const int64_t m = distinct.mass[k];
                        counts[k] = left > 0 ? binomial(rng, left, static_cast<double>(m) / mass_left) : 0;
                        left -= counts[k];
                        mass_left -= m;
                    }
                    counts[K - 1] = left;
                    column_statistics(compact, K, counts.data(), acc.data(), out + b * E);
                });
            }
        }
        errors.rethrow();
        return method;
    }

    const bool simple_mean = E == 1 && cols.num == nullptr;
#pragma omp parallel num_threads(threads)
    {
        std::vector<uint32_t> counts(simple_mean ? 0 : n);
        std::vector<double> acc(3 * E);
#pragma omp for schedule(static)
        for (int64_t b = 0; b < n_boot; ++b) {
            errors.run([&] {
                WyRand rng(seed, static_cast<uint64_t>(b));
                if (simple_mean) {
                    out[b] = resample_mean(cols.plain, n, rng);
                    return;
                }
                draw_counts(rng, n, counts.data());
                column_statistics(cols, n, counts.data(), acc.data(), out + b * E);
            });
        }
    }
    errors.rethrow();
    return BootstrapMethod::Indices;
}

}  // namespace reelrec::ope
