#include "tui/point_counts.hpp"

namespace podtrace::tui {

void PointCounts::count(std::int64_t ts, std::uint32_t wirelen, const decode::Decoded& d) {
    ++packets;
    bytes += wirelen;
    const std::int64_t sec = ts >= 0 ? ts / 1'000'000'000 : (ts + 1) / 1'000'000'000 - 1;
    if (sec > second) {
        const bool next = second != INT64_MIN && sec == second + 1;
        prev_packets = next ? sec_packets : 0;
        prev_bytes = next ? sec_bytes : 0;
        sec_packets = sec_bytes = 0;
        second = sec;
    }
    if (sec == second) {
        ++sec_packets;
        sec_bytes += wirelen;
    } else if (sec == second - 1) {  // a little out of order
        ++prev_packets;
        prev_bytes += wirelen;
    }
    if (d.status != decode::Status::ok) {
        ++undecodable;
        ++reasons[static_cast<std::size_t>(d.reason)];
    }
}

PointCounts& PointTable::operator[](trace::PointId at) {
    const std::uint32_t key = std::uint32_t{at.node} << 16 | at.interface;
    const auto [it, fresh] = index_.try_emplace(key, static_cast<std::uint32_t>(points_.size()));
    if (fresh) points_.push_back({.at = at});
    return points_[it->second];
}

}  // namespace podtrace::tui
