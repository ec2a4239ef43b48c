// `podtrace report`, output stage: the same facts as text, JSON, JUnit and Markdown.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <ostream>
#include <span>
#include <sstream>
#include <string>

#include "app/report.hpp"
#include "app/report_text.hpp"
#include "decode/format.hpp"

namespace podtrace::app {
namespace {

using nlohmann::json;
using trace::Flow;

}  // namespace

const trace::Flow* flow_by_id(const ReportData& d, std::uint32_t id) {
    const auto& flows = d.tracer.flows().flows();
    return id >= 1 && id <= flows.size() ? &flows[id - 1] : nullptr;
}

std::string point_name(const ReportData& d, trace::PointId p) {
    const std::string& iface = d.names.name(p.interface);
    return iface.empty() ? d.names.name(p.node) : d.names.name(p.node) + '/' + iface;
}

namespace {

trace::IpAddr ip_of(const trace::Endpoint& e) {
    return {e.addr, e.version};
}

}  // namespace

// "default/pod1 172.16.158.1:40500", "203.0.113.10:443".
std::string endpoint_text(const ReportData& d, const trace::Endpoint& e, bool port) {
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
std::int64_t uncertainty(const ReportData& d, std::uint16_t node) {
    for (const trace::NodeClock& c : d.clocks)
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

std::int64_t hop_uncertainty(const ReportData& d, const trace::HopStat& h) {
    if (h.from.node == h.to.node) return 0;
    return uncertainty(d, h.from.node) + uncertainty(d, h.to.node);
}

std::string rewrite_text(const ReportData& d, const trace::Rewrite& r) {
    return endpoint_text(d, r.from, true) + " -> " + endpoint_text(d, r.to, true);
}

namespace {

// A flow's findings: diagnose() gives them in flow order, so a binary search finds them (a
// scan per flow is quadratic with thousands of flows).
std::span<const trace::Diagnosis> flow_findings(const ReportData& d, std::uint32_t flow) {
    const auto r = std::ranges::equal_range(d.findings, flow, {}, &trace::Diagnosis::flow);
    return {r.begin(), r.end()};
}

// A pod address leaving the NIC towards the outside unchanged looks like direct routing to
// classify(), which does not know the pools; diagnose() does, and says it is egress.
bool egress_without_snat(const ReportData& d, const Flow& f) {
    return std::ranges::any_of(flow_findings(d, f.id), [](const trace::Diagnosis& x) {
        return x.kind == trace::DiagnosisKind::egress_without_snat;
    });
}

// A node's own address (a host-networked pod's too): known from facts, packets or --nodes.
bool host_networked(const ReportData& d, const trace::Endpoint& e) {
    const trace::Topology& topo = d.tracer.topology();
    return topo.node_of(ip_of(e)).has_value() && !topo.is_pod(ip_of(e));
}

std::string host_networked_text(const ReportData& d, const Flow& f) {
    const bool c = host_networked(d, f.client), s = host_networked(d, f.server);
    return c && s ? ", host-networked both ends"
           : c    ? ", host-networked client"
           : s    ? ", host-networked server"
                  : "";
}

}  // namespace

// "cross-node IPIP", "egress, SNAT 172.16.158.1:40500 -> 192.168.10.101:61000".
std::string kind_text(const ReportData& d, const Flow& f) {
    if (egress_without_snat(d, f)) return "egress, no SNAT";
    std::string s = trace::path_kind_name(f.kind);
    if (f.kind == trace::PathKind::cross_node) {
        s += ' ';
        s += f.encap == trace::Encap::none ? "direct" : trace::encap_name(f.encap);
        if (f.vni) s += " vni " + std::to_string(f.vni);
    }
    if (f.snat) s += ", SNAT " + rewrite_text(d, *f.snat);
    if (f.dnat) s += ", DNAT " + rewrite_text(d, *f.dnat);
    return s + host_networked_text(d, f);
}

namespace {

// How pod traffic crossed between each pair of nodes seen at both ends, and the IP pool mode
// that implies: one encapsulation everywhere is Always (or CrossSubnet with every pair in
// different subnets); direct for some pairs and encapsulated for others is CrossSubnet.
std::string pool_mode_text(const ReportData& d) {
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

}  // namespace

std::vector<const trace::Diagnosis*> findings_of(const ReportData& d, std::uint32_t flow) {
    std::vector<const trace::Diagnosis*> out;
    for (const trace::Diagnosis& x : flow_findings(d, flow)) out.push_back(&x);
    return out;
}

std::string verdict(const ReportData& d, const Flow& f) {
    const auto fs = findings_of(d, f.id);
    if (!fs.empty()) {
        std::string s = trace::diagnosis_kind_name(fs.front()->kind);
        if (!fs.front()->where.empty()) s += ' ' + fs.front()->where;
        if (fs.size() > 1) s += " (+" + std::to_string(fs.size() - 1) + " more)";
        return s;
    }
    if (f.rev.packets > 0) return "ok, both ways";
    return f.kind == trace::PathKind::unknown ? "seen one way" : "ok, one way";
}

namespace {

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

}  // namespace

std::string clock_text(const ReportData& d, const trace::NodeClock& c) {
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

std::string clock_prefix_text(const ReportData& d) {
    if (!d.clock_frames) return "";
    return "estimated over the first " + std::to_string(d.clock_frames) + " frames (" +
           duration_text(d.clock_span_ns, 6) +
           " of each capture), where each node matched enough packets both ways";
}

std::string finding_text(const trace::Diagnosis& x) {
    std::string s = trace::diagnosis_kind_name(x.kind);
    if (x.flow) s += " (flow " + std::to_string(x.flow) + ')';
    return s + ": " + x.message;
}

namespace {

// ---- text

std::string icmp_text(const trace::Sighting& s) {
    const char* n = decode::icmp_type_name(s.ip_version == 6, s.icmp_type, s.icmp_code);
    return n ? n : "type " + std::to_string(s.icmp_type) + " code " + std::to_string(s.icmp_code);
}

void text_path(const ReportData& d, const trace::Path& p, const char* label, std::ostream& out) {
    if (p.sightings.empty()) return;
    const auto lines = trace::render_path(p, trace::classify(p), d.names);
    out << "  " << label << ": " << lines.front() << '\n';
    for (std::size_t i = 1; i < lines.size(); ++i) out << "  " << lines[i] << '\n';
}

void text_flow(const ReportData& d, const Flow& f, std::ostream& out) {
    out << "flow " << f.id << "  " << proto_text(f.proto) << "  "
        << endpoint_text(d, f.client, has_ports(f)) << " -> "
        << endpoint_text(d, f.server, has_ports(f)) << '\n';
    out << "  " << kind_text(d, f) << '\n';
    out << "  packets " << f.fwd.packets << " -> / " << f.rev.packets << " <-, bytes "
        << f.fwd.bytes << " / " << f.rev.bytes;
    if (f.fwd.retransmissions + f.rev.retransmissions)
        out << ", retransmissions " << f.fwd.retransmissions << " / " << f.rev.retransmissions;
    if (f.fwd.ambiguous + f.rev.ambiguous)
        out << ", ambiguous matches " << f.fwd.ambiguous + f.rev.ambiguous;
    if (f.fwd.wireguard + f.rev.wireguard)
        out << ", WireGuard " << f.fwd.wireguard + f.rev.wireguard;
    out << '\n';
    text_path(d, f.example_fwd, "path", out);
    text_path(d, f.example_rev, "reply", out);
    if (!f.hops.empty()) {
        out << "  hop latency p50 / p99 (packets):\n";
        std::size_t width = 0;
        std::vector<std::string> names;
        for (const trace::HopStat& h : f.hops) {
            names.push_back((h.reverse ? "<- " : "-> ") + point_name(d, h.from) + " > " +
                            point_name(d, h.to));
            width = std::max(width, names.back().size());
        }
        for (std::size_t i = 0; i < f.hops.size(); ++i) {
            const trace::HopStat& h = f.hops[i];
            std::string l = "    " + names[i];
            l.resize(4 + width + 2, ' ');
            l += duration_text(h.latency.quantile(0.5), h.ts_digits) + " / " +
                 duration_text(h.latency.quantile(0.99), h.ts_digits);
            if (const auto u = hop_uncertainty(d, h)) l += " +/- " + duration_text(u, h.ts_digits);
            l += " (" + std::to_string(h.latency.count()) + ')';
            out << l << '\n';
        }
    }
    for (const trace::IcmpErrorLink& e : f.icmp_errors) {
        std::string s;
        decode::format_addr(e.error.src, e.error.ip_version, s);
        out << "  ICMP error from " << s << " at " << point_name(d, e.error.at) << ": "
            << icmp_text(e.error)
            << (e.error.icmp_mtu ? " mtu " + std::to_string(e.error.icmp_mtu) : "") << " (x"
            << e.count << ")\n";
    }
    out << "  verdict: " << verdict(d, f) << "\n\n";
}

}  // namespace

void write_text(const ReportData& d, std::ostream& out) {
    const auto& flows = d.tracer.flows();
    const auto nodes = d.tracer.topology().nodes();
    out << "podtrace report: " << d.files.size()
        << (d.files.size() == 1 ? " capture, " : " captures, ") << nodes.size()
        << (nodes.size() == 1 ? " node, " : " nodes, ") << d.decode.frames << " frames, "
        << flows.stats().paths << " packets, " << flows.flows().size() << " flows";
    if (d.shown.size() != flows.flows().size()) out << " (" << d.shown.size() << " shown)";
    out << '\n';
    for (const FileSummary& f : d.files) {
        out << "  " << f.path << ':';
        for (const InterfaceSummary& i : f.interfaces)
            out << ' ' << i.node << (i.name.empty() ? "" : "/") << i.name << " (" << i.frames
                << ')';
        if (!f.error.empty()) out << "  [read error: " << f.error << ']';
        if (!f.facts_error.empty()) out << "  [node facts unreadable: " << f.facts_error << ']';
        out << '\n';
    }
    if (const std::string m = pool_mode_text(d); !m.empty()) out << "cross-node: " << m << '\n';
    if (!d.clock_note.empty()) out << "clocks: " << d.clock_note << '\n';
    if (const std::string p = clock_prefix_text(d); !p.empty()) out << "clocks: " << p << '\n';
    if (d.clocks.size() > 1)
        for (const trace::NodeClock& c : d.clocks) out << "clock " << clock_text(d, c) << '\n';
    out << '\n';

    for (std::uint32_t id : d.shown) text_flow(d, *flow_by_id(d, id), out);

    out << "findings: " << d.findings.size() << '\n';
    for (const trace::Diagnosis& x : d.findings) {
        out << "  " << finding_text(x) << '\n';
        if (!x.why.empty()) out << "    why: " << x.why << '\n';
    }
    if (!d.expectations.empty()) {
        const auto failed = std::ranges::count_if(d.results, [](auto& r) { return !r.held; });
        out << "expectations: " << d.results.size() - failed << " held, " << failed << " failed\n";
        for (std::size_t i = 0; i < d.results.size(); ++i)
            out << "  " << (d.results[i].held ? "PASS  " : "FAIL  ") << d.expectations[i].text
                << "  (" << d.results[i].detail << ")\n";
    }
    const auto& a = flows.stats().arp_detail;
    if (flows.stats().arp)
        out << "ARP: " << flows.stats().arp
            << " packets; requests for 169.254.1.1: " << a.gateway_requests
            << ", answered by Calico's proxy ARP (ee:ee:ee:ee:ee:ee): " << a.proxy_replies
            << ", other: " << a.other << '\n';
    const auto& w = d.tracer.wireguard();
    if (w.linked + w.cipher_unlinked + w.handshakes + w.keepalives)
        out << "WireGuard: " << w.linked << " ciphertexts linked to their plaintext, "
            << w.cipher_unlinked << " not linked, " << w.handshakes << " handshake messages, "
            << w.keepalives << " keepalives\n";
    const auto& c = d.tracer.correlation();
    out << "correlation: " << c.sightings << " sightings -> " << c.paths << " paths; "
        << c.ambiguous << " ambiguous, " << c.repeats << " repeats at one point, " << c.out_of_order
        << " out of order, " << c.partial + c.no_fingerprint << " without a full fingerprint\n";
    if (c.finished_early)
        out << "correlation: " << c.finished_early << " packets finished early to keep at most "
            << d.tracer.options().correlator.max_in_flight << " in flight (the window shrank to "
            << duration_text(c.shortest_early_ns, 6) << " at the busiest moment)\n";
    out << "decode: " << decode_summary(d.decode) << '\n';
}

// ---- JSON

namespace {

json endpoint_json(const ReportData& d, const trace::Endpoint& e) {
    const std::string name = d.tracer.topology().name_of(ip_of(e));
    return {{"ip", ip_of(e).str()},
            {"port", e.port},
            {"name", name.empty() ? json(nullptr) : json(name)}};
}

json rewrite_json(const ReportData& d, const std::optional<trace::Rewrite>& r) {
    if (!r) return nullptr;
    return {{"from", endpoint_json(d, r->from)}, {"to", endpoint_json(d, r->to)}};
}

json sighting_json(const ReportData& d, const trace::Sighting& s) {
    auto addr = [](const decode::Addr& a, std::uint8_t v) {
        std::string out;
        decode::format_addr(a, v ? v : 4, out);
        return out;
    };
    json j{{"node", d.names.name(s.at.node)},
           {"interface", d.names.name(s.at.interface)},
           {"point", trace::point_kind_name(s.at.kind)},
           {"direction", s.direction == core::Direction::inbound    ? json("in")
                         : s.direction == core::Direction::outbound ? json("out")
                                                                      : json(nullptr)},
           {"ts_ns", s.ts_ns},
           {"src", addr(s.src, s.ip_version)},
           {"dst", addr(s.dst, s.ip_version)},
           {"proto", s.proto},
           {"ttl", s.ttl},
           {"length", s.length}};
    if (s.has_ports) j.update({{"sport", s.sport}, {"dport", s.dport}});
    if (s.encapsulated()) {
        j["encap"] = {{"type", trace::encap_name(s.encap)},
                      {"src", addr(s.outer_src, s.outer_version)},
                      {"dst", addr(s.outer_dst, s.outer_version)},
                      {"id", s.tunnel_id}};
        if (s.encap == trace::Encap::wireguard) j["encap"]["counter"] = s.wg_counter;
    }
    return j;
}

json path_json(const ReportData& d, const trace::Path& p) {
    json a = json::array();
    for (const trace::Sighting& s : p.sightings) a.push_back(sighting_json(d, s));
    return a;
}

json dir_json(const trace::FlowDir& x) {
    return {{"packets", x.packets},
            {"bytes", x.bytes},
            {"retransmissions", x.retransmissions},
            {"ambiguous", x.ambiguous},
            {"wireguard", x.wireguard},
            {"clear_on_wire", x.clear_on_wire}};
}

json flow_json(const ReportData& d, const Flow& f) {
    json hops = json::array();
    for (const trace::HopStat& h : f.hops)
        hops.push_back({{"from", point_name(d, h.from)},
                        {"to", point_name(d, h.to)},
                        {"direction", h.reverse ? "reverse" : "forward"},
                        {"packets", h.latency.count()},
                        {"p50_ns", h.latency.quantile(0.5)},
                        {"p99_ns", h.latency.quantile(0.99)},
                        {"min_ns", h.latency.min_ns()},
                        {"max_ns", h.latency.max_ns()},
                        {"ts_digits", h.ts_digits},
                        {"clock_uncertainty_ns", hop_uncertainty(d, h)}});
    json errors = json::array();
    for (const trace::IcmpErrorLink& e : f.icmp_errors)
        errors.push_back({{"at", sighting_json(d, e.error)},
                          {"type", e.error.icmp_type},
                          {"code", e.error.icmp_code},
                          {"mtu", e.error.icmp_mtu},
                          {"count", e.count}});
    return {
        {"id", f.id},
        {"proto", f.proto},
        {"client", endpoint_json(d, f.client)},
        {"server", endpoint_json(d, f.server)},
        {"kind", trace::path_kind_name(flow_kind(d, f))},
        {"encap", flow_kind(d, f) == trace::PathKind::cross_node && f.encap == trace::Encap::none
                      ? "direct"
                      : trace::encap_name(f.encap)},
        {"vni", f.vni},
        {"host_networked",
         {{"client", host_networked(d, f.client)}, {"server", host_networked(d, f.server)}}},
        {"snat", rewrite_json(d, f.snat)},
        {"dnat", rewrite_json(d, f.dnat)},
        {"forward", dir_json(f.fwd)},
        {"reverse", dir_json(f.rev)},
        {"hops", std::move(hops)},
        {"path",
         {{"forward", path_json(d, f.example_fwd)}, {"reverse", path_json(d, f.example_rev)}}},
        {"icmp_errors", std::move(errors)},
        {"first_ns", f.first_ns},
        {"last_ns", f.last_ns},
        {"verdict", verdict(d, f)}};
}

}  // namespace

void write_json(const ReportData& d, std::ostream& out) {
    json captures = json::array();
    for (const FileSummary& f : d.files) {
        json ifs = json::array();
        for (const InterfaceSummary& i : f.interfaces)
            ifs.push_back({{"node", i.node},
                           {"interface", i.name},
                           {"linktype", i.linktype},
                           {"frames", i.frames}});
        captures.push_back(
            {{"file", f.path},
             {"frames", f.frames},
             {"error", f.error.empty() ? json(nullptr) : json(f.error)},
             {"interfaces", std::move(ifs)},
             {"facts_error", f.facts_error.empty() ? json(nullptr) : json(f.facts_error)}});
    }
    json clocks = json::array();
    for (const trace::NodeClock& c : d.clocks)
        clocks.push_back({{"node", d.names.name(c.node)},
                          {"reference", c.reference},
                          {"estimated", c.estimated},
                          {"offset_ns", c.offset_ns},
                          {"uncertainty_ns", c.uncertainty_ns},
                          {"forward", c.forward},
                          {"backward", c.backward},
                          {"via", c.via ? json(d.names.name(c.via)) : json(nullptr)},
                          {"why", c.why.empty() ? json(nullptr) : json(c.why)}});
    json status = json::object(), reasons = json::object();
    for (std::size_t s = 0; s < d.decode.by_status.size(); ++s)
        status[decode::status_name(static_cast<decode::Status>(s))] = d.decode.by_status[s];
    for (std::size_t r = 0; r < d.decode.by_reason.size(); ++r)
        if (d.decode.by_reason[r])
            reasons[decode::reason_name(static_cast<decode::Reason>(r))] = d.decode.by_reason[r];
    const auto& c = d.tracer.correlation();
    const auto& w = d.tracer.wireguard();
    const auto& fs = d.tracer.flows().stats();
    json flows = json::array();
    for (std::uint32_t id : d.shown) flows.push_back(flow_json(d, *flow_by_id(d, id)));
    const std::string cross_node = pool_mode_text(d);
    json findings = json::array();
    for (const trace::Diagnosis& x : d.findings)
        findings.push_back({{"kind", trace::diagnosis_kind_name(x.kind)},
                            {"flow", x.flow ? json(x.flow) : json(nullptr)},
                            {"node", d.names.name(x.node)},
                            {"where", x.where},
                            {"message", x.message},
                            {"why", x.why.empty() ? json(nullptr) : json(x.why)},
                            {"count", x.count},
                            {"first_ns", x.first_ns}});
    json expectations = json::array();
    for (std::size_t i = 0; i < d.results.size(); ++i)
        expectations.push_back({{"text", d.expectations[i].text},
                                {"held", d.results[i].held},
                                {"detail", d.results[i].detail}});
    json doc{
        {"podtrace", PODTRACE_VERSION},
        {"captures", std::move(captures)},
        {"clocks", std::move(clocks)},
        {"clock_note", d.clock_note.empty() ? json(nullptr) : json(d.clock_note)},
        {"cross_node", cross_node.empty() ? json(nullptr) : json(cross_node)},
        {"decode", {{"frames", d.decode.frames}, {"status", status}, {"reasons", reasons}}},
        {"correlation",
         {{"sightings", c.sightings},
          {"paths", c.paths},
          {"matched", c.matched},
          {"repeats", c.repeats},
          {"ambiguous", c.ambiguous},
          {"out_of_order", c.out_of_order},
          {"no_fingerprint", c.no_fingerprint},
          {"partial", c.partial},
          {"peak_in_flight", c.peak_in_flight},
          {"finished_early", c.finished_early},
          {"shortest_early_ns", c.finished_early ? json(c.shortest_early_ns) : json(nullptr)}}},
        {"wireguard",
         {{"linked", w.linked},
          {"cipher_unlinked", w.cipher_unlinked},
          {"plain_unlinked", w.plain_unlinked},
          {"ambiguous", w.ambiguous},
          {"handshakes", w.handshakes},
          {"keepalives", w.keepalives}}},
        {"arp",
         {{"packets", fs.arp},
          {"gateway_requests", fs.arp_detail.gateway_requests},
          {"proxy_replies", fs.arp_detail.proxy_replies},
          {"other", fs.arp_detail.other}}},
        {"flows_total", d.tracer.flows().flows().size()},
        {"flows", std::move(flows)},
        {"findings", std::move(findings)},
        {"expectations", std::move(expectations)},
    };
    // Only when the clock pass stopped early, so that a report over every frame stays as it was.
    if (d.clock_frames)
        doc["clock_prefix"] = {{"frames", d.clock_frames}, {"span_ns", d.clock_span_ns}};
    out << doc.dump(2) << '\n';
}

// ---- JUnit

namespace {

std::string xml(std::string_view s) {
    std::string out;
    for (char ch : s) {
        switch (ch) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&quot;"; break;
            case '\'': out += "&apos;"; break;
            default:
                // XML 1.0 forbids most control characters, even escaped.
                if (static_cast<unsigned char>(ch) < 0x20 && ch != '\n' && ch != '\t')
                    out += ' ';
                else
                    out += ch;
        }
    }
    return out;
}

}  // namespace

void write_junit(const ReportData& d, std::ostream& out) {
    const auto failed = std::ranges::count_if(d.results, [](auto& r) { return !r.held; });
    out << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        << "<testsuites name=\"podtrace\" tests=\"" << d.results.size() << "\" failures=\""
        << failed << "\">\n"
        << "  <testsuite name=\"podtrace report\" tests=\"" << d.results.size() << "\" failures=\""
        << failed << "\" errors=\"0\">\n";
    for (std::size_t i = 0; i < d.results.size(); ++i) {
        out << "    <testcase classname=\"podtrace.expect\" name=\"" << xml(d.expectations[i].text)
            << '"';
        if (d.results[i].held) {
            out << ">\n      <system-out>" << xml(d.results[i].detail)
                << "</system-out>\n    </testcase>\n";
        } else {
            out << ">\n      <failure message=\"" << xml(d.results[i].detail) << "\">"
                << xml(d.results[i].detail) << "</failure>\n    </testcase>\n";
        }
    }
    std::ostringstream text;
    write_text(d, text);
    out << "    <system-out>" << xml(text.str()) << "</system-out>\n"
        << "  </testsuite>\n</testsuites>\n";
}

// ---- Markdown

namespace {

// Table cells must not break the table.
std::string cell(std::string s) {
    std::string out;
    for (char ch : s) {
        if (ch == '|')
            out += "\\|";
        else if (ch == '\n')
            out += ' ';
        else
            out += ch;
    }
    return out;
}

}  // namespace

void write_markdown(const ReportData& d, std::ostream& out) {
    const auto& flows = d.tracer.flows();
    out << "## podtrace report\n\n"
        << d.files.size() << " captures, " << d.tracer.topology().nodes().size() << " nodes, "
        << d.decode.frames << " frames, " << flows.stats().paths << " packets, "
        << flows.flows().size() << " flows, " << d.findings.size() << " findings\n\n";
    if (const std::string m = pool_mode_text(d); !m.empty()) out << "Cross-node: " << m << "\n\n";
    if (!d.expectations.empty()) {
        out << "### Expectations\n\n| | Expectation | Detail |\n|---|---|---|\n";
        for (std::size_t i = 0; i < d.results.size(); ++i)
            out << "| " << (d.results[i].held ? "PASS" : "**FAIL**") << " | `"
                << cell(d.expectations[i].text) << "` | " << cell(d.results[i].detail) << " |\n";
        out << '\n';
    }
    if (!d.findings.empty()) {
        out << "### Findings\n\n";
        for (const trace::Diagnosis& x : d.findings) {
            out << "- **" << trace::diagnosis_kind_name(x.kind) << "**";
            if (x.flow) out << " (flow " << x.flow << ')';
            out << ": " << x.message;
            if (!x.why.empty()) out << " — " << x.why;
            out << '\n';
        }
        out << '\n';
    }
    out << "### Flows\n\n| # | Proto | From | To | Path | Packets -> / <- | Verdict |\n"
        << "|---|---|---|---|---|---|---|\n";
    for (std::uint32_t id : d.shown) {
        const Flow& f = *flow_by_id(d, id);
        out << "| " << f.id << " | " << proto_text(f.proto) << " | "
            << cell(endpoint_text(d, f.client, has_ports(f))) << " | "
            << cell(endpoint_text(d, f.server, has_ports(f))) << " | " << cell(kind_text(d, f))
            << " | " << f.fwd.packets << " / " << f.rev.packets << " | " << cell(verdict(d, f))
            << " |\n";
    }
    std::ostringstream text;
    for (std::uint32_t id : d.shown) text_flow(d, *flow_by_id(d, id), text);
    out << "\n<details><summary>Paths, hop by hop</summary>\n\n```\n"
        << text.str() << "```\n\n</details>\n";
}

trace::PathKind flow_kind(const ReportData& d, const trace::Flow& f) {
    return egress_without_snat(d, f) ? trace::PathKind::egress : f.kind;
}

}  // namespace podtrace::app
