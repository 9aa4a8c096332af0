#include "common/topk.hpp"

#include <Eigen/Core>
#include <algorithm>

#include "common/parallel.hpp"

namespace reelrec {

void TopKHeap::reset(int64_t k) {
    k_ = k < 0 ? 0 : k;
    heap_.clear();
    heap_.reserve(static_cast<std::size_t>(k_));
}

void TopKHeap::sift_up(std::size_t i) {
    while (i > 0) {
        std::size_t parent = (i - 1) / 2;
        // root holds the worst entry: move up while we are worse than the parent
        if (better(heap_[parent].score, heap_[parent].item, heap_[i].score, heap_[i].item)) {
            std::swap(heap_[parent], heap_[i]);
            i = parent;
        } else {
            break;
        }
    }
}

void TopKHeap::sift_down(std::size_t i) {
    const std::size_t n = heap_.size();
    for (;;) {
        std::size_t worst = i, l = 2 * i + 1, r = l + 1;
        if (l < n && better(heap_[worst].score, heap_[worst].item, heap_[l].score, heap_[l].item)) worst = l;
        if (r < n && better(heap_[worst].score, heap_[worst].item, heap_[r].score, heap_[r].item)) worst = r;
        if (worst == i) return;
        std::swap(heap_[i], heap_[worst]);
        i = worst;
    }
}

void TopKHeap::write_sorted(int32_t* ids, float* scores) {
    std::sort(heap_.begin(), heap_.end(),
              [](const Entry& a, const Entry& b) { return better(a.score, a.item, b.score, b.item); });
    int64_t j = 0;
    for (; j < static_cast<int64_t>(heap_.size()); ++j) {
        ids[j] = heap_[j].item;
        scores[j] = heap_[j].score;
    }
    for (; j < k_; ++j) {
        ids[j] = -1;
        scores[j] = -std::numeric_limits<float>::infinity();
    }
}

namespace {

// Pushes scores[0..len) for items [offset, offset+len), skipping filtered items.
// seen_pos walks the query's sorted seen list across successive tiles.
inline void push_tile(TopKHeap& heap, const float* scores, int64_t offset, int64_t len, const ItemFilter& f,
                      const int32_t*& seen_pos, const int32_t* seen_end) {
    for (int64_t j = 0; j < len; ++j) {
        const float s = scores[j];
        if (!(s >= heap.threshold())) continue;  // cheap reject first; also drops NaN
        const int64_t item = offset + j;
        while (seen_pos != seen_end && *seen_pos < item) ++seen_pos;
        if (seen_pos != seen_end && *seen_pos == item) continue;
        if (f.allow && !f.allow[item]) continue;
        if (f.deny && f.deny[item]) continue;
        heap.push(s, static_cast<int32_t>(item));
    }
}

inline void seen_range(const ItemFilter& f, int64_t row, const int32_t*& b, const int32_t*& e) {
    if (f.seen.empty()) {
        b = e = nullptr;
    } else {
        b = f.seen.indices + f.seen.indptr[row];
        e = f.seen.indices + f.seen.indptr[row + 1];
    }
}

}  // namespace

void topk_dense(const float* scores, int64_t n_rows, int64_t n_items, int64_t k, const ItemFilter& filter,
                int32_t* out_ids, float* out_scores, int num_threads) {
    const int threads = n_rows * n_items < (1 << 16) ? 1 : resolve_threads(num_threads);
    ExceptionCollector errors;
#pragma omp parallel num_threads(threads)
    {
        TopKHeap heap(k);
#pragma omp for schedule(dynamic, 16)
        for (int64_t r = 0; r < n_rows; ++r) {
            errors.run([&] {
                heap.reset(k);
                const int32_t *sb, *se;
                seen_range(filter, r, sb, se);
                push_tile(heap, scores + r * n_items, 0, n_items, filter, sb, se);
                heap.write_sorted(out_ids + r * k, out_scores + r * k);
            });
        }
    }
    errors.rethrow();
}

void topk_dot(const float* queries, int64_t n_q, const float* items, int64_t n_items, int64_t d,
              const float* item_bias, int64_t k, const ItemFilter& filter, int32_t* out_ids,
              float* out_scores, int num_threads) {
    using RowMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    using ConstMap = Eigen::Map<const RowMat>;
    // 64 queries x 4096 items keeps the score tile (1 MiB) in L2 and amortises
    // the item tile across many users.
    constexpr int64_t kQueryBlock = 64;
    constexpr int64_t kItemTile = 4096;
    const int64_t n_blocks = (n_q + kQueryBlock - 1) / kQueryBlock;
    const double work = static_cast<double>(n_q) * static_cast<double>(n_items) * (d + 1);
    const int threads = work < 2e6 ? 1 : resolve_threads(num_threads);
    ExceptionCollector errors;
#pragma omp parallel num_threads(threads)
    {
        RowMat tile;
        std::vector<TopKHeap> heaps(kQueryBlock, TopKHeap(k));
        std::vector<const int32_t*> seen_pos(kQueryBlock), seen_end(kQueryBlock);
#pragma omp for schedule(dynamic, 1)
        for (int64_t blk = 0; blk < n_blocks; ++blk) {
            errors.run([&] {
                const int64_t q0 = blk * kQueryBlock;
                const int64_t nb = std::min(kQueryBlock, n_q - q0);
                for (int64_t r = 0; r < nb; ++r) {
                    heaps[r].reset(k);
                    seen_range(filter, q0 + r, seen_pos[r], seen_end[r]);
                }
                ConstMap Q(queries + q0 * d, nb, d);
                for (int64_t i0 = 0; i0 < n_items; i0 += kItemTile) {
                    const int64_t nt = std::min(kItemTile, n_items - i0);
                    ConstMap V(items + i0 * d, nt, d);
                    tile.resize(nb, nt);
                    if (d > 0) {
                        tile.noalias() = Q * V.transpose();
                    } else {
                        tile.setZero();
                    }
                    if (item_bias) {
                        tile.rowwise() += Eigen::Map<const Eigen::RowVectorXf>(item_bias + i0, nt);
                    }
                    for (int64_t r = 0; r < nb; ++r) {
                        push_tile(heaps[r], tile.data() + r * nt, i0, nt, filter, seen_pos[r], seen_end[r]);
                    }
                }
                for (int64_t r = 0; r < nb; ++r) {
                    heaps[r].write_sorted(out_ids + (q0 + r) * k, out_scores + (q0 + r) * k);
                }
            });
        }
    }
    errors.rethrow();
}

}  // namespace reelrec
