#pragma once
// `kubectl podtrace capture|trace|tui` once app/kube_cmd.cpp has read the flags. Each node's
// capture runs in a `kubectl debug node/NAME` pod and streams its pcapng back (kube/session.hpp);
// report and tui are this program again, started as children, reading those streams as they
// read files. Progress goes to `log` as it happens; an error is returned once the nodes are
// stopped and their debug pods deleted.
#include <atomic>
#include <expected>
#include <filesystem>
#include <iosfwd>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "kube/session.hpp"

namespace podtrace::kube {

struct Options {
    Config kube;  // the image and kubectl from PODTRACE_IMAGE and KUBECTL when not given
    std::vector<std::string> nodes;
    std::string duration;  // parse_duration's; "": capture until Ctrl-C, trace 10 s
    std::string dir;       // -o: where the captures and JSON go (kept)
    int snaplen = -1;      // -s on the nodes; -1 their default
    std::vector<std::string> filter;
    double ready_timeout_s = 120;  // for every node's podtrace to capture
    // trace
    std::string src, dst;
    std::vector<std::string> expects;
    std::string format = "text";
    // tui
    bool no_color = false;
    std::string save_dir;
};

// `interrupts` counts the SIGINT/SIGTERM/SIGHUP the caller's handlers saw: the first stops the
// capture, another stops waiting for the nodes to drain.

// Captures on o.nodes for o.duration into o.dir/<node>.pcapng, beside the cluster's
// pods/services/nodes.json; the captures written.
std::expected<std::vector<std::filesystem::path>, Error> run_capture(
    Options o, const std::atomic<int>& interrupts, std::ostream& log);
// Captures on the nodes of pods o.src and o.dst, then runs `podtrace report --between` on what
// it got (with o.expects and o.format); report's exit code.
std::expected<int, Error> run_trace(Options o, const std::atomic<int>& interrupts,
                                    std::ostream& log);
// `podtrace tui --follow` fed by every node's stream at once; the TUI's exit code.
std::expected<int, Error> run_tui(Options o, const std::atomic<int>& interrupts,
                                  std::ostream& log);

}  // namespace podtrace::kube
