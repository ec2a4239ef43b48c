#pragma once
// What a Path says about Calico's data plane: same-node, cross-node (and how), egress with its
// SNAT, service with its DNAT, from the headers seen at each hop and the interface names.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/time.hpp"
#include "trace/correlate.hpp"
#include "trace/ip.hpp"
#include "trace/sighting.hpp"

namespace podtrace::trace {

enum class PathKind : std::uint8_t { same_node, cross_node, egress, service, unknown };
const char* path_kind_name(PathKind k);
// "cross-node IPIP", "cross-node VXLAN vni 4096", "cross-node direct", "same-node": the way a
// packet went between pods (for a Service's, after its DNAT).
std::string route_text(PathKind route, Encap encap, std::uint32_t vni);

struct Endpoint {
    decode::Addr addr{};
    std::uint8_t version = 0;
    std::uint16_t port = 0;  // TCP/UDP port, ICMP echo id; 0 for others
    bool operator==(const Endpoint& o) const {
        return same_addr(addr, o.addr) && version == o.version && port == o.port;
    }
};

// An address rewrite between two consecutive hops; `hop` is the first sighting showing `to`.
struct Rewrite {
    Endpoint from, to;
    std::size_t hop = 0;
};

struct Classification {
    PathKind kind = PathKind::unknown;
    // The way it went, NAT aside: same-node or cross-node (a Service's path too: to an endpoint
    // on its own node or another); for other kinds, the kind.
    PathKind route = PathKind::unknown;
    Encap encap = Encap::none;  // cross-node: how it crossed; none = direct (pod IPs on the wire)
    std::uint32_t vni = 0;      // VXLAN/Geneve
    // egress: the de-NAT of a reply (dst rewritten back to the pod); service: the reply's
    // source turned back into the ClusterIP.
    bool reply = false;
    std::optional<Rewrite> src_nat, dst_nat;
    std::size_t hops = 0;
};

Classification classify(const Path& p);

// Time from hop i-1 to hop i (i >= 1).
inline std::int64_t hop_latency_ns(const Path& p, std::size_t i) {
    return core::sub_ns(p.sightings[i].ts_ns, p.sightings[i - 1].ts_ns);
}

}  // namespace podtrace::trace
