// Counter-based random streams for bandit policies.
//
// Paper: Salmon, Moraes, Dror & Shaw, "Parallel random numbers: as easy as
// 1, 2, 3" (SC 2011), Philox4x32-10.
//
// Why counter-based: every request of a select() batch owns its own stream,
// addressed by (seed, global request index), so a decision does not depend on
// which thread served it, how the batch was split, or how many requests came
// before it in the same call. Streams are cheap to create (no state to warm
// up), which matters when a batch holds a million requests.
//
// A stream is addressed by the Philox counter (word 0: block, word 1: a
// sub-stream such as an arm slot for Monte Carlo pools, words 2-3: the 64-bit
// stream id): two Philox blocks at that address give the 256-bit state of a
// xoshiro256++ generator (Blackman & Vigna, "Scrambled linear pseudorandom
// number generators", 2018), which then produces the stream's numbers at about
// a nanosecond each. Addressing stays counter-based (any stream can be opened
// directly, in any order, on any thread); generation inside a stream is cheap.
//
// Distributions: uniforms from 53 random bits; normals by the ziggurat method
// (Marsaglia & Tsang, "The ziggurat method for generating random variables",
// 2000; 256 layers, 64 random bits per try, exact tail); gamma by Marsaglia &
// Tsang, "A simple method for generating gamma variables" (2000). Beta draws
// are compared through their logit log(Ga / Gb), kept in log space for shape
// parameters below 1 so that they neither underflow nor divide 0 by 0.
#pragma once

#include <cmath>
#include <cstdint>

namespace reelrec::bandits {

// One Philox4x32-10 block: 10 rounds of the counter under a 64-bit key.
inline void philox4x32_10(const uint32_t in[4], const uint32_t key_in[2], uint32_t out[4]) {
    uint32_t c0 = in[0], c1 = in[1], c2 = in[2], c3 = in[3];
    uint32_t k0 = key_in[0], k1 = key_in[1];
    for (int round = 0; round < 10; ++round) {
        const uint64_t p0 = static_cast<uint64_t>(0xD2511F53u) * c0;
        const uint64_t p1 = static_cast<uint64_t>(0xCD9E8D57u) * c2;
        const uint32_t hi0 = static_cast<uint32_t>(p0 >> 32), lo0 = static_cast<uint32_t>(p0);
        const uint32_t hi1 = static_cast<uint32_t>(p1 >> 32), lo1 = static_cast<uint32_t>(p1);
        c0 = hi1 ^ c1 ^ k0;
        c1 = lo1;
        c2 = hi0 ^ c3 ^ k1;
        c3 = lo0;
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
    }
    out[0] = c0;
    out[1] = c1;
    out[2] = c2;
    out[3] = c3;
}

// The xoshiro states of the streams (seed, stream0 + i, sub) for i < 8, as
// RandomStream's constructor derives them (two Philox blocks each), into
// states[4 i .. 4 i + 4). The 16 blocks run side by side in fixed-width
// loops that vectorise (32 x 32 -> 64-bit multiplies across lanes); every
// lane computes exactly the scalar philox4x32_10.
inline void open_streams8(uint64_t seed, uint64_t stream0, uint32_t sub, uint64_t* states) {
    constexpr int L = 16;  // lane 2 i + b: stream i, block b
    uint32_t c0[L], c1[L], c2[L], c3[L];
    for (int l = 0; l < L; ++l) {
        const uint64_t stream = stream0 + static_cast<uint64_t>(l / 2);
        c0[l] = static_cast<uint32_t>(l % 2);
        c1[l] = sub;
        c2[l] = static_cast<uint32_t>(stream);
        c3[l] = static_cast<uint32_t>(stream >> 32);
    }
    uint32_t k0 = static_cast<uint32_t>(seed), k1 = static_cast<uint32_t>(seed >> 32);
    for (int round = 0; round < 10; ++round) {
        for (int l = 0; l < L; ++l) {
            const uint64_t p0 = static_cast<uint64_t>(0xD2511F53u) * c0[l];
            const uint64_t p1 = static_cast<uint64_t>(0xCD9E8D57u) * c2[l];
            c0[l] = static_cast<uint32_t>(p1 >> 32) ^ c1[l] ^ k0;
            c1[l] = static_cast<uint32_t>(p1);
            c2[l] = static_cast<uint32_t>(p0 >> 32) ^ c3[l] ^ k1;
            c3[l] = static_cast<uint32_t>(p0);
        }
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
    }
    for (int i = 0; i < 8; ++i) {
        const int a = 2 * i, b = 2 * i + 1;
        uint64_t* st = states + 4 * i;
        st[0] = (static_cast<uint64_t>(c0[a]) << 32) | c1[a];
        st[1] = (static_cast<uint64_t>(c2[a]) << 32) | c3[a];
        st[2] = (static_cast<uint64_t>(c0[b]) << 32) | c1[b];
        st[3] = (static_cast<uint64_t>(c2[b]) << 32) | c3[b];
        if ((st[0] | st[1] | st[2] | st[3]) == 0) st[0] = 1;  // the one forbidden state
    }
}

// Ziggurat tables for the standard normal density f(x) = exp(-x^2 / 2):
// layer i (1 <= i < 256) is the rectangle [0, x[i]] x [f(x[i]), f(x[i+1])],
// layer 0 the base strip of width x[0] = v / f(r) that also holds the tail.
struct ZigguratTables {
    static constexpr int kLayers = 256;
    static constexpr double kR = 3.6541528853610088;
    static constexpr double kV = 0.00492867323399;
    double x[kLayers + 1];
    double y[kLayers + 1];
    ZigguratTables() {
        const double fr = std::exp(-0.5 * kR * kR);
        x[0] = kV / fr;
        y[0] = 0.0;
        x[1] = kR;
        y[1] = fr;
        for (int i = 1; i < kLayers - 1; ++i) {
            const double yi = y[i] + kV / x[i];
            x[i + 1] = std::sqrt(-2.0 * std::log(yi));
            y[i + 1] = yi;
        }
        x[kLayers] = 0.0;
        y[kLayers] = 1.0;
    }
};

inline const ZigguratTables& ziggurat() {
    static const ZigguratTables tables;
    return tables;
}

// Marsaglia & Tsang's constants for one gamma shape, computed once per arm and
// select() call instead of once per draw (a square root and a division).
struct GammaShape {
    double shape = 1.0;
    double d = 2.0 / 3.0;  // shape - 1/3 (of shape + 1 when boosted)
    double c = 0.0;        // 1 / sqrt(9 d)
    bool boosted = false;  // shape < 1: G(a) = G(a + 1) U^(1/a)

    GammaShape() = default;
    explicit GammaShape(double a) : shape(a), boosted(a < 1.0) {
        d = (boosted ? a + 1.0 : a) - 1.0 / 3.0;
        c = 1.0 / std::sqrt(9.0 * d);
    }
};

// Stream ids are tagged by purpose so that decision streams and Monte Carlo
// pools never share a counter.
constexpr uint64_t kDecisionStream = 0;
constexpr uint64_t kPoolStream = uint64_t(1) << 62;

class RandomStream {
public:
    RandomStream(uint64_t seed, uint64_t stream, uint32_t sub = 0) {
        const uint32_t key[2] = {static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32)};
        uint32_t ctr[4] = {0, sub, static_cast<uint32_t>(stream), static_cast<uint32_t>(stream >> 32)};
        uint32_t a[4], b[4];
        philox4x32_10(ctr, key, a);
        ctr[0] = 1;
        philox4x32_10(ctr, key, b);
        s_[0] = (static_cast<uint64_t>(a[0]) << 32) | a[1];
        s_[1] = (static_cast<uint64_t>(a[2]) << 32) | a[3];
        s_[2] = (static_cast<uint64_t>(b[0]) << 32) | b[1];
        s_[3] = (static_cast<uint64_t>(b[2]) << 32) | b[3];
        if ((s_[0] | s_[1] | s_[2] | s_[3]) == 0) s_[0] = 1;  // the one forbidden state
    }

    // A stream from a raw xoshiro256++ state: one open_streams8 derived (the
    // same stream as the constructor with those arguments), or one a SIMD lane
    // kernel (cpp/bandits/thompson_batch.cpp) hands back for its rare slow
    // paths, so both give the same numbers.
    explicit RandomStream(const uint64_t* state) {
        for (int i = 0; i < 4; ++i) s_[i] = state[i];
    }
    void save_state(uint64_t out[4]) const {
        for (int i = 0; i < 4; ++i) out[i] = s_[i];
    }

    uint64_t next_u64() {
        const uint64_t result = rotl(s_[0] + s_[3], 23) + s_[0];
        const uint64_t t = s_[1] << 17;
        s_[2] ^= s_[0];
        s_[3] ^= s_[1];
        s_[1] ^= s_[2];
        s_[0] ^= s_[3];
        s_[2] ^= t;
        s_[3] = rotl(s_[3], 45);
        return result;
    }

    // Uniform on [0, 1) with 53 random bits.
    double uniform() { return static_cast<double>(next_u64() >> 11) * (1.0 / 9007199254740992.0); }

    // Uniform on (0, 1): safe for log().
    double uniform_open() {
        return (static_cast<double>(next_u64() >> 11) + 0.5) * (1.0 / 9007199254740992.0);
    }

    // Integer uniform on [0, n) (n > 0); the bias of the multiply-shift is < 2^-53 * n.
    int64_t below(int64_t n) {
        const int64_t i = static_cast<int64_t>(uniform() * static_cast<double>(n));
        return i < n ? i : n - 1;
    }

    double normal() {
        const ZigguratTables& z = ziggurat();
        for (;;) {
            const uint64_t w = next_u64();
            const int layer = static_cast<int>(w & 0xFFu);
            // Signed uniform on (-1, 1) from the top 53 bits (disjoint from the layer bits).
            const double u = (static_cast<double>(w >> 11) + 0.5) * (2.0 / 9007199254740992.0) - 1.0;
            const double xv = u * z.x[layer];
            if (std::abs(xv) < z.x[layer + 1]) return xv;
            if (layer == 0) {
                // Tail beyond r (Marsaglia 1964).
                double a, b;
                do {
                    a = -std::log(uniform_open()) / ZigguratTables::kR;
                    b = -std::log(uniform_open());
                } while (b + b < a * a);
                return u < 0 ? -(ZigguratTables::kR + a) : ZigguratTables::kR + a;
            }
            const double yv = z.y[layer] + uniform() * (z.y[layer + 1] - z.y[layer]);
            if (yv < std::exp(-0.5 * xv * xv)) return xv;
        }
    }

    // A Gamma(shape, 1) variate for shape >= 1 (Marsaglia & Tsang; the squeeze
    // accepts ~92% of tries without a logarithm).
    double gamma_variate(double shape) { return gamma_core(GammaShape(shape)); }

    // Gamma variate with precomputed constants (the unboosted core for g.d).
    double gamma_core(const GammaShape& g) {
        const double d = g.d, c = g.c;
        for (;;) {
            double x, v;
            do {
                x = normal();
                v = 1.0 + c * x;
            } while (v <= 0.0);
            v = v * v * v;
            const double u = uniform_open();
            const double x2 = x * x;
            if (u < 1.0 - 0.0331 * x2 * x2 || std::log(u) < 0.5 * x2 + d * (1.0 - v + std::log(v))) {
                return d * v;
            }
        }
    }

    // log of a Gamma(shape, 1) variate, shape > 0.
    double log_gamma_variate(double shape) {
        if (shape < 1.0) {
            // G(a) = G(a + 1) * U^(1/a): kept in log space for tiny a.
            return std::log(gamma_variate(shape + 1.0)) + std::log(uniform_open()) / shape;
        }
        return std::log(gamma_variate(shape));
    }

    // log of a Gamma variate with precomputed constants.
    double log_gamma_variate(const GammaShape& g) {
        const double lg = std::log(gamma_core(g));
        return g.boosted ? lg + std::log(uniform_open()) / g.shape : lg;
    }

    // logit of a Beta(a, b) draw, log(Ga / Gb): monotone in the draw, so it
    // ranks arms like the draw itself, and never rounds to 0 or 1.
    double beta_logit(const GammaShape& a, const GammaShape& b) {
        if (!a.boosted && !b.boosted) {
            const double ga = gamma_core(a);
            return std::log(ga / gamma_core(b));
        }
        const double la = log_gamma_variate(a);
        return la - log_gamma_variate(b);
    }
    double beta_logit(double a, double b) { return beta_logit(GammaShape(a), GammaShape(b)); }

    // Beta(a, b) = Ga / (Ga + Gb).
    double beta(double a, double b) { return 1.0 / (1.0 + std::exp(-beta_logit(a, b))); }

private:
    RandomStream() = default;
    static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
    uint64_t s_[4];
};

}  // namespace reelrec::bandits
