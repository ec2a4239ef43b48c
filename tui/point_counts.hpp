#pragma once
// Per capture point counters for the Interfaces screen: packets and bytes, the rate over the
// last full second of capture time, undecodable frames by reason, and where the point's frames
// come from (a file, a live interface, a --follow stream).
#include <array>
#include <cstdint>
#include <unordered_map>
#include <vector>

#include "decode/decoded.hpp"
#include "trace/sighting.hpp"

namespace podtrace::tui {

struct PointCounts {
    trace::PointId at;
    std::uint64_t packets = 0, bytes = 0;
    // The capture second being counted, and the one before it (the last full second).
    std::int64_t second = INT64_MIN;
    std::uint64_t sec_packets = 0, sec_bytes = 0, prev_packets = 0, prev_bytes = 0;
    std::uint64_t undecodable = 0;
    std::array<std::uint64_t, decode::kReasonCount> reasons{};
    std::int32_t live = -1;     // LiveSource interface index
    std::int64_t since_ns = 0;  // live: capturing since
    std::int32_t stream = -1;   // --follow: the stream it comes in

    void count(std::int64_t ts, std::uint32_t wirelen, const decode::Decoded& d);
};

// Every capture point seen, in the order first seen (the Interfaces screen's order).
class PointTable {
public:
    PointCounts& operator[](trace::PointId at);
    const std::vector<PointCounts>& all() const { return points_; }

private:
    std::vector<PointCounts> points_;
    std::unordered_map<std::uint32_t, std::uint32_t> index_;  // node << 16 | interface
};

}  // namespace podtrace::tui
