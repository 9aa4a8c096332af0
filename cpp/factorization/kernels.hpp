// Inner kernels of ALS and BPR, compiled once per instruction set.
//
// als_rows.inc and bpr_steps.inc hold the code; kernels_generic.cpp compiles
// them for the baseline ISA the module is built for and kernels_avx2.cpp
// again with AVX2+FMA enabled, each in its own namespace so that the two
// copies never collide at link time. kernels.cpp picks one at run time
// (CPUID), so a portable wheel still runs the wide kernels where they exist.
// The drivers (als.cpp, bpr.cpp) own the threading; kernels are serial.
#pragma once

#include <cstddef>
#include <cstdint>

#include "common/csr.hpp"

namespace reelrec::factorization {

// ------------------------------------------------------------------- ALS

enum class AlsSolver : int { kConjugateGradient = 0, kCholesky = 1 };

// One half-step: solve every row r in [begin, end) of
//   (G + lambda_r I + sum_k (c_rk - w0) y_k y_k^T) x_r = sum_k c_rk y_k
// where k runs over the stored entries of row r, y_k are rows of `other`,
// G = w0 * other^T other (precomputed, full symmetric d x d) and
// lambda_r = reg * (n_r + reg_offset) with frequency scaling, reg otherwise.
struct AlsRowArgs {
    const int64_t* indptr = nullptr;
    const int32_t* indices = nullptr;
    const float* confidence = nullptr;  // c_rk > 0 for every stored entry
    const float* other = nullptr;       // n_other x d, row-major
    const float* gram = nullptr;        // d x d, row-major, already scaled by w0
    float* factors = nullptr;           // n_rows x d, warm start in, solution out
    int d = 0;
    float unobserved_weight = 1.0f;  // w0
    float regularization = 0.0f;
    float reg_offset = 0.0f;
    bool frequency_scaling = false;
    AlsSolver solver = AlsSolver::kConjugateGradient;
    int cg_steps = 3;
    // CG copies the rows y_k of a row with at most this many entries into
    // scratch on its first pass and reads them from there afterwards (0: never).
    int64_t gather_capacity = 0;
    // Rows with more entries than this are left to solve_batch (0: none are).
    int64_t batched_above = 0;
    int64_t tile_rows = 1;  // rows of `other` per tile in solve_batch
};

// Long rows that CG solves together (solve_batch): at most this many per
// call, and the other side is read in tiles of about kAlsTileBytes.
constexpr int kAlsBatchRows = 512;
constexpr int64_t kAlsTileBytes = int64_t{2} << 20;

// Rows that CG solves in lockstep, sharing the G products: 4 once G (d x d)
// no longer fits in L1, so that it streams from L2 once per four rows.
constexpr int kAlsCgGroupMax = 4;
constexpr int als_cg_group(int d) { return d >= 96 ? kAlsCgGroupMax : 1; }

// Floats of per-thread scratch that solve_rows and solve_batch need.
std::size_t als_scratch_floats(int d, AlsSolver solver, int64_t gather_capacity);

struct AlsKernels {
    const char* name;
    // Solves rows [begin, end) in place; scratch holds als_scratch_floats floats.
    void (*solve_rows)(const AlsRowArgs& args, int64_t begin, int64_t end, float* scratch);
    // CG on the `count` (<= kAlsBatchRows) listed rows, all in lockstep: each
    // sparse pass walks the other side tile by tile and serves every row's
    // entries in the tile, so a long row's table rows come from cache, not
    // DRAM, when the rows share them. Same arithmetic per row as solve_rows
    // up to the order of the 8-entry blocks of the dot products.
    void (*solve_batch)(const AlsRowArgs& args, const int64_t* rows, int count, float* scratch);
    // out (d x d, upper triangle incl. diagonal) = sum of the n rows' outer
    // products, rows contiguous (n x d). Lower triangle is left untouched.
    void (*gram_upper)(const float* rows, int64_t n, int d, float* out);
};

// ------------------------------------------------------------------- BPR

constexpr int kMaxNegativeDraws = 32;

struct BprConfig {
    float learning_rate = 0.05f;
    float regularization = 0.01f;
    bool verify_negatives = true;
};

// A Bloom filter over the stored (user, item) cells: no false negatives, so
// "absent" is final and only "maybe" needs the exact binary search of the
// row. Two bits per cell in a power-of-two table of about 8 bits per cell
// (about 5% false "maybe" for an unseen pair). One random load replaces a
// chain of dependent loads for most negative checks; the answers (and the
// samples drawn) are exactly those of the binary search alone.
struct SeenFilter {
    const uint64_t* words = nullptr;  // null: no filter
    uint64_t mask = 0;                // bits in the table - 1
    static inline uint64_t hash(int32_t u, int32_t i) {
        uint64_t h = (static_cast<uint64_t>(static_cast<uint32_t>(u)) << 32) | static_cast<uint32_t>(i);
        h = (h ^ (h >> 33)) * 0xff51afd7ed558ccdULL;
        h = (h ^ (h >> 33)) * 0xc4ceb9fe1a85ec53ULL;
        return h ^ (h >> 33);
    }
    inline bool maybe_contains(int32_t u, int32_t i) const {
        const uint64_t h = hash(u, i), a = h & mask, b = (h >> 32) & mask;
        return ((words[a >> 6] >> (a & 63)) & (words[b >> 6] >> (b & 63)) & 1) != 0;
    }
};

// One stratum of an epoch: n draws of a cell from `pairs` ((user, item) int32
// records) with a negative from `candidates`, SGD on each. Built by aggregate
// initialisation: keep the member order.
struct BprStratumArgs {
    const CsrView* X = nullptr;  // the training pattern (sorted rows), to verify negatives
    SeenFilter seen;             // optional shortcut for the verification
    float* users = nullptr;
    float* items = nullptr;
    float* item_bias = nullptr;
    int d = 0;
    BprConfig config;
    const int32_t* pairs = nullptr;
    int64_t n = 0;
    const int32_t* candidates = nullptr;
    int64_t m = 0;
    uint64_t rng_key = 0;
};

struct BprStratumResult {
    double loss = 0.0;  // summed -log sigmoid of the samples used
    int64_t used = 0;
    int64_t skipped = 0;
};

// Fold-in of rows [begin, end): `epochs` passes of n_r SGD steps on a user
// vector that starts at zero, items fixed, negatives uniform over all items.
// Built by aggregate initialisation: keep the member order.
struct BprFoldInArgs {
    const CsrView* rows = nullptr;
    const float* items = nullptr;
    const float* item_bias = nullptr;
    int d = 0;
    BprConfig config;
    uint64_t seed = 0;
    const int64_t* keys = nullptr;  // row r's stream is keyed by (seed, keys[r])
    int epochs = 0;
    float* out = nullptr;
};

struct BprKernels {
    const char* name;
    BprStratumResult (*run_stratum)(const BprStratumArgs& args);
    void (*fold_in_rows)(const BprFoldInArgs& args, int64_t begin, int64_t end);
    // Applies the triples in order; returns the summed loss.
    double (*replay)(float* users, float* items, float* item_bias, int d, const int32_t* u,
                     const int32_t* pos, const int32_t* neg, int64_t n, const BprConfig& config);
};

// ------------------------------------------------------------- selection

const AlsKernels& als_kernels_generic();
const BprKernels& bpr_kernels_generic();
// nullptr when the module was built without the AVX2 copy (non-x86 or a
// compiler without target pragmas).
const AlsKernels* als_kernels_avx2();
const BprKernels* bpr_kernels_avx2();

// isa: 0 = best available, 1 = the baseline build, 2 = AVX2 + FMA
// (std::invalid_argument when this machine or build lacks it).
const AlsKernels& als_select_kernels(int isa);
const BprKernels& bpr_select_kernels(int isa);

}  // namespace reelrec::factorization
