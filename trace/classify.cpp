#include "trace/classify.hpp"

#include <algorithm>

namespace podtrace::trace {

const char* path_kind_name(PathKind k) {
    switch (k) {
        case PathKind::same_node: return "same-node";
        case PathKind::cross_node: return "cross-node";
        case PathKind::egress: return "egress";
        case PathKind::service: return "service";
        case PathKind::unknown: return "unknown";
    }
    return "?";
}

std::string route_text(PathKind route, Encap encap, std::uint32_t vni) {
    std::string s = path_kind_name(route);
    if (route != PathKind::cross_node) return s;
    s += ' ';
    s += encap == Encap::none ? "direct" : encap_name(encap);
    if (vni) s += " vni " + std::to_string(vni);
    return s;
}

namespace {

// An echo's identifier belongs to the end that sent the request: NAT maps it along with that
// end's address (the source of a request, the destination of its reply).
std::uint16_t source_port(const Sighting& s) {
    return s.echo_reply() ? 0 : s.sport;
}
std::uint16_t destination_port(const Sighting& s) {
    return s.echo_reply() ? s.sport : s.dport;
}
Endpoint source(const Sighting& s) {
    return {s.src, s.ip_version, source_port(s)};
}
Endpoint destination(const Sighting& s) {
    return {s.dst, s.ip_version, destination_port(s)};
}

// How a path crossed between nodes: the first tunnel header seen, else the first tunnel device.
void set_encap(Classification& c, const std::vector<Sighting>& s) {
    for (const Sighting& x : s)
        if (x.encapsulated()) {
            c.encap = x.encap;
            if (x.encap == Encap::vxlan || x.encap == Encap::geneve) c.vni = x.tunnel_id;
            return;
        }
    for (const Sighting& x : s)
        if (const Encap e = tunnel_encap(x.at.kind); e != Encap::none) {
            c.encap = e;
            return;
        }
}

}  // namespace

Classification classify(const Path& p) {
    Classification c;
    const auto& s = p.sightings;
    c.hops = s.size();
    if (s.empty()) return c;

    set_encap(c, s);
    if (s.size() == 1) {  // one point: only a tunnel's header says anything
        if (c.encap != Encap::none) c.kind = c.route = PathKind::cross_node;
        return c;
    }

    const PointId front = s.front().at;
    std::size_t veths = 0, nics = 0;
    bool one_node = true, two_veths = false;
    // A WireGuard ciphertext hides the packet's addresses: compare the hops that show them.
    const Sighting* prev = nullptr;
    std::uint16_t prev_sport = 0, prev_dport = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
        const Sighting& x = s[i];
        veths += x.at.kind == PointKind::pod_veth;
        nics += x.at.kind == PointKind::nic;
        one_node &= x.at.node == front.node;
        two_veths |= x.at.interface != front.interface;
        if (x.ip_version == 0 || x.encap == Encap::wireguard) continue;
        const std::uint16_t sport = source_port(x), dport = destination_port(x);
        if (prev && x.ip_version == prev->ip_version) {
            if (!c.src_nat && (sport != prev_sport || !same_addr(x.src, prev->src)))
                c.src_nat = Rewrite{source(*prev), source(x), i};
            if (!c.dst_nat && (dport != prev_dport || !same_addr(x.dst, prev->dst)))
                c.dst_nat = Rewrite{destination(*prev), destination(x), i};
        }
        prev = &x;
        prev_sport = sport;
        prev_dport = dport;
    }

    // A Service's packet between two pods: as the kinds below say, NAT aside.
    const PathKind between_pods =
        !one_node || c.encap != Encap::none ? PathKind::cross_node
        : veths == s.size() && two_veths    ? PathKind::same_node
        : veths > 0 && nics > 0             ? PathKind::cross_node
                                            : PathKind::unknown;
    if (c.src_nat) {
        // Rewritten where it reaches a pod: a service reply; where it leaves by the NIC: SNAT.
        const bool to_pod = s[c.src_nat->hop].at.kind == PointKind::pod_veth;
        c.kind = to_pod ? PathKind::service : PathKind::egress;
        c.route = to_pod ? between_pods : PathKind::egress;
        c.reply = to_pod;
        return c;
    }
    if (c.dst_nat) {
        // Rewritten on the way from a pod: DNAT to an endpoint; from the wire into a pod: the
        // de-NAT of an egress reply.
        const Sighting& before = s[c.dst_nat->hop - 1];
        const Sighting& after = s[c.dst_nat->hop];
        const bool denat =
            before.at.kind != PointKind::pod_veth && after.at.kind == PointKind::pod_veth;
        c.kind = denat ? PathKind::egress : PathKind::service;
        c.route = denat ? PathKind::egress : between_pods;
        c.reply = denat;
        return c;
    }
    if (c.encap != Encap::none) {
        c.kind = c.route = PathKind::cross_node;
        return c;
    }
    if (veths == s.size() && one_node) {
        if (two_veths) c.kind = c.route = PathKind::same_node;
        return c;
    }
    if (veths > 0 && nics > 0)
        c.kind = c.route = PathKind::cross_node;  // direct: pod IPs on the wire
    return c;
}

}  // namespace podtrace::trace
