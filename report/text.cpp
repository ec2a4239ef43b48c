// The report as text, and the formats that carry text: JUnit and Markdown.
#include <algorithm>
#include <ostream>
#include <sstream>
#include <string>

#include "decode/format.hpp"
#include "report/format.hpp"
#include "report/words.hpp"
#include "trace/path_view.hpp"

namespace podtrace::report {

using trace::Flow;

namespace {

// ---- text

std::string icmp_text(const trace::Sighting& s) {
    const char* n = decode::icmp_type_name(s.ip_version == 6, s.icmp_type, s.icmp_code);
    return n ? n : "type " + std::to_string(s.icmp_type) + " code " + std::to_string(s.icmp_code);
}

void text_path(const Session& d, const trace::Path& p, const char* label, std::ostream& out) {
    if (p.sightings.empty()) return;
    const auto lines = trace::path_lines(trace::path_view(p, trace::classify(p), d.names));
    out << "  " << label << ": " << lines.front() << '\n';
    for (std::size_t i = 1; i < lines.size(); ++i) out << "  " << lines[i] << '\n';
}

void text_flow(const Session& d, const Flow& f, std::ostream& out) {
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
        const std::vector<LatencyRow> rows = latency_rows(d, f);
        std::size_t width = 0;
        std::vector<std::string> names;
        for (const LatencyRow& r : rows) {
            names.push_back((r.reverse ? "<- " : "-> ") + r.from + " > " + r.to);
            width = std::max(width, names.back().size());
        }
        for (std::size_t i = 0; i < rows.size(); ++i) {
            const LatencyRow& r = rows[i];
            std::string l = "    " + names[i];
            l.resize(4 + width + 2, ' ');
            l += r.p50 + " / " + r.p99;
            if (!r.uncertainty.empty()) l += " +/- " + r.uncertainty;
            l += " (" + std::to_string(r.packets) + ')';
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

void write_text(const Report& r, std::ostream& out) {
    const Session& d = r.session;
    const auto& flows = d.tracer.flows();
    const auto nodes = d.tracer.topology().nodes();
    out << "podtrace report: " << d.files.size()
        << (d.files.size() == 1 ? " capture, " : " captures, ") << nodes.size()
        << (nodes.size() == 1 ? " node, " : " nodes, ") << d.decode.frames << " frames, "
        << flows.stats().paths << " packets, " << flows.flows().size() << " flows";
    if (r.shown.size() != flows.flows().size()) out << " (" << r.shown.size() << " shown)";
    out << '\n';
    for (const ingest::FileSummary& f : d.files) {
        out << "  " << f.path << ':';
        for (const ingest::InterfaceSummary& i : f.interfaces)
            out << ' ' << i.node << (i.name.empty() ? "" : "/") << i.name << " (" << i.frames
                << ')';
        if (!f.error.empty()) out << "  [read error: " << f.error << ']';
        if (!f.facts_error.empty()) out << "  [node facts unreadable: " << f.facts_error << ']';
        if (const std::string t = ts_out_of_range_text(f.ts_out_of_range, f.first_ts_out_of_range);
            !t.empty())
            out << "  [" << t << ']';
        for (const std::string& n : f.notes) out << "  [" << n << ']';
        out << '\n';
    }
    if (const std::string m = pool_mode_text(d); !m.empty()) out << "cross-node: " << m << '\n';
    if (!d.clocks.note.empty()) out << "clocks: " << d.clocks.note << '\n';
    if (const std::string p = clock_prefix_text(d); !p.empty()) out << "clocks: " << p << '\n';
    if (d.clocks.clocks.size() > 1)
        for (const trace::NodeClock& c : d.clocks.clocks)
            out << "clock " << clock_text(d, c) << '\n';
    out << '\n';

    for (std::uint32_t id : r.shown) text_flow(d, *flow_by_id(d, id), out);

    out << "findings: " << d.findings.size() << '\n';
    for (const trace::Diagnosis& x : d.findings) {
        out << "  " << finding_text(x) << '\n';
        if (!x.why.empty()) out << "    why: " << x.why << '\n';
    }
    if (!r.expectations.empty()) {
        const auto failed = std::ranges::count_if(r.results, [](auto& r) { return !r.held; });
        out << "expectations: " << r.results.size() - failed << " held, " << failed << " failed\n";
        for (std::size_t i = 0; i < r.results.size(); ++i)
            out << "  " << (r.results[i].held ? "PASS  " : "FAIL  ") << r.expectations[i].text
                << "  (" << r.results[i].detail << ")\n";
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

void write_junit(const Report& r, std::ostream& out) {
    const auto failed = std::ranges::count_if(r.results, [](auto& r) { return !r.held; });
    out << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        << "<testsuites name=\"podtrace\" tests=\"" << r.results.size() << "\" failures=\""
        << failed << "\">\n"
        << "  <testsuite name=\"podtrace report\" tests=\"" << r.results.size() << "\" failures=\""
        << failed << "\" errors=\"0\">\n";
    for (std::size_t i = 0; i < r.results.size(); ++i) {
        out << "    <testcase classname=\"podtrace.expect\" name=\"" << xml(r.expectations[i].text)
            << '"';
        if (r.results[i].held) {
            out << ">\n      <system-out>" << xml(r.results[i].detail)
                << "</system-out>\n    </testcase>\n";
        } else {
            out << ">\n      <failure message=\"" << xml(r.results[i].detail) << "\">"
                << xml(r.results[i].detail) << "</failure>\n    </testcase>\n";
        }
    }
    std::ostringstream text;
    write_text(r, text);
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

void write_markdown(const Report& r, std::ostream& out) {
    const Session& d = r.session;
    const auto& flows = d.tracer.flows();
    out << "## podtrace report\n\n"
        << d.files.size() << " captures, " << d.tracer.topology().nodes().size() << " nodes, "
        << d.decode.frames << " frames, " << flows.stats().paths << " packets, "
        << flows.flows().size() << " flows, " << d.findings.size() << " findings\n\n";
    if (const std::string m = pool_mode_text(d); !m.empty()) out << "Cross-node: " << m << "\n\n";
    if (!r.expectations.empty()) {
        out << "### Expectations\n\n| | Expectation | Detail |\n|---|---|---|\n";
        for (std::size_t i = 0; i < r.results.size(); ++i)
            out << "| " << (r.results[i].held ? "PASS" : "**FAIL**") << " | `"
                << cell(r.expectations[i].text) << "` | " << cell(r.results[i].detail) << " |\n";
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
    for (std::uint32_t id : r.shown) {
        const Flow& f = *flow_by_id(d, id);
        out << "| " << f.id << " | " << proto_text(f.proto) << " | "
            << cell(endpoint_text(d, f.client, has_ports(f))) << " | "
            << cell(endpoint_text(d, f.server, has_ports(f))) << " | " << cell(kind_text(d, f))
            << " | " << f.fwd.packets << " / " << f.rev.packets << " | " << cell(verdict(d, f))
            << " |\n";
    }
    std::ostringstream text;
    for (std::uint32_t id : r.shown) text_flow(d, *flow_by_id(d, id), text);
    out << "\n<details><summary>Paths, hop by hop</summary>\n\n```\n"
        << text.str() << "```\n\n</details>\n";
}

void write(const Report& r, Format f, std::ostream& out) {
    switch (f) {
        case Format::text: write_text(r, out); break;
        case Format::json: write_json(r, out); break;
        case Format::junit: write_junit(r, out); break;
        case Format::md: write_markdown(r, out); break;
    }
}

}  // namespace podtrace::report
