#include "app/app.hpp"

#include <CLI/CLI.hpp>
#include <iostream>

namespace podtrace::app {
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

int run(int argc, char** argv) {
    CLI::App cli{"podtrace: trace pod traffic through Calico's data plane"};
    cli.set_version_flag("--version", "podtrace " PODTRACE_VERSION);
    cli.require_subcommand(1);

    DecodeOptions dec;
    std::vector<int> vxlan_ports, geneve_ports, wg_ports;
    auto* decode_cmd = cli.add_subcommand(
        "decode", "Decode capture files, one line per frame, tunnels made explicit");
    decode_cmd->add_option("files", dec.files, "pcap or pcapng files")
        ->required()
        ->check(CLI::ExistingFile);
    decode_cmd->add_flag("-j,--json", dec.json, "JSON lines: one object per frame");
    decode_cmd->add_flag("-v,--verbose", dec.verbose, "TTL, IP ID, DF, lengths, fingerprint");
    decode_cmd->add_flag("-e,--link", dec.link, "MAC addresses and cooked-header fields");
    decode_cmd->add_flag("-q,--quiet", dec.quiet, "no summary of frame outcomes on stderr");
    decode_cmd->add_option("-c,--count", dec.count, "stop after this many frames")
        ->check(CLI::PositiveNumber);
    decode_cmd->add_option("--vxlan-port", vxlan_ports,
                           "also decode VXLAN on this UDP port (4789, 8472 always)");
    decode_cmd->add_option("--geneve-port", geneve_ports,
                           "also decode Geneve on this UDP port (6081 always)");
    decode_cmd->add_option("--wireguard-port", wg_ports,
                           "also decode WireGuard on this UDP port (51820 always)");

    try {
        cli.parse(argc, argv);
        add_ports(vxlan_ports, dec.ports.vxlan, "--vxlan-port");
        add_ports(geneve_ports, dec.ports.geneve, "--geneve-port");
        add_ports(wg_ports, dec.ports.wireguard, "--wireguard-port");
    } catch (const CLI::ParseError& e) {
        int code = cli.exit(e);
        return code == 0 ? 0 : 2;
    }
    if (decode_cmd->parsed()) return decode_command(dec, std::cout, std::cerr);
    return 2;
}

}  // namespace podtrace::app
