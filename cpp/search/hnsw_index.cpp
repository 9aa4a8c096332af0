#include "search/hnsw_index.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <new>
#include <string>

#include "common/parallel.hpp"
#include "search/serialize.hpp"

#if defined(__GNUC__) || defined(__clang__)
#define REELREC_PREFETCH(p) __builtin_prefetch(p)
#else
#define REELREC_PREFETCH(p) ((void)0)
#endif

namespace reelrec::search {

namespace {

constexpr char kMagic[9] = "REELHNSW";
constexpr uint32_t kVersion = 1;
constexpr int64_t kMaxDim = 1 << 16;
constexpr int32_t kMaxLevel = 31;
constexpr float kInf = std::numeric_limits<float>::infinity();

// Function objects rather than function pointers, so the heap code inlines them.
struct FarFirst {
    bool operator()(const HnswIndex::Neighbor& a, const HnswIndex::Neighbor& b) const {
        return a.dist < b.dist;
    }
};
struct NearFirst {
    bool operator()(const HnswIndex::Neighbor& a, const HnswIndex::Neighbor& b) const {
        return a.dist > b.dist;
    }
};
// Candidates of `base` by distance. Equal distances (exact duplicates, above
// all) are ordered by a hash of (slot, base) rather than by slot: otherwise
// every node would prefer the same lowest-numbered copies of a duplicated
// vector and the other copies could lose all their in-links.
struct Ascending {
    uint32_t base;
    static uint64_t mix(uint64_t x) {
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
        return x ^ (x >> 31);
    }
    bool operator()(const HnswIndex::Neighbor& a, const HnswIndex::Neighbor& b) const {
        if (a.dist != b.dist) return a.dist < b.dist;
        const uint64_t key = static_cast<uint64_t>(base) << 32;
        return mix(key | a.slot) < mix(key | b.slot);
    }
};
constexpr FarFirst far_first{};
constexpr NearFirst near_first{};

uint64_t splitmix64(uint64_t& state) {
    uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

char* aligned_block(std::size_t bytes) {
    return static_cast<char*>(::operator new(bytes, std::align_val_t(64)));
}

void free_block(char* p) {
    if (p) ::operator delete(p, std::align_val_t(64));
}

void check_params(const HnswParams& p) {
    if (p.dim < 1 || p.dim > kMaxDim)
        throw std::invalid_argument("dim: expected 1.." + std::to_string(kMaxDim));
    if (p.M < 2 || p.M > 1024) throw std::invalid_argument("M: expected 2..1024, got " + std::to_string(p.M));
    if (p.ef_construction < 1) throw std::invalid_argument("ef_construction: expected a positive integer");
    if (p.ef < 1) throw std::invalid_argument("ef: expected a positive integer");
    if (p.max_elements < -1 || p.max_elements >= (int64_t{1} << 31)) {
        throw std::invalid_argument("max_elements: expected a positive integer below 2**31 or None");
    }
}

}  // namespace

// Per-thread scratch: visited tags (epoch-stamped, so clearing is O(1)) and the
// heaps of one walk. Pooled so that searches allocate nothing in steady state.
struct HnswIndex::Scratch {
    std::vector<uint16_t> tags;
    uint16_t epoch = 0;
    std::vector<Neighbor> top, cand, sorted, selected, pruned;
    std::vector<uint32_t> todo, list_copy, excl;
    std::vector<std::vector<uint32_t>> old_links;  // per level, sorted (slot reuse)
    std::vector<float> query, dists;

    void begin(std::size_t n) {
        if (tags.size() < n) {
            tags.assign(n, 0);
            epoch = 0;
        }
        if (++epoch == 0) {
            std::fill(tags.begin(), tags.end(), 0);
            epoch = 1;
        }
    }
    // True the first time a slot is seen in this walk.
    bool visit(uint32_t s) {
        if (tags[s] == epoch) return false;
        tags[s] = epoch;
        return true;
    }
};

struct HnswIndex::ScratchPool {
    std::mutex mutex;
    std::vector<std::unique_ptr<Scratch>> items;

    std::unique_ptr<Scratch> acquire() {
        std::lock_guard<std::mutex> g(mutex);
        if (items.empty()) return std::make_unique<Scratch>();
        auto s = std::move(items.back());
        items.pop_back();
        return s;
    }
    void release(std::unique_ptr<Scratch> s) {
        std::lock_guard<std::mutex> g(mutex);
        items.push_back(std::move(s));
    }
};

HnswIndex::HnswIndex(const HnswParams& params)
    : params_(params),
      ef_(params.ef),
      rng_state_(params.seed),
      locks_(new std::mutex[kLockStripes]),
      pool_(new ScratchPool) {
    check_params(params_);
    m0_ = 2 * params_.M;
    pdim_ = padded_dim(params_.dim);
    vec_bytes_ = static_cast<std::size_t>(pdim_) * sizeof(float);
    stride_ = (vec_bytes_ + static_cast<std::size_t>(1 + m0_) * sizeof(uint32_t) + 63) / 64 * 64;
    level_mult_ = 1.0 / std::log(static_cast<double>(params_.M));
    simd_ = active_simd();
    dist_ = distance_function(params_.metric, simd_);
    batch_dist_ = batch_distance_function(params_.metric, simd_);
    if (params_.max_elements > 0) reserve_slots(params_.max_elements);
}

HnswIndex::~HnswIndex() { free_block(data_); }

void HnswIndex::set_ef(int64_t ef) {
    if (ef < 1) throw std::invalid_argument("ef: expected a positive integer, got " + std::to_string(ef));
    ef_.store(ef);
}

int64_t HnswIndex::size() const {
    std::shared_lock<std::shared_mutex> lock(mutex_);
    return n_slots_ - n_deleted_;
}

int64_t HnswIndex::n_deleted() const {
    std::shared_lock<std::shared_mutex> lock(mutex_);
    return n_deleted_;
}

int64_t HnswIndex::next_id() const {
    std::shared_lock<std::shared_mutex> lock(mutex_);
    return next_id_;
}

int32_t HnswIndex::max_level() const {
    std::shared_lock<std::shared_mutex> lock(mutex_);
    return max_level_;
}

bool HnswIndex::contains(int64_t id) const {
    std::shared_lock<std::shared_mutex> lock(mutex_);
    return slot_of_.count(id) != 0;
}

std::vector<int64_t> HnswIndex::ids() const {
    std::shared_lock<std::shared_mutex> lock(mutex_);
    std::vector<int64_t> out;
    out.reserve(static_cast<std::size_t>(n_slots_ - n_deleted_));
    for (int64_t s = 0; s < n_slots_; ++s) {
        if (!deleted_[s]) out.push_back(labels_[s]);
    }
    return out;
}

void HnswIndex::get_vectors(const int64_t* ids, int64_t n, float* out) const {
    std::shared_lock<std::shared_mutex> lock(mutex_);
    for (int64_t i = 0; i < n; ++i) {
        std::memcpy(out + i * params_.dim, vec(known_slot(slot_of_, ids[i])),
                    static_cast<std::size_t>(params_.dim) * sizeof(float));
    }
}

void HnswIndex::reserve_slots(int64_t capacity) {
    if (capacity <= capacity_) return;
    char* fresh = aligned_block(static_cast<std::size_t>(capacity) * stride_);
    if (data_) std::memcpy(fresh, data_, static_cast<std::size_t>(n_slots_) * stride_);
    free_block(data_);
    data_ = fresh;
    capacity_ = capacity;
    levels_.resize(static_cast<std::size_t>(capacity));
    upper_.resize(static_cast<std::size_t>(capacity));
    labels_.resize(static_cast<std::size_t>(capacity));
    deleted_.resize(static_cast<std::size_t>(capacity));
}

int HnswIndex::draw_level() {
    // u in (0, 1]: -ln(u) is finite and >= 0.
    const double u = (static_cast<double>(splitmix64(rng_state_) >> 11) + 1.0) * 0x1.0p-53;
    const double level = std::floor(-std::log(u) * level_mult_);
    return static_cast<int>(std::min<double>(level, kMaxLevel));
}

bool HnswIndex::prefers_exact(int64_t n_allowed, int64_t ef_eff) const {
    // A filtered walk must expand about ef / p nodes (p = allowed fraction) of
    // up to 2M neighbours each to collect ef allowed results; an exact scan
    // costs n_allowed distances. Exact wins when n_allowed^2 <= ef * 2M * n.
    const double n_live = static_cast<double>(n_slots_ - n_deleted_);
    const double a = static_cast<double>(n_allowed);
    return n_allowed <= ef_eff || a * a <= static_cast<double>(ef_eff) * static_cast<double>(m0_) * n_live;
}

template <bool kLocked, class Accept>
void HnswIndex::search_layer(const float* q, uint32_t ep, float ep_dist, int level, int64_t ef, Scratch& sc,
                             Accept&& accept) const {
    auto& top = sc.top;
    auto& cand = sc.cand;
    top.clear();
    cand.clear();
    sc.begin(static_cast<std::size_t>(capacity_));
    sc.visit(ep);
    if (accept(ep)) top.push_back({ep_dist, ep});
    cand.push_back({ep_dist, ep});
    float bound = static_cast<int64_t>(top.size()) >= ef ? top.front().dist : kInf;
    while (!cand.empty()) {
        const Neighbor c = cand.front();
        if (c.dist > bound) break;
        std::pop_heap(cand.begin(), cand.end(), near_first);
        cand.pop_back();
        if (!cand.empty()) REELREC_PREFETCH(links(cand.front().slot, level));  // likely the next expansion

        const uint32_t* list;
        uint32_t count;
        if constexpr (kLocked) {
            std::lock_guard<std::mutex> g(lock_of(c.slot));
            const uint32_t* raw = links(c.slot, level);
            sc.list_copy.assign(raw + 1, raw + 1 + raw[0]);
            list = sc.list_copy.data();
            count = static_cast<uint32_t>(sc.list_copy.size());
        } else {
            const uint32_t* raw = links(c.slot, level);
            count = raw[0];
            list = raw + 1;
        }
        // Gather the unseen neighbours first and prefetch them all, so their
        // cache misses overlap instead of serialising behind each distance.
        sc.todo.clear();
        for (uint32_t i = 0; i < count; ++i) {
            const uint32_t nb = list[i];
            if (sc.visit(nb)) {
                sc.todo.push_back(nb);
                const char* b = block(nb);
                for (std::size_t off = 0; off < vec_bytes_; off += 64) REELREC_PREFETCH(b + off);
            }
        }
        sc.dists.resize(sc.todo.size());
        batch_dist_(q, data_, stride_, sc.todo.data(), static_cast<int64_t>(sc.todo.size()), pdim_,
                    sc.dists.data());
        for (std::size_t i = 0; i < sc.todo.size(); ++i) {
            const uint32_t nb = sc.todo[i];
            const float d = sc.dists[i];
            if (static_cast<int64_t>(top.size()) < ef || d < bound) {
                cand.push_back({d, nb});
                std::push_heap(cand.begin(), cand.end(), near_first);
                if (accept(nb)) {
                    top.push_back({d, nb});
                    std::push_heap(top.begin(), top.end(), far_first);
                    if (static_cast<int64_t>(top.size()) > ef) {
                        std::pop_heap(top.begin(), top.end(), far_first);
                        top.pop_back();
                    }
                    if (static_cast<int64_t>(top.size()) >= ef) bound = top.front().dist;
                }
            }
        }
    }
}

template <bool kLocked>
uint32_t HnswIndex::greedy_descend(const float* q, uint32_t ep, float& ep_dist, int from_level,
                                   int to_level) const {
    uint32_t cur = ep;
    std::vector<uint32_t> copy;
    std::vector<float> dists;
    for (int lc = from_level; lc > to_level; --lc) {
        bool moved = true;
        while (moved) {
            moved = false;
            const uint32_t* list;
            uint32_t count;
            if constexpr (kLocked) {
                std::lock_guard<std::mutex> g(lock_of(cur));
                const uint32_t* raw = links(cur, lc);
                copy.assign(raw + 1, raw + 1 + raw[0]);
                list = copy.data();
                count = static_cast<uint32_t>(copy.size());
            } else {
                const uint32_t* raw = links(cur, lc);
                count = raw[0];
                list = raw + 1;
            }
            dists.resize(count);
            batch_dist_(q, data_, stride_, list, count, pdim_, dists.data());
            for (uint32_t i = 0; i < count; ++i) {
                if (dists[i] < ep_dist) {
                    ep_dist = dists[i];
                    cur = list[i];
                    moved = true;
                }
            }
        }
    }
    return cur;
}

void HnswIndex::select_neighbors(std::vector<Neighbor>& sorted, int64_t m, std::vector<Neighbor>& out,
                                 uint32_t base) const {
    out.clear();
    if (static_cast<int64_t>(sorted.size()) <= m) {
        out = sorted;
        return;
    }
    // Exact copies of the base pass the diversity test (a tie), so a vector
    // with more than m copies would link only to its copies and the group
    // would be closed to the rest of the graph. Half the list at most.
    const float* bv = vec(base);
    const float self = distance(bv, bv);
    const float tol = 1e-6f * (std::fabs(self) + 1.0f);
    const int64_t max_copies = std::max<int64_t>(1, m / 2);
    int64_t copies = 0;
    for (const Neighbor& c : sorted) {
        if (static_cast<int64_t>(out.size()) >= m) break;
        const float* cv = vec(c.slot);
        if (std::fabs(c.dist - self) <= tol && std::memcmp(cv, bv, vec_bytes_) == 0) {
            if (copies < max_copies) {
                out.push_back(c);
                ++copies;
            }
            continue;
        }
        bool diverse = true;
        for (const Neighbor& kept : out) {
            if (distance(cv, vec(kept.slot)) < c.dist) {
                diverse = false;
                break;
            }
        }
        if (diverse) out.push_back(c);
    }
}

void HnswIndex::add_reverse_link(uint32_t target, uint32_t s, int level, Scratch& sc) {
    std::lock_guard<std::mutex> g(lock_of(target));
    uint32_t* list = links(target, level);
    const uint32_t count = list[0];
    for (uint32_t i = 0; i < count; ++i) {
        if (list[1 + i] == s) return;
    }
    const int64_t cap = max_links(level);
    if (count < cap) {
        list[1 + count] = s;
        list[0] = count + 1;
        return;
    }
    const float* tv = vec(target);
    sc.sorted.clear();
    sc.sorted.push_back({distance(tv, vec(s)), s});
    for (uint32_t i = 0; i < count; ++i) sc.sorted.push_back({distance(tv, vec(list[1 + i])), list[1 + i]});
    std::sort(sc.sorted.begin(), sc.sorted.end(), Ascending{target});
    select_neighbors(sc.sorted, cap, sc.pruned, target);
    list[0] = static_cast<uint32_t>(sc.pruned.size());
    for (std::size_t i = 0; i < sc.pruned.size(); ++i) list[1 + i] = sc.pruned[i].slot;
}

void HnswIndex::repair_neighbors(uint32_t s, int level, Scratch& sc) {
    const std::vector<uint32_t>& olds = sc.old_links[static_cast<std::size_t>(level)];
    const int64_t cap = max_links(level);
    for (const uint32_t n : olds) {
        if (n == s) continue;
        // Candidates: n's current neighbours plus the slot's old neighbourhood
        // (which includes the slot itself, now holding its new vector).
        sc.todo.assign(olds.begin(), olds.end());
        sc.todo.push_back(s);
        {
            std::lock_guard<std::mutex> g(lock_of(n));
            const uint32_t* raw = links(n, level);
            sc.todo.insert(sc.todo.end(), raw + 1, raw + 1 + raw[0]);
        }
        std::sort(sc.todo.begin(), sc.todo.end());
        sc.todo.erase(std::unique(sc.todo.begin(), sc.todo.end()), sc.todo.end());
        const float* nv = vec(n);
        sc.sorted.clear();
        for (const uint32_t c : sc.todo) {
            if (c != n) sc.sorted.push_back({distance(nv, vec(c)), c});
        }
        std::sort(sc.sorted.begin(), sc.sorted.end(), Ascending{n});
        select_neighbors(sc.sorted, cap, sc.pruned, n);
        std::lock_guard<std::mutex> g(lock_of(n));
        uint32_t* list = links(n, level);
        list[0] = static_cast<uint32_t>(sc.pruned.size());
        for (std::size_t i = 0; i < sc.pruned.size(); ++i) list[1 + i] = sc.pruned[i].slot;
    }
}

void HnswIndex::set_own_links(uint32_t s, int level, bool reuse, Scratch& sc) {
    // Another insertion may already have linked itself into s's list at this
    // level (it can start its walk at s, found on the level above, before s
    // reaches this level). Keep those links: dropping them can leave that node
    // with no way in.
    std::lock_guard<std::mutex> g(lock_of(s));
    uint32_t* list = links(s, level);
    const float* v = vec(s);
    sc.pruned.assign(sc.selected.begin(), sc.selected.end());
    const std::vector<uint32_t>* stale = reuse ? &sc.old_links[static_cast<std::size_t>(level)] : nullptr;
    for (uint32_t i = 0; i < list[0]; ++i) {
        const uint32_t x = list[1 + i];
        if (x == s || (stale && std::binary_search(stale->begin(), stale->end(), x))) continue;
        bool known = false;
        for (const Neighbor& nb : sc.selected) known = known || nb.slot == x;
        if (!known) sc.pruned.push_back({distance(v, vec(x)), x});
    }
    const int64_t cap = max_links(level);
    if (static_cast<int64_t>(sc.pruned.size()) > cap) {
        std::sort(sc.pruned.begin(), sc.pruned.end(), Ascending{s});
        std::vector<Neighbor> all;
        all.swap(sc.pruned);
        select_neighbors(all, cap, sc.pruned, s);
    }
    list[0] = static_cast<uint32_t>(sc.pruned.size());
    for (std::size_t i = 0; i < sc.pruned.size(); ++i) list[1 + i] = sc.pruned[i].slot;
}

void HnswIndex::insert(uint32_t s, bool reuse, Scratch& sc) {
    const float* v = vec(s);
    const int level = levels_[s];
    std::unique_lock<std::mutex> top_lock(entry_mutex_);
    uint32_t ep = entry_;
    const int top_level = max_level_;
    if (ep == kNone) {
        entry_ = s;
        max_level_ = level;
        return;
    }
    // Only an insertion that raises the top level keeps the entry lock.
    if (level <= top_level) top_lock.unlock();
    if (reuse) {
        // Snapshot the stale links first: they seed the repair, and whatever is
        // not in the snapshot when s rewrites its lists was added concurrently.
        sc.old_links.resize(static_cast<std::size_t>(level + 1));
        for (int lc = 0; lc <= level; ++lc) {
            std::lock_guard<std::mutex> g(lock_of(s));
            const uint32_t* raw = links(s, lc);
            sc.old_links[lc].assign(raw + 1, raw + 1 + raw[0]);
            std::sort(sc.old_links[lc].begin(), sc.old_links[lc].end());
        }
        for (int lc = std::min(level, top_level); lc >= 0; --lc) repair_neighbors(s, lc, sc);
    }
    float ep_dist = distance(v, vec(ep));
    ep = greedy_descend<true>(v, ep, ep_dist, top_level, level);
    auto accept = [&](uint32_t x) { return x != s && !deleted_[x]; };
    for (int lc = std::min(level, top_level); lc >= 0; --lc) {
        search_layer<true>(v, ep, ep_dist, lc, params_.ef_construction, sc, accept);
        sc.sorted.assign(sc.top.begin(), sc.top.end());
        std::sort(sc.sorted.begin(), sc.sorted.end(), Ascending{s});
        select_neighbors(sc.sorted, params_.M, sc.selected, s);
        if (!sc.sorted.empty()) {
            ep = sc.sorted[0].slot;
            ep_dist = sc.sorted[0].dist;
        }
        set_own_links(s, lc, reuse, sc);
        // add_reverse_link reuses sc.sorted; `selected` is all we still need.
        for (const Neighbor& nb : sc.selected) add_reverse_link(nb.slot, s, lc, sc);
    }
    if (level > top_level) {
        entry_ = s;
        max_level_ = level;
    }
}

void HnswIndex::add(const float* vectors, int64_t n, const int64_t* ids, int num_threads) {
    std::unique_lock<std::shared_mutex> lock(mutex_);
    check_new_ids(slot_of_, ids, n);
    // Validate everything before changing anything, so a failed add is a no-op.
    const bool normalise = params_.metric == Metric::kCosine;
    check_vectors(vectors, n, params_.dim, normalise);
    const int64_t reused = std::min<int64_t>(n, static_cast<int64_t>(free_slots_.size()));
    const int64_t need = n_slots_ + (n - reused);
    if (params_.max_elements > 0 && need > params_.max_elements) {
        throw std::invalid_argument(
            "vectors: the index holds at most max_elements=" + std::to_string(params_.max_elements) +
            " vectors; adding " + std::to_string(n) + " to " + std::to_string(n_slots_ - n_deleted_) +
            " would exceed it");
    }
    if (need >= (int64_t{1} << 31))
        throw std::invalid_argument("vectors: an index holds at most 2**31 - 1 slots");
    if (need > capacity_) reserve_slots(std::max<int64_t>({need, 2 * capacity_, 1024}));

    std::vector<std::pair<uint32_t, bool>> jobs(static_cast<std::size_t>(n));
    for (int64_t i = 0; i < n; ++i) {
        uint32_t s;
        bool reuse = !free_slots_.empty();
        if (reuse) {
            s = *free_slots_.begin();
            free_slots_.erase(free_slots_.begin());
            deleted_[s] = 0;
            --n_deleted_;
        } else {
            s = static_cast<uint32_t>(n_slots_++);
            const int level = draw_level();
            levels_[s] = level;
            upper_[s].reset(level > 0 ? new uint32_t[static_cast<std::size_t>(level * (params_.M + 1))]()
                                      : nullptr);
            std::memset(links(s, 0), 0, static_cast<std::size_t>(1 + m0_) * sizeof(uint32_t));
            deleted_[s] = 0;
        }
        prepare_vector(vectors + i * params_.dim, params_.dim, pdim_, normalise, vec(s));
        labels_[s] = ids[i];
        slot_of_[ids[i]] = s;
        next_id_ = std::max(next_id_, ids[i] + 1);
        jobs[i] = {s, reuse};
    }

    const int threads = n < 64 ? 1 : resolve_threads(num_threads);
    ExceptionCollector errors;
#pragma omp parallel num_threads(threads)
    {
        std::unique_ptr<Scratch> sc = pool_->acquire();
#pragma omp for schedule(dynamic, 8)
        for (int64_t i = 0; i < n; ++i) {
            errors.run([&] { insert(jobs[i].first, jobs[i].second, *sc); });
        }
        pool_->release(std::move(sc));
    }
    errors.rethrow();
}

void HnswIndex::remove(const int64_t* ids, int64_t n) {
    std::unique_lock<std::shared_mutex> lock(mutex_);
    check_known_ids(slot_of_, ids, n);
    for (int64_t i = 0; i < n; ++i) {
        auto it = slot_of_.find(ids[i]);
        if (it == slot_of_.end()) continue;  // repeated in this call
        const uint32_t s = it->second;
        slot_of_.erase(it);
        deleted_[s] = 1;
        free_slots_.insert(s);
        ++n_deleted_;
    }
}

bool HnswIndex::uses_exact(const FilterSpec& spec, int64_t k, int64_t ef) const {
    std::shared_lock<std::shared_mutex> lock(mutex_);
    if (!spec.global()) return false;
    const SlotFilter f = resolve_filter(spec, slot_of_, static_cast<std::size_t>(n_slots_),
                                        n_slots_ - n_deleted_, [&](uint32_t s) { return !deleted_[s]; });
    return prefers_exact(f.n_allowed, std::max(ef > 0 ? ef : ef_.load(), k));
}

void HnswIndex::search(const float* queries, int64_t n_q, int64_t k, int64_t ef, const FilterSpec& spec,
                       int64_t* out_ids, float* out_scores, int num_threads) const {
    std::shared_lock<std::shared_mutex> lock(mutex_);
    const int64_t ef_eff = std::max(ef > 0 ? ef : ef_.load(), k);
    const SlotFilter filter = resolve_filter(spec, slot_of_, static_cast<std::size_t>(n_slots_),
                                             n_slots_ - n_deleted_, [&](uint32_t s) { return !deleted_[s]; });
    const bool filtered = spec.any();
    const bool normalise = params_.metric == Metric::kCosine;
    const int threads = n_q < 4 ? 1 : resolve_threads(num_threads);
    ExceptionCollector errors;
#pragma omp parallel num_threads(threads)
    {
        std::unique_ptr<Scratch> sc = pool_->acquire();
        sc->query.resize(static_cast<std::size_t>(pdim_));
        ScoredTopK heap;
#pragma omp for schedule(dynamic, 1)
        for (int64_t q = 0; q < n_q; ++q) {
            errors.run([&] {
                float* qv = sc->query.data();
                if (!prepare_vector(queries + q * params_.dim, params_.dim, pdim_, normalise, qv)) {
                    throw bad_query(q);
                }
                query_exclusions(spec, q, slot_of_, sc->excl);
                const int64_t n_allowed =
                    std::max<int64_t>(0, filter.n_allowed - static_cast<int64_t>(sc->excl.size()));
                heap.reset(std::min(k, filter.n_allowed));
                const std::vector<uint32_t>& excl = sc->excl;
                auto accept = [&](uint32_t x) {
                    return !deleted_[x] && filter.pass(x) && !contains_sorted(excl, x);
                };
                if (entry_ == kNone || filter.n_allowed == 0) {
                    // nothing to return
                } else if (filtered && prefers_exact(n_allowed, ef_eff)) {
                    if (filter.enumerable) {
                        for (const uint32_t s : filter.slots) {
                            if (!contains_sorted(excl, s)) heap.push(-distance(qv, vec(s)), labels_[s]);
                        }
                    } else {
                        for (int64_t s = 0; s < n_slots_; ++s) {
                            const uint32_t slot = static_cast<uint32_t>(s);
                            if (accept(slot)) heap.push(-distance(qv, vec(slot)), labels_[slot]);
                        }
                    }
                } else {
                    float d0 = distance(qv, vec(entry_));
                    const uint32_t ep = greedy_descend<false>(qv, entry_, d0, max_level_, 0);
                    search_layer<false>(qv, ep, d0, 0, ef_eff, *sc, accept);
                    for (const Neighbor& nb : sc->top) heap.push(-nb.dist, labels_[nb.slot]);
                }
                heap.write_sorted(out_ids + q * k, out_scores + q * k, k);
            });
        }
        pool_->release(std::move(sc));
    }
    errors.rethrow();
}

void HnswIndex::save(std::ostream& out, int64_t random_state_param, int32_t num_threads_param) const {
    std::shared_lock<std::shared_mutex> lock(mutex_);
    BinaryWriter w(out, kMagic, kVersion);
    w.pod(params_.dim);
    w.pod(static_cast<int32_t>(params_.metric));
    w.pod(params_.M);
    w.pod(params_.ef_construction);
    w.pod(ef_.load());
    w.pod(params_.max_elements);
    w.pod(params_.seed);
    w.pod(random_state_param);
    w.pod(num_threads_param);
    w.pod(rng_state_);
    w.pod(n_slots_);
    w.pod(n_deleted_);
    w.pod(next_id_);
    w.pod(entry_);
    w.pod(max_level_);
    const std::size_t n = static_cast<std::size_t>(n_slots_);
    w.array(labels_.data(), n);
    w.array(deleted_.data(), n);
    w.array(levels_.data(), n);
    const std::size_t links_bytes = static_cast<std::size_t>(1 + m0_) * sizeof(uint32_t);
    for (std::size_t s = 0; s < n; ++s) {
        w.raw(block(static_cast<uint32_t>(s)), vec_bytes_);
        w.raw(links(static_cast<uint32_t>(s), 0), links_bytes);
        if (levels_[s] > 0) {
            w.raw(upper_[s].get(), static_cast<std::size_t>(levels_[s] * (params_.M + 1)) * sizeof(uint32_t));
        }
    }
    w.finish();
}

std::unique_ptr<HnswIndex> HnswIndex::load(std::istream& in, uint64_t size, int64_t& random_state_param,
                                           int32_t& num_threads_param) {
    BinaryReader r(in, size, kMagic, kVersion, "reelrec HNSWIndex");
    HnswParams p;
    p.dim = r.pod<int64_t>();
    const int32_t metric = r.pod<int32_t>();
    p.M = r.pod<int64_t>();
    p.ef_construction = r.pod<int64_t>();
    p.ef = r.pod<int64_t>();
    p.max_elements = r.pod<int64_t>();
    p.seed = r.pod<uint64_t>();
    random_state_param = r.pod<int64_t>();
    num_threads_param = r.pod<int32_t>();
    if (metric < 0 || metric > 2) r.fail("invalid metric");
    p.metric = static_cast<Metric>(metric);
    const int64_t max_elements = p.max_elements;
    p.max_elements = -1;  // capacity is reserved below, from the stored size
    try {
        check_params(p);
    } catch (const std::invalid_argument& e) {
        r.fail(std::string("invalid parameters (") + e.what() + ")");
    }
    if (max_elements < -1 || max_elements == 0 || num_threads_param < 0 || random_state_param < -1) {
        r.fail("invalid parameters");
    }
    const uint64_t rng_state = r.pod<uint64_t>();
    const int64_t n = r.pod<int64_t>();
    const int64_t n_deleted = r.pod<int64_t>();
    const int64_t next_id = r.pod<int64_t>();
    const uint32_t entry = r.pod<uint32_t>();
    const int32_t max_level = r.pod<int32_t>();
    if (n < 0 || n >= (int64_t{1} << 31) || (max_elements > 0 && n > max_elements)) r.fail("invalid size");
    if (n_deleted < 0 || n_deleted > n || next_id < 0) r.fail("invalid header");

    auto index = std::make_unique<HnswIndex>(p);
    index->params_.max_elements = max_elements;
    HnswIndex& h = *index;
    const std::size_t links_bytes = static_cast<std::size_t>(1 + h.m0_) * sizeof(uint32_t);
    r.expect(static_cast<uint64_t>(n) * (h.vec_bytes_ + links_bytes + 13), "graph");
    h.reserve_slots(n);
    std::vector<int64_t> labels = r.array<int64_t>(static_cast<uint64_t>(n), "labels");
    std::vector<uint8_t> deleted = r.array<uint8_t>(static_cast<uint64_t>(n), "deleted flags");
    std::vector<int32_t> levels = r.array<int32_t>(static_cast<uint64_t>(n), "levels");
    if (static_cast<int64_t>(labels.size()) != n || static_cast<int64_t>(deleted.size()) != n ||
        static_cast<int64_t>(levels.size()) != n) {
        r.fail("arrays have the wrong length");
    }
    for (int64_t s = 0; s < n; ++s) {
        if (levels[s] < 0 || levels[s] > kMaxLevel) r.fail("invalid level");
        const uint32_t slot = static_cast<uint32_t>(s);
        r.raw(h.block(slot), h.vec_bytes_);
        r.raw(h.links(slot, 0), links_bytes);
        h.levels_[s] = levels[s];
        if (levels[s] > 0) {
            const std::size_t words = static_cast<std::size_t>(levels[s] * (p.M + 1));
            r.expect(words * sizeof(uint32_t), "upper links");
            h.upper_[s].reset(new uint32_t[words]());
            r.raw(h.upper_[s].get(), words * sizeof(uint32_t));
        }
    }
    r.finish();

    // Structural checks: a corrupt graph must fail here, not crash a search.
    int64_t deleted_count = 0;
    int32_t top = -1;
    for (int64_t s = 0; s < n; ++s) {
        const uint32_t slot = static_cast<uint32_t>(s);
        if (deleted[s] > 1) r.fail("invalid deleted flag");
        top = std::max(top, levels[s]);
        for (int lc = 0; lc <= levels[s]; ++lc) {
            const uint32_t* list = h.links(slot, lc);
            if (list[0] > static_cast<uint32_t>(h.max_links(lc))) r.fail("invalid link count");
            for (uint32_t i = 0; i < list[0]; ++i) {
                if (list[1 + i] >= static_cast<uint32_t>(n)) r.fail("link to a missing node");
            }
        }
        const float* v = h.vec(slot);
        for (int64_t t = 0; t < h.pdim_; ++t) {
            if (!std::isfinite(v[t]) || (t >= p.dim && v[t] != 0.0f)) r.fail("invalid vector values");
        }
        h.labels_[s] = labels[s];
        h.deleted_[s] = deleted[s];
        if (deleted[s]) {
            ++deleted_count;
            h.free_slots_.insert(slot);
        } else if (!load_id(h.slot_of_, labels[s], slot, next_id)) {
            r.fail("invalid or repeated id");
        }
    }
    if (deleted_count != n_deleted) r.fail("deleted count does not match");
    if (n == 0 ? (entry != kNone || max_level != -1)
               : (entry >= static_cast<uint32_t>(n) || max_level != top || levels[entry] != max_level)) {
        r.fail("invalid entry point");
    }
    h.n_slots_ = n;
    h.n_deleted_ = n_deleted;
    h.next_id_ = next_id;
    h.entry_ = entry;
    h.max_level_ = max_level;
    h.rng_state_ = rng_state;
    return index;
}

}  // namespace reelrec::search
