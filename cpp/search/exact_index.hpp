// Exact (brute-force) nearest-neighbour index: blocked GEMM with a fused top-k.
//
// Vectors live in panels of 16 items stored dimension-major (see
// exact_kernel.hpp), so a search is a sequence of register-blocked
// (queries x 16 items) products whose scores go straight from L1 into per-query
// bounded heaps; no queries x items score matrix is ever materialised.
//
// Metrics and scores (higher is better, shared with HnswIndex):
//   ip     : <q, x>
//   cosine : <q, x> / (|q| |x|)   (vectors are normalised on add)
//   l2     : -|q - x|^2, computed as 2<q, x> - |x|^2 - |q|^2, clamped at 0
//
// Parallelism: many queries -> threads take chunks of queries; few queries ->
// threads take slices of the catalogue and their per-query heaps are merged.
// Both give the same answer because every score is computed in the same order
// and ranking is a total order (score, then lower id).
//
// Deletion moves the last vector into the hole, so storage stays dense.
// Complexity: search O(n_q * n * d) flops, O(threads * n_q * k) scratch;
// add O(n * d); delete O(d) per id; memory 4 * d * n bytes plus the id map.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <memory>
#include <shared_mutex>
#include <stdexcept>
#include <vector>

#include "search/common.hpp"
#include "search/distance.hpp"
#include "search/exact_kernel.hpp"

namespace reelrec::search {

class ExactIndex {
public:
    ExactIndex(int64_t dim, Metric metric);

    int64_t dim() const { return dim_; }
    Metric metric() const { return metric_; }
    int64_t size() const;
    int64_t next_id() const;
    SimdLevel simd() const { return simd_; }

    // Appends n vectors with the given ids (unique, >= 0, not yet present).
    void add(const float* vectors, int64_t n, const int64_t* ids);
    // Removes ids; all must be present (nothing is removed otherwise).
    void remove(const int64_t* ids, int64_t n);
    bool contains(int64_t id) const;
    std::vector<int64_t> ids() const;
    // Stored vectors of ids (n x dim; unit length for cosine).
    void get_vectors(const int64_t* ids, int64_t n, float* out) const;

    // out_ids / out_scores: n_q x k, best first, padded with -1 / -inf.
    void search(const float* queries, int64_t n_q, int64_t k, const FilterSpec& filter, int64_t* out_ids,
                float* out_scores, int num_threads) const;

    void save(std::ostream& out, int32_t num_threads_param) const;
    // Reads what save wrote; returns the index and the stored num_threads.
    static std::unique_ptr<ExactIndex> load(std::istream& in, uint64_t size, int32_t& num_threads_param);

private:
    float* column(int64_t slot) {
        return panels_.data() + (slot / kPanelWidth) * dim_ * kPanelWidth + slot % kPanelWidth;
    }
    const float* column(int64_t slot) const {
        return panels_.data() + (slot / kPanelWidth) * dim_ * kPanelWidth + slot % kPanelWidth;
    }
    void ensure_capacity(int64_t n);

    int64_t dim_;
    Metric metric_;
    SimdLevel simd_;
    int64_t size_ = 0;
    int64_t next_id_ = 0;
    std::vector<float> panels_;   // ceil(size / 16) panels of dim x 16
    std::vector<float> sqnorms_;  // |x|^2 per slot (l2 only)
    std::vector<int64_t> labels_;
    IdMap slot_of_;
    mutable std::shared_mutex mutex_;
};

}  // namespace reelrec::search
