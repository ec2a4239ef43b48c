#pragma once
// A userspace stand-in for the kernel's ipip fallback device tunl0, for machines whose kernel has
// no ipip module. Lab only: on a kernel with ipip, use the real tunl0.
#include <atomic>
#include <cstdint>
#include <expected>
#include <string>

#include "core/error.hpp"

namespace podtrace::lab {

struct IpipStats {
    std::uint64_t encapsulated = 0;  // inner packets read from the TUN and sent to a node
    std::uint64_t decapsulated = 0;  // outer packets received and written to the TUN
    std::uint64_t no_route = 0;      // no route with a gateway on the TUN for the inner destination
    std::uint64_t dropped = 0;       // not IPv4, malformed, or refused by the kernel
};

// Serves the persistent TUN device `tun_name` (IFF_TUN|IFF_NO_PI, made by `ip tuntap add dev
// tunl0 mode tun`) in the calling thread's network namespace until `stop` becomes true (seen
// within 200 ms), as tunl0 does:
// - an inner IPv4 packet routed to the TUN goes, inside an outer IPv4 header (protocol 4), to the
//   gateway of the node's main-table route for its destination on the TUN (Calico:
//   `172.16.184.0/24 via 192.168.10.102 dev tunl0 onlink`); the outer source is the address the
//   node's route to that gateway picks;
// - an IPIP packet addressed to the node loses its outer header and enters the node on the TUN.
// Like tunl0 (`ttl inherit nopmtudisc`), the outer header copies TTL and DF from the inner one.
// The TUN's MTU must leave room for the outer header on the way to the gateway (Calico sets
// tunl0's to the NIC's minus 20): the outer packet is never fragmented.
// Fails when the TUN, the raw socket or the route netlink socket cannot be opened, or one of
// them breaks.
std::expected<IpipStats, Error> run_ipip(const std::string& tun_name,
                                         const std::atomic<bool>& stop);

}  // namespace podtrace::lab
