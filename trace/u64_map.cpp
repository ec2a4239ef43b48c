#include "trace/u64_map.hpp"

#include <bit>

namespace podtrace::trace {

std::size_t U64Map::slot_of(std::uint64_t key) const {
    if (slots_.empty()) return 0;
    const std::size_t mask = slots_.size() - 1;
    for (std::size_t i = home(key);; i = (i + 1) & mask) {
        if (slots_[i].key == key) return i;
        if (slots_[i].key == 0) return slots_.size();
    }
}

std::uint64_t* U64Map::find(std::uint64_t key) {
    const std::size_t i = slot_of(key);
    return i < slots_.size() ? &slots_[i].value : nullptr;
}

void U64Map::set(std::uint64_t key, std::uint64_t value) {
    if ((size_ + 1) * 4 > slots_.size() * 3) grow();  // at most 3/4 full
    const std::size_t mask = slots_.size() - 1;
    std::size_t i = home(key);
    while (slots_[i].key != 0 && slots_[i].key != key) i = (i + 1) & mask;
    if (slots_[i].key == 0) ++size_;
    slots_[i] = {key, value};
}

void U64Map::erase(std::uint64_t key) {
    if (const std::size_t i = slot_of(key); i < slots_.size()) erase_slot(i);
}

void U64Map::erase_if_value(std::uint64_t key, std::uint64_t value) {
    if (const std::size_t i = slot_of(key); i < slots_.size() && slots_[i].value == value)
        erase_slot(i);
}

void U64Map::erase_slot(std::size_t i) {
    const std::size_t mask = slots_.size() - 1;
    // Backward shift: move later entries of the probe run into the hole, so lookups that
    // stop at an empty slot stay right without tombstones.
    for (std::size_t j = (i + 1) & mask; slots_[j].key != 0; j = (j + 1) & mask) {
        const std::size_t h = home(slots_[j].key);
        if (((j - h) & mask) >= ((j - i) & mask)) {
            slots_[i] = slots_[j];
            i = j;
        }
    }
    slots_[i] = {};
    --size_;
}

void U64Map::clear() {
    slots_.assign(slots_.size(), Slot{});
    size_ = 0;
}

void U64Map::grow() {
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(old.empty() ? 64 : old.size() * 2, Slot{});
    shift_ = 64 - std::countr_zero(slots_.size());
    size_ = 0;
    for (const Slot& s : old)
        if (s.key != 0) set(s.key, s.value);
}

}  // namespace podtrace::trace
