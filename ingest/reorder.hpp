#pragma once
// Items waiting for a merge, kept in timestamp order. Most arrive in order and go to the back;
// a late one (dumpcap writes each interface's frames as its thread gets them) is moved to where
// it belongs, after any of equal time. A ring over one vector: once grown, nothing is allocated
// per item.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "trace/sighting.hpp"

namespace podtrace::ingest {

struct SightingTime {
    std::int64_t operator()(const trace::Sighting& s) const { return s.ts_ns; }
};

// `TimeOf` gives an item's timestamp.
template <class T, class TimeOf = SightingTime>
class ReorderRing {
public:
    bool empty() const { return size_ == 0; }
    std::size_t size() const { return size_; }
    const T& front() const { return ring_[head_]; }
    T& front() { return ring_[head_]; }
    void pop() {
        head_ = (head_ + 1) & (ring_.size() - 1);
        --size_;
    }
    // The slot the next item is built in, in place; file() then puts it in order.
    T& back() {
        if (size_ == ring_.size()) grow();
        return ring_[(head_ + size_) & (ring_.size() - 1)];
    }
    void file() {
        const std::size_t mask = ring_.size() - 1;
        std::size_t i = size_++;
        const std::int64_t ts = TimeOf{}(ring_[(head_ + i) & mask]);
        if (i == 0 || TimeOf{}(ring_[(head_ + i - 1) & mask]) <= ts) return;
        const T late = ring_[(head_ + i) & mask];
        for (; i > 0 && TimeOf{}(ring_[(head_ + i - 1) & mask]) > ts; --i)
            ring_[(head_ + i) & mask] = ring_[(head_ + i - 1) & mask];
        ring_[(head_ + i) & mask] = late;
    }
    void push(const T& item) {
        back() = item;
        file();
    }

private:
    void grow() {
        // Small at first: a report over thousands of files holds a ring for each.
        std::vector<T> bigger(ring_.empty() ? 16 : ring_.size() * 2);
        for (std::size_t i = 0; i < size_; ++i) bigger[i] = ring_[(head_ + i) & (ring_.size() - 1)];
        ring_.swap(bigger);
        head_ = 0;
    }
    std::vector<T> ring_;
    std::size_t head_ = 0, size_ = 0;
};

}  // namespace podtrace::ingest
