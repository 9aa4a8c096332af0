// Thompson sampling draws for many requests at once, one request per SIMD lane.
//
// Papers: Marsaglia & Tsang, "A simple method for generating gamma variables"
// (2000) and "The ziggurat method for generating random variables" (2000), as
// implemented by RandomStream (cpp/bandits/rng.hpp).
//
// Why lanes are requests: every request owns a counter-based stream and draws
// one posterior sample per candidate arm, in candidate order. A single stream
// is a serial chain (each xoshiro step needs the previous state), so one
// request at a time leaves the core idle; W requests side by side in the lanes
// of one vector run W chains at once. Every lane keeps the arithmetic of the
// scalar RandomStream: the same xoshiro steps, the same IEEE operations in the
// same order (no fused multiply-add contraction), and all lanes move to the
// next candidate together. Only the fast path of one draw runs in the vector:
// for a gamma variate, a ziggurat rectangle hit, v > 0 and the squeeze accept
// (about 97% of tries for every shape); for a normal, the rectangle hit. A lane
// that misses it is rewound to its state before the try and finished by
// RandomStream itself (wedges, tail, logarithms), so decisions are bit for bit
// those of the scalar sampler on every instruction set, and the law of each
// draw is the scalar sampler's exact one. The log-space Beta path (a shape
// below 1) takes its logarithms per lane with std::log for the same reason.
//
// Complexity: O(n_requests * n_candidates) draws; O(W) memory.
#pragma once

#include <cstdint>
#include <string>

#include "bandits/rng.hpp"

namespace reelrec::bandits {

enum class ThompsonModel : int {
    Normal = 0,     // m + w * N(0, 1)
    BetaRatio = 1,  // Ga / Gb, every shape >= 1
    BetaLogit = 2,  // log(Ga / Gb), log-space when a shape is below 1 (RandomStream::beta_logit)
};

struct ThompsonBatch {
    ThompsonModel model = ThompsonModel::BetaRatio;
    uint64_t seed = 0;
    uint64_t first_request = 0;  // request r draws from kDecisionStream | (first_request + r)
    int64_t n_cand = 0;
    const GammaShape* shapes = nullptr;  // Beta: (alpha, beta) constants per candidate, 2 * n_cand
    const double* m = nullptr;           // Normal: mean and width per candidate
    const double* w = nullptr;
    // Optional per-request availability: request r (0-based in the batch)
    // may draw candidate c when avail[r * avail_stride + cols[c]] != 0;
    // unavailable candidates draw nothing (score -inf), a request with none
    // gets position -1.
    const uint8_t* avail = nullptr;
    int64_t avail_stride = 0;
    const int64_t* cols = nullptr;
    // Normal with a mean and width per request (contextual policies): when
    // mw_stride > 0, request i's (0-based in the call, like avail) values for
    // candidate c are m[i * mw_stride + cols[c]] and w[...] (cols required);
    // 0: one (m[c], w[c]) for every request.
    int64_t mw_stride = 0;
};

// Requests [r0, r0 + n) of the batch: pos[i] = the candidate position with
// the largest draw (the first maximum in candidate order), values (optional,
// n x n_cand row-major) = the draws themselves. `avail` rows are those of
// requests r0..r0+n-1 (the caller offsets the pointer). `isa` picks the kernel:
// "scalar" (RandomStream one request at a time, the reference), "generic"
// (2 lanes, any x86-64 / portable vector code), "avx2" (4), "avx512" (8);
// nullptr or "" picks the widest this CPU runs. Throws std::invalid_argument
// for an unknown or unsupported name.
void thompson_draws(const ThompsonBatch& job, int64_t r0, int64_t n, int64_t* pos, double* values,
                    const char* isa = nullptr);

// Whether this CPU (and build) runs the named kernel.
bool thompson_isa_available(const std::string& isa);
// The kernel thompson_draws picks by default.
const char* thompson_batch_isa();

}  // namespace reelrec::bandits
