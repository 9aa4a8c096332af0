#include "ope/bootstrap.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <utility>
#include <vector>

#include "common/parallel.hpp"
#include "ope/binomial.hpp"
#include "ope/poisson_multinomial.hpp"
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

// Uniform rounds in [0, n): IndexSampler32 below 2^32 rounds, else 64-bit.
class RoundSampler {
public:
    explicit RoundSampler(uint64_t n) : n_(n), small_(n < (uint64_t(1) << 32)), sampler32_(small_ ? n : 1) {}
    uint64_t draw(WyRand& rng) const { return small_ ? sampler32_.one(rng) : uniform_index(rng, n_); }

private:
    uint64_t n_;
    bool small_;
    IndexSampler32 sampler32_;
};

// The per-round vectors a resample needs, packed row-major with W values per
// round. Each column contributes its plain vector and, with a ratio term, its
// num and den vectors; vectors that are zero everywhere are dropped and equal
// vectors share one slot (an evaluator's IPS term equals SNIPS's numerator,
// SNIPS and SNDR share their denominator), which shortens every resample.
// Gathering one packed row per draw touches one or two cache lines.
struct Packed {
    std::vector<double> values;  // rows x W, or W columns of ld rows (pack's ld > 0)
    int64_t W = 0;
    // Per column: slot of its plain, num and den vector; -1 = the zero vector.
    std::vector<int64_t> plain_at, num_at, den_at;
    std::vector<uint8_t> ratio;  // per column: has a ratio term
};

// ld > 0: column-major with leading dimension ld >= count (zero padded).
Packed pack(const BootstrapColumns& c, const int64_t* rows, int64_t count, int64_t ld = 0) {
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
    if (ld > 0) {
        p.values.assign(static_cast<size_t>(ld * p.W), 0.0);
        for (size_t s = 0; s < slots.size(); ++s) {
            double* out = p.values.data() + s * ld;
            for (int64_t k = 0; k < count; ++k) out[k] = slots[s].base[row(k) * E];
        }
        return p;
    }
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
        for (int64_t i = 0; i < n; ++i)
            f(0, static_cast<int64_t>(uniform_index(rng, static_cast<uint64_t>(n))));
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
    const bool done =
        ((p.W == Ws
              ? ((gather ? resample_gather<Ws>(v, n, rng, sums) : resample_scan<Ws>(v, n, rng, counts, sums)),
                 true)
              : false) ||
         ...);
    if (!done) resample_scan_any(v, p.W, n, rng, counts, sums);
}

// One resample by drawing n indices; sums[0..W) receives the column sums.
// counts needs n entries unless the rows are gathered.
void resample_indices(const Packed& p, int64_t n, WyRand& rng, uint32_t* counts, double* sums) {
    resample_dispatch(std::integer_sequence<int, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16>{}, p,
                      n, rng, counts, sums);
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

// Open-addressing hash of the first `rows` rows; gives up (returns false) once
// more than `limit` distinct tuples are seen, so a probe costs O(limit) memory.
bool distinct_rows(const BootstrapColumns& c, int64_t rows, int64_t limit, DistinctRows& out) {
    const RowKey key(c);
    uint64_t capacity = 16;
    while (capacity < static_cast<uint64_t>(std::min<int64_t>(limit, rows)) * 2 + 2) capacity <<= 1;
    std::vector<int64_t> slot(capacity, -1);  // index into out.first_row
    out.first_row.clear();
    out.mass.clear();
    for (int64_t i = 0; i < rows; ++i) {
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

// Which of a few candidate tuples a round equals (-1: none). Up to four
// candidates are compared directly; more go through an open-addressing table
// of the candidates alone, so a lookup touches L1 only.
class CandidateTable {
public:
    CandidateTable(const BootstrapColumns& c, const std::vector<int64_t>& rows)
        : key_(c), c_(c), rows_(rows) {
        if (rows_.size() == 1 && c.n_cols == 1 && !c.num) {
            single_ = rows_[0];
            std::memcpy(&single_bits_, c.plain + single_, sizeof single_bits_);
        }
        if (rows_.size() <= 4) return;
        uint64_t capacity = 16;
        while (capacity < 2 * rows_.size()) capacity <<= 1;
        slot_.assign(capacity, -1);
        for (size_t k = 0; k < rows_.size(); ++k) {
            uint64_t h = key_.hash(rows_[k]) & (capacity - 1);
            while (slot_[h] >= 0) h = (h + 1) & (capacity - 1);
            slot_[h] = static_cast<int32_t>(k);
        }
    }
    int32_t find(int64_t row) const {
        if (single_ >= 0) {  // one candidate of one plain value: the common click-log case
            uint64_t bits;
            std::memcpy(&bits, c_.plain + row, sizeof bits);
            return bits == single_bits_ ? 0 : -1;
        }
        if (slot_.empty()) {  // every candidate compared: no branch on the (random) outcome
            int32_t found = -1;
            for (size_t k = rows_.size(); k-- > 0;)
                found = same(rows_[k], row) ? static_cast<int32_t>(k) : found;
            return found;
        }
        const uint64_t mask = slot_.size() - 1;
        for (uint64_t h = key_.hash(row) & mask;; h = (h + 1) & mask) {
            const int32_t k = slot_[h];
            if (k < 0 || same(rows_[k], row)) return k;
        }
    }

private:
    // Bitwise equality of two rounds' tuples, as RowKey::equal, inlined.
    bool same(int64_t a, int64_t b) const {
        const int64_t E = c_.n_cols;
        auto eq = [E](const double* base, int64_t x, int64_t y) {
            uint64_t diff = 0;
            for (int64_t e = 0; e < E; ++e) {
                uint64_t u, v;
                std::memcpy(&u, base + x * E + e, sizeof u);
                std::memcpy(&v, base + y * E + e, sizeof v);
                diff |= u ^ v;
            }
            return diff;
        };
        uint64_t diff = eq(c_.plain, a, b);
        if (c_.num) diff |= eq(c_.num, a, b) | eq(c_.den, a, b);
        return diff == 0;
    }
    RowKey key_;
    const BootstrapColumns& c_;
    const std::vector<int64_t>& rows_;
    std::vector<int32_t> slot_;
    int64_t single_ = -1;
    uint64_t single_bits_ = 0;
};

// Rows of the Poisson pass that share a pattern: which slots are zero and
// which equal an earlier slot (SNIPS: num = den on click rounds, num = 0 on
// the others). Each pattern streams only its distinct nonzero slots, so a
// two-slot estimator costs about what a one-slot one does. Every round still
// gets its own Poisson count, so splitting the rows changes nothing else.
struct PassClass {
    int64_t m = 0, ld = 0, width = 0;
    std::vector<double> values;    // width columns of ld rows (zero padded)
    std::vector<int64_t> slot_of;  // per packed slot: the class column feeding it, -1 = zero
    FixedColumns fixed;            // the values' fixed-point digits, when the pass takes them
    bool has_fixed = false;
    UniformRows rows() const {
        return UniformRows{values.data(), m, ld, width, has_fixed ? &fixed : nullptr};
    }
};

// Round i's slot j is v[j * ld + i].
std::vector<PassClass> split_by_pattern(const double* v, int64_t ld, int64_t m, int64_t W) {
    std::vector<PassClass> out;
    if (m == 0) return out;
    // pattern[j] = -1 (zero) or the first slot holding the same value, packed
    // 5 bits a slot into one integer key (W <= 12); wider rows use one class.
    constexpr int64_t kMaxPatterns = 8;
    std::vector<uint8_t> code(static_cast<size_t>(m), 0);
    std::vector<uint64_t> keys;
    if (W <= 12) {
        // Branch-free per round: the patterns alternate at random (clicks).
        for (int64_t i = 0; i < m && static_cast<int64_t>(keys.size()) <= kMaxPatterns; ++i) {
            uint64_t key = 0;
            // on the bit patterns (integer compares compile to selects; +-0 are both zero)
            uint64_t bits[12];
            for (int64_t j = 0; j < W; ++j) std::memcpy(&bits[j], v + j * ld + i, sizeof bits[j]);
            for (int64_t j = 0; j < W; ++j) {
                const uint64_t nonzero = (bits[j] << 1) != 0;
                uint64_t first = nonzero ? static_cast<uint64_t>(j) + 1 : 0;  // slot + 1, 0 = zero
                for (int64_t k = j - 1; k >= 0; --k) first = (bits[k] == bits[j]) & nonzero ? k + 1 : first;
                key |= first << (5 * j);
            }
            size_t p = keys.size();
            for (size_t q = 0; q < keys.size(); ++q) p = keys[q] == key ? q : p;
            if (p == keys.size()) keys.push_back(key);
            code[i] = static_cast<uint8_t>(p);
        }
    }
    std::vector<std::vector<int64_t>> patterns;
    if (keys.empty() || static_cast<int64_t>(keys.size()) > kMaxPatterns) {  // one class with every slot
        patterns.assign(1, std::vector<int64_t>(static_cast<size_t>(W)));
        for (int64_t j = 0; j < W; ++j) patterns[0][j] = j;
        std::fill(code.begin(), code.end(), 0);
    } else {
        for (const uint64_t key : keys) {
            std::vector<int64_t> pat(static_cast<size_t>(W));
            for (int64_t j = 0; j < W; ++j) pat[j] = static_cast<int64_t>((key >> (5 * j)) & 31) - 1;
            patterns.push_back(std::move(pat));
        }
    }
    for (const auto& pat : patterns) {
        PassClass c;
        std::vector<int64_t> col_of(static_cast<size_t>(W), -1);  // slot -> class column
        for (int64_t j = 0; j < W; ++j)
            if (pat[j] == j) col_of[j] = c.width++;
        c.slot_of.resize(static_cast<size_t>(W));
        for (int64_t j = 0; j < W; ++j) c.slot_of[j] = pat[j] < 0 ? -1 : col_of[pat[j]];
        out.push_back(std::move(c));
    }
    for (int64_t i = 0; i < m; ++i) ++out[code[i]].m;
    // Per class, the (packed slot, class column) pairs it stores: the scatter
    // below then runs without data-dependent branches inside a row.
    std::vector<std::vector<std::pair<int64_t, int64_t>>> moves(out.size());
    for (size_t p = 0; p < out.size(); ++p) {
        PassClass& c = out[p];
        for (int64_t j = 0; j < W; ++j)
            if (c.slot_of[j] >= 0 && patterns[p][j] == j) moves[p].emplace_back(j, c.slot_of[j]);
        c.ld = (c.m + kUniformRowBlock - 1) / kUniformRowBlock * kUniformRowBlock;
        c.values.assign(static_cast<size_t>(c.ld * std::max<int64_t>(c.width, 1)), 0.0);
        c.m = 0;
    }
    if (out.size() == 1 && static_cast<int64_t>(moves[0].size()) == W) {  // one class holding every slot
        PassClass& c = out[0];
        for (int64_t j = 0; j < W; ++j) {
            std::copy(v + j * ld, v + j * ld + m, c.values.data() + c.slot_of[j] * c.ld);
        }
        c.m = m;
    } else {
        for (int64_t i = 0; i < m; ++i) {
            PassClass& c = out[code[i]];
            for (const auto& [slot, col] : moves[code[i]]) c.values[col * c.ld + c.m] = v[slot * ld + i];
            ++c.m;
        }
    }
    // a class of all-zero rows still draws its counts (they are part of N)
    for (auto& c : out) {
        c.width = std::max<int64_t>(c.width, 1);
        if (poisson_pass_uses_fixed(c.width)) c.has_fixed = make_fixed_columns(c.rows(), c.fixed);
    }
    return out;
}

// The hybrid sampler, by Poissonisation (poisson_multinomial.hpp): every
// round gets an independent Poisson(lambda) count with lambda = (n - 2 sqrt n)/n;
// a resample whose total N exceeds n is drawn again, and n - N uniform draws
// top it up, which gives exactly Multinomial(n; 1/n, ..., 1/n). Tuples shared
// by many rounds (the zero terms of a click log) get one Poisson(lambda mass)
// draw from a precomputed guide table; every other round goes through the
// vectorised pass. lambda does not depend on the resample, so all tables are
// built once.
BootstrapMethod hybrid_replicates(const BootstrapColumns& cols, int64_t max_width, int64_t n_boot,
                                  uint64_t seed, int num_threads, double* out) {
    const int64_t n = cols.n, E = cols.n_cols;
    // A tuple is worth a guide-table draw (~40 ns measured, with its cache misses)
    // once it stands for more rows than the pass handles in that time
    // (~0.35 + 0.15 W ns per row for the first pass kernel: kept, as the
    // threshold decides which rows draw from which stream, so seeded results
    // stay as they were; today's pass is about twice as fast, and the
    // threshold only trades a little speed either way).
    const double w = static_cast<double>(max_width);
    const double row_ns = 0.35 + 0.15 * w;
    const int64_t heavy_mass = std::max<int64_t>(8, static_cast<int64_t>(std::ceil(40.0 / row_ns)));

    // Heavy tuples: candidates are the probe's tuples that look heavy (half the
    // heavy mass, scaled to a prefix of 4096 rounds, and at least two of its
    // rounds); when they cover a tenth of the probe, one scan of the log
    // compares every round with the candidates only (a small table that stays
    // in L1) and counts their exact masses. A heavy tuple the probe misses
    // just streams through the pass.
    std::vector<int64_t> rows, heavy_mass_of, heavy_end;
    bool grouped = false;
    const int64_t probe = std::min<int64_t>(n, 4096);
    if (n >= 2 * heavy_mass) {
        DistinctRows distinct;
        distinct_rows(cols, probe, probe, distinct);
        // (at least twice: a tuple seen once in the probe is no evidence of weight)
        const double looks_heavy =
            std::max(2.0, 0.5 * static_cast<double>(heavy_mass) * probe / static_cast<double>(n));
        std::vector<int64_t> candidates;
        int64_t covered = 0;
        for (size_t k = 0; k < distinct.mass.size(); ++k) {
            if (static_cast<double>(distinct.mass[k]) < looks_heavy) continue;
            covered += distinct.mass[k];
            candidates.push_back(distinct.first_row[k]);
        }
        if (10 * covered >= probe) {
            const CandidateTable table(cols, candidates);
            std::vector<int32_t> group_of(static_cast<size_t>(n));
            std::vector<int64_t> mass(candidates.size(), 0);
            for (int64_t i = 0; i < n; ++i) {
                const int32_t k = table.find(i);
                group_of[i] = k;
                if (k >= 0) ++mass[k];
            }
            std::vector<uint8_t> other(candidates.size() + 1, 1);  // by group + 1: streamed by the pass
            int64_t end = 0;
            for (size_t k = 0; k < candidates.size(); ++k) {
                if (mass[k] < heavy_mass) continue;
                other[k + 1] = 0;
                rows.push_back(candidates[k]);
                heavy_mass_of.push_back(mass[k]);
                heavy_end.push_back(end += mass[k]);
            }
            // the other rounds in order, appended without a branch per round
            const size_t first_other = rows.size();
            rows.resize(first_other + static_cast<size_t>(n));
            size_t count = first_other;
            for (int64_t i = 0; i < n; ++i) {
                rows[count] = i;
                count += other[group_of[i] + 1];
            }
            rows.resize(count);
            grouped = true;
        }
    }
    // Packed rows: heavy tuples first, then the other rounds. For the uniform
    // top-up draws the rounds are ordered the same way: round r < heavy_end[H-1]
    // belongs to the heavy tuple k with heavy_end[k-1] <= r < heavy_end[k], a
    // later one to row r - heavy_end[H-1] of the others.
    const int64_t H = static_cast<int64_t>(heavy_mass_of.size());
    const int64_t m = grouped ? static_cast<int64_t>(rows.size()) - H : n;

    // All packed rows column by column (heavy tuples, then the other rounds,
    // padded with zeros to whole blocks): the top-up gathers from the whole
    // columns, the pass classes copy the other rounds from their tails.
    const int64_t ld = H + (m + kUniformRowBlock - 1) / kUniformRowBlock * kUniformRowBlock;
    Packed packed = pack(cols, grouped ? rows.data() : nullptr, H + m, ld);
    const int64_t W = packed.W;
    std::vector<int64_t>().swap(rows);
    const std::vector<double>& columns = packed.values;
    const std::vector<PassClass> classes = split_by_pattern(columns.data() + H, ld, m, W);

    // Tiny logs: lambda would be about zero; every draw is then a top-up draw.
    const double nd = static_cast<double>(n);
    const double lambda = std::max(0.0, (nd - 2.0 * std::sqrt(nd)) / nd);
    const bool poissonise = n >= 64 && lambda > 0.5;
    const PoissonThresholds thresholds(poissonise ? lambda : 1.0);
    std::vector<PoissonGuide> guides;
    guides.reserve(static_cast<size_t>(H));
    if (poissonise)
        for (int64_t k = 0; k < H; ++k) guides.emplace_back(lambda * static_cast<double>(heavy_mass_of[k]));

    // The top-up gathers one value per drawn round and column: with heavy
    // tuples, their values are repeated once per round they stand for (in the
    // order above), so a draw is one load, not a lookup and a load.
    std::vector<double> expanded;
    const double* by_round = columns.data();
    int64_t by_round_ld = ld;
    if (H > 0) {
        expanded.resize(static_cast<size_t>(n * W));
        for (int64_t j = 0; j < W; ++j) {
            double* dst = expanded.data() + j * n;
            const double* col = columns.data() + j * ld;
            for (int64_t k = 0, r = 0; k < H; ++k)
                for (; r < heavy_end[k]; ++r) dst[r] = col[k];
            std::copy(col + H, col + H + m, dst + heavy_end.back());
        }
        by_round = expanded.data();
        by_round_ld = n;
    }
    const RoundSampler sampler(static_cast<uint64_t>(n));
    const double work_ns =
        static_cast<double>(n_boot) * (40.0 * static_cast<double>(H) + row_ns * static_cast<double>(m) +
                                       (poissonise ? 2.0 * std::sqrt(nd) : nd) * (2.0 + 0.3 * w));
    const int threads = threads_for_work(work_ns, num_threads);
    ExceptionCollector errors;
#pragma omp parallel num_threads(threads)
    {
        std::vector<double> sums(W);
        std::vector<int64_t> heavy_count(H);
        std::vector<int64_t> topup;  // rounds of the top-up draws
        std::vector<double> class_sums(W);
#pragma omp for schedule(dynamic, 1)
        for (int64_t b = 0; b < n_boot; ++b) {
            errors.run([&] {
                WyRand rng(seed, static_cast<uint64_t>(b));
                // the pass's vector streams: (seed, b) through a different SplitMix64 start
                PoissonLanes lanes(seed ^ (static_cast<uint64_t>(b) * 0xD1B54A32D192ED03ULL) ^
                                   0x6A09E667F3BCC909ULL);
                int64_t total = 0;
                while (poissonise) {
                    std::fill(sums.begin(), sums.end(), 0.0);
                    total = 0;
                    for (int64_t k = 0; k < H && total <= n; ++k)
                        total += heavy_count[k] = guides[k].draw(rng);
                    if (total > n) continue;  // already too many draws: redraw the resample
                    for (const PassClass& c : classes) {
                        std::fill(class_sums.begin(), class_sums.end(), 0.0);
                        total += poisson_pass(c.rows(), thresholds, lanes, rng, class_sums.data());
                        for (size_t j = 0; j < c.slot_of.size(); ++j)
                            if (c.slot_of[j] >= 0) sums[j] += class_sums[c.slot_of[j]];
                    }
                    if (total <= n) break;
                }
                if (!poissonise) std::fill(sums.begin(), sums.end(), 0.0);
                for (int64_t k = 0; k < H && poissonise; ++k) {
                    const double c = static_cast<double>(heavy_count[k]);
                    for (int64_t j = 0; j < W; ++j) sums[j] += c * columns[j * ld + k];
                }
                // The top-up: n - total uniform rounds, drawn first and then summed with
                // four independent accumulators per column.
                topup.resize(static_cast<size_t>(n - total));
                for (auto& round : topup) round = static_cast<int64_t>(sampler.draw(rng));
                const size_t T = topup.size();
                for (int64_t j = 0; j < W; ++j) {
                    const double* col = by_round + j * by_round_ld;
                    double a0 = 0.0, a1 = 0.0, a2 = 0.0, a3 = 0.0;
                    size_t t = 0;
                    for (; t + 4 <= T; t += 4) {
                        a0 += col[topup[t]];
                        a1 += col[topup[t + 1]];
                        a2 += col[topup[t + 2]];
                        a3 += col[topup[t + 3]];
                    }
                    for (; t < T; ++t) a0 += col[topup[t]];
                    sums[j] += (a0 + a1) + (a2 + a3);
                }
                finish(packed, sums.data(), n, E, out + b * E);
            });
        }
    }
    errors.rethrow();
    return BootstrapMethod::Hybrid;
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
    // index, ~(40 + W) per distinct row (one binomial).
    const double index_ns = 0.9 + 0.3 * static_cast<double>(max_width);
    const double binomial_ns = 40.0 + static_cast<double>(max_width);

    // The hybrid sampler is fast only with the vectorised Poisson pass; the
    // portable pass costs several times an index draw, so without it "auto"
    // picks counts when a binomial per distinct row is at least twice as cheap
    // as n index draws, and indices otherwise.
    const bool vector_pass = std::strcmp(multinomial_kernel_name(), "generic") != 0;
    if (method == BootstrapMethod::Hybrid || (method == BootstrapMethod::Auto && vector_pass))
        return hybrid_replicates(cols, max_width, n_boot, seed, num_threads, out);

    DistinctRows distinct;
    if (method == BootstrapMethod::Auto) {
        const auto limit = static_cast<int64_t>(0.5 * static_cast<double>(n) * index_ns / binomial_ns);
        method = distinct_rows(cols, n, limit, distinct) ? BootstrapMethod::Counts : BootstrapMethod::Indices;
    } else if (method == BootstrapMethod::Counts) {
        distinct_rows(cols, n, n, distinct);
    }

    const double work_ns =
        static_cast<double>(n_boot) * (method == BootstrapMethod::Counts ? binomial_ns * distinct.mass.size()
                                                                         : static_cast<double>(n) * index_ns);
    const int threads = threads_for_work(work_ns, num_threads);
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
