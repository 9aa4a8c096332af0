// Arm bookkeeping shared by every bandit policy: slots, a free list, pull
// counts, the random seed and the request counter.
//
// Why slots: arms (videos) come and go all day. An arm id is the index of its
// slot in every per-arm array, so ids never move while the arm lives and all
// per-arm state stays in contiguous arrays. Removing an arm only flips a flag
// and queues the slot; add_arm reuses the oldest freed slot first (FIFO), which
// keeps recycled ids away from late feedback for as long as possible, or
// appends a slot. Both are O(1) amortised (the policy re-initialises the
// slot's own arrays, O(state per arm)).
//
// Pulls count observed rewards (update calls), not selections: an arm that was
// shown but never reported back has taught the policy nothing.
#pragma once

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace reelrec::bandits {

// Raised by the rank-1 updates when rounding has broken the positive
// definiteness they rely on (collinear, badly scaled contexts with a small l2).
inline constexpr const char* kIllConditioned =
    "update: a rank-1 update is numerically singular (collinear or badly scaled contexts); rescale the "
    "features or use a larger l2 (part of the batch may have been applied)";

// Flat arrays keyed by name: what save()/load() exchange with Python.
struct StateDict {
    std::map<std::string, std::vector<double>> f64;
    std::map<std::string, std::vector<int64_t>> i64;

    const std::vector<double>& get_f64(const std::string& name, std::size_t expected) const;
    const std::vector<int64_t>& get_i64(const std::string& name, std::size_t expected) const;
    // Size not known in advance (e.g. the free list).
    const std::vector<int64_t>& get_i64_any(const std::string& name) const;
};

class ArmTable {
public:
    void reset(int64_t n_arms);
    // Returns the slot (= arm id) of a new arm; the caller initialises its state.
    // `appended` tells whether per-arm arrays must grow by one slot.
    int64_t add(bool& appended);
    void remove(int64_t arm);

    int64_t n_slots() const { return static_cast<int64_t>(active_.size()); }
    int64_t n_active() const { return n_active_; }
    bool is_active(int64_t arm) const { return arm >= 0 && arm < n_slots() && active_[arm]; }
    const uint8_t* active() const { return active_.data(); }
    const int64_t* pulls() const { return pulls_.data(); }
    void add_pull(int64_t arm) { ++pulls_[arm]; }
    void clear_pulls();

    // Throws std::out_of_range (IndexError) / std::invalid_argument (ValueError)
    // naming `what` when an id is not a live arm.
    void check_arm(int64_t arm, const char* what) const;
    void check_arms(const int64_t* arms, int64_t n, const char* what) const;

    void export_state(StateDict& out) const;
    void import_state(const StateDict& in);

private:
    std::vector<uint8_t> active_;
    std::vector<int64_t> pulls_;
    std::vector<int64_t> free_;  // FIFO queue of freed slots from free_head_
    std::size_t free_head_ = 0;
    int64_t n_active_ = 0;
};

// What every policy carries besides its model: arms, seed, counters.
struct PolicyCore {
    ArmTable arms;
    uint64_t seed = 0;
    int64_t next_request = 0;  // global index of the next request: names its random stream
    int64_t n_updates = 0;     // rewards observed since the last reset

    void export_state(StateDict& out) const;
    void import_state(const StateDict& in);
};

}  // namespace reelrec::bandits
