// `podtrace report`: one packet, every hop, explained — flows, paths, findings, expectations.
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <memory>

#include "app/command.hpp"
#include "app/printable_stream.hpp"
#include "report/format.hpp"
#include "report/output.hpp"
#include "report/report.hpp"
#include "report/words.hpp"

namespace podtrace::app {
namespace {

struct ReportCli {
    report::Options report;
    report::Format format = report::Format::text;
    std::string output;    // "" = standard output
    bool progress = true;  // on a terminal only
};

// "\rpodtrace: reading 37%" on stderr while big files are read on a terminal. The report's
// first call (0 bytes done) gives the scale: only inputs of 64 MiB or more show it.
class Progress {
public:
    explicit Progress(bool on) : on_(on) {}
    void operator()(std::uint64_t done, std::uint64_t total) {
        if (!scaled_) {
            scaled_ = true;
            on_ = on_ && total >= (64u << 20);
            return;
        }
        if (!on_ || total == 0) return;
        const auto pct = static_cast<unsigned>(done * 100 / total);
        if (pct == shown_) return;
        shown_ = pct;
        std::fprintf(stderr, "\rpodtrace: reading %u%%", pct);
    }
    ~Progress() {
        if (on_ && shown_ != ~0u) std::fputs("\r                          \r", stderr);
    }

private:
    bool on_;
    bool scaled_ = false;
    unsigned shown_ = ~0u;
};

// Exit codes: 0 every expectation holds, 1 one failed, 2 bad input or usage.
int report_command(const ReportCli& opt, std::ostream& out, std::ostream& err) {
    const auto fail = [&](const Error& e) {
        err << "podtrace: report: " << e.message << '\n';
        return 2;
    };
    auto opened = report::Report::open(opt.report);
    if (!opened) return fail(opened.error());
    report::Report& r = **opened;
    {
        Progress progress(opt.progress && ::isatty(2));
        if (auto done = r.read(std::ref(progress)); !done) return fail(done.error());
    }
    // A capture cut short (a killed tcpdump) still tells what it holds: the report covers the
    // frames before the fault, and the fault makes the exit code 2.
    for (const ingest::FileSummary& f : r.session.files) {
        if (!f.error.empty()) err << "podtrace: report: " << f.error << '\n';
        if (const std::string t =
                report::ts_out_of_range_text(f.ts_out_of_range, f.first_ts_out_of_range);
            !t.empty())
            err << "podtrace: report: " << f.path << ": " << t << '\n';
        for (const std::string& n : f.notes)
            err << "podtrace: report: " << f.path << ": " << n << '\n';
    }
    if (auto done = r.conclude(); !done) return fail(done.error());

    // Written as it is made (a million flows are never held as text), through the printable
    // filter in a file as on a terminal (standard output has it already); -o FILE is replaced
    // whole or not at all, so a CI job never reads half a report.
    if (opt.output.empty() || opt.output == "-") {
        report::write(r, opt.format, out);
        if (!flush_output(out, err, "report")) return 2;
    } else if (auto w = report::write_output(opt.output,
                                             [&](std::ostream& file) {
                                                 PrintableBuf printable(file.rdbuf());
                                                 std::ostream os(&printable);
                                                 report::write(r, opt.format, os);
                                             });
               !w) {
        return fail(w.error());
    }
    for (std::size_t i = 0; i < r.results.size(); ++i)
        if (!r.results[i].held)
            err << "podtrace: expectation failed: " << r.expectations[i].text << ": "
                << r.results[i].detail << '\n';
    return r.read_error() ? 2 : r.held() ? 0 : 1;
}

}  // namespace

Command add_report_command(CLI::App& cli) {
    struct State {
        ReportCli opt;
        std::string format = "text";
        TunnelPorts tunnel_ports;
    };
    auto st = std::make_shared<State>();
    auto* sub = cli.add_subcommand(
        "report", "Trace every packet through the captures: flows, paths, hops, NAT, findings");
    sub->add_option("captures", st->opt.report.input.files,
                    "pcap or pcapng files, '-' for standard input; NODE=FILE names the node, "
                    "NODE/IFACE=FILE the interface too")
        ->required();
    sub->add_option("-f,--format", st->format, "text (default), json, junit or md")
        ->check(CLI::IsMember({"text", "json", "junit", "md"}));
    sub->add_option("-o,--output", st->opt.output,
                    "write the report to this file (replaced whole, never half-written)");
    sub->add_option("--pods", st->opt.report.input.pods_json, "kubectl get pods -A -o json output");
    sub->add_option("--services", st->opt.report.input.services_json,
                    "kubectl get svc -A -o json output");
    sub->add_option("--nodes", st->opt.report.input.nodes_json, "kubectl get nodes -o json output");
    sub->add_option("--expect", st->opt.report.expects,
                    "assertion: 'SRC -> DST: KIND [qualifiers]', 'no-drops' or 'encrypted'");
    sub->add_option("--pod", st->opt.report.filters.pods,
                    "show flows of this pod (ns/name or name)");
    sub->add_option("--between", st->opt.report.filters.between,
                    "show flows between these two pods (ns/name or name), one at each end")
        ->expected(2);
    sub->add_option("--namespace", st->opt.report.filters.namespaces,
                    "show flows of this namespace's pods and services");
    sub->add_option("--ip", st->opt.report.filters.ips, "show flows with this address at one end");
    sub->add_option("--port", st->opt.report.filters.ports, "show flows with this port at one end")
        ->check(in_range(0, 65535));
    sub->add_option("--kind", st->opt.report.filters.kinds, "show flows of this kind")
        ->check(CLI::IsMember({"same-node", "cross-node", "egress", "service", "unknown"}));
    sub->add_option("--window", st->opt.report.input.window_s,
                    "seconds within which sightings of one packet are matched (default 2)")
        ->check(in_range(0.001, 60.0));
    sub->add_option("--reorder", st->opt.report.input.reorder_s,
                    "seconds a file's frames may be out of time order (default 1)")
        ->check(in_range(0.0, 60.0));
    sub->add_flag("!--no-clock", st->opt.report.input.clock,
                  "do not estimate clock offsets between nodes");
    sub->add_flag("--full-clock-pass", st->opt.report.input.clock_full,
                  "estimate clock offsets over every frame, not only until they settle");
    sub->add_flag("!--no-progress", st->opt.progress, "no progress indication on a terminal");
    add_tunnel_port_options(sub, st->tunnel_ports);
    // One value per occurrence (--pods a --pods b), so options never swallow the captures.
    for (CLI::Option* o : sub->get_options())
        if (o->get_positional() == false) o->allow_extra_args(false);
    sub->callback([st] {
        apply_tunnel_ports(st->tunnel_ports, st->opt.report.input.ports);
        st->opt.format = st->format == "json"    ? report::Format::json
                         : st->format == "junit" ? report::Format::junit
                         : st->format == "md"    ? report::Format::md
                                                 : report::Format::text;
    });
    return {sub, [st] { return report_command(st->opt, std::cout, std::cerr); }};
}

}  // namespace podtrace::app
