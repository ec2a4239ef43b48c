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

// UDP ports that carry a tunnel. Up to 4 per protocol, 0 = unused slot.
struct Ports {
    std::array<std::uint16_t, 4> vxlan{4789, 8472, 0, 0};  // 8472: Linux/flannel's legacy port
    std::array<std::uint16_t, 4> geneve{6081, 0, 0, 0};
    std::array<std::uint16_t, 4> wireguard{51820, 0, 0, 0};
};

Next by_ethertype(std::uint16_t ethertype);
Next by_ip_proto(std::uint8_t proto, std::uint8_t ip_version);
Next by_udp_ports(const Ports& ports, std::uint16_t sport, std::uint16_t dport);
Next by_gre_protocol(std::uint16_t protocol);

}  // namespace podtrace::decode
