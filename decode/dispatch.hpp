#pragma once
// The one place that says which decoder reads what follows a header:
// ethertypes, IP protocol numbers, UDP ports (VXLAN, Geneve, WireGuard), GRE protocol types.
#include <array>
#include <cstdint>
#include <cstring>

namespace podtrace::decode {

enum class NextHeader : std::uint8_t {
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

// Inline: the walker asks once per header, and a call would cost more than the answer.
inline NextHeader by_ethertype(std::uint16_t ethertype) {
    if (ethertype == 0x0800)
        return NextHeader::ipv4;  // nearly every frame: one compare, not a tree
    switch (ethertype) {
        case 0x86dd: return NextHeader::ipv6;
        case 0x0806: return NextHeader::arp;
        case 0x8100:  // 802.1Q
        case 0x88a8:  // 802.1ad (QinQ outer tag)
        case 0x9100: return NextHeader::vlan;
        default: return NextHeader::unsupported;
    }
}

inline NextHeader by_ip_proto(std::uint8_t proto, std::uint8_t ip_version) {
    switch (proto) {
        case 4: return NextHeader::ipv4;   // IPIP: Calico's tunl0
        case 41: return NextHeader::ipv6;  // IPv6-in-IP
        case 6: return NextHeader::tcp;
        case 17: return NextHeader::udp;
        case 47: return NextHeader::gre;
        case 1: return ip_version == 4 ? NextHeader::icmp : NextHeader::none;
        case 58: return ip_version == 6 ? NextHeader::icmpv6 : NextHeader::none;
        default: return NextHeader::none;
    }
}

// All 8 slots compared at once, four per 64-bit word: the slot equal to port becomes 0 after
// the xor, and only a 0 slot has its top bit set in (x - 1) & ~x. A UDP packet that is no tunnel
// misses four sets, and slot by slot that was 32 compares.
inline bool contains(const PortSet& set, std::uint16_t port) {
    constexpr std::uint64_t ones = 0x0001'0001'0001'0001, tops = ones << 15;
    std::uint64_t words[2];
    static_assert(sizeof words == sizeof set);
    std::memcpy(words, set.data(), sizeof words);
    std::uint64_t hit = 0;
    for (std::uint64_t x : words) {
        x ^= port * ones;
        hit |= (x - ones) & ~x & tops;
    }
    return port != 0 && hit != 0;
}

inline NextHeader by_udp_ports(const Ports& ports, std::uint16_t sport, std::uint16_t dport) {
    // Tunnels are addressed by destination port; the source port is a flow hash (VXLAN,
    // Geneve). WireGuard peers often both listen on the port, so either end counts.
    if (contains(ports.vxlan, dport)) return NextHeader::vxlan;
    if (contains(ports.geneve, dport)) return NextHeader::geneve;
    if (contains(ports.wireguard, dport) || contains(ports.wireguard, sport))
        return NextHeader::wireguard;
    return NextHeader::none;
}

inline NextHeader by_gre_protocol(std::uint16_t protocol) {
    switch (protocol) {
        case 0x0800: return NextHeader::ipv4;
        case 0x86dd: return NextHeader::ipv6;
        case 0x6558: return NextHeader::ethernet;
        default: return NextHeader::none;  // ERSPAN, PPP, …: kept as GRE payload
    }
}

}  // namespace podtrace::decode
