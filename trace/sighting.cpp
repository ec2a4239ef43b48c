#include "trace/sighting.hpp"

#include <algorithm>

#include "decode/fingerprint.hpp"

namespace podtrace::trace {

using decode::Layer;
using decode::Proto;

PointKind point_kind(std::string_view i) {
    if (i.starts_with("cali")) return PointKind::pod_veth;
    if (i == "tunl0") return PointKind::ipip_tunnel;
    if (i == "vxlan.calico" || i == "vxlan-v6.calico") return PointKind::vxlan_tunnel;
    if (i == "wireguard.cali" || i == "wg-v6.cali") return PointKind::wireguard;
    return PointKind::nic;
}

const char* point_kind_name(PointKind k) {
    switch (k) {
        case PointKind::pod_veth: return "pod-veth";
        case PointKind::ipip_tunnel: return "ipip-tunnel";
        case PointKind::vxlan_tunnel: return "vxlan-tunnel";
        case PointKind::wireguard: return "wireguard";
        case PointKind::nic: return "nic";
        case PointKind::pod_side: return "pod-side";
    }
    return "?";
}

const char* encap_name(Encap e) {
    switch (e) {
        case Encap::none: return "none";
        case Encap::ipip: return "IPIP";
        case Encap::vxlan: return "VXLAN";
        case Encap::wireguard: return "WireGuard";
        case Encap::geneve: return "Geneve";
        case Encap::gre: return "GRE";
    }
    return "?";
}

bool is_tunnel(PointKind k) {
    return k == PointKind::ipip_tunnel || k == PointKind::vxlan_tunnel || k == PointKind::wireguard;
}

Encap tunnel_encap(PointKind k) {
    switch (k) {
        case PointKind::ipip_tunnel: return Encap::ipip;
        case PointKind::vxlan_tunnel: return Encap::vxlan;
        case PointKind::wireguard: return Encap::wireguard;
        default: return Encap::none;
    }
}

PointKind tunnel_point(Encap e) {
    switch (e) {
        case Encap::ipip: return PointKind::ipip_tunnel;
        case Encap::vxlan: return PointKind::vxlan_tunnel;
        case Encap::wireguard: return PointKind::wireguard;
        default: return PointKind::nic;
    }
}

std::uint16_t Names::intern(std::string_view name) {
    std::string key(name);
    if (auto it = ids_.find(key); it != ids_.end()) return it->second;
    if (names_.size() >= kOverflow) return kOverflow;
    const auto id = static_cast<std::uint16_t>(names_.size());
    names_.push_back(key);
    ids_.emplace(std::move(key), id);
    return id;
}

std::optional<std::uint16_t> Names::find(std::string_view name) const {
    auto it = ids_.find(std::string(name));
    if (it == ids_.end()) return std::nullopt;
    return it->second;
}

const std::string& Names::name(std::uint16_t id) const {
    static const std::string overflow = "(too many names)";
    return id < names_.size() ? names_[id] : overflow;
}

void Names::mark_pod_side(std::uint16_t node, std::uint16_t interface) {
    if (!pod_side(node, interface)) pod_side_.emplace_back(node, interface);
}

bool Names::pod_side(std::uint16_t node, std::uint16_t interface) const {
    return std::ranges::find(pod_side_, std::pair{node, interface}) != pod_side_.end();
}

PointId make_point(Names& names, std::string_view node, std::string_view interface) {
    PointId p{names.intern(node), names.intern(interface), point_kind(interface)};
    if (names.pod_side(p.node, p.interface)) p.kind = PointKind::pod_side;
    return p;
}

bool sightable(const decode::Decoded& d) {
    return d.inner_ip != decode::kNone || d.arp != decode::kNone;
}

namespace {

constexpr decode::Mac kCaliMac{0xee, 0xee, 0xee, 0xee, 0xee, 0xee};

// The outermost tunnel, and the outermost IP header that carries it.
void read_encap(const decode::Decoded& d, Sighting& s) {
    if (d.tunnel == decode::kNone) return;
    const Layer& l = d.layers[d.tunnel];
    switch (l.proto) {
        case Proto::vxlan:
            s.encap = Encap::vxlan;
            s.tunnel_id = l.vxlan.vni;
            break;
        case Proto::geneve:
            s.encap = Encap::geneve;
            s.tunnel_id = l.geneve.vni;
            break;
        case Proto::gre:
            s.encap = Encap::gre;
            s.tunnel_id = l.gre.key;
            break;
        case Proto::wireguard:
            s.encap = Encap::wireguard;
            s.wg_type = l.wg.type;
            s.tunnel_id = l.wg.type == 1 ? l.wg.sender : l.wg.receiver;
            s.wg_counter = l.wg.counter;
            break;
        default: s.encap = Encap::ipip;
    }
    const decode::IpL& ip = d.layers[d.outer_ip].ip;
    s.outer_src = ip.src;
    s.outer_dst = ip.dst;
    s.outer_version = ip.version;
}

core::Direction veth_direction(const decode::Decoded& d) {
    for (int i = 0; i < d.nlayers; ++i) {
        const Layer& l = d.layers[i];
        if (l.proto != Proto::ethernet) continue;
        if (l.eth.dst == kCaliMac) return core::Direction::inbound;
        if (l.eth.src == kCaliMac) return core::Direction::outbound;
        break;
    }
    return core::Direction::unknown;
}

}  // namespace

Sighting make_sighting(const decode::Decoded& d, PointId at) {
    Sighting s;
    s.ts_ns = d.ts_ns;
    s.ts_digits = d.ts_digits;
    s.fingerprint = d.fingerprint;
    s.partial = d.fingerprint_partial;
    s.at = at;
    s.direction = d.direction;
    if (s.direction == core::Direction::unknown && at.kind == PointKind::pod_veth)
        s.direction = veth_direction(d);
    // The pod's end sees the same MACs the other way round: to ee:ee:.. = leaving the pod.
    if (s.direction == core::Direction::unknown && at.kind == PointKind::pod_side) {
        const auto v = veth_direction(d);
        s.direction = v == core::Direction::inbound    ? core::Direction::outbound
                      : v == core::Direction::outbound ? core::Direction::inbound
                                                       : v;
    }
    if (const Layer* ip = d.inner_ip_layer()) {
        s.src = ip->ip.src;
        s.dst = ip->ip.dst;
        s.ip_version = ip->ip.version;
        s.proto = ip->ip.proto;
        s.ttl = ip->ip.ttl;
        s.ip_id = ip->ip.id;
        s.length = ip->ip.total_len;
        s.df = ip->ip.version == 6 || ip->ip.df;
    } else if (d.arp != decode::kNone) {
        const decode::ArpL& arp = d.layers[d.arp].arp;
        std::copy(arp.spa.begin(), arp.spa.end(), s.src.begin());
        std::copy(arp.tpa.begin(), arp.tpa.end(), s.dst.begin());
        s.length = 28;
        s.arp_op = static_cast<std::uint8_t>(arp.op);
        s.arp_calico = arp.sha == kCaliMac;
    }
    if (const Layer* l4 = d.inner_l4_layer()) {
        switch (l4->proto) {
            case Proto::tcp:
                s.sport = l4->tcp.sport;
                s.dport = l4->tcp.dport;
                s.tcp_flags = l4->tcp.flags;
                s.tcp_seq = l4->tcp.seq;
                s.has_ports = true;
                break;
            case Proto::udp:
                s.sport = l4->udp.sport;
                s.dport = l4->udp.dport;
                s.has_ports = true;
                break;
            case Proto::icmp:
            case Proto::icmpv6:
                s.icmp_type = l4->icmp.type;
                s.icmp_code = l4->icmp.code;
                s.icmp_error = l4->icmp.is_error;
                s.icmp_mtu =
                    static_cast<std::uint16_t>(std::min<std::uint32_t>(l4->icmp.mtu, 0xffff));
                if (!l4->icmp.is_error) s.sport = l4->icmp.id;
                break;
            default: break;
        }
    }
    s.quote_key = decode::quote_key(d);
    read_encap(d, s);
    return s;
}

}  // namespace podtrace::trace
