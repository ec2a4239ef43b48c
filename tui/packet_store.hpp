#pragma once
// The TUI's raw frames, the newest kept, for the Packet screen and for saving a flow: one byte
// ring (a frame is contiguous: one that would wrap starts the ring over) and a ring of fixed
// records, so keeping a frame allocates nothing. Bounds: `bytes` of frame data, and bytes/128
// records (at least 1024) of 48 bytes, so small frames run out of records first. Pages are
// touched only as frames arrive.
#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>

#include "core/frame.hpp"
#include "trace/sighting.hpp"

namespace podtrace::tui {

struct FrameRecord {  // trivial: the ring is allocated without being written
    std::uint64_t seq;
    std::uint64_t offset;  // absolute byte position; its place in the ring is offset % size
    std::int64_t ts_ns;    // as captured (the node's clock, not corrected)
    std::uint32_t caplen, wirelen, linktype;
    trace::PointId at;
    core::Direction direction;
    std::uint8_t ts_digits;
};

class PacketStore {
public:
    explicit PacketStore(std::size_t bytes)
        : size_(std::max<std::size_t>(bytes, 1)),
          ring_(std::make_unique_for_overwrite<std::uint8_t[]>(size_)),
          slots_(std::bit_ceil(std::max<std::size_t>(bytes / 128, 1024))),
          records_(std::make_unique_for_overwrite<FrameRecord[]>(slots_)) {}

    // Keeps the frame, letting the oldest go; its sequence number (>= 1), 0 if larger than the
    // whole store.
    std::uint64_t put(const core::Frame& f, trace::PointId at) {
        const std::uint64_t len = f.bytes.size();
        if (len > size_) return 0;
        std::uint64_t pos = write_;
        if (pos % size_ + len > size_) pos += size_ - pos % size_;
        while (oldest_ < next_) {
            const FrameRecord& o = records_[oldest_ & (slots_ - 1)];
            if (next_ - oldest_ < slots_ && o.offset + size_ >= pos + len) break;
            ++oldest_;
        }
        const std::uint64_t seq = next_++;
        records_[seq & (slots_ - 1)] = {
            seq, pos,         f.ts_ns,    static_cast<std::uint32_t>(len), f.wirelen, f.linktype,
            at,  f.direction, f.ts_digits};
        if (len) std::memcpy(ring_.get() + pos % size_, f.bytes.data(), len);
        write_ = pos + len;
        return seq;
    }
    const FrameRecord* find(std::uint64_t seq) const {
        return seq >= oldest_ && seq < next_ ? &records_[seq & (slots_ - 1)] : nullptr;
    }
    std::span<const std::uint8_t> bytes(const FrameRecord& r) const {
        return {ring_.get() + r.offset % size_, r.caplen};
    }

private:
    std::size_t size_;
    std::unique_ptr<std::uint8_t[]> ring_;
    std::size_t slots_;  // a power of two
    std::unique_ptr<FrameRecord[]> records_;
    std::uint64_t next_ = 1, oldest_ = 1;
    std::uint64_t write_ = 0;  // absolute position after the newest frame
};

}  // namespace podtrace::tui
