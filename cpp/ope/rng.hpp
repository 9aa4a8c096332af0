// Random streams for the OPE kernels.
//
// Why these generators: the bootstrap draws billions of indices, so the
// generator must cost about one multiply per 64 bits. wyrand (Wang Yi, public
// domain; passes BigCrush and PractRand) is a Weyl sequence mixed by one
// 64x64->128 multiply. Every resample gets its own stream, seeded by
// SplitMix64 (Steele, Lea, Flood 2014) from (seed, stream index), so results
// never depend on how resamples are spread over threads.
#pragma once

#include <cstdint>

// The bootstrap's inner loop calls the generator twice per pair of indices;
// GCC does not always inline it into template instantiations on its own.
#if defined(__GNUC__) || defined(__clang__)
#define REELREC_OPE_INLINE inline __attribute__((always_inline))
#else
#define REELREC_OPE_INLINE inline
#endif

namespace reelrec::ope {

inline uint64_t splitmix64(uint64_t& state) {
    uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

class WyRand {
public:
    WyRand(uint64_t seed, uint64_t stream) {
        uint64_t s = seed ^ (stream * 0xD1B54A32D192ED03ULL);
        state_ = splitmix64(s);
        state_ ^= splitmix64(s);
    }
    REELREC_OPE_INLINE uint64_t next() {
        state_ += 0xA0761D6478BD642FULL;
        const __uint128_t t = static_cast<__uint128_t>(state_) * (state_ ^ 0xE7037ED1A0B428DBULL);
        return static_cast<uint64_t>(t >> 64) ^ static_cast<uint64_t>(t);
    }
    // Uniform double in [0, 1) with 53 random bits.
    REELREC_OPE_INLINE double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

private:
    uint64_t state_;
};

}  // namespace reelrec::ope
