#pragma once
// One packet's path as the report and the TUI show it, worked out once: its summary and, per
// hop, the capture point, the direction, the headers as they were there, the NAT rewrite that
// first shows there, and the latency from the previous hop to the precision both timestamps
// carry. The text report's lines, the TUI's hop rows and the JSON are each drawn from it.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "trace/classify.hpp"
#include "trace/correlate.hpp"
#include "trace/sighting.hpp"

namespace podtrace::trace {

struct HopView {
    PointId at;
    std::string
        point;  // "k8s-w1/tunl0"; the node alone for a classic pcap named after no interface
    core::Direction direction = core::Direction::unknown;
    // "IPIP 192.168.10.101 > 192.168.10.102 | 172.16.158.1 > 172.16.184.4 ICMP echo request
    // ttl 63 id 31535 len 84"
    std::string headers;
    // From the previous hop (none on the first), and the decimal digits of the coarser of the
    // two timestamps (6: µs, 9: ns).
    std::optional<std::int64_t> latency_ns;
    std::uint8_t digits = 9;
    // The rewrite that first shows at this hop, source and destination.
    std::optional<Rewrite> src_nat, dst_nat;
    std::uint64_t ref = 0;  // the sighting's handle on its frame (Sighting::ref)
};

struct PathView {
    Classification classification;
    // "cross-node IPIP k8s-w1 -> k8s-w2 6 hops: 172.16.158.1 > 172.16.184.4 ICMP echo request"
    std::string summary;
    std::vector<HopView> hops;
};

PathView path_view(const Path& p, const Classification& c, const Names& names);

// The summary line, then a line per hop: point (padded), direction, headers, the latency, the
// rewrite marked "[src FROM -> TO]" / "[dst FROM -> TO]".
std::vector<std::string> path_lines(const PathView& v);

// "+84.147 us" (ns digits), "+84 us" (µs).
std::string latency_text(std::int64_t ns, std::uint8_t digits);
// "src 172.16.158.1:40500 -> 192.168.10.101:61000" for a rewrite of the source (no names).
std::string nat_mark(const Rewrite& r, bool source);

}  // namespace podtrace::trace
