// The report as one JSON document; the keys are listed in the README and stay stable.
#include <algorithm>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string_view>

#include "decode/format.hpp"
#include "report/format.hpp"
#include "report/words.hpp"

namespace podtrace::report {
namespace {

using nlohmann::json;
using trace::Flow;

trace::IpAddr ip_of(const trace::Endpoint& e) {
    return {e.addr, e.version};
}

}  // namespace

// ---- JSON

namespace {

json endpoint_json(const Session& d, const trace::Endpoint& e) {
    const std::string name = d.tracer.topology().name_of(ip_of(e));
    return {{"ip", ip_of(e).str()},
            {"port", e.port},
            {"name", name.empty() ? json(nullptr) : json(name)}};
}

json rewrite_json(const Session& d, const std::optional<trace::Rewrite>& r) {
    if (!r) return nullptr;
    return {{"from", endpoint_json(d, r->from)}, {"to", endpoint_json(d, r->to)}};
}

json sighting_json(const Session& d, const trace::Sighting& s) {
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

json path_json(const Session& d, const trace::Path& p) {
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

json flow_json(const Session& d, const Flow& f) {
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
    const trace::PathKind route = flow_route(d, f);
    const std::string via = egress_nic(d, f);
    return {{"id", f.id},
            {"proto", f.proto},
            {"client", endpoint_json(d, f.client)},
            {"server", endpoint_json(d, f.server)},
            {"kind", trace::path_kind_name(flow_kind(d, f))},
            {"route", trace::path_kind_name(route)},
            {"via", via.empty() ? json(nullptr) : json(via)},
            {"encap", route == trace::PathKind::cross_node && f.encap == trace::Encap::none
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

// Plain ASCII whatever the input held: bytes that are not UTF-8 (a pcapng name, a file name)
// become U+FFFD, where dump() would throw, and everything past ASCII a \uXXXX escape.
std::string dump(const json& j) {
    return j.dump(2, ' ', true, json::error_handler_t::replace);
}

// A top-level key's array as dump() lays it out (items two levels in), one item made at a time.
template <class Item>
void write_array(std::ostream& out, std::size_t n, const Item& item) {
    if (n == 0) {
        out << "[]";
        return;
    }
    out << "[\n";
    for (std::size_t i = 0; i < n; ++i) {
        const std::string one = dump(item(i));  // no raw newline inside a string: escaped
        for (std::size_t at = 0, nl = 0; at < one.size(); at = nl + 1) {
            nl = std::min(one.find('\n', at), one.size());
            out << "    " << std::string_view(one).substr(at, nl + 1 - at);
        }
        out << (i + 1 < n ? ",\n" : "\n");
    }
    out << "  ]";
}

}  // namespace

void write_json(const Report& r, std::ostream& out) {
    const Session& d = r.session;
    json captures = json::array();
    for (const ingest::FileSummary& f : d.files) {
        json ifs = json::array();
        for (const ingest::InterfaceSummary& i : f.interfaces)
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
        // Only where some were, so that the reports of every other capture stay as they were.
        if (f.ts_out_of_range)
            captures.back()["ts_out_of_range"] = {{"frames", f.ts_out_of_range},
                                                  {"first_frame", f.first_ts_out_of_range}};
        if (!f.notes.empty()) captures.back()["notes"] = f.notes;
    }
    json clocks = json::array();
    for (const trace::NodeClock& c : d.clocks.clocks)
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
    const std::string cross_node = pool_mode_text(d);
    json expectations = json::array();
    for (std::size_t i = 0; i < r.results.size(); ++i)
        expectations.push_back({{"text", r.expectations[i].text},
                                {"held", r.results[i].held},
                                {"detail", r.results[i].detail}});
    json wireguard{{"linked", w.linked},
                   {"cipher_unlinked", w.cipher_unlinked},
                   {"plain_unlinked", w.plain_unlinked},
                   {"ambiguous", w.ambiguous},
                   {"handshakes", w.handshakes},
                   {"keepalives", w.keepalives}};
    // Flows and findings, which grow with the input, are dumped one at a time between the keys
    // before them and those after (nlohmann sorts keys: "expectations" < "findings" < "flows" <
    // "flows_total"), so a report of a million flows never holds them all as JSON; the bytes
    // are those one dump() of the whole document gives.
    json doc{
        {"captures", std::move(captures)},
        {"clocks", std::move(clocks)},
        {"clock_note", d.clocks.note.empty() ? json(nullptr) : json(d.clocks.note)},
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
        {"arp",
         {{"packets", fs.arp},
          {"gateway_requests", fs.arp_detail.gateway_requests},
          {"proxy_replies", fs.arp_detail.proxy_replies},
          {"other", fs.arp_detail.other}}},
        {"expectations", std::move(expectations)},
    };
    // Only when the clock pass stopped early, so that a report over every frame stays as it was.
    if (d.clocks.frames)
        doc["clock_prefix"] = {{"frames", d.clocks.frames}, {"span_ns", d.clocks.span_ns}};
    const json after{{"flows_total", d.tracer.flows().flows().size()},
                     {"podtrace", PODTRACE_VERSION},
                     {"wireguard", std::move(wireguard)}};

    std::string text = dump(doc);
    text.resize(text.size() - 2);  // "\n}"
    out << text << ",\n  \"findings\": ";
    write_array(out, d.findings.size(), [&](std::size_t i) {
        const trace::Diagnosis& x = d.findings[i];
        return json{{"kind", trace::diagnosis_kind_name(x.kind)},
                    {"flow", x.flow ? json(x.flow) : json(nullptr)},
                    {"node", d.names.name(x.node)},
                    {"where", x.where},
                    {"message", x.message},
                    {"why", x.why.empty() ? json(nullptr) : json(x.why)},
                    {"count", x.count},
                    {"first_ns", x.first_ns}};
    });
    out << ",\n  \"flows\": ";
    write_array(out, r.shown.size(),
                [&](std::size_t i) { return flow_json(d, *flow_by_id(d, r.shown[i])); });
    text = dump(after);
    out << ",\n" << std::string_view(text).substr(2) << '\n';  // past "{\n"
}

}  // namespace podtrace::report
