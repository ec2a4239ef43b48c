#include "trace/classify.hpp"

#include <algorithm>
#include <cstdio>

#include "decode/format.hpp"

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

void append_addr(const decode::Addr& a, std::uint8_t version, std::string& out) {
    decode::format_addr(a, version ? version : 4, out);
}

void append_endpoint(const Endpoint& e, std::string& out) {
    append_addr(e.addr, e.version, out);
    if (e.port) out += ':' + std::to_string(e.port);
}

// "172.16.158.1.40500 > 203.0.113.10.443 TCP [S]", as `podtrace decode` writes it.
void append_packet(const Sighting& s, std::string& out) {
    if (s.ip_version == 0) {
        out += "ARP ";
        append_addr(s.src, 4, out);
        out += " > ";
        append_addr(s.dst, 4, out);
        return;
    }
    append_addr(s.src, s.ip_version, out);
    if (s.has_ports) out += '.' + std::to_string(s.sport);
    out += " > ";
    append_addr(s.dst, s.ip_version, out);
    if (s.has_ports) out += '.' + std::to_string(s.dport);
    switch (s.proto) {
        case kTcp:
            out += " TCP ";
            decode::format_tcp_flags(s.tcp_flags, out);
            break;
        case kUdp: out += " UDP"; break;
        case kIcmp:
        case kIcmp6:
            out += s.proto == kIcmp ? " ICMP" : " ICMPv6";
            if (const char* n =
                    decode::icmp_type_name(s.proto != kIcmp, s.icmp_type, s.icmp_code)) {
                out += ' ';
                out += n;
            } else {
                out +=
                    " type " + std::to_string(s.icmp_type) + " code " + std::to_string(s.icmp_code);
            }
            break;
        default: out += " proto " + std::to_string(s.proto);
    }
}

void append_headers(const Sighting& s, std::string& out) {
    if (s.encapsulated()) {
        out += encap_name(s.encap);
        out += ' ';
        append_addr(s.outer_src, s.outer_version, out);
        out += " > ";
        append_addr(s.outer_dst, s.outer_version, out);
        if (s.encap == Encap::vxlan || s.encap == Encap::geneve)
            out += " vni " + std::to_string(s.tunnel_id);
        if (s.encap == Encap::wireguard) {
            static constexpr const char* kMessages[] = {"type 0", "initiation sender",
                                                        "response receiver", "cookie receiver",
                                                        "data receiver"};
            char buf[80];
            std::snprintf(buf, sizeof buf, " %s 0x%08x",
                          s.wg_type < 5 ? kMessages[s.wg_type] : "type ?", s.tunnel_id);
            out += buf;
            if (s.wg_type == 4) out += " counter " + std::to_string(s.wg_counter);
            return;  // the packet inside is sealed
        }
        out += " | ";
    }
    append_packet(s, out);
    if (s.ip_version == 0) return;
    out += " ttl " + std::to_string(s.ttl);
    if (s.ip_version == 4) out += " id " + std::to_string(s.ip_id);
    out += " len " + std::to_string(s.length);
}

// To the precision both timestamps carry: whole µs for µs captures.
void append_latency(std::int64_t ns, std::uint8_t digits, std::string& out) {
    char buf[48];
    if (digits >= 9)
        std::snprintf(buf, sizeof buf, "+%lld.%03lld us", static_cast<long long>(ns / 1000),
                      static_cast<long long>((ns < 0 ? -ns : ns) % 1000));
    else
        std::snprintf(buf, sizeof buf, "+%lld us", static_cast<long long>(ns / 1000));
    out += buf;
}

// The ends of a cross-node path: the node names where captured, else the peer node's address
// from the tunnel's outer header, else "?".
std::string path_end(const Path& p, bool source_end, const Names& names) {
    const Sighting& first = p.sightings.front();
    const Sighting& last = p.sightings.back();
    const Sighting& x = source_end ? first : last;
    if (first.at.node != last.at.node || x.at.kind == PointKind::pod_veth ||
        x.at.kind == PointKind::pod_side)
        return names.name(x.at.node);
    std::string out;
    if (x.encapsulated() && x.at.kind == PointKind::nic)
        append_addr(source_end ? x.outer_src : x.outer_dst, x.outer_version, out);
    else
        out = "?";
    return out;
}

}  // namespace

Classification classify(const Path& p) {
    Classification c;
    const auto& s = p.sightings;
    c.hops = s.size();
    if (s.empty()) return c;

    set_encap(c, s);
    if (s.size() == 1) {  // one point: only a tunnel's header says anything
        if (c.encap != Encap::none) c.kind = PathKind::cross_node;
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

    if (c.src_nat) {
        // Rewritten where it reaches a pod: a service reply; where it leaves by the NIC: SNAT.
        const bool to_pod = s[c.src_nat->hop].at.kind == PointKind::pod_veth;
        c.kind = to_pod ? PathKind::service : PathKind::egress;
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
        c.reply = denat;
        return c;
    }
    if (c.encap != Encap::none) {
        c.kind = PathKind::cross_node;
        return c;
    }
    if (veths == s.size() && one_node) {
        if (two_veths) c.kind = PathKind::same_node;
        return c;
    }
    if (veths > 0 && nics > 0) c.kind = PathKind::cross_node;  // direct: pod IPs on the wire
    return c;
}

std::vector<std::string> render_path(const Path& p, const Classification& c, const Names& names) {
    std::vector<std::string> lines;
    const auto& s = p.sightings;
    if (s.empty()) return lines;
    const Sighting& first = s.front();
    std::string v = path_kind_name(c.kind);
    const auto hops = " " + std::to_string(c.hops) + (c.hops == 1 ? " hop" : " hops");
    switch (c.kind) {
        case PathKind::cross_node: {
            v += ' ';
            v += c.encap == Encap::none ? "direct" : encap_name(c.encap);
            if (c.vni) v += " vni " + std::to_string(c.vni);
            v += ' ' + path_end(p, true, names) + " -> " + path_end(p, false, names);
            break;
        }
        case PathKind::egress:
        case PathKind::service: {
            const Rewrite& r = c.src_nat ? *c.src_nat : *c.dst_nat;
            if (c.kind == PathKind::egress)
                v += c.reply ? " reply de-NAT " : " with SNAT ";
            else
                v += c.reply ? " reply un-DNAT " : " with DNAT ";
            append_endpoint(r.from, v);
            v += " -> ";
            append_endpoint(r.to, v);
            v += " on " + names.name(s[r.hop].at.node);
            break;
        }
        case PathKind::same_node:
        case PathKind::unknown: v += ' ' + names.name(first.at.node); break;
    }
    v += hops;
    v += ": ";
    append_packet(first, v);
    if (p.ambiguous) v += " (ambiguous match)";
    lines.push_back(std::move(v));

    // "node/interface"; a classic pcap named after no interface gives the node alone.
    const auto point = [&](const Sighting& x) {
        const std::string& iface = names.name(x.at.interface);
        return iface.empty() ? names.name(x.at.node) : names.name(x.at.node) + '/' + iface;
    };
    std::size_t width = 0;
    for (const Sighting& x : s) width = std::max(width, point(x).size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        const Sighting& x = s[i];
        std::string l = "  " + point(x);
        l.resize(2 + width + 2, ' ');
        l += x.direction == core::Direction::inbound    ? "in   "
             : x.direction == core::Direction::outbound ? "out  "
                                                          : "-    ";
        append_headers(x, l);
        if (i > 0) {
            l += "  ";
            append_latency(hop_latency_ns(p, i), std::min(x.ts_digits, s[i - 1].ts_digits), l);
        }
        for (const auto* r : {&c.src_nat, &c.dst_nat}) {
            if (!*r || (*r)->hop != i) continue;
            l += r == &c.src_nat ? "  [src " : "  [dst ";
            append_endpoint((*r)->from, l);
            l += " -> ";
            append_endpoint((*r)->to, l);
            l += ']';
        }
        lines.push_back(std::move(l));
    }
    return lines;
}

}  // namespace podtrace::trace
