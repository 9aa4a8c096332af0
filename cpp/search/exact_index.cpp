#include "search/exact_index.hpp"

#include <algorithm>
#include <cmath>
#include <mutex>
#include <string>

#include "common/parallel.hpp"
#include "search/serialize.hpp"

namespace reelrec::search {

namespace {

constexpr char kMagic[9] = "REELEXCT";
constexpr uint32_t kVersion = 1;
constexpr int64_t kMaxDim = 1 << 16;
// Flops below which a search runs on one thread (~0.2 ms of one core): waking
// a team costs 10-50 us on an idle machine and far more on a busy one.
constexpr double kParallelWork = 2e7;

inline int lowest_bit(uint32_t m) {
#if defined(__GNUC__) || defined(__clang__)
    return __builtin_ctz(m);
#else
    int j = 0;
    while (!(m & 1u)) {
        m >>= 1;
        ++j;
    }
    return j;
#endif
}

// |v|^2 of v[0], v[stride], ..., accumulated in double.
float squared_norm(const float* v, int64_t d, int64_t stride) {
    double sq = 0.0;
    for (int64_t t = 0; t < d; ++t) sq += static_cast<double>(v[t * stride]) * v[t * stride];
    return static_cast<float>(sq);
}

int team_size() {
#ifdef _OPENMP
    return omp_get_num_threads();
#else
    return 1;
#endif
}

}  // namespace

ExactIndex::ExactIndex(int64_t dim, Metric metric) : dim_(dim), metric_(metric), simd_(active_simd()) {
    if (dim < 1 || dim > kMaxDim) throw std::invalid_argument("dim: expected 1.." + std::to_string(kMaxDim));
}

int64_t ExactIndex::size() const {
    std::shared_lock<std::shared_mutex> lock(mutex_);
    return size_;
}

int64_t ExactIndex::next_id() const {
    std::shared_lock<std::shared_mutex> lock(mutex_);
    return next_id_;
}

bool ExactIndex::contains(int64_t id) const {
    std::shared_lock<std::shared_mutex> lock(mutex_);
    return slot_of_.count(id) != 0;
}

std::vector<int64_t> ExactIndex::ids() const {
    std::shared_lock<std::shared_mutex> lock(mutex_);
    return std::vector<int64_t>(labels_.begin(), labels_.begin() + size_);
}

void ExactIndex::ensure_capacity(int64_t n) {
    const int64_t panels = (n + kPanelWidth - 1) / kPanelWidth;
    const std::size_t need = static_cast<std::size_t>(panels * dim_ * kPanelWidth);
    if (panels_.size() < need) {
        // Geometric growth keeps repeated small adds amortised O(d) per vector.
        panels_.reserve(std::max(need, panels_.size() * 2));
        panels_.resize(need, 0.0f);
    }
    if (static_cast<int64_t>(labels_.size()) < n) labels_.resize(static_cast<std::size_t>(n));
    // Norms cover whole panels: the kernel reads 16 at a time.
    if (metric_ == Metric::kL2 && static_cast<int64_t>(sqnorms_.size()) < panels * kPanelWidth) {
        sqnorms_.resize(static_cast<std::size_t>(panels * kPanelWidth), 0.0f);
    }
}

void ExactIndex::add(const float* vectors, int64_t n, const int64_t* ids) {
    std::unique_lock<std::shared_mutex> lock(mutex_);
    if (size_ + n >= (int64_t{1} << 31))
        throw std::invalid_argument("ids: an index holds at most 2**31 - 1 vectors");
    check_new_ids(slot_of_, ids, n);
    // Validate every vector before changing anything, so a failed add is a no-op.
    const bool normalise = metric_ == Metric::kCosine;
    check_vectors(vectors, n, dim_, normalise);
    std::vector<float> row(static_cast<std::size_t>(dim_));
    ensure_capacity(size_ + n);
    for (int64_t i = 0; i < n; ++i) {
        const int64_t slot = size_ + i;
        prepare_vector(vectors + i * dim_, dim_, dim_, normalise, row.data());
        float* col = column(slot);
        for (int64_t t = 0; t < dim_; ++t) col[t * kPanelWidth] = row[t];
        if (metric_ == Metric::kL2) sqnorms_[slot] = squared_norm(row.data(), dim_, 1);
        labels_[slot] = ids[i];
        slot_of_.emplace(ids[i], static_cast<uint32_t>(slot));
        next_id_ = std::max(next_id_, ids[i] + 1);
    }
    size_ += n;
}

void ExactIndex::remove(const int64_t* ids, int64_t n) {
    std::unique_lock<std::shared_mutex> lock(mutex_);
    check_known_ids(slot_of_, ids, n);
    for (int64_t i = 0; i < n; ++i) {
        auto it = slot_of_.find(ids[i]);
        if (it == slot_of_.end()) continue;  // repeated in this call
        const int64_t hole = it->second, last = size_ - 1;
        slot_of_.erase(it);
        if (hole != last) {
            float* dst = column(hole);
            const float* src = column(last);
            for (int64_t t = 0; t < dim_; ++t) dst[t * kPanelWidth] = src[t * kPanelWidth];
            if (metric_ == Metric::kL2) sqnorms_[hole] = sqnorms_[last];
            labels_[hole] = labels_[last];
            slot_of_[labels_[hole]] = static_cast<uint32_t>(hole);
        }
        float* gone = column(last);
        for (int64_t t = 0; t < dim_; ++t) gone[t * kPanelWidth] = 0.0f;
        --size_;
    }
}

void ExactIndex::get_vectors(const int64_t* ids, int64_t n, float* out) const {
    std::shared_lock<std::shared_mutex> lock(mutex_);
    for (int64_t i = 0; i < n; ++i) {
        const float* col = column(known_slot(slot_of_, ids[i]));
        for (int64_t t = 0; t < dim_; ++t) out[i * dim_ + t] = col[t * kPanelWidth];
    }
}

void ExactIndex::search(const float* queries, int64_t n_q, int64_t k, const FilterSpec& spec,
                        int64_t* out_ids, float* out_scores, int num_threads) const {
    std::shared_lock<std::shared_mutex> lock(mutex_);
    const int64_t n = size_, d = dim_;
    const bool l2 = metric_ == Metric::kL2;
    const SlotFilter filter =
        resolve_filter(spec, slot_of_, static_cast<std::size_t>(n), n, [](uint32_t) { return true; });
    const int64_t k_heap = std::min<int64_t>(k, filter.n_allowed);

    // Queries: normalised for cosine; for l2, bias = -|q|^2 completes the distance.
    std::vector<float> Q(static_cast<std::size_t>(n_q * d));
    std::vector<float> bias(static_cast<std::size_t>(n_q), 0.0f);
    for (int64_t q = 0; q < n_q; ++q) {
        if (!prepare_vector(queries + q * d, d, d, metric_ == Metric::kCosine, Q.data() + q * d)) {
            throw bad_query(q);
        }
        if (l2) bias[q] = -squared_norm(Q.data() + q * d, d, 1);
    }
    if (k_heap <= 0) {
        ScoredTopK empty;
        for (int64_t q = 0; q < n_q; ++q) {
            empty.reset(0);
            empty.write_sorted(out_ids + q * k, out_scores + q * k, k);
        }
        return;
    }

    const PanelKernelInfo kern = panel_kernel(simd_);
    const int64_t rows = kern.max_rows;
    const double work = 2.0 * static_cast<double>(n_q) * static_cast<double>(filter.n_allowed) * d;
    // Queries of a chunk stay in L1 (~16 KiB) while a panel streams past them;
    // smaller chunks (down to two kernel blocks) give each thread several
    // chunks, so the last one does not leave the other threads idle.
    const int threads = work < kParallelWork ? 1 : resolve_threads(num_threads);
    const int64_t l1_chunk =
        std::max<int64_t>(rows, std::min<int64_t>(rows * 16, (16384 / (4 * d)) / rows * rows));
    const int64_t balanced = ((n_q + 4 * threads - 1) / (4 * threads) + rows - 1) / rows * rows;
    const int64_t chunk =
        std::max<int64_t>(std::min(l1_chunk, balanced), std::min<int64_t>(l1_chunk, 2 * rows));
    const int64_t n_chunks = (n_q + chunk - 1) / chunk;
    const int64_t n_panels = (n + kPanelWidth - 1) / kPanelWidth;
    const float* norms = l2 ? sqnorms_.data() : nullptr;
    const bool sparse_allow = filter.enumerable && filter.n_allowed * 8 < n;

    // Scores queries [q0, q0 + nrows) against panels [p0, p1) into heaps[0..nrows).
    auto scan = [&](int64_t q0, int64_t nrows, int64_t p0, int64_t p1, ScoredTopK* heaps,
                    std::vector<uint32_t>* excl) {
        alignas(64) float buf[16 * kPanelWidth];
        float thresholds[16];
        uint32_t masks[16];
        for (int64_t p = p0; p < p1; ++p) {
            const float* panel = panels_.data() + p * d * kPanelWidth;
            const int64_t base = p * kPanelWidth;
            const int64_t valid = std::min<int64_t>(kPanelWidth, n - base);
            const uint32_t valid_mask = valid == kPanelWidth ? 0xFFFFu : (1u << valid) - 1u;
            const float* panel_norms = l2 ? norms + base : nullptr;
            for (int64_t r0 = 0; r0 < nrows; r0 += rows) {
                const int rr = static_cast<int>(std::min(rows, nrows - r0));
                for (int r = 0; r < rr; ++r) thresholds[r] = heaps[r0 + r].threshold();
                kern.kernel(Q.data() + (q0 + r0) * d, d, rr, d, panel, panel_norms, thresholds, buf, masks);
                for (int r = 0; r < rr; ++r) {
                    uint32_t m = masks[r] & valid_mask;
                    if (!m) continue;
                    ScoredTopK& heap = heaps[r0 + r];
                    const std::vector<uint32_t>& ex = excl[r0 + r];
                    for (; m; m &= m - 1) {
                        const int j = lowest_bit(m);
                        const float s = buf[r * kPanelWidth + j];
                        if (!(s >= heap.threshold())) continue;  // the bar rose within this panel
                        const uint32_t slot = static_cast<uint32_t>(base + j);
                        if (!filter.pass(slot) || contains_sorted(ex, slot)) continue;
                        heap.push(s, labels_[slot]);
                    }
                }
            }
        }
    };
    // Few allowed vectors: score only those (strided reads, but n_allowed << n).
    auto scan_allowed = [&](int64_t q, ScoredTopK& heap, const std::vector<uint32_t>& ex) {
        const float* qv = Q.data() + q * d;
        for (uint32_t slot : filter.slots) {
            if (contains_sorted(ex, slot)) continue;
            const float* col = column(slot);
            float s = 0.0f;
            for (int64_t t = 0; t < d; ++t) s += qv[t] * col[t * kPanelWidth];
            if (l2) s = 2.0f * s - norms[slot];
            heap.push(s, labels_[slot]);
        }
    };

    ExceptionCollector errors;
    if (sparse_allow || n_chunks >= threads || n_panels < 4 * threads) {
        // Parallel over query chunks; each thread scans the whole catalogue.
#pragma omp parallel num_threads(threads)
        {
            std::vector<ScoredTopK> heaps(static_cast<std::size_t>(chunk));
            std::vector<std::vector<uint32_t>> excl(static_cast<std::size_t>(chunk));
#pragma omp for schedule(dynamic, 1)
            for (int64_t c = 0; c < n_chunks; ++c) {
                errors.run([&] {
                    const int64_t q0 = c * chunk, nrows = std::min(chunk, n_q - q0);
                    for (int64_t r = 0; r < nrows; ++r) {
                        heaps[r].reset(k_heap);
                        query_exclusions(spec, q0 + r, slot_of_, excl[r]);
                    }
                    if (sparse_allow) {
                        for (int64_t r = 0; r < nrows; ++r) scan_allowed(q0 + r, heaps[r], excl[r]);
                    } else {
                        scan(q0, nrows, 0, n_panels, heaps.data(), excl.data());
                    }
                    for (int64_t r = 0; r < nrows; ++r) {
                        heaps[r].write_sorted(out_ids + (q0 + r) * k, out_scores + (q0 + r) * k, k,
                                              bias[q0 + r], l2);
                    }
                });
            }
        }
        errors.rethrow();
        return;
    }

    // Few queries: split the catalogue across threads, then merge the heaps.
    std::vector<std::vector<ScoredTopK>> partial(static_cast<std::size_t>(threads));
#pragma omp parallel num_threads(threads)
    {
        const int t = thread_id();
        const int nt = team_size();
        errors.run([&] {
            const int64_t p0 = n_panels * t / nt, p1 = n_panels * (t + 1) / nt;
            std::vector<ScoredTopK>& heaps = partial[static_cast<std::size_t>(t)];
            heaps.resize(static_cast<std::size_t>(n_q));
            std::vector<std::vector<uint32_t>> excl(static_cast<std::size_t>(n_q));
            for (int64_t q = 0; q < n_q; ++q) {
                heaps[q].reset(k_heap);
                query_exclusions(spec, q, slot_of_, excl[q]);
            }
            for (int64_t q0 = 0; q0 < n_q; q0 += chunk) {
                scan(q0, std::min(chunk, n_q - q0), p0, p1, heaps.data() + q0, excl.data() + q0);
            }
        });
    }
    errors.rethrow();
    for (int64_t q = 0; q < n_q; ++q) {
        ScoredTopK merged;
        merged.reset(k_heap);
        for (auto& heaps : partial) {
            if (heaps.empty()) continue;
            for (const auto& e : heaps[q].entries()) merged.push(e.score, e.id);
        }
        merged.write_sorted(out_ids + q * k, out_scores + q * k, k, bias[q], l2);
    }
}

void ExactIndex::save(std::ostream& out, int32_t num_threads_param) const {
    std::shared_lock<std::shared_mutex> lock(mutex_);
    BinaryWriter w(out, kMagic, kVersion);
    w.pod(dim_);
    w.pod(static_cast<int32_t>(metric_));
    w.pod(num_threads_param);
    w.pod(size_);
    w.pod(next_id_);
    w.array(labels_.data(), static_cast<std::size_t>(size_));
    const int64_t panels = (size_ + kPanelWidth - 1) / kPanelWidth;
    w.array(panels_.data(), static_cast<std::size_t>(panels * dim_ * kPanelWidth));
    w.finish();
}

std::unique_ptr<ExactIndex> ExactIndex::load(std::istream& in, uint64_t size, int32_t& num_threads_param) {
    BinaryReader r(in, size, kMagic, kVersion, "reelrec ExactIndex");
    const int64_t dim = r.pod<int64_t>();
    const int32_t metric = r.pod<int32_t>();
    num_threads_param = r.pod<int32_t>();
    const int64_t n = r.pod<int64_t>();
    const int64_t next_id = r.pod<int64_t>();
    if (dim < 1 || dim > kMaxDim) r.fail("invalid dimension");
    if (metric < 0 || metric > 2) r.fail("invalid metric");
    if (n < 0 || n >= (int64_t{1} << 31) || num_threads_param < 0) r.fail("invalid header");
    auto index = std::make_unique<ExactIndex>(dim, static_cast<Metric>(metric));
    index->labels_ = r.array<int64_t>(static_cast<uint64_t>(n), "labels");
    if (static_cast<int64_t>(index->labels_.size()) != n) r.fail("labels have the wrong length");
    const int64_t panels = (n + kPanelWidth - 1) / kPanelWidth;
    index->panels_ = r.array<float>(static_cast<uint64_t>(panels * dim * kPanelWidth), "vectors");
    if (static_cast<int64_t>(index->panels_.size()) != panels * dim * kPanelWidth)
        r.fail("vectors have the wrong length");
    r.finish();
    index->size_ = n;
    index->next_id_ = next_id;
    for (int64_t s = 0; s < n; ++s) {
        if (!load_id(index->slot_of_, index->labels_[s], static_cast<uint32_t>(s), next_id)) {
            r.fail("invalid or repeated id");
        }
    }
    for (float v : index->panels_) {
        if (!std::isfinite(v)) r.fail("non-finite vector values");
    }
    if (index->metric_ == Metric::kL2) {
        index->sqnorms_.resize(static_cast<std::size_t>(panels * kPanelWidth), 0.0f);
        for (int64_t s = 0; s < n; ++s) index->sqnorms_[s] = squared_norm(index->column(s), dim, kPanelWidth);
    }
    return index;
}

}  // namespace reelrec::search
