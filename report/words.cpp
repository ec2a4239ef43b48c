#include "report/words.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace podtrace::report {

using trace::Flow;

const trace::Flow* flow_by_id(const Session& d, std::uint32_t id) {
    const auto& flows = d.tracer.flows().flows();
    return id >= 1 && id <= flows.size() ? &flows[id - 1] : nullptr;
}

std::string point_name(const Session& d, trace::PointId p) {
    const std::string& iface = d.names.name(p.interface);
    return iface.empty() ? d.names.name(p.node) : d.names.name(p.node) + '/' + iface;
}

namespace {

trace::IpAddr ip_of(const trace::Endpoint& e) {
    return {e.addr, e.version};
}

}  // namespace

// "default/pod1 172.16.158.1:40500", "203.0.113.10:443".
std::string endpoint_text(const Session& d, const trace::Endpoint& e, bool port) {
    const trace::IpAddr a = ip_of(e);
    std::string name = d.tracer.topology().name_of(a);
    std::string s = name.empty() ? "" : name + ' ';
    s += e.version == 6 && port && e.port ? '[' + a.str() + ']' : a.str();
    if (port && e.port) s += ':' + std::to_string(e.port);
    return s;
}

namespace {

const char* proto_name(std::uint8_t p) {
    switch (p) {
        case 1: return "ICMP";
        case 6: return "TCP";
        case 17: return "UDP";
        case 58: return "ICMPv6";
        case 132: return "SCTP";
        default: return nullptr;
    }
}

}  // namespace

std::string proto_text(std::uint8_t p) {
    const char* n = proto_name(p);
    return n ? n : "proto " + std::to_string(p);
}

bool has_ports(const Flow& f) {
    return f.proto == 6 || f.proto == 17 || f.proto == 132;
}

namespace {

// Per-node clock uncertainty (0 for the reference or an unestimated node).
std::int64_t uncertainty(const Session& d, std::uint16_t node) {
    for (const trace::NodeClock& c : d.clocks.clocks)
        if (c.node == node && c.estimated) return c.uncertainty_ns;
    return 0;
}

}  // namespace

// A duration to the precision its timestamps carry: whole µs for µs captures.
std::string duration_text(std::int64_t ns, std::uint8_t digits) {
    const bool neg = ns < 0;
    const std::uint64_t v = neg ? -static_cast<std::uint64_t>(ns) : ns;
    char buf[48];
    if (v >= 1'000'000'000)
        std::snprintf(buf, sizeof buf, "%.3f s", v / 1e9);
    else if (v >= 1'000'000)
        std::snprintf(buf, sizeof buf, "%.3f ms", v / 1e6);
    else if (digits >= 9)
        std::snprintf(buf, sizeof buf, "%.3f us", v / 1e3);
    else
        std::snprintf(buf, sizeof buf, "%llu us", static_cast<unsigned long long>(v / 1000));
    return (neg ? "-" : "") + std::string(buf);
}

std::int64_t hop_uncertainty(const Session& d, const trace::HopStat& h) {
    if (h.from.node == h.to.node) return 0;
    return uncertainty(d, h.from.node) + uncertainty(d, h.to.node);
}

std::string rewrite_text(const Session& d, const trace::Rewrite& r) {
    return endpoint_text(d, r.from, true) + " -> " + endpoint_text(d, r.to, true);
}

namespace {

// A flow's findings: diagnose() gives them in flow order, so a binary search finds them (a
// scan per flow is quadratic with thousands of flows).
std::span<const trace::Diagnosis> flow_findings(const Session& d, std::uint32_t flow) {
    const auto r = std::ranges::equal_range(d.findings, flow, {}, &trace::Diagnosis::flow);
    return {r.begin(), r.end()};
}

// A pod address leaving the NIC towards the outside unchanged looks like direct routing to
// classify(), which does not know the pools; diagnose() does, and says it is egress.
bool egress_without_snat(const Session& d, const Flow& f) {
    return std::ranges::any_of(flow_findings(d, f.id), [](const trace::Diagnosis& x) {
        return x.kind == trace::DiagnosisKind::egress_without_snat;
    });
}

}  // namespace

bool host_networked(const Session& d, const trace::Endpoint& e) {
    const trace::Topology& topo = d.tracer.topology();
    return topo.node_of(ip_of(e)).has_value() && !topo.is_pod(ip_of(e));
}

namespace {

std::string host_networked_text(const Session& d, const Flow& f) {
    const bool c = host_networked(d, f.client), s = host_networked(d, f.server);
    return c && s ? ", host-networked both ends"
           : c    ? ", host-networked client"
           : s    ? ", host-networked server"
                  : "";
}

}  // namespace

// "cross-node IPIP", "egress via k8s-w1/ens5, SNAT 172.16.158.1:40500 -> 192.168.10.101:61000",
// "service, DNAT 10.200.1.10:80 -> 172.16.184.4:8080, cross-node IPIP".
std::string kind_text(const Session& d, const Flow& f) {
    if (egress_without_snat(d, f)) {
        const std::string nic = egress_nic(d, f);
        return nic.empty() ? "egress, no SNAT" : "egress via " + nic + ", no SNAT";
    }
    std::string s = trace::route_text(f.kind, f.encap, f.vni);
    if (const std::string nic = egress_nic(d, f); !nic.empty()) s += " via " + nic;
    if (f.snat) s += ", SNAT " + rewrite_text(d, *f.snat);
    if (f.dnat) s += ", DNAT " + rewrite_text(d, *f.dnat);
    // A Service's traffic went on to its endpoint on this node or another.
    if (f.kind == trace::PathKind::service && f.route != trace::PathKind::unknown)
        s += ", " + trace::route_text(f.route, f.encap, f.vni);
    return s + host_networked_text(d, f);
}

// One encapsulation everywhere is Always (or CrossSubnet with every pair in different subnets);
// direct for some pairs and encapsulated for others is CrossSubnet.
std::string pool_mode_text(const Session& d) {
    std::vector<std::pair<std::string, std::string>> pairs;  // "k8s-w1 <-> k8s-w2", how
    for (const Flow& f : d.tracer.flows().flows()) {
        if (f.kind != trace::PathKind::cross_node || host_networked(d, f.client) ||
            host_networked(d, f.server))
            continue;
        const trace::Path& p = f.example_fwd.sightings.empty() ? f.example_rev : f.example_fwd;
        if (p.sightings.empty()) continue;
        const std::uint16_t a = p.sightings.front().at.node, b = p.sightings.back().at.node;
        if (a == b) continue;
        auto na = d.names.name(a), nb = d.names.name(b);
        if (nb < na) std::swap(na, nb);
        std::string how = f.encap == trace::Encap::none ? "direct" : trace::encap_name(f.encap);
        std::pair<std::string, std::string> e{na + " <-> " + nb, how};
        if (std::ranges::find(pairs, e) == pairs.end()) pairs.push_back(std::move(e));
    }
    if (pairs.empty()) return "";
    std::ranges::sort(pairs);
    std::vector<std::string> hows;
    for (const auto& [_, how] : pairs)
        if (std::ranges::find(hows, how) == hows.end()) hows.push_back(how);
    std::string s;
    for (const auto& [pair, how] : pairs) s += (s.empty() ? "" : "; ") + how + ' ' + pair;
    const bool direct = std::ranges::find(hows, "direct") != hows.end();
    if (hows.size() == 1 && direct)
        s += ": no encapsulation (direct routing, BGP)";
    else if (hows.size() == 1 && hows[0] == "WireGuard")
        s += ": WireGuard encryption between nodes";
    else if (hows.size() == 1)
        s += ": " + hows[0] + " mode Always (or CrossSubnet with these nodes in different subnets)";
    else if (hows.size() == 2 && direct)
        s += ": CrossSubnet (direct inside a subnet, encapsulated across)";
    else
        s += ": mixed";
    return s;
}

std::span<const trace::Diagnosis> findings_of(const Session& d, std::uint32_t flow) {
    return flow_findings(d, flow);
}

std::string verdict(const Session& d, const Flow& f) {
    const auto fs = findings_of(d, f.id);
    if (!fs.empty()) {
        std::string s = trace::diagnosis_kind_name(fs.front().kind);
        if (!fs.front().where.empty()) s += ' ' + fs.front().where;
        if (fs.size() > 1) s += " (+" + std::to_string(fs.size() - 1) + " more)";
        return s;
    }
    if (!arrived(d, f)) return "seen one way";
    return f.rev.packets > 0 ? "ok, both ways" : "ok, one way";
}

bool arrived(const Session& d, const Flow& f) {
    return findings_of(d, f.id).empty() &&
           (f.rev.packets > 0 || f.kind != trace::PathKind::unknown);
}

std::string decode_summary(const decode::Stats& s) {
    std::string out =
        std::to_string(s.frames) + " frames: " + std::to_string(s.by_status[0]) + " decoded";
    for (std::size_t st = 1; st < s.by_status.size(); ++st)
        if (s.by_status[st])
            out += ", " + std::to_string(s.by_status[st]) + ' ' +
                   decode::status_name(static_cast<decode::Status>(st));
    std::string reasons;
    for (std::size_t r = 0; r < s.by_reason.size(); ++r) {
        if (!s.by_reason[r] || static_cast<decode::Reason>(r) == decode::Reason::none) continue;
        reasons += reasons.empty() ? "" : ", ";
        reasons += decode::reason_name(static_cast<decode::Reason>(r));
        reasons += ' ' + std::to_string(s.by_reason[r]);
    }
    if (!reasons.empty()) out += " (" + reasons + ')';
    return out;
}

std::string clock_text(const Session& d, const trace::NodeClock& c) {
    std::string s = d.names.name(c.node) + ": ";
    if (c.reference) return s + "reference";
    if (!c.estimated) return s + "not corrected, " + c.why;
    char buf[96];
    // Shown to the µs: an offset that rounds to zero has no sign worth printing.
    const double us = std::round(c.offset_ns / 1e3);
    std::snprintf(buf, sizeof buf, "%+.6f s", us == 0 ? 0.0 : us / 1e6);
    s += buf;
    s += " +/- " + duration_text(c.uncertainty_ns, 6) + " (" + std::to_string(c.forward) +
         " packets one way, " + std::to_string(c.backward) + " the other";
    if (c.via) s += ", via " + d.names.name(c.via);
    return s + "), corrected";
}

std::string ts_out_of_range_text(std::uint64_t frames, std::uint64_t first) {
    if (!frames) return "";
    return std::to_string(frames) + (frames == 1 ? " frame stamped" : " frames stamped") +
           " before 1677 or after 2262 (the first: frame " + std::to_string(first) + "), " +
           (frames == 1 ? "its time clamped" : "their times clamped");
}

std::string clock_prefix_text(const Session& d) {
    if (!d.clocks.frames) return "";
    return "estimated over the first " + std::to_string(d.clocks.frames) + " frames (" +
           duration_text(d.clocks.span_ns, 6) +
           " of each capture), where each node matched enough packets both ways";
}

std::string finding_text(const trace::Diagnosis& x) {
    std::string s = trace::diagnosis_kind_name(x.kind);
    if (x.flow) s += " (flow " + std::to_string(x.flow) + ')';
    return s + ": " + x.message;
}

trace::PathKind flow_kind(const Session& d, const Flow& f) {
    return egress_without_snat(d, f) ? trace::PathKind::egress : f.kind;
}

std::string egress_nic(const Session& d, const Flow& f) {
    if (flow_kind(d, f) != trace::PathKind::egress) return "";
    const auto& fwd = f.example_fwd.sightings;
    for (auto it = fwd.rbegin(); it != fwd.rend(); ++it)
        if (it->at.kind == trace::PointKind::nic) return point_name(d, it->at);
    for (const trace::Sighting& s : f.example_rev.sightings)
        if (s.at.kind == trace::PointKind::nic) return point_name(d, s.at);
    return "";
}

trace::PathKind flow_route(const Session& d, const Flow& f) {
    const trace::PathKind k = flow_kind(d, f);
    return k == trace::PathKind::service ? f.route : k;
}

const trace::Diagnosis* stopped_at(const Session& d, std::uint32_t flow, trace::PointId last) {
    for (const trace::Diagnosis& x : flow_findings(d, flow))
        if (x.kind == trace::DiagnosisKind::dropped && x.at == last) return &x;
    return nullptr;
}

std::vector<LatencyRow> latency_rows(const Session& d, const Flow& f) {
    std::vector<LatencyRow> rows;
    for (const trace::HopStat& h : f.hops) {
        LatencyRow r{point_name(d, h.from),
                     point_name(d, h.to),
                     h.reverse,
                     h.latency.count(),
                     duration_text(h.latency.quantile(0.5), h.ts_digits),
                     duration_text(h.latency.quantile(0.99), h.ts_digits),
                     ""};
        if (const auto u = hop_uncertainty(d, h)) r.uncertainty = duration_text(u, h.ts_digits);
        rows.push_back(std::move(r));
    }
    return rows;
}

}  // namespace podtrace::report
