// `podtrace decode`: every frame of every file, one line each (text or JSON).
#include <iostream>
#include <memory>
#include <ostream>

#include "app/app.hpp"
#include "app/command.hpp"
#include "decode/decoder.hpp"
#include "decode/format.hpp"
#include "decode/json.hpp"
#include "probes/capture_file.hpp"
#include "probes/capture_point.hpp"
#include "report/words.hpp"

namespace podtrace::app {

using namespace podtrace::decode;

int decode_command(const DecodeOptions& opt, std::ostream& out, std::ostream& err) {
    Decoder decoder(opt.ports);
    Decoded d;
    FormatOptions fmt{opt.verbose, opt.link};
    std::string line;
    std::vector<probes::CapturePoint> points;  // per interface of the current file
    long long printed = 0;
    int rc = 0;
    auto input_error = [&](const std::string& message) {
        out.flush();
        err << "podtrace: " << message << '\n';
        rc = 2;
    };
    for (const std::string& arg : opt.files) {
        const probes::FileArg spec = probes::parse_file_arg(arg);
        auto file = probes::CaptureFile::open(spec.path);
        if (!file) {
            input_error(file.error().message);
            continue;
        }
        points.clear();
        probes::Overridden overridden(spec);
        core::Frame frame;
        probes::CaptureFile::Read r = probes::CaptureFile::Read::end;
        while (out && (opt.count < 0 || printed < opt.count) &&
               (r = file->next(frame)) == probes::CaptureFile::Read::frame) {
            decoder.decode(frame, d);
            ++printed;
            const auto& ifs = file->interfaces();
            while (points.size() < ifs.size()) {  // pcapng declares interfaces as it goes
                const probes::InterfaceInfo& i = ifs[points.size()];
                overridden.add(i.node, i.name);
                points.push_back(probes::capture_point(spec, i.node, i.name));
            }
            const probes::CapturePoint& at = points[frame.interface];
            if (opt.json) {
                out << frame_json(d, spec.path, file->frames_read(), at.node, at.interface) << '\n';
                continue;
            }
            line.clear();
            format_time(d.ts_ns, d.ts_digits, line);
            line.append(" ").append(at.node);
            if (!at.interface.empty()) line.append("/").append(at.interface);
            if (d.direction == core::Direction::inbound) line += " In";
            if (d.direction == core::Direction::outbound) line += " Out";
            format_layers(d, fmt, line);
            line += '\n';
            out << line;
        }
        if (r == probes::CaptureFile::Read::error) input_error(file->error().message);
        if (const std::string n = overridden.text(); !n.empty())
            err << "podtrace: " << spec.path << ": " << n << '\n';
        if (const std::string t = report::ts_out_of_range_text(file->ts_out_of_range(),
                                                               file->first_ts_out_of_range());
            !t.empty())
            err << "podtrace: " << spec.path << ": " << t << '\n';
        for (std::size_t i = 0; i < file->interfaces().size(); ++i) {
            const auto& info = file->interfaces()[i];
            if (!linktype_supported(info.linktype))
                input_error(spec.path + ": " +
                            decode::unsupported_linktype_text(i, info.name, info.linktype));
        }
        if (opt.count >= 0 && printed >= opt.count) break;
    }
    if (!flush_output(out, err, "decode")) rc = 2;
    if (!opt.quiet) err << "podtrace: " << stats_text(decoder.stats()) << '\n';
    return rc;
}

namespace {

// Adds each --*-port value to a tunnel's port set, refusing what does not fit.
void add_ports(const std::vector<int>& ports, decode::PortSet& set, const char* flag) {
    for (int p : ports) {
        if (p < 1 || p > 65535)
            throw CLI::ValidationError(flag, std::to_string(p) + " is not a UDP port (1-65535)");
        if (!decode::add_port(set, static_cast<std::uint16_t>(p)))
            throw CLI::ValidationError(flag, "too many ports (at most 8 per tunnel kind)");
    }
}

}  // namespace

void add_tunnel_port_options(CLI::App* sub, TunnelPorts& p) {
    sub->add_option("--vxlan-port", p.vxlan,
                    "also decode VXLAN on this UDP port (4789, 8472 always)");
    sub->add_option("--geneve-port", p.geneve, "also decode Geneve on this UDP port (6081 always)");
    sub->add_option("--wireguard-port", p.wireguard,
                    "also decode WireGuard on this UDP port (51820 always)");
}

void apply_tunnel_ports(const TunnelPorts& p, decode::Ports& ports) {
    add_ports(p.vxlan, ports.vxlan, "--vxlan-port");
    add_ports(p.geneve, ports.geneve, "--geneve-port");
    add_ports(p.wireguard, ports.wireguard, "--wireguard-port");
}

Command add_decode_command(CLI::App& cli) {
    struct State {
        DecodeOptions opt;
        TunnelPorts tunnel_ports;
    };
    auto st = std::make_shared<State>();
    auto* sub = cli.add_subcommand(
        "decode", "Decode capture files, one line per frame, tunnels made explicit");
    sub->add_option("files", st->opt.files,
                    "pcap or pcapng files, '-' for standard input; NODE=FILE names the node, "
                    "NODE/IFACE=FILE the interface too")
        ->required();
    sub->add_flag("-j,--json", st->opt.json, "JSON lines: one object per frame");
    sub->add_flag("-v,--verbose", st->opt.verbose, "TTL, IP ID, DF, lengths, fingerprint");
    sub->add_flag("-e,--link", st->opt.link, "MAC addresses and cooked-header fields");
    sub->add_flag("-q,--quiet", st->opt.quiet, "no summary of frame outcomes on stderr");
    sub->add_option("-c,--count", st->opt.count, "stop after this many frames")->check(positive());
    add_tunnel_port_options(sub, st->tunnel_ports);
    sub->callback([st] { apply_tunnel_ports(st->tunnel_ports, st->opt.ports); });
    return {sub, [st] { return decode_command(st->opt, std::cout, std::cerr); }};
}

}  // namespace podtrace::app
