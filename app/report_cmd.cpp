// `podtrace report`: one packet, every hop, explained — flows, paths, findings, expectations.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

#include "app/command.hpp"
#include "app/report.hpp"

namespace podtrace::app {
namespace {

bool matches_pod(const trace::Inventory& inv, const std::string& sel, const trace::IpAddr& a) {
    const trace::Pod* p = inv.pod_by_ip(a);
    if (!p) return false;
    const auto slash = sel.find('/');
    if (slash == std::string::npos) return p->name == sel;
    return p->ns == sel.substr(0, slash) && p->name == sel.substr(slash + 1);
}

bool shown(const ReportFilters& f, const trace::Flow& flow, const ReportData& data) {
    const trace::Inventory& inv = data.inventory;
    const trace::IpAddr ends[] = {{flow.client.addr, flow.client.version},
                                  {flow.server.addr, flow.server.version}};
    auto any_end = [&](auto pred) { return pred(ends[0]) || pred(ends[1]); };
    if (!f.pods.empty() && !std::ranges::any_of(f.pods, [&](const std::string& s) {
            return any_end([&](const trace::IpAddr& a) { return matches_pod(inv, s, a); });
        }))
        return false;
    if (f.between.size() == 2) {
        auto at = [&](int pod, int end) { return matches_pod(inv, f.between[pod], ends[end]); };
        if (!((at(0, 0) && at(1, 1)) || (at(0, 1) && at(1, 0)))) return false;
    }
    if (!f.namespaces.empty() && !std::ranges::any_of(f.namespaces, [&](const std::string& ns) {
            return any_end([&](const trace::IpAddr& a) {
                const trace::Pod* p = inv.pod_by_ip(a);
                const trace::Service* s = inv.service_by_ip(a);
                return (p && p->ns == ns) || (s && s->ns == ns);
            });
        }))
        return false;
    if (!f.ips.empty() && !std::ranges::any_of(f.ips, [&](const std::string& ip) {
            const auto want = trace::IpAddr::parse(ip);  // checked before reading
            return any_end([&](const trace::IpAddr& a) { return want && a == *want; });
        }))
        return false;
    // Ports of TCP, UDP and SCTP only: an ICMP flow's "port" is its echo identifier.
    const bool ports = flow.proto == 6 || flow.proto == 17 || flow.proto == 132;
    if (!f.ports.empty() && !(ports && std::ranges::any_of(f.ports, [&](int p) {
                                  return flow.client.port == p || flow.server.port == p;
                              })))
        return false;
    if (!f.kinds.empty() && !std::ranges::any_of(f.kinds, [&](const std::string& k) {
            return k == trace::path_kind_name(flow_kind(data, flow));
        }))
        return false;
    return true;
}

// Checks what can be checked before reading a byte: filters that name pods need --pods, IPs
// must parse. Returns an error message, "" when fine.
std::string check_filters(const ReportOptions& opt) {
    for (const std::string& ip : opt.filters.ips)
        if (!trace::IpAddr::parse(ip)) return "--ip " + ip + ": not an IP address";
    if ((!opt.filters.pods.empty() || !opt.filters.namespaces.empty() ||
         !opt.filters.between.empty()) &&
        opt.pods_json.empty())
        return "--pod, --between and --namespace need --pods (kubectl get pods -A -o json)";
    return "";
}

// A regular file (or a new one) is written to a temporary file beside it and renamed over it,
// so a reader never sees half a report. Anything else that exists (/dev/null, a FIFO, a
// terminal) is written in place: renaming over it would replace the device itself.
// Returns an error message, "" when written.
std::string write_file(const std::string& path, const std::string& text) {
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
        if (S_ISDIR(st.st_mode)) return "-o " + path + ": is a directory";
        std::ofstream f(path, std::ios::binary);
        f << text;
        f.close();
        return f ? "" : "cannot write " + path;
    }
    std::string tmp = path + ".XXXXXX";
    const int fd = ::mkstemp(tmp.data());
    if (fd < 0) return "cannot write " + path + ": " + std::strerror(errno);
    ::close(fd);
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    f << text;
    f.close();
    // mkstemp makes it 0600; a report is as readable as any file the user creates.
    const mode_t mask = ::umask(0);
    ::umask(mask);
    if (!f || ::chmod(tmp.c_str(), 0666 & ~mask) != 0 ||
        std::rename(tmp.c_str(), path.c_str()) != 0) {
        std::remove(tmp.c_str());
        return "cannot write " + path;
    }
    return "";
}

}  // namespace

int report_command(const ReportOptions& opt, std::ostream& out, std::ostream& err) {
    trace::TracerOptions topt;
    topt.correlator.window_ns = static_cast<std::int64_t>(opt.window_s * 1e9);
    auto data = std::make_unique<ReportData>(topt);
    if (const std::string e = check_filters(opt); !e.empty()) {
        err << "podtrace: report: " << e << '\n';
        return 2;
    }
    bool expect_encrypted = false;
    for (const std::string& text : opt.expects) {
        auto e = trace::parse_expectation(text);
        if (!e) {
            err << "podtrace: report: " << e.error().message << '\n';
            return 2;
        }
        expect_encrypted |= e->type == trace::Expectation::Type::encrypted;
        data->expectations.push_back(std::move(*e));
    }
    if (!read_captures(opt, *data, err)) return 2;
    for (const auto* sels : {&opt.filters.pods, &opt.filters.between})
        for (const std::string& sel : *sels)
            if (std::ranges::none_of(data->inventory.pods(), [&](const trace::Pod& p) {
                    return sel.find('/') == std::string::npos ? p.name == sel
                                                              : p.ns + '/' + p.name == sel;
                })) {
                err << "podtrace: report: " << (sels == &opt.filters.pods ? "--pod " : "--between ")
                    << sel << ": no such pod in --pods (" << data->inventory.pods().size()
                    << " pods)\n";
                return 2;
            }

    const trace::Topology& topo = data->tracer.topology();
    trace::DiagnoseOptions dopt;
    dopt.expect_encrypted = expect_encrypted;
    for (std::uint16_t n : topo.nodes())
        if (const trace::NodeFacts* f = topo.facts(n); f && f->has_wireguard())
            dopt.expect_encrypted = true;
    for (const trace::PointCoverage& p : topo.points())
        if (p.point.kind == trace::PointKind::wireguard) dopt.expect_encrypted = true;
    data->findings = trace::diagnose(data->tracer.flows(), topo, dopt);

    int rc = 0;
    for (const trace::Expectation& e : data->expectations) {
        auto r = trace::evaluate(e, data->tracer.flows(), data->findings, data->inventory);
        if (!r) {
            err << "podtrace: report: --expect '" << e.text << "': " << r.error().message << '\n';
            return 2;
        }
        if (!r->held) rc = 1;
        data->results.push_back(std::move(*r));
    }
    for (const trace::Flow& f : data->tracer.flows().flows())
        if (shown(opt.filters, f, *data)) data->shown.push_back(f.id);

    // Written whole or not at all: a CI job never reads half a report.
    std::ostringstream buf;
    switch (opt.format) {
        case ReportFormat::text: write_text(*data, buf); break;
        case ReportFormat::json: write_json(*data, buf); break;
        case ReportFormat::junit: write_junit(*data, buf); break;
        case ReportFormat::md: write_markdown(*data, buf); break;
    }
    if (opt.output.empty() || opt.output == "-") {
        out << buf.str();
        out.flush();
        if (!out) {
            err << "podtrace: report: cannot write to standard output\n";
            return 2;
        }
    } else if (const std::string e = write_file(opt.output, buf.str()); !e.empty()) {
        err << "podtrace: report: " << e << '\n';
        return 2;
    }
    for (const FileSummary& f : data->files)
        if (!f.error.empty()) rc = 2;
    for (std::size_t i = 0; i < data->results.size(); ++i)
        if (!data->results[i].held)
            err << "podtrace: expectation failed: " << data->expectations[i].text << ": "
                << data->results[i].detail << '\n';
    return rc;
}

Command add_report_command(CLI::App& cli) {
    struct State {
        ReportOptions opt;
        std::string format = "text";
        TunnelPorts tunnel_ports;
    };
    auto st = std::make_shared<State>();
    auto* sub = cli.add_subcommand(
        "report", "Trace every packet through the captures: flows, paths, hops, NAT, findings");
    sub->add_option("captures", st->opt.files,
                    "pcap or pcapng files, '-' for standard input; NODE=FILE names the node")
        ->required();
    sub->add_option("-f,--format", st->format, "text (default), json, junit or md")
        ->check(CLI::IsMember({"text", "json", "junit", "md"}));
    sub->add_option("-o,--output", st->opt.output,
                    "write the report to this file (replaced whole, never half-written)");
    sub->add_option("--pods", st->opt.pods_json, "kubectl get pods -A -o json output");
    sub->add_option("--services", st->opt.services_json, "kubectl get svc -A -o json output");
    sub->add_option("--nodes", st->opt.nodes_json, "kubectl get nodes -o json output");
    sub->add_option("--expect", st->opt.expects,
                    "assertion: 'SRC -> DST: KIND [qualifiers]', 'no-drops' or 'encrypted'");
    sub->add_option("--pod", st->opt.filters.pods, "show flows of this pod (ns/name or name)");
    sub->add_option("--between", st->opt.filters.between,
                    "show flows between these two pods (ns/name or name), one at each end")
        ->expected(2);
    sub->add_option("--namespace", st->opt.filters.namespaces,
                    "show flows of this namespace's pods and services");
    sub->add_option("--ip", st->opt.filters.ips, "show flows with this address at one end");
    sub->add_option("--port", st->opt.filters.ports, "show flows with this port at one end")
        ->check(CLI::Range(0, 65535));
    sub->add_option("--kind", st->opt.filters.kinds, "show flows of this kind")
        ->check(CLI::IsMember({"same-node", "cross-node", "egress", "service", "unknown"}));
    sub->add_option("--window", st->opt.window_s,
                    "seconds within which sightings of one packet are matched (default 2)")
        ->check(CLI::Range(0.001, 60.0));
    sub->add_option("--reorder", st->opt.reorder_s,
                    "seconds a file's frames may be out of time order (default 1)")
        ->check(CLI::Range(0.0, 60.0));
    sub->add_flag("!--no-clock", st->opt.clock, "do not estimate clock offsets between nodes");
    sub->add_flag("--full-clock-pass", st->opt.clock_full,
                  "estimate clock offsets over every frame, not only until they settle");
    sub->add_flag("!--no-progress", st->opt.progress, "no progress indication on a terminal");
    add_tunnel_port_options(sub, st->tunnel_ports);
    // One value per occurrence (--pods a --pods b), so options never swallow the captures.
    for (CLI::Option* o : sub->get_options())
        if (o->get_positional() == false) o->allow_extra_args(false);
    sub->callback([st] {
        apply_tunnel_ports(st->tunnel_ports, st->opt.ports);
        st->opt.format = st->format == "json"    ? ReportFormat::json
                         : st->format == "junit" ? ReportFormat::junit
                         : st->format == "md"    ? ReportFormat::md
                                                 : ReportFormat::text;
    });
    return {sub, [st] { return report_command(st->opt, std::cout, std::cerr); }};
}

}  // namespace podtrace::app
