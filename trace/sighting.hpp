#pragma once
// One packet seen at one capture point: the headers there, compact and heap-free, enough to
// match it with its other sightings (fingerprint) and to explain a hop or a NAT rewrite.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "decode/decoded.hpp"

namespace podtrace::trace {

// What a capture point is, by Calico's interface names (../shared/DESIGN.md).
// pod_side: a pod's own end of its veth (eth0, captured in pod mode), never a node NIC; known
// from the capture's node facts (Names::mark_pod_side), not from the name.
enum class PointKind : std::uint8_t { pod_veth, ipip_tunnel, vxlan_tunnel, wireguard, nic, pod_side };
PointKind point_kind(std::string_view interface);
const char* point_kind_name(PointKind k);

enum class Encap : std::uint8_t { none, ipip, vxlan, wireguard, geneve, gre };
const char* encap_name(Encap e);

// Calico's tunnel devices and the encapsulation each carries.
bool is_tunnel(PointKind k);
Encap tunnel_encap(PointKind k);  // none for a pod veth or the NIC
PointKind tunnel_point(Encap e);  // the NIC for an encapsulation Calico has no device for

// IP protocol numbers the trace looks at.
inline constexpr std::uint8_t kIcmp = 1, kTcp = 6, kUdp = 17, kIcmp6 = 58;

// Node and interface names interned once per capture point, so a sighting holds two small ids.
class Names {
public:
    static constexpr std::uint16_t kOverflow = 0xffff;  // every name past the 65535th
    std::uint16_t intern(std::string_view name);
    // The id of a name already interned; nullopt otherwise (asking does not intern).
    std::optional<std::uint16_t> find(std::string_view name) const;
    const std::string& name(std::uint16_t id) const;
    std::size_t size() const { return names_.size(); }
    // The interface is a pod's own end on that "node" (pod mode): make_point says pod_side.
    void mark_pod_side(std::uint16_t node, std::uint16_t interface);
    bool pod_side(std::uint16_t node, std::uint16_t interface) const;

private:
    std::vector<std::pair<std::uint16_t, std::uint16_t>> pod_side_;
    std::vector<std::string> names_;
    std::unordered_map<std::string, std::uint16_t> ids_;
};

struct PointId {
    std::uint16_t node = 0, interface = 0;
    PointKind kind = PointKind::nic;
    bool operator==(const PointId& o) const { return node == o.node && interface == o.interface; }
};
PointId make_point(Names& names, std::string_view node, std::string_view interface);

struct Sighting {
    std::int64_t ts_ns = 0;
    std::uint64_t fingerprint = 0;
    decode::Addr src{}, dst{};              // innermost IP packet (ARP: sender, target)
    decode::Addr outer_src{}, outer_dst{};  // outermost IP header when encap != none
    std::uint64_t wg_counter = 0;
    // decode::quote_key: for an ICMP error the packet it quotes, else this packet as a quote.
    std::uint64_t quote_key = 0;
    std::uint64_t ref = 0;  // the caller's handle on the frame (the TUI's packet store); 0: none
    std::uint32_t length = 0;  // innermost IP total length (ARP: 28)
    std::uint32_t tcp_seq = 0;
    // VXLAN/Geneve VNI, GRE key, WireGuard receiver index (initiation: sender index)
    std::uint32_t tunnel_id = 0;
    PointId at;
    std::uint16_t sport = 0, dport = 0;  // TCP/UDP ports; ICMP echo id in sport (NAT maps it)
    std::uint16_t ip_id = 0;
    std::uint16_t tcp_flags = 0;
    std::uint16_t icmp_mtu = 0;   // frag-needed / packet-too-big: the next-hop MTU
    std::uint8_t ip_version = 0;  // 0: ARP
    std::uint8_t outer_version = 0;
    std::uint8_t proto = 0;  // innermost IP protocol
    std::uint8_t ttl = 0;
    std::uint8_t icmp_type = 0, icmp_code = 0;
    std::uint8_t wg_type = 0;
    std::uint8_t arp_op = 0;  // 1 request, 2 reply
    std::uint8_t ts_digits = 6;
    Encap encap = Encap::none;
    core::Direction direction = core::Direction::unknown;
    bool partial = false;  // fingerprint cut short by the snaplen
    bool has_ports = false;
    bool df = false;  // IPv4 don't-fragment (IPv6: always, routers never fragment)
    bool icmp_error = false;
    bool arp_calico = false;  // ARP sender MAC ee:ee:ee:ee:ee:ee: Calico's proxy ARP

    bool encapsulated() const { return encap != Encap::none; }
    bool echo_request() const {
        return !icmp_error && ((proto == kIcmp && icmp_type == 8) || (proto == kIcmp6 && icmp_type == 128));
    }
    bool echo_reply() const {
        return !icmp_error && ((proto == kIcmp && icmp_type == 0) || (proto == kIcmp6 && icmp_type == 129));
    }
};

// Whether a decoded frame can become a sighting: an IP or ARP packet was reached.
bool sightable(const decode::Decoded& d);
// On a pod veth an unknown direction is read from the proxy-ARP MAC: to ee:ee:.. = from the pod.
Sighting make_sighting(const decode::Decoded& d, PointId at);

}  // namespace podtrace::trace
