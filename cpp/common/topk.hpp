// Top-k selection shared by every model.
//
// Why one kernel: every recommender ends with "score a user against the
// catalogue, drop what must not be shown, keep the best k". Doing that once, in
// native code, keeps masking rules and tie-breaking identical across models.
//
// Tie-break: equal scores rank the lower item index first, so results do not
// depend on thread count or tile size. NaN and -inf scores are never returned.
//
// Complexity: selection is O(n_items log k) per user and O(k) memory; the dot
// product variant is one GEMM of (block of users) x (tile of items) per step,
// O(n_users * n_items * d) flops and O(threads * block * tile) scratch memory,
// never a dense users x items matrix.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include "common/csr.hpp"

namespace reelrec {

// Bounded selection of the k best (score, item) pairs.
class TopKHeap {
public:
    explicit TopKHeap(int64_t k = 0) { reset(k); }
    void reset(int64_t k);
    // Offers one candidate; ignores NaN and -inf.
    inline void push(float score, int32_t item) {
        if (!(score > -std::numeric_limits<float>::infinity())) return;
        if (static_cast<int64_t>(heap_.size()) < k_) {
            heap_.push_back({score, item});
            sift_up(heap_.size() - 1);
        } else if (k_ > 0 && better(score, item, heap_[0].score, heap_[0].item)) {
            heap_[0] = {score, item};
            sift_down(0);
        }
    }
    // Lowest score currently kept (-inf while fewer than k are kept).
    float threshold() const {
        return static_cast<int64_t>(heap_.size()) < k_ ? -std::numeric_limits<float>::infinity()
                                                       : heap_[0].score;
    }
    // Writes the kept items best first, padding with -1 / -inf up to k.
    void write_sorted(int32_t* ids, float* scores);

private:
    struct Entry {
        float score;
        int32_t item;
    };
    static inline bool better(float sa, int32_t ia, float sb, int32_t ib) {
        return sa > sb || (sa == sb && ia < ib);
    }
    void sift_up(std::size_t i);
    void sift_down(std::size_t i);
    std::vector<Entry> heap_;  // min-heap: the worst kept entry at the root
    int64_t k_ = 0;
};

// Item filters applied by every query. Any pointer may be null.
struct ItemFilter {
    const uint8_t* allow = nullptr;  // n_items flags: only these may be returned
    const uint8_t* deny = nullptr;   // n_items flags: these are never returned
    CsrView seen;                    // row r lists items to drop for query r (sorted)
};

// Top-k of dense score rows: scores is n_rows x n_items row-major and is not modified.
void topk_dense(const float* scores, int64_t n_rows, int64_t n_items, int64_t k, const ItemFilter& filter,
                int32_t* out_ids, float* out_scores, int num_threads);

// Top-k of query_vectors (n_q x d) against item_vectors (n_items x d) by inner
// product, both row-major float32. item_bias (n_items, nullable) is added to
// every score.
void topk_dot(const float* queries, int64_t n_q, const float* items, int64_t n_items, int64_t d,
              const float* item_bias, int64_t k, const ItemFilter& filter, int32_t* out_ids,
              float* out_scores, int num_threads);

}  // namespace reelrec
