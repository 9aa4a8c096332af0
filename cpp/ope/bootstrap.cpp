#include "ope/bootstrap.hpp"

#include <algorithm>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <utility>
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
    REELREC_OPE_INLINE uint32_t one(WyRand& rng) const {
        for (;;) {
            const uint64_t m = (rng.next() >> 32) * n_;
            if (static_cast<uint32_t>(m) >= threshold_) return static_cast<uint32_t>(m >> 32);
        }
    }
    // Two indices from one generator call (rejected halves are redrawn one by
    // one, so each index stays exactly uniform and independent).
    REELREC_OPE_INLINE void two(WyRand& rng, uint32_t& a, uint32_t& b) const {
        const uint64_t x = rng.next();
        const uint64_t m0 = (x & 0xFFFFFFFFULL) * n_, m1 = (x >> 32) * n_;
        a = static_cast<uint32_t>(m0 >> 32);
        b = static_cast<uint32_t>(m1 >> 32);
        if (__builtin_expect(static_cast<uint32_t>(m0) < threshold_, 0)) a = one(rng);
        if (__builtin_expect(static_cast<uint32_t>(m1) < threshold_, 0)) b = one(rng);
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

// The per-round vectors a resample needs, packed row-major with W values per
// round. Each column contributes its plain vector and, with a ratio term, its
// num and den vectors; vectors that are zero everywhere are dropped and equal
// vectors share one slot (an evaluator's IPS term equals SNIPS's numerator,
// SNIPS and SNDR share their denominator), which shortens every resample.
// Gathering one packed row per draw touches one or two cache lines.
struct Packed {
    std::vector<double> values;  // rows x W
    int64_t W = 0;
    // Per column: slot of its plain, num and den vector; -1 = the zero vector.
    std::vector<int64_t> plain_at, num_at, den_at;
    std::vector<uint8_t> ratio;  // per column: has a ratio term
};

Packed pack(const BootstrapColumns& c, const int64_t* rows, int64_t count) {
    const int64_t E = c.n_cols;
    struct Source {
        const double* base;  // element i at base[row(i) * E]
    };
    std::vector<Source> slots;
    auto row = [&](int64_t k) { return rows ? rows[k] : k; };
    auto slot_of = [&](const double* base) -> int64_t {
        bool zero = true;
        for (int64_t k = 0; k < count && zero; ++k) zero = base[row(k) * E] == 0.0;
        if (zero) return -1;
        for (size_t s = 0; s < slots.size(); ++s) {
            bool same = true;
            for (int64_t k = 0; k < count && same; ++k) same = slots[s].base[row(k) * E] == base[row(k) * E];
            if (same) return static_cast<int64_t>(s);
        }
        slots.push_back({base});
        return static_cast<int64_t>(slots.size()) - 1;
    };
    Packed p;
    p.plain_at.assign(E, -1);
    p.num_at.assign(E, -1);
    p.den_at.assign(E, -1);
    p.ratio.assign(E, 0);
    for (int64_t e = 0; e < E; ++e) {
        p.plain_at[e] = slot_of(c.plain + e);
        if (c.has_ratio && c.has_ratio[e]) {
            p.ratio[e] = 1;
            p.num_at[e] = slot_of(c.num + e);
            p.den_at[e] = slot_of(c.den + e);
        }
    }
    p.W = std::max<int64_t>(1, static_cast<int64_t>(slots.size()));  // keep one (zero) slot to sum
    p.values.assign(static_cast<size_t>(count * p.W), 0.0);
    for (int64_t k = 0; k < count; ++k) {
        double* out = p.values.data() + k * p.W;
        for (size_t s = 0; s < slots.size(); ++s) out[s] = slots[s].base[row(k) * E];
    }
    return p;
}

// Estimates from the W slot sums of a resample of n rounds.
void finish(const Packed& p, const double* sums, int64_t n, int64_t n_cols, double* out) {
    auto sum = [&](int64_t slot) { return slot < 0 ? 0.0 : sums[slot]; };
    for (int64_t e = 0; e < n_cols; ++e) {
        double v = sum(p.plain_at[e]) / static_cast<double>(n);
        if (p.ratio[e]) {
            const double den = sum(p.den_at[e]);
            v = den == 0.0 ? kNaN : v + sum(p.num_at[e]) / den;
        }
        out[e] = v;
    }
}

// Calls f(index) for the n uniform indices of one resample. Every sampler
// below consumes the random stream through this function, so a resample is the
// same multiset of rounds whichever way it is summed.
template <class F>
REELREC_OPE_INLINE void draw_indices(int64_t n, WyRand& rng, F&& f) {
    if (n < (int64_t(1) << 32)) {
        const IndexSampler32 sampler(static_cast<uint64_t>(n));
        int64_t i = 0;
        uint32_t a, b;
        for (; i + 8 <= n; i += 8) {  // eight lanes, so callers can keep independent accumulators
            sampler.two(rng, a, b);
            f(0, a);
            f(1, b);
            sampler.two(rng, a, b);
            f(2, a);
            f(3, b);
            sampler.two(rng, a, b);
            f(4, a);
            f(5, b);
            sampler.two(rng, a, b);
            f(6, a);
            f(7, b);
        }
        for (; i < n; ++i) f(0, sampler.one(rng));
    } else {
        for (int64_t i = 0; i < n; ++i) f(0, static_cast<int64_t>(index64(rng, static_cast<uint64_t>(n))));
    }
}

// Packed rows up to this size are gathered directly (they stay in L2);
// larger ones are counted first and then scanned sequentially, which turns
// random cache misses of W-wide rows into one streaming pass.
constexpr double kGatherBytes = 2.0 * 1024.0 * 1024.0;

// Gather: accumulators in registers, eight independent chains for W == 1 and
// two interleaved sets otherwise. Fixed summation order: thread-count independent.
template <int W>
void resample_gather(const double* v, int64_t n, WyRand& rng, double* sums) {
    constexpr int kLanes = W == 1 ? 8 : 2;
    double acc[kLanes][W] = {};
    draw_indices(n, rng, [&](int k, uint64_t row) {
        const double* x = v + row * W;
        for (int j = 0; j < W; ++j) acc[k % kLanes][j] += x[j];
    });
    for (int j = 0; j < W; ++j) {
        double t = 0.0;
        for (int l = 0; l < kLanes; ++l) t += acc[l][j];
        sums[j] = t;
    }
}

// Count, then scan the packed rows in order (branch-free multiply-adds).
template <int W>
void resample_scan(const double* v, int64_t n, WyRand& rng, uint32_t* counts, double* sums) {
    std::fill(counts, counts + n, 0u);
    draw_indices(n, rng, [&](int, uint64_t row) { ++counts[row]; });
    constexpr int kLanes = W == 1 ? 4 : (W <= 3 ? 2 : 1);
    double acc[kLanes][W] = {};
    for (int64_t i = 0; i < n; ++i) {
        const double c = static_cast<double>(counts[i]);
        const double* x = v + i * W;
        for (int j = 0; j < W; ++j) acc[i % kLanes][j] += c * x[j];
    }
    for (int j = 0; j < W; ++j) {
        double t = 0.0;
        for (int l = 0; l < kLanes; ++l) t += acc[l][j];
        sums[j] = t;
    }
}

// Any width (beyond the compiled ones): count and scan with sums in memory.
void resample_scan_any(const double* v, int64_t W, int64_t n, WyRand& rng, uint32_t* counts, double* sums) {
    std::fill(counts, counts + n, 0u);
    draw_indices(n, rng, [&](int, uint64_t row) { ++counts[row]; });
    std::fill(sums, sums + W, 0.0);
    for (int64_t i = 0; i < n; ++i) {
        const double c = static_cast<double>(counts[i]);
        const double* x = v + i * W;
        for (int64_t j = 0; j < W; ++j) sums[j] += c * x[j];
    }
}

template <int... Ws>
void resample_dispatch(std::integer_sequence<int, Ws...>, const Packed& p, int64_t n, WyRand& rng,
                       uint32_t* counts, double* sums) {
    const double* v = p.values.data();
    const bool gather = static_cast<double>(n) * p.W * sizeof(double) <= kGatherBytes;
    const bool done = ((p.W == Ws ? ((gather ? resample_gather<Ws>(v, n, rng, sums)
                                             : resample_scan<Ws>(v, n, rng, counts, sums)),
                                     true)
                                  : false) ||
                       ...);
    if (!done) resample_scan_any(v, p.W, n, rng, counts, sums);
}

// One resample by drawing n indices; sums[0..W) receives the column sums.
// counts needs n entries unless the rows are gathered.
void resample_indices(const Packed& p, int64_t n, WyRand& rng, uint32_t* counts, double* sums) {
    resample_dispatch(std::integer_sequence<int, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16>{}, p, n,
                      rng, counts, sums);
}

bool needs_counts(const Packed& p, int64_t n) {
    return p.W > 16 || static_cast<double>(n) * p.W * sizeof(double) > kGatherBytes;
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

    int64_t max_width = E;  // before zero and duplicate vectors are dropped
    for (int64_t e = 0; e < E; ++e) max_width += cols.has_ratio && cols.has_ratio[e] ? 2 : 0;
    // Rough single-thread nanoseconds per resample: ~(0.9 + 0.3 W) per drawn
    // index, ~(40 + W) per distinct row (one binomial). auto takes the counts
    // sampler when it is at least twice as cheap.
    const double index_ns = 0.9 + 0.3 * static_cast<double>(max_width);
    const double binomial_ns = 40.0 + static_cast<double>(max_width);

    DistinctRows distinct;
    if (method != BootstrapMethod::Indices) {
        const int64_t limit = method == BootstrapMethod::Counts
                                  ? n
                                  : std::max<int64_t>(1, static_cast<int64_t>(n * index_ns / (2 * binomial_ns)));
        method = distinct_rows(cols, limit, distinct) ? BootstrapMethod::Counts : BootstrapMethod::Indices;
    }

    // Below a few milliseconds a thread team costs more than it saves (and far
    // more on an oversubscribed machine).
    const double work_ns = static_cast<double>(n_boot) *
                           (method == BootstrapMethod::Counts ? binomial_ns * distinct.mass.size()
                                                              : static_cast<double>(n) * index_ns);
    const int threads = work_ns < 4e6 ? 1 : resolve_threads(num_threads);
    ExceptionCollector errors;

    if (method == BootstrapMethod::Counts) {
        // The heaviest distinct row goes last so that it takes the remainder of
        // the multinomial instead of a binomial draw.
        const int64_t K = static_cast<int64_t>(distinct.first_row.size());
        int64_t heaviest = 0;
        for (int64_t k = 1; k < K; ++k)
            if (distinct.mass[k] > distinct.mass[heaviest]) heaviest = k;
        std::swap(distinct.first_row[heaviest], distinct.first_row[K - 1]);
        std::swap(distinct.mass[heaviest], distinct.mass[K - 1]);
        const Packed packed = pack(cols, distinct.first_row.data(), K);
        const int64_t W = packed.W;
#pragma omp parallel num_threads(threads)
        {
            std::vector<double> sums(W);
#pragma omp for schedule(dynamic, 1)
            for (int64_t b = 0; b < n_boot; ++b) {
                errors.run([&] {
                    WyRand rng(seed, static_cast<uint64_t>(b));
                    std::fill(sums.begin(), sums.end(), 0.0);
                    int64_t left = n, mass_left = n;
                    for (int64_t k = 0; k < K; ++k) {
                        const int64_t m = distinct.mass[k];
                        const int64_t c = k + 1 == K ? left
                                          : left > 0 ? binomial(rng, left, static_cast<double>(m) / mass_left)
                                                     : 0;
                        left -= c;
                        mass_left -= m;
                        if (c == 0) continue;
                        const double* x = packed.values.data() + k * W;
                        for (int64_t j = 0; j < W; ++j) sums[j] += static_cast<double>(c) * x[j];
                    }
                    finish(packed, sums.data(), n, E, out + b * E);
                });
            }
        }
        errors.rethrow();
        return method;
    }

    const Packed packed = pack(cols, nullptr, n);
#pragma omp parallel num_threads(threads)
    {
        std::vector<uint32_t> counts(needs_counts(packed, n) ? n : 0);
        std::vector<double> sums(packed.W);
#pragma omp for schedule(dynamic, 1)
        for (int64_t b = 0; b < n_boot; ++b) {
            errors.run([&] {
                WyRand rng(seed, static_cast<uint64_t>(b));
                resample_indices(packed, n, rng, counts.data(), sums.data());
                finish(packed, sums.data(), n, E, out + b * E);
            });
        }
    }
    errors.rethrow();
    return BootstrapMethod::Indices;
}

}  // namespace reelrec::ope
