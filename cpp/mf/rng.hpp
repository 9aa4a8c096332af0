// Portable, seedable random numbers for the mf kernels.
//
// Why not <random>: std::uniform_int_distribution and std::shuffle are
// implementation-defined, so the same seed would give different models with
// libstdc++ and libc++. SplitMix64 (Steele et al. 2014) is tiny, passes
// BigCrush and lets every (epoch, block) get its own independent stream, which
// is what makes results independent of the thread count.
#pragma once

#include <cstdint>
#include <utility>

namespace reelrec::mf {

class SplitMix64 {
public:
    explicit SplitMix64(uint64_t seed) : state_(seed) {}
    uint64_t next() {
        uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    }
    // Uniform in [0, bound) by Lemire's multiply-shift (bias below bound / 2^64).
    // A 64-bit division costs more than the rest of a shuffle step; compilers
    // without 128-bit integers fall back to it (and draw different shuffles).
    uint64_t below(uint64_t bound) {
#ifdef __SIZEOF_INT128__
        return static_cast<uint64_t>((static_cast<unsigned __int128>(next()) * bound) >> 64);
#else
        return next() % bound;
#endif
    }

private:
    uint64_t state_;
};

// Seed of an independent stream, e.g. stream_seed(seed, epoch, block).
inline uint64_t stream_seed(uint64_t seed, uint64_t a, uint64_t b = 0) {
    SplitMix64 g(seed ^ (a * 0xd1b54a32d192ed03ULL) ^ (b * 0x8cb92ba72f3d8dd7ULL));
    g.next();
    return g.next();
}

// Fisher-Yates shuffle of first[0..n).
template <class T>
void shuffle(T* first, int64_t n, SplitMix64& rng) {
    for (int64_t i = n - 1; i > 0; --i) {
        const auto j = static_cast<int64_t>(rng.below(static_cast<uint64_t>(i) + 1));
        std::swap(first[i], first[j]);
    }
}

}  // namespace reelrec::mf
