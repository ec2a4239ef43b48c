#include "decode/dispatch.hpp"

#include <algorithm>

namespace podtrace::decode {

Next by_ethertype(std::uint16_t ethertype) {
    switch (ethertype) {
        case 0x0800: return Next::ipv4;
        case 0x86dd: return Next::ipv6;
        case 0x0806: return Next::arp;
        case 0x8100:  // 802.1Q
        case 0x88a8:  // 802.1ad (QinQ outer tag)
        case 0x9100: return Next::vlan;
        default: return Next::unsupported;
    }
}

Next by_ip_proto(std::uint8_t proto, std::uint8_t ip_version) {
    switch (proto) {
        case 4: return Next::ipv4;   // IPIP: Calico's tunl0
        case 41: return Next::ipv6;  // IPv6-in-IP
        case 6: return Next::tcp;
        case 17: return Next::udp;
        case 47: return Next::gre;
        case 1: return ip_version == 4 ? Next::icmp : Next::none;
        case 58: return ip_version == 6 ? Next::icmpv6 : Next::none;
        default: return Next::none;
    }
}

static bool contains(const PortSet& set, std::uint16_t port) {
    return port != 0 && std::find(set.begin(), set.end(), port) != set.end();
}

bool add_port(PortSet& set, std::uint16_t port) {
    if (port == 0) return false;
    if (contains(set, port)) return true;
    auto free = std::find(set.begin(), set.end(), 0);
    if (free == set.end()) return false;
    *free = port;
    return true;
}

Next by_udp_ports(const Ports& ports, std::uint16_t sport, std::uint16_t dport) {
    // Tunnels are addressed by destination port; the source port is a flow hash (VXLAN,
    // Geneve). WireGuard peers often both listen on the port, so either end counts.
    if (contains(ports.vxlan, dport)) return Next::vxlan;
    if (contains(ports.geneve, dport)) return Next::geneve;
    if (contains(ports.wireguard, dport) || contains(ports.wireguard, sport))
        return Next::wireguard;
    return Next::none;
}

Next by_gre_protocol(std::uint16_t protocol) {
    switch (protocol) {
        case 0x0800: return Next::ipv4;
        case 0x86dd: return Next::ipv6;
        case 0x6558: return Next::ethernet;
        default: return Next::none;  // ERSPAN, PPP, …: kept as GRE payload
    }
}

}  // namespace podtrace::decode
