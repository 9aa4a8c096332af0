// Counter-based random numbers for the factorization kernels.
//
// Why counter-based: every row (or every BPR stratum) derives its own stream
// from (seed, purpose, index), so results never depend on which thread
// happened to process which row. SplitMix64 (Steele, Lea & Flood 2014) is
// enough for initialisation and sampling and costs three multiplies per draw.
#pragma once

#include <cmath>
#include <cstdint>

namespace reelrec::factorization {

inline uint64_t mix64(uint64_t x) {
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

// A key that identifies one stream; distinct tuples give unrelated streams.
inline uint64_t stream_key(uint64_t seed, uint64_t a, uint64_t b = 0, uint64_t c = 0) {
    uint64_t h = mix64(seed + 0x9e3779b97f4a7c15ULL);
    h = mix64(h ^ (a + 0x632be59bd9b4e019ULL));
    h = mix64(h ^ (b + 0x85157af5ULL * 0x9e3779b97f4a7c15ULL));
    return mix64(h ^ (c + 0xd6e8feb86659fd93ULL));
}

class SplitMix64 {
public:
    explicit SplitMix64(uint64_t key) : state_(key) {}
    uint64_t next() {
        state_ += 0x9e3779b97f4a7c15ULL;
        return mix64(state_);
    }
    // Uniform integer in [0, n) by multiply-shift (Lemire); the bias is below
    // n / 2^64, far under anything a recommender can notice.
    uint64_t below(uint64_t n) {
        return static_cast<uint64_t>((static_cast<unsigned __int128>(next()) * n) >> 64);
    }
    // Uniform double in (0, 1].
    double unit() { return (static_cast<double>(next() >> 11) + 1.0) * (1.0 / 9007199254740992.0); }

private:
    uint64_t state_;
};

// Fills out[0..n) with N(0, scale^2) draws (Box-Muller). One 64-bit draw
// gives both uniforms (24 bits each, what a float can hold) and the math is
// single precision: initialising 10^8 factor cells must not take seconds.
inline void fill_normal(SplitMix64& rng, float* out, int64_t n, float scale) {
    constexpr float kTwoPi = 6.28318530717958648f;
    constexpr float kUnit = 1.0f / 16777216.0f;
    for (int64_t j = 0; j < n; j += 2) {
        const uint64_t bits = rng.next();
        const float u1 = static_cast<float>((bits >> 40) + 1) * kUnit;  // (0, 1]: log is finite
        const float u2 = static_cast<float>(bits & 0xffffffu) * kUnit;
        const float radius = scale * std::sqrt(-2.0f * std::log(u1));
        const float angle = kTwoPi * u2;
        out[j] = radius * std::cos(angle);
        if (j + 1 < n) out[j + 1] = radius * std::sin(angle);
    }
}

}  // namespace reelrec::factorization
