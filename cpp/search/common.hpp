// Pieces shared by ExactIndex and HnswIndex: id maps, query filters and the
// bounded result heap.
//
// Ids: users choose int64 ids (>= 0; -1 is the padding value). Each index
// maps them to dense internal slots with a hash map; filters arrive as id lists
// and are turned into per-slot flags once per search call, so the hot loops
// only ever test a byte.
//
// Ranking: score descending, equal scores broken by the lower id, so results
// never depend on thread count, insertion slot or tile size.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

namespace reelrec::search {

using IdMap = std::unordered_map<int64_t, uint32_t>;

// An id asked for (delete, lookup) is not in the index; KeyError in Python.
class UnknownIdError : public std::out_of_range {
public:
    using std::out_of_range::out_of_range;
};

// "1, 2, 3, 4, 5, ..." for error messages.
inline std::string id_list(const std::vector<int64_t>& ids) {
    std::string s;
    for (std::size_t i = 0; i < ids.size() && i < 5; ++i) s += (i ? ", " : "") + std::to_string(ids[i]);
    if (ids.size() > 5) s += ", ...";
    return s;
}

// Throws unless every id is >= 0, not yet in `known` and not repeated.
inline void check_new_ids(const IdMap& known, const int64_t* ids, int64_t n) {
    std::vector<int64_t> dup;
    IdMap fresh;
    for (int64_t i = 0; i < n; ++i) {
        if (ids[i] < 0) throw std::invalid_argument("ids: must be >= 0, got " + std::to_string(ids[i]));
        if (known.count(ids[i]) || !fresh.emplace(ids[i], 0).second) dup.push_back(ids[i]);
    }
    if (!dup.empty()) {
        throw std::invalid_argument("ids: already in the index or repeated (delete first to replace): " +
                                    id_list(dup));
    }
}

// Throws UnknownIdError naming the missing ones unless every id is in `known`.
inline void check_known_ids(const IdMap& known, const int64_t* ids, int64_t n) {
    std::vector<int64_t> missing;
    for (int64_t i = 0; i < n; ++i) {
        if (!known.count(ids[i])) missing.push_back(ids[i]);
    }
    if (!missing.empty()) throw UnknownIdError("ids: not in the index: " + id_list(missing));
}

inline uint32_t known_slot(const IdMap& known, int64_t id) {
    auto it = known.find(id);
    if (it == known.end()) throw UnknownIdError("ids: not in the index: " + std::to_string(id));
    return it->second;
}

// Records a stored (id, slot) pair while loading; false if the id is invalid or repeated.
inline bool load_id(IdMap& known, int64_t id, uint32_t slot, int64_t next_id) {
    return id >= 0 && id < next_id && known.emplace(id, slot).second;
}

// Filters of one search call, as given by the caller (external ids).
struct FilterSpec {
    bool has_allow = false;  // only ids in allow[] may be returned
    const int64_t* allow = nullptr;
    int64_t n_allow = 0;
    const int64_t* deny = nullptr;  // these ids are never returned
    int64_t n_deny = 0;
    // Per-query exclusions (CSR over queries): ids never returned for that query.
    const int64_t* exclude_indptr = nullptr;
    const int64_t* exclude_ids = nullptr;

    bool global() const { return has_allow || n_deny > 0; }
    bool any() const { return global() || exclude_indptr != nullptr; }
    int64_t excluded_count(int64_t q) const {
        return exclude_indptr ? exclude_indptr[q + 1] - exclude_indptr[q] : 0;
    }
};

// The global part of a FilterSpec resolved to slots.
struct SlotFilter {
    std::vector<uint8_t> allowed;  // per slot; empty = every live slot is allowed
    std::vector<uint32_t> slots;   // when `enumerable`: the allowed live slots, ascending
    bool enumerable = false;
    int64_t n_allowed = 0;  // live slots that pass

    bool pass(uint32_t slot) const { return allowed.empty() || allowed[slot] != 0; }
};

// `live(slot)` says whether a slot holds a current (not deleted) vector.
template <class Live>
SlotFilter resolve_filter(const FilterSpec& spec, const IdMap& ids, std::size_t n_slots, int64_t n_live,
                          Live&& live) {
    SlotFilter f;
    f.n_allowed = n_live;
    if (!spec.global()) return f;
    if (spec.has_allow) {
        f.allowed.assign(n_slots, 0);
        for (int64_t i = 0; i < spec.n_allow; ++i) {
            auto it = ids.find(spec.allow[i]);
            if (it != ids.end() && live(it->second)) f.allowed[it->second] = 1;
        }
    } else {
        f.allowed.assign(n_slots, 1);
    }
    for (int64_t i = 0; i < spec.n_deny; ++i) {
        auto it = ids.find(spec.deny[i]);
        if (it != ids.end()) f.allowed[it->second] = 0;
    }
    if (spec.has_allow) {
        f.enumerable = true;
        for (std::size_t s = 0; s < n_slots; ++s) {
            if (f.allowed[s]) f.slots.push_back(static_cast<uint32_t>(s));
        }
        f.n_allowed = static_cast<int64_t>(f.slots.size());
    } else {
        int64_t n = 0;
        for (std::size_t s = 0; s < n_slots; ++s) n += (f.allowed[s] && live(static_cast<uint32_t>(s)));
        f.n_allowed = n;
    }
    return f;
}

// Sorted slots of query q's exclusions (unknown ids are ignored).
inline void query_exclusions(const FilterSpec& spec, int64_t q, const IdMap& ids,
                             std::vector<uint32_t>& out) {
    out.clear();
    if (!spec.exclude_indptr) return;
    for (int64_t i = spec.exclude_indptr[q]; i < spec.exclude_indptr[q + 1]; ++i) {
        auto it = ids.find(spec.exclude_ids[i]);
        if (it != ids.end()) out.push_back(it->second);
    }
    std::sort(out.begin(), out.end());
}

inline bool contains_sorted(const std::vector<uint32_t>& v, uint32_t x) {
    return !v.empty() && std::binary_search(v.begin(), v.end(), x);
}

// k best (score, id) pairs; min-heap with the worst kept pair at the root.
class ScoredTopK {
public:
    void reset(int64_t k) {
        k_ = k;
        heap_.clear();
        heap_.reserve(static_cast<std::size_t>(k));
    }
    // Lowest kept score while full; -inf before (NaN never passes `>=`).
    float threshold() const {
        return static_cast<int64_t>(heap_.size()) < k_ ? -std::numeric_limits<float>::infinity()
                                                       : heap_[0].score;
    }
    void push(float score, int64_t id) {
        if (!(score > -std::numeric_limits<float>::infinity())) return;
        if (static_cast<int64_t>(heap_.size()) < k_) {
            heap_.push_back({score, id});
            std::push_heap(heap_.begin(), heap_.end(), worse_first);
        } else if (k_ > 0 && better(score, id, heap_[0].score, heap_[0].id)) {
            std::pop_heap(heap_.begin(), heap_.end(), worse_first);
            heap_.back() = {score, id};
            std::push_heap(heap_.begin(), heap_.end(), worse_first);
        }
    }
    std::size_t size() const { return heap_.size(); }
    // Best first into ids/scores[0..total), padded with -1 / -inf. `bias` is
    // added to every score; `clamp_nonpositive` caps them at 0 (negative
    // squared distances that rounding pushed above 0).
    void write_sorted(int64_t* ids, float* scores, int64_t total, float bias = 0.0f,
                      bool clamp_nonpositive = false) {
        std::sort(heap_.begin(), heap_.end(),
                  [](const Entry& a, const Entry& b) { return better(a.score, a.id, b.score, b.id); });
        int64_t j = 0;
        for (; j < static_cast<int64_t>(heap_.size()) && j < total; ++j) {
            ids[j] = heap_[j].id;
            float s = heap_[j].score + bias;
            if (clamp_nonpositive && s > 0.0f) s = 0.0f;
            scores[j] = s;
        }
        for (; j < total; ++j) {
            ids[j] = -1;
            scores[j] = -std::numeric_limits<float>::infinity();
        }
    }
    struct Entry {
        float score;
        int64_t id;
    };
    const std::vector<Entry>& entries() const { return heap_; }

    static bool better(float sa, int64_t ia, float sb, int64_t ib) {
        return sa > sb || (sa == sb && ia < ib);
    }

private:
    static bool worse_first(const Entry& a, const Entry& b) { return better(a.score, a.id, b.score, b.id); }
    std::vector<Entry> heap_;
    int64_t k_ = 0;
};

// Writes a unit-length (or untouched) copy of v into dst[0..padded), zero padding.
// Returns false if cosine normalisation met a zero or non-finite vector.
inline bool prepare_vector(const float* v, int64_t dim, int64_t padded, bool normalise, float* dst) {
    double norm2 = 0.0;
    for (int64_t j = 0; j < dim; ++j) norm2 += static_cast<double>(v[j]) * v[j];
    if (!(norm2 < std::numeric_limits<double>::infinity())) return false;
    float scale = 1.0f;
    if (normalise) {
        if (!(norm2 > 0.0)) return false;
        scale = static_cast<float>(1.0 / std::sqrt(norm2));
    }
    for (int64_t j = 0; j < dim; ++j) dst[j] = v[j] * scale;
    for (int64_t j = dim; j < padded; ++j) dst[j] = 0.0f;
    return true;
}

// Throws unless every row of vectors (n x dim) can be stored (see prepare_vector).
inline void check_vectors(const float* vectors, int64_t n, int64_t dim, bool normalise) {
    std::vector<float> row(static_cast<std::size_t>(dim));
    for (int64_t i = 0; i < n; ++i) {
        if (!prepare_vector(vectors + i * dim, dim, dim, normalise, row.data())) {
            throw std::invalid_argument(
                "vectors: row " + std::to_string(i) +
                (normalise ? " is zero or not finite (cosine needs a non-zero norm)" : " is not finite"));
        }
    }
}

inline std::invalid_argument bad_query(int64_t q) {
    return std::invalid_argument("queries: row " + std::to_string(q) + " is zero or not finite");
}

}  // namespace reelrec::search
