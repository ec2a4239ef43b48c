#pragma once
// A map from a non-zero 64-bit key (a fingerprint, a quote key) to a 64-bit value, for the
// per-packet lookups of the hot path: open addressing with linear probing and backward-shift
// deletion, so a lookup, an insert or an erase touches one or two cache lines and never
// allocates once grown. std::unordered_map allocates a node per insert and its misses took
// half of `report`'s time (bench/report_bench.sh).
#include <cstdint>
#include <vector>

namespace podtrace::trace {

class U64Map {
public:
    std::uint64_t* find(std::uint64_t key);  // nullptr when absent
    void set(std::uint64_t key, std::uint64_t value);
    void erase(std::uint64_t key);
    // Erases `key` only while it still maps to `value`; one probe instead of find + erase.
    void erase_if_value(std::uint64_t key, std::uint64_t value);
    void clear();
    // Starts fetching the slot `key` probes first, for a lookup coming soon.
    void prefetch(std::uint64_t key) const {
        if (!slots_.empty()) __builtin_prefetch(&slots_[home(key)], 1);
    }
    std::size_t size() const { return size_; }

private:
    struct Slot {
        std::uint64_t key = 0;  // 0: empty
        std::uint64_t value = 0;
    };
    std::size_t home(std::uint64_t key) const {
        return static_cast<std::size_t>((key * 0x9e3779b97f4a7c15ull) >> shift_);
    }
    void grow();
    // The slot holding `key`, or slots_.size() when it is absent (also when there are none).
    std::size_t slot_of(std::uint64_t key) const;
    void erase_slot(std::size_t i);
    std::vector<Slot> slots_;
    std::size_t size_ = 0;
    int shift_ = 64;
};

}  // namespace podtrace::trace
