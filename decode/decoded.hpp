#pragma once
// The record one frame decodes into. Fixed size, no heap: a decoder fills it in place.
#include <array>
#include <cstdint>

#include "core/frame.hpp"

namespace podtrace::decode {

using Mac = std::array<std::uint8_t, 6>;
// IPv4 addresses sit in the first 4 bytes; the version of the enclosing layer says which.
using Addr = std::array<std::uint8_t, 16>;

enum class Status : std::uint8_t { ok, truncated, malformed, unsupported };

// Every reason a frame is not fully decoded; each maps to one Status (status_of).
enum class Reason : std::uint8_t {
    none,
    // truncated: a header we need is cut short by the capture length
    link_truncated,
    arp_truncated,
    ipv4_truncated,
    ipv6_truncated,
    ip_payload_truncated,  // IP length claims more bytes than the frame carried on the wire
    ipv6_ext_truncated,
    tcp_truncated,
    udp_truncated,
    icmp_truncated,
    vxlan_truncated,
    geneve_truncated,
    gre_truncated,
    wireguard_truncated,
    // malformed: header values that cannot be right
    ipv4_bad_version,
    ipv4_bad_header_length,
    ipv4_bad_total_length,
    ipv6_bad_version,
    tcp_bad_offset,
    udp_bad_length,
    vxlan_bad_flags,
    geneve_bad_version,
    wireguard_bad_message,
    encap_too_deep,
    layers_exhausted,
    // unsupported: we cannot reach a network layer
    unsupported_linktype,
    unsupported_ethertype,
    unsupported_link_family,
    count_
};

inline constexpr std::size_t kReasonCount = static_cast<std::size_t>(Reason::count_);
// Inline: asked once per frame.
inline Status status_of(Reason r) {
    if (r == Reason::none) return Status::ok;
    if (r < Reason::ipv4_bad_version) return Status::truncated;
    if (r < Reason::unsupported_linktype) return Status::malformed;
    return Status::unsupported;
}
const char* reason_name(Reason r);
const char* status_name(Status s);

enum class Proto : std::uint8_t {
    ethernet,
    vlan,
    sll,
    sll2,
    null_loop,
    nflog,
    arp,
    ipv4,
    ipv6,
    tcp,
    udp,
    icmp,
    icmpv6,
    vxlan,
    geneve,
    gre,
    wireguard,
};
const char* proto_name(Proto p);

struct EthernetL {
    Mac dst, src;
    std::uint16_t ethertype;  // for 802.3 frames, from the LLC/SNAP header, else the length
};
struct VlanL {
    std::uint16_t tpid, tci, ethertype;
};
struct SllL {  // Linux cooked capture, v1 and v2
    std::uint16_t pkttype, hatype, protocol;
    std::uint8_t halen;
    std::array<std::uint8_t, 8> addr;
    std::uint32_t ifindex;  // SLL2 only, else 0
};
struct NullL {  // NULL/LOOP and NFLOG: the address family
    std::uint32_t family;
};
struct ArpL {
    std::uint16_t htype, ptype, op;
    Mac sha, tha;
    std::array<std::uint8_t, 4> spa, tpa;
};
struct IpL {
    Addr src, dst;
    std::uint8_t version;
    std::uint8_t proto;         // IPv4 protocol, or IPv6 next header after the extension headers
    std::uint8_t ttl;           // IPv4 TTL / IPv6 hop limit
    std::uint8_t tos;           // IPv4 TOS / IPv6 traffic class
    std::uint16_t header_len;   // incl. IPv4 options / IPv6 extension headers
    std::uint32_t total_len;    // as the header says (IPv6: 40 + payload length); 0 = BIG TCP/GSO
    std::uint16_t id;           // IPv4 identification
    std::uint16_t frag_offset;  // in bytes
    std::uint32_t frag_id;      // IPv6 fragment header identification
    std::uint32_t flow_label;
    bool df, mf, fragment;  // fragment: IPv4 MF/offset or an IPv6 fragment header present
};
struct TcpL {
    std::uint16_t sport, dport;
    std::uint32_t seq, ack;
    std::uint16_t flags;  // the 9 flag bits, FIN = 0x01 … NS = 0x100
    std::uint16_t window;
    std::uint8_t options_len;
    std::uint8_t captured;  // header bytes present (an ICMP quote may hold only 8)
};
struct UdpL {
    std::uint16_t sport, dport, length;
};
struct IcmpL {  // ICMP and ICMPv6
    std::uint8_t type, code;
    std::uint16_t id, seq;  // echo request/reply
    std::uint32_t mtu;      // frag-needed next-hop MTU / packet-too-big MTU
    bool is_error;          // quotes the offending packet
};
struct VxlanL {
    std::uint8_t flags;
    std::uint32_t vni;
};
struct GeneveL {
    std::uint16_t protocol;
    std::uint8_t options_len;
    std::uint32_t vni;
};
struct GreL {
    std::uint16_t flags, protocol;
    std::uint32_t key;
};
struct WireguardL {
    std::uint8_t type;          // 1 initiation, 2 response, 3 cookie reply, 4 transport data
    std::uint32_t sender;       // types 1, 2
    std::uint32_t receiver;     // types 2, 3, 4
    std::uint64_t counter;      // type 4
    std::uint32_t length;       // message length
    std::uint32_t payload_len;  // type 4: encrypted packet incl. the 16-byte tag
};

struct Layer {
    Proto proto;
    bool quoted;           // inside an ICMP error's quote of the offending packet
    std::uint16_t offset;  // from the start of the frame
    union {
        EthernetL eth;
        VlanL vlan;
        SllL sll;
        NullL null;
        ArpL arp;
        IpL ip;
        TcpL tcp;
        UdpL udp;
        IcmpL icmp;
        VxlanL vxlan;
        GeneveL geneve;
        GreL gre;
        WireguardL wg;
    };
};

inline constexpr std::size_t kMaxLayers = 24;
inline constexpr std::uint8_t kMaxEncap = 4;  // tunnels inside tunnels beyond this are malformed
inline constexpr std::int8_t kNone = -1;

struct Decoded {
    std::int64_t ts_ns = 0;
    std::uint32_t linktype = 0;
    std::uint32_t caplen = 0, wirelen = 0;
    std::uint32_t interface = 0;
    std::uint8_t ts_digits = 6;
    core::Direction direction = core::Direction::unknown;
    Status status = Status::ok;
    Reason reason = Reason::none;

    std::uint8_t nlayers = 0;
    std::uint8_t encap_depth = 0;   // tunnels crossed to reach the innermost packet
    std::int8_t inner_ip = kNone;   // innermost IP layer that is not in an ICMP quote
    std::int8_t inner_l4 = kNone;   // its TCP/UDP/ICMP layer, if decoded
    std::int8_t quoted_ip = kNone;  // IP header quoted by an ICMP error
    std::int8_t arp = kNone;
    std::int8_t outer_ip = kNone;  // outermost IP layer (not quoted)
    // Outermost tunnel after it: an IP header inside another one, or VXLAN/Geneve/GRE/WireGuard.
    std::int8_t tunnel = kNone;
    std::uint16_t payload_offset = 0;  // innermost L4 payload; past caplen only if truncated
    std::uint16_t payload_len = 0;     // on the wire (may exceed what was captured)

    std::uint64_t fingerprint = 0;     // 0: none (no IP/ARP packet reached)
    bool fingerprint_partial = false;  // payload digest cut short by the capture length
    // compute_fingerprint's hash of the innermost IP header (set when inner_ip is), which
    // quote_key() resumes instead of hashing the header again.
    std::uint64_t ip_hash = 0;

    std::array<Layer, kMaxLayers> layers;

    const Layer* inner_ip_layer() const { return inner_ip == kNone ? nullptr : &layers[inner_ip]; }
    const Layer* inner_l4_layer() const { return inner_l4 == kNone ? nullptr : &layers[inner_l4]; }
};

}  // namespace podtrace::decode
