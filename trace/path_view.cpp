#include "trace/path_view.hpp"

#include <algorithm>
#include <cstdio>

#include "decode/format.hpp"

namespace podtrace::trace {
namespace {

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

// "node/interface"; a classic pcap named after no interface gives the node alone.
std::string point_text(PointId at, const Names& names) {
    const std::string& iface = names.name(at.interface);
    return iface.empty() ? names.name(at.node) : names.name(at.node) + '/' + iface;
}

std::string summary(const Path& p, const Classification& c, const Names& names) {
    const auto& s = p.sightings;
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
    return v;
}

}  // namespace

PathView path_view(const Path& p, const Classification& c, const Names& names) {
    PathView v;
    v.classification = c;
    const auto& s = p.sightings;
    if (s.empty()) return v;
    v.summary = summary(p, c, names);
    v.hops.resize(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        const Sighting& x = s[i];
        HopView& h = v.hops[i];
        h.at = x.at;
        h.point = point_text(x.at, names);
        h.direction = x.direction;
        append_headers(x, h.headers);
        if (i > 0) {
            h.latency_ns = hop_latency_ns(p, i);
            h.digits = std::min(x.ts_digits, s[i - 1].ts_digits);
        }
        if (c.src_nat && c.src_nat->hop == i) h.src_nat = c.src_nat;
        if (c.dst_nat && c.dst_nat->hop == i) h.dst_nat = c.dst_nat;
        h.ref = x.ref;
    }
    return v;
}

std::vector<std::string> path_lines(const PathView& v) {
    std::vector<std::string> lines;
    if (v.hops.empty()) return lines;
    lines.push_back(v.summary);
    std::size_t width = 0;
    for (const HopView& h : v.hops) width = std::max(width, h.point.size());
    for (const HopView& h : v.hops) {
        std::string l = "  " + h.point;
        l.resize(2 + width + 2, ' ');
        l += h.direction == core::Direction::inbound    ? "in   "
             : h.direction == core::Direction::outbound ? "out  "
                                                        : "-    ";
        l += h.headers;
        if (h.latency_ns) {
            l += "  ";
            append_latency(*h.latency_ns, h.digits, l);
        }
        if (h.src_nat) l += "  [" + nat_mark(*h.src_nat, true) + ']';
        if (h.dst_nat) l += "  [" + nat_mark(*h.dst_nat, false) + ']';
        lines.push_back(std::move(l));
    }
    return lines;
}

std::string latency_text(std::int64_t ns, std::uint8_t digits) {
    std::string s;
    append_latency(ns, digits, s);
    return s;
}

std::string nat_mark(const Rewrite& r, bool source) {
    std::string s = source ? "src " : "dst ";
    append_endpoint(r.from, s);
    s += " -> ";
    append_endpoint(r.to, s);
    return s;
}

}  // namespace podtrace::trace
