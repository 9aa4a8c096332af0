// Quadratic forms x^T S x for a block of contexts against one symmetric matrix:
// the confidence width of LinUCB / LinTS / LogisticTS, and the single hottest
// loop of contextual selection (O(d^2) per request and arm).
//
// Choices: symmetry halves the work (each off-diagonal column tile is visited
// once with weight 2), and a register-blocked kernel (R contexts x TW columns
// of accumulators) reuses every loaded matrix element R times. The kernel is
// compiled for AVX-512, AVX2+FMA and the baseline ISA and picked at run time,
// because wheels are built for the baseline (no -march=native) while the
// machines that serve them usually have wide vectors.
//
// Complexity: d^2 / 2 + O(d) fused multiply-adds per context, no allocation.
#pragma once

#include <cstdint>
#include <string>

namespace reelrec::bandits {

// q[r] = x_r^T S x_r for r < n_rows; X is row-major with row stride ld; S is a
// symmetric d x d row-major matrix (both triangles stored).
void quadform_rows(const double* X, int64_t n_rows, int64_t ld, int64_t d, const double* S, double* q);
// Single precision, twice the lanes per instruction: used to screen arms before
// an exact double-precision evaluation (see contextual.hpp).
void quadform_rows(const float* X, int64_t n_rows, int64_t ld, int64_t d, const float* S, float* q);

// The factored form for large d: q[r] = |z|^2, z = L^T x_r, for a lower
// triangular d x d row-major L (zeros above the diagonal) with S = L L^T, in
// single precision. Same arithmetic count as quadform_rows, but each z_i is
// one chain of at most d products, so |z - fl(z)| <= gamma_{d+2} ||L||_F |x|
// whatever S's conditioning (WidthScreen::build_factors): the screen's bounds
// stay tight where x^T S x would cancel (collinear features).
void quadform_factor_rows(const float* X, int64_t n_rows, int64_t ld, int64_t d, const float* L, float* q);
bool quadform_factor_rows_isa(const std::string& isa, const float* X, int64_t n_rows, int64_t ld, int64_t d,
                              const float* L, float* q);

// Upper bound on |fl32(x^T S x) - x^T S x| / (|x|^2 ||S||_F) for the float
// kernel, inputs rounded from double included: every product passes through
// fewer than 2 d + 72 roundings of the unit roundoff 2^-24 (Higham's gamma_n;
// d along a column tile, at most 32 lanes, d / 4 tiles, 3 input roundings),
// and |x|^T |S| |x| <= |x|^2 ||S||_F.
inline double quadform_f32_error_factor(int64_t d) {
    const double n = 2.0 * static_cast<double>(d) + 72.0;
    const double u = 5.9604644775390625e-08;
    return 1.05 * n * u / (1.0 - n * u);
}

// G += X^T X for row-major X (n_rows x d, row stride ld); G is d x d row-major
// and comes out symmetric. The ridge fit's per-arm Gram matrix: d^2 / 2
// multiply-adds per row, the same register tiling as the quadratic forms.
// Rows are summed in chunks of kGramChunk (added into G chunk by chunk), so
// calls on consecutive kGramChunk-row pieces give exactly one call's sums.
constexpr int64_t kGramChunk = 128;
void gram_accumulate(const double* X, int64_t n_rows, int64_t ld, int64_t d, double* G);
bool gram_accumulate_isa(const std::string& isa, const double* X, int64_t n_rows, int64_t ld, int64_t d,
                         double* G);

// y = S x and S -= coef * u u^T for d x d row-major S: the two O(d^2) steps of
// a Sherman-Morrison update, vectorised like the kernels above.
void symmetric_matvec(const double* S, const double* x, int64_t d, double* y);
void symmetric_rank1_sub(double* S, const double* u, double coef, int64_t d);

// Small d: the same quadratic forms from contexts transposed once into groups
// of lanes (contexts across vector lanes), so that a block of contexts scored
// against many arms is transposed once. quadform_rows uses the same kernel
// for these d, so both give bit-identical results.
bool quadform_lanes_apply(int64_t d);
// Lanes per group for double; float groups have twice as many.
int64_t quadform_lane_width();
// xt needs ceil(n_rows / lanes) * lanes * d elements.
void quadform_transpose(const double* X, int64_t n_rows, int64_t ld, int64_t d, double* xt);
void quadform_transpose(const float* X, int64_t n_rows, int64_t ld, int64_t d, float* xt);
// Double rows (stride d) rounded to float and transposed into float groups,
// with norms[r] = |x_r| in double.
void quadform_transpose_norms(const double* X, int64_t n_rows, int64_t d, float* xt, double* norms);
void quadform_rows_t(const double* xt, int64_t n_rows, int64_t d, const double* S, double* q);
void quadform_rows_t(const float* xt, int64_t n_rows, int64_t d, const float* S, float* q);
// One arm's step of the UCB screen of small d (contextual.hpp) over n rows
// of float groups xt (quadform_transpose_norms, xn = |x| per row; arrays
// need room for whole float groups). In single precision, from an upper
// triangular N with S = N^T N and float means mu: q = |N x|^2, m = mu . x
// and w = sqrt(q). Then, with dw = cw * xn[r] and em = emu * xn[r], the
// arm's score m + scale * w lies in
//   [lo, hi] = [(m - em) + scale * max(w (1 - crel) - dw, 0),
//               (m + em) + scale * (w (1 + crel) + dw)]
// ((-inf, inf) for a non-finite input). Called for the arms in ascending
// order, it keeps per row the best lower bound (best_lo), the arm that has
// it (arg: the first such arm; -1 before any), that arm's upper bound
// (hi_arg) and the largest upper bound of all other arms (hi_other): when
// hi_other < best_lo, arm arg's score beats every other arm's.
//
// Why a factor: x^T S x from S's entries cancels badly when S has large
// entries along directions the contexts avoid (collinear features: a
// posterior that is wide where no data ever comes), so its float error
// bound is useless there; z = N x has an absolute error below gamma_{d+2}
// ||N||_F |x| (||N||_F^2 = trace S), a small fraction of the width |z|.
void ucb_screen_step(const float* xt, int64_t n_rows, int64_t d, const float* N, const float* mu,
                     const double* xn, double cw, double crel, double emu, double scale, int64_t arm,
                     double* best_lo, double* arg, double* hi_arg, double* hi_other);
// Test hook: the transpose and every arm's step (arms 0..n_arms-1, N and mu
// stacked, cw and emu per arm) with a named kernel ("generic", "avx2",
// "avx512"); the outputs have n_rows entries. False when this CPU cannot run it.
bool ucb_screen_isa(const std::string& isa, const double* X, int64_t n_rows, int64_t d, int64_t n_arms,
                    const float* N, const float* mu, const double* cw, double crel, const double* emu,
                    double scale, double* xn, double* best_lo, double* arg, double* hi_arg, double* hi_other);
// out[r] = mu . x_r from the same double groups (the means of a block, without a GEMM).
void dot_rows_t(const double* xt, int64_t n_rows, int64_t d, const double* mu, double* out);

// out[r] = sqrt(max(q[r], 0)) * scale: the widths, vectorised (no errno).
void scaled_sqrt(const double* q, double* out, int64_t n, double scale);
void scaled_sqrt(const float* q, double* out, int64_t n, double scale);

// Roofline probe for the benchmarks: `iterations` steps of 12 independent
// multiply-add chains on vectors of fma_peak_lanes(single) scalars with the
// dispatched instruction set (12 * lanes FMAs per step); the result is a
// checksum. Timing it gives the core's peak FMA rate.
double fma_peak_probe(bool single, int64_t iterations);
int64_t fma_peak_lanes(bool single);

// Name of the instruction set the dispatcher picked ("avx512", "avx2", "generic").
const char* quadform_isa();

// The same with a named kernel ("generic", "avx2", "avx512"), for tests of every
// code path; returns false when this CPU cannot run it.
template <class T>
bool quadform_rows_isa(const std::string& isa, const T* X, int64_t n_rows, int64_t ld, int64_t d, const T* S,
                       T* q);

}  // namespace reelrec::bandits
