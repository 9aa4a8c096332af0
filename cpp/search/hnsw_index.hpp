// Hierarchical Navigable Small World graph (Malkov & Yashunin, "Efficient and
// robust approximate nearest neighbor search using Hierarchical Navigable Small
// World graphs", TPAMI 2018).
//
// Choices:
// - Levels are drawn as floor(-ln U * 1/ln M) from one seeded splitmix64
//   stream, serially, before any insertion runs: the level of every vector is a
//   function of the seed and the insertion order only.
// - Neighbour selection is the paper's heuristic (Algorithm 4 without candidate
//   extension): keep a candidate only if it is closer to the new node than to
//   every neighbour already kept. New nodes get M links; reverse links are
//   re-pruned with the same heuristic to M (upper levels) or 2M (level 0).
//   Exact duplicates get two guards the paper does not need: at most half of
//   a list may be copies of the node itself, and equal distances are ordered
//   by a per-node hash, so a vector repeated many times (cold items with zero
//   factors, say) neither closes its copies off from the graph nor leaves
//   some copies without in-links.
// - Memory: level 0 is one contiguous, 64-byte aligned block per slot holding
//   the (zero-padded) vector followed by the link count and 2M link slots, so
//   visiting a node touches one contiguous run of cache lines. Upper-level links
//   (a node has level >= 1 with probability 1/M) are separate small arrays.
// - Concurrency: one reader-writer lock per index. Searches share it and never
//   write graph state (scratch "visited" tables come from a pool), so any
//   number of threads may search at once; add/delete/load take it exclusively,
//   so a search concurrent with an add sees the index before or after that add,
//   never in between. Inside an add, insertions run in parallel and protect
//   each node's link lists with a striped mutex; a thread holds at most one of
//   those at a time, so there is no lock ordering to get wrong.
// - Deletion marks a slot: deleted nodes still route searches but are never
//   returned nor chosen as new neighbours. A later add reuses deleted slots
//   (lowest first) and repairs the graph around them: each old neighbour of the
//   slot re-selects its links among its own and the slot's neighbourhood before
//   the slot is inserted again at its old level.
// - The walk gathers a node's unvisited neighbours first, prefetches their
//   vectors, then scores them four at a time (distance.hpp), so cache misses
//   and FMA latency overlap instead of serialising per neighbour.
// - Filters are evaluated in the graph walk (filtered-out nodes route but are
//   not returned). When a filter is so selective that the walk would visit
//   more nodes than the filter allows, the query is answered by an exact scan of
//   the allowed nodes instead (see prefers_exact).
//
// Determinism: a build with one thread is a pure function of (seed, vectors,
// ids, call sequence); with more threads the level assignment is unchanged but
// the links depend on scheduling. Searches are deterministic for a given graph.
//
// Complexity: insertion O(ef_construction * M * d * log n) expected, search
// O(ef * 2M * d * log n); memory n * (4 * padded_dim + 8M + 16) bytes plus the
// id map and ~n/M upper-level link arrays.
#pragma once

#include <atomic>
#include <cstdint>
#include <iosfwd>
#include <memory>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <vector>

#include "search/common.hpp"
#include "search/distance.hpp"

namespace reelrec::search {

struct HnswParams {
    int64_t dim = 0;
    Metric metric = Metric::kCosine;
    int64_t M = 16;
    int64_t ef_construction = 200;
    int64_t ef = 50;
    int64_t max_elements = -1;  // -1: grow as needed
    uint64_t seed = 0;
};

class HnswIndex {
public:
    explicit HnswIndex(const HnswParams& params);
    ~HnswIndex();
    HnswIndex(const HnswIndex&) = delete;
    HnswIndex& operator=(const HnswIndex&) = delete;

    const HnswParams& params() const { return params_; }
    int64_t dim() const { return params_.dim; }
    Metric metric() const { return params_.metric; }
    int64_t ef() const { return ef_.load(); }
    void set_ef(int64_t ef);
    int64_t size() const;       // live vectors
    int64_t n_deleted() const;  // deleted slots awaiting reuse
    int64_t next_id() const;
    int32_t max_level() const;
    SimdLevel simd() const { return simd_; }

    void add(const float* vectors, int64_t n, const int64_t* ids, int num_threads);
    void remove(const int64_t* ids, int64_t n);
    bool contains(int64_t id) const;
    std::vector<int64_t> ids() const;
    void get_vectors(const int64_t* ids, int64_t n, float* out) const;

    // ef <= 0 uses the index's ef; the walk keeps max(ef, k) candidates.
    void search(const float* queries, int64_t n_q, int64_t k, int64_t ef, const FilterSpec& filter,
                int64_t* out_ids, float* out_scores, int num_threads) const;
    // Whether a query with this global filter (and no per-query exclusions)
    // would be answered by an exact scan.
    bool uses_exact(const FilterSpec& filter, int64_t k, int64_t ef) const;

    // Python-side parameters travel with the index (random_state, num_threads).
    void save(std::ostream& out, int64_t random_state_param, int32_t num_threads_param) const;
    static std::unique_ptr<HnswIndex> load(std::istream& in, uint64_t size, int64_t& random_state_param,
                                           int32_t& num_threads_param);

    struct Neighbor {
        float dist;
        uint32_t slot;
    };
    struct Scratch;

private:
    static constexpr uint32_t kNone = 0xFFFFFFFFu;
    static constexpr std::size_t kLockStripes = 4096;

    char* block(uint32_t s) const { return data_ + static_cast<std::size_t>(s) * stride_; }
    float* vec(uint32_t s) const { return reinterpret_cast<float*>(block(s)); }
    uint32_t* links(uint32_t s, int level) const {
        return level == 0 ? reinterpret_cast<uint32_t*>(block(s) + vec_bytes_)
                          : upper_[s].get() + static_cast<std::size_t>(level - 1) * (params_.M + 1);
    }
    int64_t max_links(int level) const { return level == 0 ? m0_ : params_.M; }
    std::mutex& lock_of(uint32_t s) const { return locks_[s % kLockStripes]; }
    float distance(const float* a, const float* b) const { return dist_(a, b, pdim_); }

    void reserve_slots(int64_t capacity);
    int draw_level();
    bool prefers_exact(int64_t n_allowed, int64_t ef_eff) const;

    template <bool kLocked, class Accept>
    void search_layer(const float* q, uint32_t ep, float ep_dist, int level, int64_t ef, Scratch& scratch,
                      Accept&& accept) const;
    template <bool kLocked>
    uint32_t greedy_descend(const float* q, uint32_t ep, float& ep_dist, int from_level, int to_level) const;
    void select_neighbors(std::vector<Neighbor>& sorted_candidates, int64_t m, std::vector<Neighbor>& out,
                          uint32_t base) const;
    void insert(uint32_t s, bool reuse, Scratch& scratch);
    void set_own_links(uint32_t s, int level, bool reuse, Scratch& scratch);
    void add_reverse_link(uint32_t target, uint32_t s, int level, Scratch& scratch);
    void repair_neighbors(uint32_t s, int level, Scratch& scratch);

    HnswParams params_;
    int64_t m0_;
    int64_t pdim_;
    std::size_t vec_bytes_;
    std::size_t stride_;
    double level_mult_;
    SimdLevel simd_;
    DistanceFn dist_;
    BatchDistanceFn batch_dist_;
    std::atomic<int64_t> ef_;

    char* data_ = nullptr;
    int64_t capacity_ = 0;
    int64_t n_slots_ = 0;
    int64_t n_deleted_ = 0;
    int64_t next_id_ = 0;
    std::vector<int32_t> levels_;
    std::vector<std::unique_ptr<uint32_t[]>> upper_;
    std::vector<int64_t> labels_;
    std::vector<uint8_t> deleted_;
    IdMap slot_of_;
    std::set<uint32_t> free_slots_;
    uint32_t entry_ = kNone;
    int32_t max_level_ = -1;
    uint64_t rng_state_;

    mutable std::shared_mutex mutex_;
    std::mutex entry_mutex_;
    mutable std::unique_ptr<std::mutex[]> locks_;
    struct ScratchPool;
    std::unique_ptr<ScratchPool> pool_;
};

}  // namespace reelrec::search
