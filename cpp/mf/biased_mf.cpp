#include "mf/biased_mf.hpp"

#include <Eigen/Cholesky>
#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <vector>

#include "common/csr_owned.hpp"
#include "common/parallel.hpp"
#include "mf/rng.hpp"

namespace reelrec::mf {

namespace {

// 32 independent partial sums (4 AVX / 8 SSE registers) hide the add latency
// that dominates an SGD step; then 8, then a scalar tail. The compiler
// vectorises this without -ffast-math and the summation order is fixed, so
// the result is reproducible and identical in the SSE and AVX2 clones.
inline float dot(const float* __restrict a, const float* __restrict b, int64_t d) {
    float acc[32] = {};
    int64_t f = 0;
    for (; f + 32 <= d; f += 32) {
        for (int l = 0; l < 32; ++l) acc[l] += a[f + l] * b[f + l];
    }
    for (int l = 0; l < 8; ++l) acc[l] = (acc[l] + acc[l + 8]) + (acc[l + 16] + acc[l + 24]);
    for (; f + 8 <= d; f += 8) {
        for (int l = 0; l < 8; ++l) acc[l] += a[f + l] * b[f + l];
    }
    float s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
    for (; f < d; ++f) s += a[f] * b[f];
    return s;
}

}  // namespace

// The SGD passes are compiled twice, for AVX2 (picked at load time) and for
// the baseline ISA, so portable builds still run 8-wide where they can. FMA is
// deliberately left out: both clones then round identically. Outside the
// anonymous namespace because GCC only clones functions with external linkage.
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define REELREC_MF_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define REELREC_MF_CLONES
#endif

namespace detail {

// The plain SGD kernel: rows padded to a multiple of 8 floats and 64-byte
// aligned, so the dot product and the update run on whole 8-lane vectors with
// no scalar tail. The lane vector is 8 wide in every clone (two SSE registers
// in the baseline one), so all clones sum in the same order and round alike.
typedef float Lanes8 __attribute__((vector_size(32)));

namespace {

inline __attribute__((always_inline)) float sum_lanes(const Lanes8& a0, const Lanes8& a1, const Lanes8& a2,
                                                      const Lanes8& a3) {
    const Lanes8 s = (a0 + a1) + (a2 + a3);
    return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
}

// p . q over nv lane vectors in a fixed order: lane vector v goes to accumulator v % 4.
inline __attribute__((always_inline)) float dot_lanes(const Lanes8* __restrict p, const Lanes8* __restrict q,
                                                      int64_t nv) {
    Lanes8 a0 = {}, a1 = {}, a2 = {}, a3 = {};
    int64_t v = 0;
    for (; v + 4 <= nv; v += 4) {
        a0 += p[v] * q[v];
        a1 += p[v + 1] * q[v + 1];
        a2 += p[v + 2] * q[v + 2];
        a3 += p[v + 3] * q[v + 3];
    }
    if (v < nv) a0 += p[v] * q[v];
    if (v + 1 < nv) a1 += p[v + 1] * q[v + 1];
    if (v + 2 < nv) a2 += p[v + 2] * q[v + 2];
    return sum_lanes(a0, a1, a2, a3);
}

inline __attribute__((always_inline)) float update_biases(float err, float lr, float reg, float& bu,
                                                          float& bi) {
    bu += lr * (err - reg * bu);
    bi += lr * (err - reg * bi);
    return lr * err;
}

inline __attribute__((always_inline)) void update_rows(Lanes8* __restrict p, Lanes8* __restrict q,
                                                       float decay, float step, int64_t nv) {
    for (int64_t w = 0; w < nv; ++w) {
        const Lanes8 pw = p[w], qw = q[w];
        p[w] = decay * pw + step * qw;
        q[w] = decay * qw + step * pw;
    }
}

}  // namespace

REELREC_MF_CLONES void sgd_pass_padded(const Rating* ratings, int64_t n, float lr, float reg, float mu,
                                       float* user_rows, float* item_rows, int64_t stride, float* user_bias,
                                       float* item_bias) {
    const float decay = 1.f - lr * reg;
    const int64_t nv = stride / 8;
    for (int64_t t = 0; t < n; ++t) {
        const Rating& x = ratings[t];
        // The rows of the rating after next: they are random rows of tables
        // larger than L2, and the loads of the update below do not wait for them.
        if (t + 2 < n) {
            const auto* pa =
                reinterpret_cast<const char*>(user_rows + static_cast<int64_t>(ratings[t + 2].user) * stride);
            const auto* pb =
                reinterpret_cast<const char*>(item_rows + static_cast<int64_t>(ratings[t + 2].item) * stride);
            for (int64_t l = 0; l < stride * 4; l += 64) {
                __builtin_prefetch(pa + l, 1);
                __builtin_prefetch(pb + l, 1);
            }
        }
        Lanes8* __restrict p = reinterpret_cast<Lanes8*>(user_rows + static_cast<int64_t>(x.user) * stride);
        Lanes8* __restrict q = reinterpret_cast<Lanes8*>(item_rows + static_cast<int64_t>(x.item) * stride);
        const float err = x.value - (mu + user_bias[x.user] + item_bias[x.item] + dot_lanes(p, q, nv));
        update_rows(p, q, decay, update_biases(err, lr, reg, user_bias[x.user], item_bias[x.item]), nv);
    }
}

// SVD++: ratings are consumed in runs of the same user. Within a run every
// y_j (j in N(u)) would receive y <- decay * y + lr * err * c * q_i per rating;
// we keep the composed map (a, v) and the implicit sum z = c * sum y_j instead,
// and apply y_j <- a * y_j + v once at the end of the run. Exact in real
// arithmetic; differs from the naive order only by float rounding.
REELREC_MF_CLONES void sgd_pass_svdpp(const Rating* ratings, int64_t n, const CsrView& sets,
                                      const SgdParams& params, BiasedMFModel& m) {
    const float lr = params.learning_rate, reg = params.regularization, mu = m.global_mean;
    const float decay = 1.f - lr * reg;
    const int64_t d = m.d;
    std::vector<float> z_buf(static_cast<std::size_t>(d)), v_buf(static_cast<std::size_t>(d));
    float* __restrict z = z_buf.data();
    float* __restrict v = v_buf.data();
    int64_t s = 0;
    while (s < n) {
        const int32_t u = ratings[s].user;
        int64_t e = s + 1;
        while (e < n && ratings[e].user == u) ++e;
        const int64_t b0 = sets.row_begin(u), b1 = sets.row_end(u);
        const auto count = static_cast<float>(b1 - b0);
        const float c = b1 > b0 ? 1.f / std::sqrt(count) : 0.f;
        const float zc = c * c * count;  // d z / d (per-y step): 1 up to rounding, 0 if N(u) is empty
        std::fill(z, z + d, 0.f);
        std::fill(v, v + d, 0.f);
        for (int64_t k = b0; k < b1; ++k) {
            const float* y = m.implicit_factors + static_cast<int64_t>(sets.indices[k]) * d;
            for (int64_t f = 0; f < d; ++f) z[f] += y[f];
        }
        for (int64_t f = 0; f < d; ++f) z[f] *= c;
        float a = 1.f;
        float* __restrict pu = m.user_factors + static_cast<int64_t>(u) * d;
        float& bu = m.user_bias[u];
        for (int64_t t = s; t < e; ++t) {
            const Rating& x = ratings[t];
            float* __restrict qi = m.item_factors + static_cast<int64_t>(x.item) * d;
            float& bi = m.item_bias[x.item];
            const float err = x.value - (mu + bu + bi + dot(qi, pu, d) + dot(qi, z, d));
            bu += lr * (err - reg * bu);
            bi += lr * (err - reg * bi);
            const float step = lr * err, gz = step * zc, gy = step * c;
            for (int64_t f = 0; f < d; ++f) {
                const float pf = pu[f], qf = qi[f], zf = z[f];
                pu[f] = decay * pf + step * qf;
                qi[f] = decay * qf + step * (pf + zf);
                z[f] = decay * zf + gz * qf;
                v[f] = decay * v[f] + gy * qf;
            }
            a *= decay;
        }
        for (int64_t k = b0; k < b1; ++k) {
            float* y = m.implicit_factors + static_cast<int64_t>(sets.indices[k]) * d;
            for (int64_t f = 0; f < d; ++f) y[f] = a * y[f] + v[f];
        }
        s = e;
    }
}

}  // namespace detail

namespace {

// Row-major copy of a factor table with rows padded to a multiple of 8 floats
// (zeros, which the update keeps at zero) on 64-byte boundaries.
class PaddedRows {
public:
    PaddedRows(const float* src, int64_t n, int64_t d) : n_(n), d_(d), stride_((d + 7) / 8 * 8) {
        buf_.assign(static_cast<std::size_t>(n * stride_ + 16), 0.f);
        const auto addr = reinterpret_cast<std::uintptr_t>(buf_.data());
        rows_ = buf_.data() + ((64 - addr % 64) % 64) / sizeof(float);
        for (int64_t r = 0; r < n; ++r) std::copy(src + r * d, src + (r + 1) * d, rows_ + r * stride_);
    }
    void copy_to(float* dst) const {
        for (int64_t r = 0; r < n_; ++r)
            std::copy(rows_ + r * stride_, rows_ + r * stride_ + d_, dst + r * d_);
    }
    float* rows() { return rows_; }
    int64_t stride() const { return stride_; }

private:
    std::vector<float> buf_;
    float* rows_ = nullptr;
    int64_t n_, d_, stride_;
};

void fit_sgd_dsgd(const CsrView& X, BiasedMFModel& m, const SgdParams& params, int iterations, uint64_t seed,
                  int num_threads) {
    const int64_t nnz = X.nnz();
    const int64_t B = dsgd_blocks(nnz);
    // Hashing (not index ranges) balances blocks when ids are sorted by popularity.
    std::vector<int32_t> user_block(static_cast<std::size_t>(X.n_rows), 0),
        item_block(static_cast<std::size_t>(X.n_cols), 0);
    if (B > 1) {
        for (int64_t u = 0; u < X.n_rows; ++u)
            user_block[u] = static_cast<int32_t>(stream_seed(seed, 0x5553, u) % static_cast<uint64_t>(B));
        for (int64_t i = 0; i < X.n_cols; ++i)
            item_block[i] = static_cast<int32_t>(stream_seed(seed, 0x4954, i) % static_cast<uint64_t>(B));
    }
    const int64_t n_cells = B * B;
    std::vector<int64_t> cell_ptr(static_cast<std::size_t>(n_cells) + 1, 0);
    for (int64_t u = 0; u < X.n_rows; ++u)
        for (int64_t k = X.row_begin(u); k < X.row_end(u); ++k)
            ++cell_ptr[user_block[u] * B + item_block[X.indices[k]] + 1];
    for (int64_t c = 0; c < n_cells; ++c) cell_ptr[c + 1] += cell_ptr[c];
    std::vector<Rating> ratings(static_cast<std::size_t>(nnz));
    {
        std::vector<int64_t> next(cell_ptr.begin(), cell_ptr.end() - 1);
        for (int64_t u = 0; u < X.n_rows; ++u)
            for (int64_t k = X.row_begin(u); k < X.row_end(u); ++k)
                ratings[next[user_block[u] * B + item_block[X.indices[k]]]++] = {static_cast<int32_t>(u),
                                                                                 X.indices[k], X.data[k]};
    }
    PaddedRows P(m.user_factors, X.n_rows, m.d), Q(m.item_factors, X.n_cols, m.d);
    const int64_t stride = P.stride();
    // One stratum holds B cells of ~nnz / B^2 ratings each and ends in a
    // barrier. Below ~2^17 ratings per stratum (a few ms) a second thread
    // gained nothing measurable on a quiet machine (ML-100K: 1 and 2 threads
    // both ~0.04 s) and lost up to 15x on a busy one, where every barrier can
    // wait out a scheduler time slice; results do not depend on the choice.
    const int threads = static_cast<int>(
        std::min<int64_t>(nnz / B < (int64_t{1} << 17) ? 1 : resolve_threads(num_threads), B));
    ExceptionCollector errors;
    // Every cell is shuffled once, with its own stream. Each epoch then walks
    // every cell from its own seeded random offset (wrapping around) and the
    // strata in a seeded random order: a fresh order per epoch at no cost,
    // where reshuffling would take ~15% of an epoch.
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
    for (int64_t c = 0; c < n_cells; ++c) {
        errors.run([&] {
            SplitMix64 rng(stream_seed(seed, 0, c));
            shuffle(ratings.data() + cell_ptr[c], cell_ptr[c + 1] - cell_ptr[c], rng);
        });
    }
    errors.rethrow();
    const float lr = params.learning_rate, reg = params.regularization;
    std::vector<int64_t> strata(static_cast<std::size_t>(B));
    for (int epoch = 0; epoch < iterations; ++epoch) {
        std::iota(strata.begin(), strata.end(), 0);
        SplitMix64 epoch_rng(stream_seed(seed, static_cast<uint64_t>(epoch) + 1, n_cells));
        shuffle(strata.data(), B, epoch_rng);
        for (const int64_t s : strata) {
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
            for (int64_t b = 0; b < B; ++b) {
                errors.run([&] {
                    const int64_t c = b * B + (b + s) % B;
                    const Rating* cell = ratings.data() + cell_ptr[c];
                    const int64_t len = cell_ptr[c + 1] - cell_ptr[c];
                    if (len == 0) return;
                    SplitMix64 rng(stream_seed(seed, static_cast<uint64_t>(epoch) + 1, c));
                    const auto start = static_cast<int64_t>(rng.below(static_cast<uint64_t>(len)));
                    detail::sgd_pass_padded(cell + start, len - start, lr, reg, m.global_mean, P.rows(),
                                            Q.rows(), stride, m.user_bias, m.item_bias);
                    detail::sgd_pass_padded(cell, start, lr, reg, m.global_mean, P.rows(), Q.rows(), stride,
                                            m.user_bias, m.item_bias);
                });
            }
            errors.rethrow();
        }
    }
    P.copy_to(m.user_factors);
    Q.copy_to(m.item_factors);
}

void fit_sgd_svdpp(const CsrView& X, BiasedMFModel& m, const SgdParams& params, int iterations,
                   uint64_t seed) {
    std::vector<int32_t> users(static_cast<std::size_t>(X.n_rows));
    std::iota(users.begin(), users.end(), 0);
    std::vector<Rating> ratings(static_cast<std::size_t>(X.nnz()));
    for (int epoch = 0; epoch < iterations; ++epoch) {
        SplitMix64 rng(stream_seed(seed, static_cast<uint64_t>(epoch) + 1, 0));
        shuffle(users.data(), X.n_rows, rng);
        int64_t pos = 0;
        for (const int32_t u : users) {
            const int64_t start = pos;
            for (int64_t k = X.row_begin(u); k < X.row_end(u); ++k)
                ratings[pos++] = {u, X.indices[k], X.data[k]};
            shuffle(ratings.data() + start, pos - start, rng);
        }
        detail::sgd_pass_svdpp(ratings.data(), pos, X, params, m);
    }
}

}  // namespace

int64_t dsgd_blocks(int64_t nnz) {
    // Cells of ~4096 ratings on average: large enough that a stratum (B cells)
    // amortises its fork-join, small enough that 2-4 threads already have work
    // on MovieLens-100K-sized data. Depends on nnz only, never on the thread
    // count, which keeps results thread-count independent.
    const auto b = static_cast<int64_t>(std::sqrt(static_cast<double>(nnz) / 4096.0));
    return std::clamp<int64_t>(b, 1, 64);
}

void sgd_pass(const Rating* ratings, int64_t n, const CsrView& implicit_sets, const SgdParams& params,
              BiasedMFModel& model) {
    if (model.implicit_factors) {
        detail::sgd_pass_svdpp(ratings, n, implicit_sets, params, model);
    } else {
        PaddedRows P(model.user_factors, model.n_users, model.d),
            Q(model.item_factors, model.n_items, model.d);
        detail::sgd_pass_padded(ratings, n, params.learning_rate, params.regularization, model.global_mean,
                                P.rows(), Q.rows(), P.stride(), model.user_bias, model.item_bias);
        P.copy_to(model.user_factors);
        Q.copy_to(model.item_factors);
    }
}

void fit_sgd(const CsrView& X, BiasedMFModel& model, const SgdParams& params, int iterations, uint64_t seed,
             int num_threads) {
    if (model.implicit_factors) {
        fit_sgd_svdpp(X, model, params, iterations, seed);
    } else {
        fit_sgd_dsgd(X, model, params, iterations, seed, num_threads);
    }
}

void solve_bias_rows(const CsrView& rows, const float* other, const float* other_bias, int64_t d,
                     float global_mean, const float* offsets, float regularization, float* out_factors,
                     float* out_bias, int num_threads) {
    const int64_t k1 = d + 1;  // factors plus the bias, solved jointly
    const double work =
        static_cast<double>(rows.nnz()) * k1 * k1 + static_cast<double>(rows.n_rows) * k1 * k1 * k1;
    const int threads = work < 4e6 ? 1 : resolve_threads(num_threads);
    ExceptionCollector errors;
#pragma omp parallel num_threads(threads)
    {
        Eigen::MatrixXd M, A(k1, k1);
        Eigen::VectorXd target, rhs, x;
        Eigen::LLT<Eigen::MatrixXd> llt(k1);
#pragma omp for schedule(dynamic, 16)
        for (int64_t r = 0; r < rows.n_rows; ++r) {
            errors.run([&] {
                const int64_t b0 = rows.row_begin(r), n_r = rows.row_end(r) - b0;
                float* xf = out_factors + r * d;
                if (n_r == 0) {
                    std::fill(xf, xf + d, 0.f);
                    out_bias[r] = 0.f;
                    return;
                }
                M.resize(n_r, k1);
                target.resize(n_r);
                const float* off = offsets ? offsets + r * d : nullptr;
                for (int64_t t = 0; t < n_r; ++t) {
                    const int64_t j = rows.indices[b0 + t];
                    const float* q = other + j * d;
                    for (int64_t f = 0; f < d; ++f) M(t, f) = q[f];
                    M(t, d) = 1.0;
                    double y = static_cast<double>(rows.data[b0 + t]) - global_mean - other_bias[j];
                    if (off) y -= dot(off, q, d);
                    target(t) = y;
                }
                A.setZero();
                A.selfadjointView<Eigen::Lower>().rankUpdate(M.transpose());
                A.diagonal().array() += static_cast<double>(regularization) * static_cast<double>(n_r);
                rhs.noalias() = M.transpose() * target;
                llt.compute(A);
                if (llt.info() != Eigen::Success)
                    throw std::runtime_error("ALS: singular system (regularization too small?)");
                x = llt.solve(rhs);
                for (int64_t f = 0; f < d; ++f) xf[f] = static_cast<float>(x(f));
                out_bias[r] = static_cast<float>(x(d));
            });
        }
    }
    errors.rethrow();
}

void fit_als(const CsrView& X, BiasedMFModel& m, float regularization, int iterations, int num_threads) {
    const CsrMatrix Xt = transpose(X);
    const CsrView items = Xt.view();
    for (int it = 0; it < iterations; ++it) {
        solve_bias_rows(X, m.item_factors, m.item_bias, m.d, m.global_mean, nullptr, regularization,
                        m.user_factors, m.user_bias, num_threads);
        solve_bias_rows(items, m.user_factors, m.user_bias, m.d, m.global_mean, nullptr, regularization,
                        m.item_factors, m.item_bias, num_threads);
    }
}

void implicit_sums(const CsrView& rows, const float* implicit_factors, int64_t d, float* out,
                   int num_threads) {
    const int threads = static_cast<double>(rows.nnz()) * d < 1e6 ? 1 : resolve_threads(num_threads);
#pragma omp parallel for schedule(dynamic, 64) num_threads(threads)
    for (int64_t r = 0; r < rows.n_rows; ++r) {
        float* z = out + r * d;
        std::fill(z, z + d, 0.f);
        const int64_t b0 = rows.row_begin(r), b1 = rows.row_end(r);
        for (int64_t k = b0; k < b1; ++k) {
            const float* y = implicit_factors + static_cast<int64_t>(rows.indices[k]) * d;
            for (int64_t f = 0; f < d; ++f) z[f] += y[f];
        }
        if (b1 > b0) {
            const float c = 1.f / std::sqrt(static_cast<float>(b1 - b0));
            for (int64_t f = 0; f < d; ++f) z[f] *= c;
        }
    }
}

void predict_pairs(const float* user_vectors, const float* user_bias, const int64_t* user_rows,
                   const float* item_factors, const float* item_bias, const int64_t* items, int64_t n_pairs,
                   int64_t d, float global_mean, float* out, int num_threads) {
    const int threads = static_cast<double>(n_pairs) * (d + 1) < 1e6 ? 1 : resolve_threads(num_threads);
#pragma omp parallel for schedule(static) num_threads(threads)
    for (int64_t k = 0; k < n_pairs; ++k) {
        const int64_t u = user_rows[k], i = items[k];
        out[k] =
            global_mean + user_bias[u] + item_bias[i] + dot(user_vectors + u * d, item_factors + i * d, d);
    }
}

}  // namespace reelrec::mf
