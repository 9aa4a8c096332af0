#include "bandits/arms.hpp"

#include <algorithm>

namespace reelrec::bandits {

const std::vector<double>& StateDict::get_f64(const std::string& name, std::size_t expected) const {
    auto it = f64.find(name);
    if (it == f64.end()) throw std::invalid_argument("state: missing array '" + name + "'");
    if (it->second.size() != expected) {
        throw std::invalid_argument("state: array '" + name + "' has " + std::to_string(it->second.size()) +
                                    " values, expected " + std::to_string(expected));
    }
    return it->second;
}

const std::vector<int64_t>& StateDict::get_i64(const std::string& name, std::size_t expected) const {
    const auto& v = get_i64_any(name);
    if (v.size() != expected) {
        throw std::invalid_argument("state: array '" + name + "' has " + std::to_string(v.size()) +
                                    " values, expected " + std::to_string(expected));
    }
    return v;
}

const std::vector<int64_t>& StateDict::get_i64_any(const std::string& name) const {
    auto it = i64.find(name);
    if (it == i64.end()) throw std::invalid_argument("state: missing array '" + name + "'");
    return it->second;
}

void ArmTable::reset(int64_t n_arms) {
    active_.assign(static_cast<std::size_t>(n_arms), 1);
    pulls_.assign(static_cast<std::size_t>(n_arms), 0);
    free_.clear();
    free_head_ = 0;
    n_active_ = n_arms;
}

int64_t ArmTable::add(bool& appended) {
    int64_t slot;
    if (free_head_ < free_.size()) {
        slot = free_[free_head_++];
        // Compact the consumed prefix once it dominates: amortised O(1).
        if (free_head_ * 2 > free_.size() && free_head_ > 32) {
            free_.erase(free_.begin(), free_.begin() + static_cast<std::ptrdiff_t>(free_head_));
            free_head_ = 0;
        }
        appended = false;
        active_[slot] = 1;
        pulls_[slot] = 0;
    } else {
        slot = n_slots();
        appended = true;
        active_.push_back(1);
        pulls_.push_back(0);
    }
    ++n_active_;
    return slot;
}

void ArmTable::remove(int64_t arm) {
    check_arm(arm, "arm_id");
    active_[arm] = 0;
    pulls_[arm] = 0;
    free_.push_back(arm);
    --n_active_;
}

void ArmTable::clear_pulls() { std::fill(pulls_.begin(), pulls_.end(), 0); }

void ArmTable::check_arm(int64_t arm, const char* what) const {
    if (arm < 0 || arm >= n_slots()) {
        throw std::out_of_range(std::string(what) + ": arm id " + std::to_string(arm) +
                                " is out of range for " + std::to_string(n_slots()) + " arm slots");
    }
    if (!active_[arm]) {
        throw std::invalid_argument(std::string(what) + ": arm " + std::to_string(arm) + " has been removed");
    }
}

void ArmTable::check_arms(const int64_t* arms, int64_t n, const char* what) const {
    // One tight scan (logs are long); check_arm then names the first bad id.
    const int64_t slots = n_slots();
    const auto* active = active_.data();
    bool ok = slots > 0 || n == 0;
    for (int64_t i = 0; ok && i < n; ++i) {
        const int64_t a = arms[i];
        const bool in_range = static_cast<uint64_t>(a) < static_cast<uint64_t>(slots);
        ok &= in_range && active[in_range ? a : 0];
    }
    if (ok) return;
    for (int64_t i = 0; i < n; ++i) check_arm(arms[i], what);
}

void ArmTable::export_state(StateDict& out) const {
    std::vector<int64_t> active(active_.begin(), active_.end());
    out.i64["arms.active"] = active;
    out.i64["arms.pulls"] = pulls_;
    out.i64["arms.free"] =
        std::vector<int64_t>(free_.begin() + static_cast<std::ptrdiff_t>(free_head_), free_.end());
}

void ArmTable::import_state(const StateDict& in) {
    const auto& active = in.get_i64_any("arms.active");
    const std::size_t n = active.size();
    const auto& pulls = in.get_i64("arms.pulls", n);
    const auto& freed = in.get_i64_any("arms.free");
    std::vector<uint8_t> flags(n, 0);
    int64_t n_active = 0;
    for (std::size_t i = 0; i < n; ++i) {
        if (active[i] != 0 && active[i] != 1) throw std::invalid_argument("state: arms.active must hold 0/1");
        flags[i] = static_cast<uint8_t>(active[i]);
        n_active += active[i];
    }
    for (int64_t s : freed) {
        if (s < 0 || s >= static_cast<int64_t>(n) || flags[s]) {
            throw std::invalid_argument("state: arms.free lists a slot that is not free");
        }
    }
    if (static_cast<int64_t>(freed.size()) != static_cast<int64_t>(n) - n_active) {
        throw std::invalid_argument("state: arms.free does not list every removed slot");
    }
    active_ = std::move(flags);
    pulls_ = pulls;
    free_ = freed;
    free_head_ = 0;
    n_active_ = n_active;
}

void PolicyCore::export_state(StateDict& out) const {
    arms.export_state(out);
    out.i64["core.counters"] = {static_cast<int64_t>(seed), next_request, n_updates};
}

void PolicyCore::import_state(const StateDict& in) {
    arms.import_state(in);
    const auto& c = in.get_i64("core.counters", 3);
    seed = static_cast<uint64_t>(c[0]);
    next_request = c[1];
    n_updates = c[2];
}

}  // namespace reelrec::bandits
