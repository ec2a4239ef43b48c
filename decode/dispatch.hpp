#pragma once
// The one place that says which decoder reads what follows a header:
// ethertypes, IP protocol numbers, UDP ports (VXLAN, Geneve, WireGuard), GRE protocol types.
#include <array>
#include <cstdint>

namespace podtrace::decode {

enum class Next : std::uint8_t {
    none,  // end of what we decode: the rest is payload
    unsupported,
    ethernet,
    vlan,
    arp,
    ipv4,
    ipv6,
    tcp,
    udp,
    icmp,
    icmpv6,
    gre,
    vxlan,
    geneve,
    wireguard,
};

using PortSet = std::array<std::uint16_t, 8>;

// UDP ports that carry a tunnel. Up to 8 per protocol, 0 = unused slot.
struct Ports {
    PortSet vxlan{4789, 8472};  // 8472: Linux/flannel's legacy port
    PortSet geneve{6081};
    PortSet wireguard{51820};
};
// Adds a port to a set; false when the set is full. Port 0 is refused.
bool add_port(PortSet& set, std::uint16_t port);

Next by_ethertype(std::uint16_t ethertype);
Next by_ip_proto(std::uint8_t proto, std::uint8_t ip_version);
Next by_udp_ports(const Ports& ports, std::uint16_t sport, std::uint16_t dport);
Next by_gre_protocol(std::uint16_t protocol);

}  // namespace podtrace::decode
