#pragma once
// Each subcommand lives in its own file and adds itself to the CLI through one function;
// app.cpp lists those functions and runs the one the user chose.
#include <CLI/CLI.hpp>
#include <expected>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "decode/dispatch.hpp"
#include "probes/discover.hpp"
#include "probes/live_source.hpp"

namespace podtrace::app {

struct Command {
    CLI::App* sub;
    std::function<int()> run;  // called after parsing when `sub` was chosen; returns the exit code
};

Command add_decode_command(CLI::App& cli);
Command add_capture_command(CLI::App& cli);
Command add_discover_command(CLI::App& cli);
Command add_report_command(CLI::App& cli);
Command add_lab_command(CLI::App& cli);
Command add_tui_command(CLI::App& cli);
Command add_kubectl_command(CLI::App& cli);
// Flushes standard output; false when what was written did not all get out (a full disk, a
// closed descriptor), after saying so with the reason: "podtrace: COMMAND: cannot write to
// standard output: No space left on device". The caller exits 2.
bool flush_output(std::ostream& out, std::ostream& err, std::string_view command);
// Checks for numeric flags whose message says what is wrong with the value ("--reorder: abc is
// not a number", "--window: 0 is not between 0.001 and 60"): CLI11's own say "not in range" for
// a word and print the largest double in 309 digits.
CLI::Validator in_range(double lo, double hi);
CLI::Validator positive();      // > 0
CLI::Validator non_negative();  // >= 0
// Discovery with Calico's veth name rule, so that cali* veths are named from /proc.
probes::DiscoverOptions discover_options();
// Live capture as `capture` and `tui` take it: -i, -s, -B, --node, --user and BPF filter words.
struct LiveCli {
    probes::LiveOptions live;
    std::vector<std::string> filter_words;
    std::string user;
};
void add_live_options(CLI::App* sub, LiveCli& o);
// The live options as given: the filter words joined, -s 0 as whole packets.
const probes::LiveOptions& live_options(LiveCli& o);
// --vxlan-port, --geneve-port and --wireguard-port, shared by the subcommands that decode.
struct TunnelPorts {
    std::vector<int> vxlan, geneve, wireguard;
};
void add_tunnel_port_options(CLI::App* sub, TunnelPorts& p);
// Adds the values to `ports` (from a subcommand's callback); a bad one is a CLI::ValidationError.
void apply_tunnel_ports(const TunnelPorts& p, decode::Ports& ports);

}  // namespace podtrace::app
